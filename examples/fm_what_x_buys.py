"""What the learned x buys: expected Wilson-coefficient intervals from n(x, z) with learned vs engineered x.

With the **same labels** (``--n-labelled`` balanced events from a q2-flat pool) three scores
are trained: the shipped backbone fine-tuned (``fm``), logistic regression on the 26
engineered features (``logistic``, the package's baseline) and a gradient-boosted tree on the
same features (``gbdt``, scikit-learn, not in the ``fm`` extra; ``--no-gbdt`` skips it). Each
score becomes a fit variable with the one eta rule (:func:`redist.fm.eta.fit_eta`) and the
same fit bins (``ETA_EDGES`` x ``Q2REC_EDGES``: eta >= 0.6, four eta bins holding 10 % of the
preselected SM signal each, times three q2_rec bins; the same working point as the Z_A of the
data-efficiency study).

Pseudo-analysis per score and luminosity (``--lumi-fb``: 362 fb^-1, the published data set,
and 50 ab^-1, the Belle II goal; one channel, 12 bins):

* signal: n(x, q2_true) of generated SM signal (100 q2 bins on [0, 22.885] GeV^2), scaled to
  N_B+- x BF_SM (N_B+- = 2 x 387 M x 0.514 at 362 fb^-1); reweighted to any WET point by the
  package (``redist.reinterpret``);
* background: a generated background sample mixed by cross section (physical weights), per fit
  bin, scaled to sigma x L; a bin without a test event gets one mean event weight (the pool
  limits the reachable background level); one normalisation uncertainty of 10 % (``normsys``),
  no MC-statistics term (the counts of background MC events per bin are recorded);
* data: Asimov at a truth point (``--truth``: the SM and cVL = 10 by default).

Expected 68 %/95 % profile-likelihood intervals (``redist.infer.scan``; the background
normalisation profiled) of cVL with cSL = cTL = 0, and of cSL and of cTL with cVL at its truth
value and the third coefficient at 0. The form-factor nuisances of the theory are not exposed
(``nuisance_groups=False``): they act on every x alike.

Run: ``python examples/fm_what_x_buys.py --seeds 0`` (one JSON per seed in ``--workdir``),
``--aggregate`` writes ``docs/_static/fm/what_x_buys.json`` and ``.md``. The pseudo-analysis
helpers here are also used by ``examples/fm_domain_shift.py``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

STATIC = Path(__file__).resolve().parents[1] / "docs" / "_static" / "fm"
WORKDIR = Path(__file__).resolve().parent / "output" / "fm_what_x_buys"
ETA_EDGES = (0.6, 0.7, 0.8, 0.9, 1.0)
Q2REC_EDGES = (-np.inf, 4.0, 8.0, np.inf)
N_X = (len(ETA_EDGES) - 1) * (len(Q2REC_EDGES) - 1)
Q2_MAX = 22.885
Z_EDGES = np.linspace(0.0, Q2_MAX, 101)
LUMI_FB = 362.0
N_BPM = 2 * 387e6 * 0.514  # at 362 fb^-1
BF_SM = 4.97e-6
PARS = ("cVL", "cSL", "cTL")
BOUND = 40.0


def seeds_arg(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return out


def point_arg(text: str) -> dict[str, float]:
    """``"SM"`` or ``"cVL=10[,cSL=2]"``: the exposed coefficients, the others at the SM."""
    from redist.theory import get_theory

    sm = get_theory("wet", process="B+->K+nunu").reference_point()
    pt = {p: float(sm[p]) for p in PARS}
    if text.upper() != "SM":
        pt.update({k: float(v) for k, v in (kv.split("=") for kv in text.split(","))})
    return pt


# -- the pseudo-analysis ----------------------------------------------------------------------
def signal_density(x: np.ndarray, q2_true: np.ndarray, n_generated: int, lumi_fb: float = LUMI_FB) -> Any:
    """n(x, q2_true) of generated SM signal, scaled to the expected yield at ``lumi_fb``."""
    from redist.fm.densities import joint_density

    w = np.full(len(x), N_BPM * lumi_fb / LUMI_FB * BF_SM / n_generated)
    return joint_density(x, q2_true, N_X, weights=w, z_edges=Z_EDGES)


def background_yields(
    x: np.ndarray, weight: np.ndarray, lumi_fb: float = LUMI_FB
) -> tuple[np.ndarray, np.ndarray]:
    """Expected background per fit bin at ``lumi_fb`` and the number of MC events behind it."""
    from redist.simulate import CROSS_SECTIONS

    scale = sum(CROSS_SECTIONS.values()) * lumi_fb * 1e6 / weight.sum()  # sigma [nb] x L [nb^-1]
    sel = x >= 0
    y = np.bincount(x[sel], weights=weight[sel], minlength=N_X) * scale
    k = np.bincount(x[sel], minlength=N_X)
    return np.maximum(y, weight.mean() * scale), k


def pseudo_model(density: Any, background: np.ndarray, bkg_unc: float = 0.1) -> Any:
    """The pseudo-analysis likelihood: reweighted signal n(x, z) plus background, 10 % norm."""
    from redist import reinterpret
    from redist.modifier import Reweighting
    from redist.theory import get_theory

    wet = get_theory("wet", process="B+->K+nunu")
    sig = np.asarray(density.yields(), float)
    ws = {
        "channels": [{"name": "sr", "samples": [
            {"name": "signal", "data": sig.tolist(),
             "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
            {"name": "background", "data": np.asarray(background, float).tolist(),
             "modifiers": [{"name": "bkg_norm", "type": "normsys",
                            "data": {"hi": 1 + bkg_unc, "lo": 1 - bkg_unc}}]},
        ]}],
        "observations": [{"name": "sr", "data": (sig + background).tolist()}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }  # fmt: skip
    rw = Reweighting(
        "wet", wet, [Z_EDGES], parameters=PARS, bounds={p: (0.0, BOUND) for p in PARS},
        inits={"cVL": wet.reference_point()["cVL"]}, nuisance_groups=False, cutoff=[(0.0, Q2_MAX)],
    )  # fmt: skip
    return reinterpret(ws, {("sr", "signal"): density}, rw, prune=["mu"])


def asimov(
    truth_model: Any, fit_model: Any, point: Mapping[str, float], background: np.ndarray
) -> np.ndarray:
    """Asimov data of ``truth_model`` at ``point`` (background at nominal) in ``fit_model``'s layout."""
    s = truth_model.templates(dict(point))[("sr", "signal")]
    aux = np.asarray(fit_model.model.config.auxdata, float)
    return np.concatenate([np.asarray(background, float) + s, aux])


