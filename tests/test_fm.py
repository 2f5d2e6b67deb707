"""FM-embedding tests (CI size; one torch thread; the shipped backbone for fine-tuning).

What is asserted is robust across seeds: pre-training lowers its own loss, fine-tuning
from the shipped backbone gives a working scorer, eta follows the one eta rule, the
reweighting closure holds for the FM x, the density layout and uncertainties, bit-for-bit
determinism, checkpoint round trips, ONNX parity and the CLI. Whether pre-training helps is
a *study* (examples/fm_data_efficiency.py, docs/fm.md), not a test: at the label counts a
CI test can afford, its sign depends on the seeds.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from scipy import stats  # noqa: E402

from redist.fm import load_backbone  # noqa: E402
from redist.fm.backbone import SIZES, pretrain, save_backbone, setup_torch  # noqa: E402
from redist.fm.backbone import load_backbone as load_backbone_dir  # noqa: E402
from redist.fm.baseline import LogisticBaseline  # noqa: E402
from redist.fm.densities import (  # noqa: E402
    Q2_CUTOFF,
    build,
    closure_test,
    efficiency,
    published_z_edges,
)
from redist.fm.heads import auc, finetune, load_model, predict, save_model  # noqa: E402
from redist.fm.pipeline import (  # noqa: E402
    fit_eta,
    fit_standardizer,
    fm_fit_bins,
    pretrain_inputs,
    sample_tokens,
    score_sample,
)
from redist.simulate import simulate  # noqa: E402
from redist.theory import get_theory  # noqa: E402

pytestmark = pytest.mark.fm

N_LAB = 600
FT_STEPS = 120
NP_POINT = {"cSL": 10.0}
ETA_EDGES = (0.25, 0.5, 0.75, 1.0)
Q2REC_EDGES = (-np.inf, 4.0, 8.0, np.inf)
N_X = 9


@pytest.fixture(scope="module", autouse=True)
def _torch_setup():
    setup_torch(1)


@pytest.fixture(scope="module")
def wet():
    return get_theory("wet", process="B+->K+nunu")


@pytest.fixture(scope="module")
def data():
    lab = simulate(6000, kind="mixed", signal_fraction=0.5, q2_shape="flat", seed=12)
    lab = lab.select(lab.presel)
    test = simulate(5000, kind="mixed", signal_fraction=0.4, seed=13)
    test = test.select(test.presel)
    enc, std, _ = load_backbone("default")
    return {"lab": lab, "test": test, "std": std, "enc": enc}


def _subset(lab, seed, n=N_LAB):
    rng = np.random.default_rng(100 + seed)
    s = rng.choice(np.flatnonzero(lab.label == 1), n // 2, replace=False)
    b = rng.choice(np.flatnonzero(lab.label == 0), n // 2, replace=False)
    return np.concatenate([s, b])


@pytest.fixture(scope="module")
def finetuned(data):
    lab, test, std, enc = data["lab"], data["test"], data["std"], data["enc"]
    xl, pl = sample_tokens(lab, std)
    xt, pt = sample_tokens(test, std)
    idx = _subset(lab, 0)
    model, _ = finetune(
        xl[idx], pl[idx], lab.label[idx], lab.q2_true[idx], backbone=enc, steps=FT_STEPS, seed=0
    )
    held = np.setdiff1d(np.arange(len(lab)), idx)
    logit = np.full(len(lab), np.nan)
    logit[held] = predict(model, xl[held], pl[held])["logit"]
    return {
        "model": model,
        "eta": fit_eta(logit, lab),
        "auc": auc(predict(model, xt, pt)["logit"], test.label),
    }


def test_pretraining_learns():
    unl = simulate(4000, kind="mixed", seed=11)
    std = fit_standardizer(unl)
    inp = pretrain_inputs(unl, std)
    _, hist = pretrain(
        inp["tokens"], inp["pad"], SIZES["ci"], kinds=inp["kinds"], steps=80, batch_size=128, seed=0
    )
    assert hist["loss_last"] < 0.95 * hist["loss_first"]
    assert "particle kind" in hist["objective"]


def test_finetuned_scorer_works(finetuned):
    # a working scorer (far from random) on independent events; no claim against other arms here
    assert 0.8 < finetuned["auc"] < 1.0


def test_frozen_backbone_keeps_weights(data):
    lab, std, enc = data["lab"], data["std"], data["enc"]
    x, pad = sample_tokens(lab.select(np.arange(300)), std)
    model, info = finetune(
        x, pad, lab.label[:300], config=enc.cfg, backbone=enc, frozen=True, steps=3, batch_size=64
    )
    assert info["init"] == "frozen"
    for k, v in enc.state_dict().items():
        assert torch.equal(v, model.encoder.state_dict()[k])
    with pytest.raises(Exception, match="needs a pre-trained backbone"):
        finetune(x, pad, lab.label[:300], config=enc.cfg, frozen=True, steps=1)


def test_eta_is_flat_on_sm_weighted_signal(data, finetuned):
    lab, std = data["lab"], data["std"]
    sc = score_sample(finetuned["model"], std, lab)
    held = np.setdiff1d(np.flatnonzero(lab.label == 1), _subset(lab, 0))
    eta = finetuned["eta"](sc["logit"][held])
    # the one eta rule (redist.fm.eta.fit_eta): flat for SM-weighted signal
    counts, _ = np.histogram(eta, np.linspace(0, 1, 5), weights=lab.weight[held])
    assert counts.min() > 0.85 * counts.mean()


@pytest.fixture(scope="module")
def closure(wet, data, finetuned):
    a = simulate(15000, kind="signal", theory=wet, seed=21)
    b = simulate(15000, kind="signal", theory=wet, values=NP_POINT, seed=22)
    model, eta, std = finetuned["model"], finetuned["eta"], data["std"]
    out = {}
    for name, sample in (("A", a), ("B", b)):
        logit = score_sample(model, std, sample)["logit"]
        out[name] = {
            "sample": sample,
            "x": fm_fit_bins(sample, logit, eta, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES),
        }
    return out


def test_closure_reweighting_fm_x(wet, closure):
    """SM reweighted to cSL = 10 by q2 alone reproduces cSL = 10 simulated directly (FM x).

    Independent samples: chi2 ~ chi2(9). The negative controls that this test must flag are
    in tests/test_fm_closure.py; the chi2 distribution over many seeds in docs/fm.md.
    """
    a, b = closure["A"], closure["B"]
    r = closure_test(a["x"], a["sample"].q2_true, b["x"], b["sample"].q2_true, N_X, wet, {}, NP_POINT)
    assert r["ndf"] == N_X
    assert r["chi2"] < stats.chi2.ppf(0.999, r["ndf"]), r


def test_efficiency_theory_independent(closure):
    edges = np.concatenate([[-1.0], np.linspace(0.0, Q2_CUTOFF, 11)])
    ea = efficiency(closure["A"]["x"], closure["A"]["sample"].q2_true, N_X, z_edges=edges)
    eb = efficiency(closure["B"]["x"], closure["B"]["sample"].q2_true, N_X, z_edges=edges)
    var = ea.variances() + eb.variances()
    ok = var > 0
    chi2 = np.sum((ea.values()[ok] - eb.values()[ok]) ** 2 / var[ok])
    assert chi2 < stats.chi2.ppf(0.999, ok.sum())


def test_density_layout_and_uncertainties(closure):
    a = closure["A"]
    base = np.where(a["x"] >= 0, (a["x"] + 1) % N_X, -1)  # a second "ensemble member"
    res = build(a["x"], a["sample"].q2_true, N_X, scale=1.0, n_replicas=20, seed=3, ensemble_x=[base])
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


def test_deterministic_training(data):
    x, pad = sample_tokens(data["lab"].select(np.arange(600)), data["std"])
    e1, _ = pretrain(x, pad, SIZES["ci"], steps=4, batch_size=64, seed=5)
    e2, _ = pretrain(x, pad, SIZES["ci"], steps=4, batch_size=64, seed=5)
    for k, v in e1.state_dict().items():
        assert torch.equal(v, e2.state_dict()[k])
    y = data["lab"].label[:600]
    m1, _ = finetune(x, pad, y, backbone=e1, steps=3, batch_size=64, seed=1)
    m2, _ = finetune(x, pad, y, backbone=e2, steps=3, batch_size=64, seed=1)
    np.testing.assert_array_equal(predict(m1, x, pad)["logit"], predict(m2, x, pad)["logit"])


def test_checkpoints_roundtrip(tmp_path, data, finetuned):
    enc, std = data["enc"], data["std"]
    save_backbone(tmp_path / "bb", enc, std, {"pretraining": {"steps": 7}})
    enc2, std2, card = load_backbone_dir(tmp_path / "bb")
    assert card["config"] == load_backbone("default")[2]["config"] and card["pretraining"]["steps"] == 7
    np.testing.assert_array_equal(std2.mean, std.mean)
    for k, v in enc.state_dict().items():
        assert torch.equal(v, enc2.state_dict()[k])
    model = finetuned["model"]
    save_model(tmp_path / "ft", model, std, finetuned["eta"], {"metrics": {"x": 1}})
    m2, _, eta2, _ = load_model(tmp_path / "ft")
    x, pad = sample_tokens(data["test"].select(np.arange(300)), std)
    np.testing.assert_array_equal(predict(model, x, pad)["logit"], predict(m2, x, pad)["logit"])
    np.testing.assert_array_equal(eta2.knots, finetuned["eta"].knots)
    assert json.loads((tmp_path / "ft" / "model_card.json").read_text())["metrics"] == {"x": 1}


def test_onnx_matches_torch(tmp_path, data, finetuned):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    from redist.fm.export import export_onnx, onnx_max_abs_diff

    path = export_onnx(finetuned["model"], tmp_path / "m.onnx", n_tokens=32)
    for n in (7, 2000):
        x, pad = sample_tokens(data["test"].select(np.arange(n)), data["std"])
        assert onnx_max_abs_diff(finetuned["model"], path, x, pad) < 1e-4


def test_engineered_baseline_is_strong(data):
    """The engineered-feature logistic regression is a strong baseline on this toy (docs/fm.md)."""
    lab, test = data["lab"], data["test"]
    idx = _subset(lab, 0)
    base = LogisticBaseline.fit(lab.features[idx], lab.label[idx])
    assert auc(base(test.features), test.label) > 0.9


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
