"""FM-embedding acceptance tests (CI size: dim 32, 2 layers; one torch thread; fixed seeds)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from scipy import stats  # noqa: E402

from redist.fm.backbone import (  # noqa: E402
    SIZES,
    load_backbone,
    pretrain,
    save_backbone,
    setup_torch,
)
from redist.fm.baseline import LogisticBaseline  # noqa: E402
from redist.fm.densities import (  # noqa: E402
    Q2_CUTOFF,
    bin_rate_ratio,
    build,
    closure_chi2,
    efficiency,
    joint_density,
    published_z_edges,
    reweight,
)
from redist.fm.heads import auc, finetune, load_model, predict, save_model  # noqa: E402
from redist.fm.pipeline import fit_eta, fit_standardizer, fm_fit_bins, sample_tokens, score_sample  # noqa: E402
from redist.simulate import q2_sampler, simulate  # noqa: E402
from redist.theory import get_theory  # noqa: E402

pytestmark = pytest.mark.fm

SEEDS = (0, 1, 2)
N_LAB = 400
PRETRAIN_STEPS = 300
FT_STEPS = 150
NP_POINT = {"cSL": 10.0}
ETA_EDGES = (0.25, 0.5, 0.75, 1.0)
Q2REC_EDGES = (-np.inf, 4.0, 8.0, np.inf)
N_X = 9
N_B = 2 * 387e6 * 0.514


@pytest.fixture(scope="module", autouse=True)
def _torch_setup():
    setup_torch(1)


@pytest.fixture(scope="module")
def wet():
    return get_theory("wet", process="B+->K+nunu")


@pytest.fixture(scope="module")
def data():
    unl = simulate(20000, kind="mixed", seed=11)
    unl = unl.select(unl.presel)
    lab = simulate(6000, kind="mixed", signal_fraction=0.5, q2_shape="flat", seed=12)
    lab = lab.select(lab.presel)
    test = simulate(8000, kind="mixed", signal_fraction=0.4, seed=13)
    test = test.select(test.presel)
    std = fit_standardizer(unl)
    return {"unl": unl, "lab": lab, "test": test, "std": std}


@pytest.fixture(scope="module")
def backbone(data):
    x, pad = sample_tokens(data["unl"], data["std"])
    enc, hist = pretrain(x, pad, SIZES["ci"], steps=PRETRAIN_STEPS, batch_size=256, seed=0)
    return enc, hist


def _subset(lab, seed):
    rng = np.random.default_rng(100 + seed)
    s = rng.choice(np.flatnonzero(lab.label == 1), N_LAB // 2, replace=False)
    b = rng.choice(np.flatnonzero(lab.label == 0), N_LAB // 2, replace=False)
    return np.concatenate([s, b])


@pytest.fixture(scope="module")
def finetuned(data, backbone):
    enc, _ = backbone
    lab, test, std = data["lab"], data["test"], data["std"]
    xl, pl = sample_tokens(lab, std)
    xt, pt = sample_tokens(test, std)
    out = {}
    for seed in SEEDS:
        idx = _subset(lab, seed)
        row = {}
        for name, bb in (("pretrained", enc), ("scratch", None)):
            model, info = finetune(
                xl[idx],
                pl[idx],
                lab.label[idx],
                lab.q2_true[idx],
                config=SIZES["ci"],
                backbone=bb,
                steps=FT_STEPS,
                seed=seed,
            )
            row[name] = (model, auc(predict(model, xt, pt)["logit"], test.label), info)
        out[seed] = row
    # the nominal model: pretrained, seed 0; eta fitted on held-out (not trained on) flat-q2 signal
    model = out[0]["pretrained"][0]
    held = np.setdiff1d(np.arange(len(lab)), _subset(lab, 0))
    logit = np.full(len(lab), np.nan)
    logit[held] = predict(model, xl[held], pl[held])["logit"]
    eta = fit_eta(logit, lab)
    return {"runs": out, "model": model, "eta": eta}


def test_pretraining_learns(backbone):
    _, hist = backbone
    assert hist["loss_last"] < 0.97 * hist["loss_first"]


def test_pretrained_beats_scratch_auc(finetuned):
    """At 400 labels, MPM pre-training improves the AUC (paired by seed)."""
    deltas = []
    for seed in SEEDS:
        pre, scr = finetuned["runs"][seed]["pretrained"][1], finetuned["runs"][seed]["scratch"][1]
        deltas.append(pre - scr)
        assert 0.75 < scr < 1.0 and 0.75 < pre < 1.0
    assert np.mean(deltas) >= 0.005, deltas
    assert min(deltas) >= -0.01, deltas


def test_eta_is_flat_on_signal(data, finetuned):
    lab, std = data["lab"], data["std"]
    sc = score_sample(finetuned["model"], std, lab)
    held = np.setdiff1d(np.flatnonzero(lab.label == 1), _subset(lab, 0))
    eta = finetuned["eta"](sc["logit"][held])
    # the one eta rule (redist.fm.pipeline.fit_eta): flat for SM-weighted signal, not for q2-flat signal
    counts, _ = np.histogram(eta, np.linspace(0, 1, 5), weights=lab.weight[held])
    assert counts.min() > 0.85 * counts.mean()


def _closure_samples(wet):
    a = simulate(30000, kind="signal", theory=wet, values={}, seed=21)
    b = simulate(30000, kind="signal", theory=wet, values=NP_POINT, seed=22)
    return a, b


@pytest.fixture(scope="module")
def closure(wet, data, finetuned):
    a, b = _closure_samples(wet)
    model, eta, std = finetuned["model"], finetuned["eta"], data["std"]
    lab = data["lab"]
    base = LogisticBaseline.fit(lab.features, lab.label)
    eta_base = fit_eta(np.where(lab.presel, base(lab.features), np.nan), lab)
    out = {}
    for name, sample in (("A", a), ("B", b)):
        logit = score_sample(model, std, sample)["logit"]
        x_fm = fm_fit_bins(sample, logit, eta, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES)
        blogit = np.where(sample.presel, base(sample.features), np.nan)
        x_eng = fm_fit_bins(sample, blogit, eta_base, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES)
        out[name] = {"sample": sample, "fm": x_fm, "eng": x_eng}
    return out


def _yields(sample, x, br):
    return joint_density(x, sample.q2_true, N_X, weights=np.full(len(sample), N_B * br / len(sample)))


@pytest.mark.parametrize("which", ["fm", "eng"])
def test_closure_reweighting(wet, closure, which):
    """n_A reweighted to B by q2 only reproduces templates simulated directly under B.

    Both samples are independent, so chi2 over the 9 fit bins follows chi2(9); the seeds are
    fixed, so the 99.9 % quantile (chi2/ndf < 3.0) is a deterministic guard without false alarms.
    """
    br_a = q2_sampler(wet, {})[2]
    br_b = q2_sampler(wet, NP_POINT)[2]
    a, b = closure["A"], closure["B"]
    n_a = _yields(a["sample"], a[which], br_a)
    n_b = _yields(b["sample"], b[which], br_b)
    w = bin_rate_ratio(wet, {}, NP_POINT)
    pred, pvar = reweight(n_a, w)
    direct, dvar = n_b.yields(), n_b.variances().sum(axis=1)
    chi2, ndf = closure_chi2(pred, pvar, direct, dvar)
    assert ndf == N_X
    assert chi2 < stats.chi2.ppf(0.999, ndf), (chi2 / ndf, pred, direct)
    # the test has power: scaling the SM templates by the BR ratio alone fails badly
    naive = n_a.yields() * br_b / br_a
    chi2_naive, _ = closure_chi2(naive, n_a.variances().sum(axis=1) * (br_b / br_a) ** 2, direct, dvar)
    assert chi2_naive > 5 * chi2 and chi2_naive > stats.chi2.ppf(0.999, ndf)


def test_efficiency_theory_independent(closure):
    edges = np.concatenate([[-1.0], np.linspace(0.0, Q2_CUTOFF, 11)])
    ea = efficiency(closure["A"]["fm"], closure["A"]["sample"].q2_true, N_X, z_edges=edges)
    eb = efficiency(closure["B"]["fm"], closure["B"]["sample"].q2_true, N_X, z_edges=edges)
    var = ea.variances() + eb.variances()
    ok = var > 0
    chi2 = np.sum((ea.values()[ok] - eb.values()[ok]) ** 2 / var[ok])
    assert chi2 < stats.chi2.ppf(0.999, ok.sum())
    # the comparison has power: the two samples populate the q2 bins very differently
    na = np.histogram(closure["A"]["sample"].q2_true, edges)[0]
    nb = np.histogram(closure["B"]["sample"].q2_true, edges)[0]
    assert nb[8] > 2 * na[8]


def test_density_layout_and_uncertainties(closure):
    a = closure["A"]
    res = build(a["fm"], a["sample"].q2_true, N_X, scale=1.0, n_replicas=20, seed=3, ensemble_x=[a["eng"]])
    edges = published_z_edges()
    assert len(edges) == 102 and edges[0] == -1.0 and edges[1] == 0.0 and edges[-1] == pytest.approx(22.885)
    v = res.density.values()
    assert v.shape == (N_X, 101)
    assert np.all(v[:, 0] == 0)  # signal has no sentinel entries
    assert res.density.hist.storage_type.__name__ == "Weight"
    eps = res.efficiency.values()
    assert np.all(eps.sum(axis=0) <= 1.0 + 1e-12)
    np.testing.assert_allclose(eps[:, 1:] * res.produced[1:], v[:, 1:], rtol=1e-10, atol=1e-12)
    assert res.replicas.shape == (20, N_X, 101)
    boot_sd = res.replicas.std(axis=0, ddof=1)
    good = v >= 15
    ratio = np.median(boot_sd[good] / np.sqrt(res.efficiency.variances()[good]))
    assert 0.7 < ratio < 1.4
    assert res.ensemble_std.shape == (N_X, 101)
    d = res.density.to_dict()
    assert len(d["z_axes"][0]["edges"]) == 102 and len(d["values"]) == N_X


def test_deterministic_training(data):
    x, pad = sample_tokens(data["unl"].select(np.arange(600)), data["std"])
    e1, _ = pretrain(x, pad, SIZES["ci"], steps=4, batch_size=64, seed=5)
    e2, _ = pretrain(x, pad, SIZES["ci"], steps=4, batch_size=64, seed=5)
    for k, v in e1.state_dict().items():
        assert torch.equal(v, e2.state_dict()[k])
    y = data["unl"].label[:600]
    m1, _ = finetune(x, pad, y, config=SIZES["ci"], backbone=e1, steps=3, batch_size=64, seed=1)
    m2, _ = finetune(x, pad, y, config=SIZES["ci"], backbone=e2, steps=3, batch_size=64, seed=1)
    np.testing.assert_array_equal(predict(m1, x, pad)["logit"], predict(m2, x, pad)["logit"])


def test_checkpoints_roundtrip(tmp_path, data, backbone, finetuned):
    enc, hist = backbone
    save_backbone(tmp_path / "bb", enc, data["std"], {"pretraining": hist})
    enc2, std2, card = load_backbone(tmp_path / "bb")
    assert card["config"]["dim"] == 32 and card["config"]["layers"] == 2
    assert card["pretraining"]["steps"] == PRETRAIN_STEPS
    np.testing.assert_array_equal(std2.mean, data["std"].mean)
    for k, v in enc.state_dict().items():
        assert torch.equal(v, enc2.state_dict()[k])
    model = finetuned["model"]
    save_model(tmp_path / "ft", model, data["std"], finetuned["eta"], {"metrics": {"x": 1}})
    m2, _, eta2, card2 = load_model(tmp_path / "ft")
    x, pad = sample_tokens(data["test"].select(np.arange(300)), data["std"])
    np.testing.assert_array_equal(predict(model, x, pad)["logit"], predict(m2, x, pad)["logit"])
    np.testing.assert_array_equal(eta2.knots, finetuned["eta"].knots)
    assert json.loads((tmp_path / "ft" / "model_card.json").read_text())["metrics"] == {"x": 1}
    assert card2["n_parameters"] > 15000


def test_onnx_matches_torch(tmp_path, data, finetuned):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    from redist.fm.export import export_onnx, onnx_max_abs_diff

    path = export_onnx(finetuned["model"], tmp_path / "m.onnx", n_tokens=32)
    for n in (7, 300):
        x, pad = sample_tokens(data["test"].select(np.arange(n)), data["std"])
        assert onnx_max_abs_diff(finetuned["model"], path, x, pad) < 1e-4


def test_cli_end_to_end(tmp_path):
    """simulate -> pretrain -> finetune (all three --init, one standardiser) -> densities, CLI conventions."""
    from click.testing import CliRunner

    from redist.cli.fm import fm

    r = CliRunner()

    def ok(args):
        res = r.invoke(fm, [*args, "--quiet"], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        return res.output

    ok(["simulate", "-n", "1500", "--signal-fraction", "0.5", "--q2-shape", "flat", "--seed", "1",
        "--output-dir", str(tmp_path / "mix")])  # fmt: skip
    out = ok(["simulate", "-n", "1500", "--kind", "signal", "--set", "cTL=8", "--seed", "2",
              "--output-dir", str(tmp_path / "sig"), "--json"])  # fmt: skip
    doc = json.loads(out)
    assert doc["kind"] == "fm" and doc["command"] == "simulate" and doc["n_events"] == 1500
    ok(["pretrain", "--data", str(tmp_path / "mix"), "--output-dir", str(tmp_path / "bb"), "--steps", "3",
        "--batch-size", "32", "-o", str(tmp_path / "pre.json")])  # fmt: skip
    assert json.loads((tmp_path / "pre.json").read_text())["provenance"]
    std_bb = json.loads((tmp_path / "bb" / "model_card.json").read_text())["standardizer"]
    for init in ("pretrained", "frozen", "scratch"):
        ok(["finetune", "--data", str(tmp_path / "mix" / "events.npz"), "--backbone", str(tmp_path / "bb"),
            "--init", init, "--output-dir", str(tmp_path / f"ft_{init}"), "--n-labelled", "100", "--steps", "3",
            "--no-onnx", "-o", str(tmp_path / f"ft_{init}.json")])  # fmt: skip
        card = json.loads((tmp_path / f"ft_{init}" / "model_card.json").read_text())
        # one standardiser rule: every arm uses the backbone's
        assert card["standardizer"] == std_bb
        assert card["finetuning"]["init"] == init
    out = ok(["densities", "--model", str(tmp_path / "ft_pretrained"), "--signal", str(tmp_path / "sig"),
              "--output-dir", str(tmp_path / "dens"), "--n-replicas", "3", "--eta-edges", "0,0.5,1",
              "--q2rec-edges", "-inf,8,inf", "--json"])  # fmt: skip
    assert json.loads(out)["n_x"] == 4
    d = json.loads((tmp_path / "dens" / "density.json").read_text())
    assert len(d["values"]) == 4 and len(d["values"][0]) == 101
    with np.load(tmp_path / "dens" / "uncertainties.npz", allow_pickle=False) as z:
        assert z["replicas"].shape == (3, 4, 101)
    bad = r.invoke(fm, ["simulate", "-n", "10", "--set", "cSL", "--output-dir", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "NAME=VALUE" in bad.output