def intervals(
    model: Any, data: np.ndarray, truth: Mapping[str, float], pars: Sequence[str] = PARS, n_grid: int = 61
) -> dict[str, Any]:
    """Expected 68 %/95 % intervals of each of ``pars``, the other coefficients fixed at ``truth``."""
    from redist.infer import scan

    out: dict[str, Any] = {}
    for p in pars:
        fixed = {q: float(truth[q]) for q in PARS if q != p}
        r = scan(model, {p: np.linspace(0.0, BOUND, n_grid)}, fixed=fixed, data=data)
        i68, i95 = r.interval(0.6827), r.interval(0.95)
        out[p] = {
            "truth": float(truth[p]),
            "best": float(r.bestfit.values[p]),
            "int68": i68,
            "int95": i95,
            "width68": float(sum(hi - lo for lo, hi in i68)),
            "width95": float(sum(hi - lo for lo, hi in i95)),
            "converged": bool(np.all(r.converged)),
            "fixed": fixed,
        }
    return out


# -- one seed ---------------------------------------------------------------------------------
def one_seed(s: int, a: argparse.Namespace) -> dict[str, Any]:
    from redist.fm import load_backbone
    from redist.fm.backbone import setup_torch
    from redist.fm.baseline import LogisticBaseline
    from redist.fm.eta import auc, fit_eta
    from redist.fm.heads import finetune
    from redist.fm.pipeline import fm_fit_bins, sample_tokens, score_sample
    from redist.simulate import simulate

    setup_torch(a.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    b = 65537 * (s + 1)
    lab = simulate(a.n_pool, kind="mixed", signal_fraction=0.5, q2_shape="flat", seed=b + 1)
    lab = lab.select(lab.presel)
    sig = simulate(a.n_signal, kind="signal", seed=b + 2)  # SM q2 spectrum
    bkg = simulate(a.n_background, kind="background", seed=b + 3)
    rng = np.random.default_rng(b)
    half = a.n_labelled // 2
    idx = np.concatenate([rng.choice(np.flatnonzero(lab.label == k), half, replace=False) for k in (1, 0)])
    held = lab.select(np.setdiff1d(np.arange(len(lab)), idx))
    scores: dict[str, Any] = {}
    enc, std, card = load_backbone(a.backbone)
    x, pad = sample_tokens(lab, std)
    model, _ = finetune(x[idx], pad[idx], lab.label[idx], lab.q2_true[idx], backbone=enc,
                        steps=a.finetune_steps, seed=b)  # fmt: skip
    scores["fm"] = lambda smp: score_sample(model, std, smp)["logit"]
    lr = LogisticBaseline.fit(lab.features[idx], lab.label[idx])
    scores["logistic"] = lambda smp: np.where(smp.presel, lr(smp.features), np.nan)
    if not a.no_gbdt:
        from sklearn.ensemble import HistGradientBoostingClassifier

        gb = HistGradientBoostingClassifier(max_iter=200, random_state=b).fit(
            lab.features[idx], lab.label[idx]
        )
        scores["gbdt"] = lambda smp: np.where(smp.presel, gb.decision_function(smp.features), np.nan)
    truths = {t: point_arg(t) for t in a.truth}
    res: dict[str, Any] = {
        "seed": s, "seeds_base": b, "backbone": card.get("name", a.backbone), "n_labelled": a.n_labelled,
        "finetune_steps": a.finetune_steps, "n_signal_generated": len(sig),
        "n_background_generated": len(bkg), "truth": truths, "x": {},
    }  # fmt: skip
    for name, score in scores.items():
        ok = held.presel
        lg_h = score(held)
        eta = fit_eta(lg_h, held)
        xs = fm_fit_bins(sig, score(sig), eta, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES)
        xb = fm_fit_bins(bkg, score(bkg), eta, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES)
        row: dict[str, Any] = {"auc_held": auc(lg_h[ok], held.label[ok]), "lumi": {}}
        for lumi in a.lumi_fb:
            dens = signal_density(xs, sig.q2_true, len(sig), lumi)
            byield, kmc = background_yields(xb, bkg.weight, lumi)
            rm = pseudo_model(dens, byield)
            lrow: dict[str, Any] = {
                "signal_per_bin": np.asarray(dens.yields()).tolist(),
                "background_per_bin": byield.tolist(),
                "background_mc_events_per_bin": kmc.tolist(),
                "intervals": {t: intervals(rm, asimov(rm, rm, pt, byield), pt) for t, pt in truths.items()},
            }
            row["lumi"][f"{lumi:g}"] = lrow
            brief = {t: {p: [round(v, 2) for iv in d["int68"] for v in iv] for p, d in ivs.items()}
                     for t, ivs in lrow["intervals"].items()}  # fmt: skip
            print(json.dumps({"seed": s, "x": name, "lumi_fb": lumi, **brief}), flush=True)
        res["x"][name] = row
    res["wall_s"] = time.perf_counter() - t0
    res["cpu_s"] = time.process_time() - c0
    return res


def aggregate(workdir: Path, out: Path) -> dict[str, Any]:
    from redist.io.atomic import atomic_write_text

    runs = [json.loads(p.read_text()) for p in sorted(workdir.glob("seed_*.json"))]
    if not runs:
        raise SystemExit(f"no seed_*.json in {workdir}")
    xs = list(runs[0]["x"])

    def ms(v: list[float]) -> dict[str, Any]:
        a = np.asarray(v, float)
        se = float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else None
        return {"mean": float(a.mean()), "se": se, "values": a.tolist()}

    def cell(d: dict[str, Any], fmt: str = ".2f") -> str:
        return f"{d['mean']:{fmt}}" + (f" ± {d['se']:{fmt.lstrip('+')}}" if d["se"] is not None else "")

    summary: dict[str, Any] = {"auc_held": {x: ms([r["x"][x]["auc_held"] for r in runs]) for x in xs}}
    lines = [
        f"Expected 68 % / 95 % intervals (Asimov), mean ± s.e. over {len(runs)} seed(s) "
        f"({', '.join(str(r['seed']) for r in runs)}); N = {runs[0]['n_labelled']} labels; "
        "AUC (held-out, unweighted): " + ", ".join(f"{x} {cell(summary['auc_held'][x], '.3f')}" for x in xs),
        "",
        "| L | truth | coefficient | CL | " + " | ".join(f"{x}: interval" for x in xs) + " |",
        "|---|---|---|---|" + "---|" * len(xs),
    ]
    for lumi in runs[0]["x"][xs[0]]["lumi"]:
        for t in runs[0]["truth"]:
            for p in PARS:
                for cl in ("68", "95"):
                    cells = []
                    for x in xs:
                        ivs = [r["x"][x]["lumi"][lumi]["intervals"][t][p] for r in runs]
                        lo = ms([min(a for a, _ in d[f"int{cl}"]) for d in ivs])
                        hi = ms([max(b for _, b in d[f"int{cl}"]) for d in ivs])
                        wd = ms([d[f"width{cl}"] for d in ivs])
                        summary.setdefault(lumi, {}).setdefault(t, {}).setdefault(p, {}).setdefault(x, {})[
                            cl
                        ] = {"low": lo, "high": hi, "width": wd}
                        cells.append(f"[{cell(lo)}, {cell(hi)}]")
                    lines.append(f"| {lumi} fb⁻¹ | {t} | {p} | {cl} % | " + " | ".join(cells) + " |")
    doc = {"description": (__doc__ or "").split("\n")[0], "seeds": [r["seed"] for r in runs],
           "summary": summary, "per_seed": runs}  # fmt: skip
    atomic_write_text(out, json.dumps(doc, indent=1) + "\n")
    atomic_write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--seeds", type=seeds_arg, default=seeds_arg("0"))
    ap.add_argument("--truth", nargs="+", default=["SM", "cVL=10"])
    ap.add_argument("--lumi-fb", nargs="+", type=float, default=[362.0, 50000.0])
    ap.add_argument("--backbone", default="default")
    ap.add_argument("--n-labelled", type=int, default=1000)
    ap.add_argument("--finetune-steps", type=int, default=150)
    ap.add_argument("--n-pool", type=int, default=12000)
    ap.add_argument("--n-signal", type=int, default=20000)
    ap.add_argument("--n-background", type=int, default=150000)
    ap.add_argument("--no-gbdt", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workdir", default=str(WORKDIR))
    ap.add_argument("--aggregate", action="store_true")
    ap.add_argument("--out", default=str(STATIC / "what_x_buys.json"))
    a = ap.parse_args()
    wd = Path(a.workdir)
    if a.aggregate:
        aggregate(wd, Path(a.out))
        return
    from redist.io.atomic import atomic_write_text

    wd.mkdir(parents=True, exist_ok=True)
    for s in a.seeds:
        res = one_seed(s, a)
        atomic_write_text(wd / f"seed_{s:03d}.json", json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
