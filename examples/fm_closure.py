"""FM-embedding closure study: pre-train, fine-tune, build n(x, q2), reweight SM -> NP, compare.

Writes ``docs/_static/fm_closure.png`` and prints/writes the measured numbers
(``docs/_static/fm_closure.json`` is not written; numbers go to stdout as JSON).
Run: ``python examples/fm_closure.py [--threads 2]`` (about 2-4 minutes on 2 CPU cores).
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

from redist.fm.backbone import SIZES, pretrain, setup_torch
from redist.fm.baseline import LogisticBaseline
from redist.fm.densities import bin_rate_ratio, closure_chi2, joint_density, reweight
from redist.fm.heads import EtaTransform, auc, finetune, predict
from redist.fm.pipeline import fm_fit_bins, sample_tokens, score_sample
from redist.fm.tokens import Standardizer, make_tokens
from redist.simulate import q2_sampler, simulate
from redist.theory import get_theory

ETA_EDGES = (0.25, 0.5, 0.75, 1.0)
Q2REC_EDGES = (-np.inf, 4.0, 8.0, np.inf)
N_X = 9
N_B = 2 * 387e6 * 0.514
POINTS = {"cSL = 10": {"cSL": 10.0}, "cTL = 8": {"cTL": 8.0}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "_static" / "fm_closure.png")
    )
    args = ap.parse_args()
    setup_torch(args.threads)
    res: dict = {"threads": args.threads}
    wet = get_theory("wet", process="B+->K+nunu")

    t0 = time.perf_counter()
    raw = simulate(50000, kind="mixed", seed=11)
    res["simulate_events_per_s"] = 50000 / (time.perf_counter() - t0)
    unl = raw.select(raw.presel)
    lab = simulate(6000, kind="mixed", signal_fraction=0.5, q2_shape="flat", seed=12)
    lab = lab.select(lab.presel)
    test = simulate(8000, kind="mixed", signal_fraction=0.4, seed=13)
    test = test.select(test.presel)
    unl = unl.select(np.arange(min(len(unl), 9000)))
    std = Standardizer.fit(make_tokens(unl.particles, unl.mask), unl.mask)
    xu, pu = sample_tokens(unl, std)
    enc, hist = pretrain(xu, pu, SIZES["ci"], steps=300, batch_size=256, seed=0)
    res["pretrain"] = {k: hist[k] for k in ("loss_first", "loss_last", "train_events_per_s")}
    xl, pl = sample_tokens(lab, std)
    xt, pt = sample_tokens(test, std)
    res["auc"] = {}
    models = {}
    for seed in (0, 1, 2):
        rng = np.random.default_rng(100 + seed)
        idx = np.concatenate(
            [
                rng.choice(np.flatnonzero(lab.label == 1), 200, replace=False),
                rng.choice(np.flatnonzero(lab.label == 0), 200, replace=False),
            ]
        )
        row = {}
        for name, bb in (("pretrained", enc), ("scratch", None)):
            m, info = finetune(
                xl[idx],
                pl[idx],
                lab.label[idx],
                lab.q2_true[idx],
                config=SIZES["ci"],
                backbone=bb,
                steps=150,
                seed=seed,
            )
            t1 = time.perf_counter()
            row[name] = auc(predict(m, xt, pt)["logit"], test.label)
            res["inference_events_per_s"] = len(xt) / (time.perf_counter() - t1)
            res["finetune_events_per_s"] = info["train_events_per_s"]
            if seed == 0:
                models[name] = (m, idx)
        row["delta"] = row["pretrained"] - row["scratch"]
        res["auc"][seed] = row
    model, idx = models["pretrained"]
    held = np.setdiff1d(np.flatnonzero(lab.label == 1), idx)
    eta = EtaTransform.fit(predict(model, xl[held], pl[held])["logit"])
    base = LogisticBaseline.fit(lab.features, lab.label)
    res["auc_engineered"] = auc(base(test.features), test.label)
    eta_b = EtaTransform.fit(base(lab.features[lab.label == 1]))

    def xbins(sample):
        lg = score_sample(model, std, sample)["logit"]
        bl = np.where(sample.presel, base(sample.features), np.nan)
        return {
            "fm": fm_fit_bins(sample, lg, eta, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES),
            "eng": fm_fit_bins(sample, bl, eta_b, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES),
        }

    a = simulate(30000, kind="signal", theory=wet, seed=21)
    xa = xbins(a)
    br_a = q2_sampler(wet, {})[2]
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.0), sharey=True)
    res["closure"] = {}
    for ax, (label, point) in zip(axes, POINTS.items()):
        b = simulate(30000, kind="signal", theory=wet, values=point, seed=22)
        xb = xbins(b)
        br_b = q2_sampler(wet, point)[2]
        w = bin_rate_ratio(wet, {}, point)
        for k, (which, mk) in enumerate((("fm", "o"), ("eng", "s"))):
            n_a = joint_density(xa[which], a.q2_true, N_X, weights=np.full(len(a), N_B * br_a / len(a)))
            n_b = joint_density(xb[which], b.q2_true, N_X, weights=np.full(len(b), N_B * br_b / len(b)))
            pred, pv = reweight(n_a, w)
            d, dv = n_b.yields(), n_b.variances().sum(axis=1)
            chi2, ndf = closure_chi2(pred, pv, d, dv)
            res["closure"][f"{label} {which}"] = chi2 / ndf
            xs = np.arange(N_X) + (k - 0.5) * 0.2
            ax.errorbar(
                xs,
                pred / d,
                yerr=np.sqrt(pv + dv) / d,
                fmt=mk,
                ms=3,
                label=f"{'FM x' if which == 'fm' else 'engineered x'}: $\\chi^2$/ndf = {chi2 / ndf:.2f}",
            )
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_title(
            f"SM $\\to$ {label.replace('c', 'c_{', 1).replace(' =', '} =')}".replace("c_{", "$c_{").replace(
                "} =", "}$ ="
            ),
            fontsize=9,
        )
        ax.set_xlabel(r"fit bin ($\eta$ outer $\times$ $q^2_{rec}$ inner)")
        ax.legend(fontsize=7, loc="lower left")
    axes[0].set_ylabel("reweighted SM / direct NP")
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
