"""Closure of q2-only reweighting over many seeds, with two negative controls that must fail.

For each seed s (independent samples A_s, B_s, C_s of generated signal):

* **nominal**: n(x, z) from SM sample A_s reweighted by q2 to an NP point, against NP
  sample B_s simulated directly. Independent samples: chi2 ~ chi2(ndf) if eps(x|q2) is
  theory-independent;
* **control "detector"**: B simulated with a theory-dependent detector effect
  (``tune={"theory_control": c}``: the signal kaon is lost with probability c and
  smeared by c at the NP point) -- eps(x|q2) now depends on the theory; must fail;
* **control "coarse z"**: the reweighting uses 4 coarse q2 bins instead of 100, too
  coarse for the q2 dependence of eps; must fail.

x is built twice, with the fine-tuned FM score (backbone ``--backbone``, fine-tuned here on
``--n-labelled`` labels) and with the engineered-feature logistic regression, both with the
one eta rule (:func:`redist.fm.eta.fit_eta`). The chi2 distribution of the nominal runs is
compared with chi2(ndf) (KS test, mean, tail fractions).

Run: ``python examples/fm_closure.py --seeds 0-19 [--n-signal 15000] [--np cSL=10]``.
Writes ``docs/_static/fm/closure.json`` and ``docs/_static/fm/closure.png``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from redist.fm import load_backbone
from redist.fm.backbone import setup_torch
from redist.fm.baseline import LogisticBaseline
from redist.fm.densities import closure_test
from redist.fm.eta import fit_eta
from redist.fm.heads import finetune
from redist.fm.pipeline import fm_fit_bins, sample_tokens, score_sample
from redist.simulate import simulate
from redist.theory import get_theory

ETA_EDGES = (0.25, 0.5, 0.75, 1.0)
Q2REC_EDGES = (-np.inf, 4.0, 8.0, np.inf)
N_X = 9
COARSE = np.array([-1.0, 0.0, 8.0, 16.0, 22.885])
STATIC = Path(__file__).resolve().parents[1] / "docs" / "_static" / "fm"


def seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=seeds, default=seeds("0-19"), help="e.g. 0-19 or 1,5,9")
    ap.add_argument("--n-signal", type=int, default=15000, help="generated signal events per sample")
    ap.add_argument("--np", default="cSL=10", help="NP point NAME=VALUE[,NAME=VALUE]")
    ap.add_argument("--control", type=float, default=0.15, help="strength of the detector control")
    ap.add_argument("--backbone", default="default")
    ap.add_argument("--n-labelled", type=int, default=1000)
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-fm", action="store_true", help="engineered x only (no torch)")
    ap.add_argument("--out", default=str(STATIC / "closure.json"))
    ap.add_argument("--from-log", default=None, help="summarise the per-seed JSON lines of a (stopped) run")
    a = ap.parse_args()
    if a.from_log:
        lines = [json.loads(t) for t in Path(a.from_log).read_text().splitlines() if t.startswith('{"seed"')]
        meta = {"np": a.np, "control": a.control, "n_signal": a.n_signal, "n_labelled": a.n_labelled,
                "backbone": None if a.no_fm else a.backbone, "from_log": True}  # fmt: skip
        summarize(lines, meta, Path(a.out))
        return
    setup_torch(a.threads)
    point = {k: float(v) for k, v in (kv.split("=") for kv in a.np.split(","))}
    wet = get_theory("wet", process="B+->K+nunu")
    t0 = time.perf_counter()

    # scorers, trained once (training seed fixed; the closure seeds vary the samples)
    lab = simulate(8000, kind="mixed", signal_fraction=0.5, q2_shape="flat", seed=10_000 + a.train_seed)
    lab = lab.select(lab.presel)
    rng = np.random.default_rng(a.train_seed)
    half = a.n_labelled // 2
    idx = np.concatenate([rng.choice(np.flatnonzero(lab.label == k), half, replace=False) for k in (1, 0)])
    rest = np.setdiff1d(np.arange(len(lab)), idx)
    held = lab.select(rest)
    whiches = ("eng",) if a.no_fm else ("fm", "eng")
    card: dict = {}
    if not a.no_fm:
        enc, std, card = load_backbone(a.backbone)
        x, pad = sample_tokens(lab, std)
        model, _ = finetune(
            x[idx], pad[idx], lab.label[idx], lab.q2_true[idx], backbone=enc, steps=300, seed=a.train_seed
        )
        eta_fm = fit_eta(score_sample(model, std, held)["logit"], held)
    base = LogisticBaseline.fit(lab.features[idx], lab.label[idx])
    eta_eng = fit_eta(base(held.features), held)

    def xbins(sample):
        bl = np.where(sample.presel, base(sample.features), np.nan)
        out = {"eng": fm_fit_bins(sample, bl, eta_eng, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES)}
        if not a.no_fm:
            lg = score_sample(model, std, sample)["logit"]
            out["fm"] = fm_fit_bins(sample, lg, eta_fm, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES)
        return out

    runs = []
    for s in a.seeds:
        sa = simulate(a.n_signal, kind="signal", theory=wet, seed=100_000 + 3 * s)
        sb = simulate(a.n_signal, kind="signal", theory=wet, values=point, seed=100_001 + 3 * s)
        sc = simulate(
            a.n_signal, kind="signal", theory=wet, values=point, seed=100_002 + 3 * s,
            tune={"theory_control": a.control},
        )  # fmt: skip
        xa, xb, xc = xbins(sa), xbins(sb), xbins(sc)
        row: dict = {"seed": s}
        for which in whiches:
            for name, xo, other, edges in (
                ("nominal", xb, sb, None),
                ("detector", xc, sc, None),
                ("coarse_z", xb, sb, COARSE),
            ):
                r = closure_test(
                    xa[which], sa.q2_true, xo[which], other.q2_true, N_X, wet, {}, point, z_edges=edges
                )
                row[f"{name}_{which}"] = {"chi2": r["chi2"], "ndf": r["ndf"]}
        runs.append(row)
        print(json.dumps(row), flush=True)

    meta = {
        "n_signal": a.n_signal,
        "np_point": point,
        "control": a.control,
        "backbone": None if a.no_fm else card.get("name", str(a.backbone)),
        "n_labelled": a.n_labelled,
        "wall_s": time.perf_counter() - t0,
    }
    summarize(runs, meta, Path(a.out))


def summarize(runs: list[dict], meta: dict, out: Path) -> dict:
    """chi2 summary over seeds, JSON and figure (also from the per-seed lines of a stopped run)."""
    whiches = [w for w in ("fm", "eng") if f"nominal_{w}" in runs[0]]
    summary: dict = {}
    crit = {}
    for key in runs[0]:
        if key == "seed":
            continue
        c = np.array([r[key]["chi2"] for r in runs])
        ndf = runs[0][key]["ndf"]
        crit[key] = stats.chi2.ppf(0.999, ndf)
        summary[key] = {
            "ndf": ndf,
            "mean_chi2": float(c.mean()),
            "sd_chi2": float(c.std(ddof=1)) if len(c) > 1 else None,
            "median_chi2": float(np.median(c)),
            "frac_above_chi2_95": float(np.mean(c > stats.chi2.ppf(0.95, ndf))),
            "frac_above_chi2_999": float(np.mean(c > crit[key])),
            "ks_pvalue_vs_chi2_ndf": float(stats.kstest(c, stats.chi2(ndf).cdf).pvalue)
            if len(c) > 2
            else None,
        }
    res = {
        **meta,
        "seeds": [r["seed"] for r in runs],
        "summary": summary,
        "runs": runs,
        "expectation": "nominal: chi2 ~ chi2(ndf) (mean = ndf, 5 % above the 95 % quantile); controls: above",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")

    fig, axes = plt.subplots(1, len(whiches), figsize=(4.5 * len(whiches), 3.2), squeeze=False)
    axes = axes[0]
    ndf = summary["nominal_eng"]["ndf"]
    grid = np.linspace(0, 40, 200)
    for ax, which in zip(axes, whiches):
        c = np.array([r[f"nominal_{which}"]["chi2"] for r in runs])
        ax.hist(c, bins=np.linspace(0, 40, 21), density=True, alpha=0.6, label=f"nominal ({len(c)} seeds)")
        ax.plot(grid, stats.chi2.pdf(grid, ndf), "k-", lw=1, label=rf"$\chi^2$({ndf})")
        for name, col in (("detector", "C3"), ("coarse_z", "C2")):
            cc = np.array([r[f"{name}_{which}"]["chi2"] for r in runs])
            ax.plot(np.clip(cc, 0, 39.5), np.full(len(cc), 0.005), "|", color=col, ms=12,
                    label=f"control {name}: median {np.median(cc):.0f}")  # fmt: skip
        ax.axvline(stats.chi2.ppf(0.999, ndf), color="gray", ls=":", lw=1)
        ax.set_xlabel(r"closure $\chi^2$ (values > 40 drawn at 40)")
        ax.set_title("FM x" if which == "fm" else "engineered x", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=80)
    print(json.dumps({"summary": summary}, indent=1))
    return res


if __name__ == "__main__":
    main()
