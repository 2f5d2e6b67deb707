"""Difficulty calibration of the toy simulator against the published ITA operating point.

Trains the engineered-feature baselines (logistic regression and a gradient-boosted
tree on the 26 engineered features) on a q2-flat labelled pool and measures, on
independent SM signal and cross-section-weighted background samples:

* AUC on preselected events;
* the background efficiency (per generated background event, physical weights) at
  the published signal-region efficiency eps_S = 8 % of generated SM signal;
* the implied signal and background yields at 362 fb^-1 (S/B), with the number of
  background events behind it (the pools limit what can be resolved);
* the per-process composition of the background passing the cut;
* eps(q2) of the 8 % selection next to the published shape (docs/fm.md).

Run: ``python examples/fm_calibrate.py [--tune nominal|data_like] [--n-bkg 60000]``
(about 2 minutes on one contended core). Writes ``docs/_static/fm/calibration_<tune>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from redist.fm.baseline import LogisticBaseline
from redist.fm.heads import auc
from redist.simulate import CROSS_SECTIONS, DATA_LIKE_TUNE, DEFAULT_TUNE, PROCESSES, simulate

LUMI_NB = 362e6  # 362 fb^-1 in nb^-1
N_BPM = 2 * 387e6 * 0.514  # charged B mesons
BF_SM = 4.97e-6  # short-distance SM (the tau nu part is a background here)
PUBLISHED_EPS_Q2 = {"q2": [3.0, 9.0, 14.0, 16.0, 20.0], "eps": [0.08, 0.05, 0.016, 0.007, 0.001]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tune", choices=["nominal", "data_like"], default="nominal")
    ap.add_argument("--n-train", type=int, default=40000)
    ap.add_argument("--n-bkg", type=int, default=60000)
    ap.add_argument("--n-sig", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    from sklearn.ensemble import HistGradientBoostingClassifier

    tune = DEFAULT_TUNE if a.tune == "nominal" else DATA_LIKE_TUNE
    t0 = time.perf_counter()
    tr = simulate(a.n_train, kind="mixed", signal_fraction=0.5, q2_shape="flat", seed=a.seed, tune=tune)
    bkg = simulate(a.n_bkg, kind="background", seed=a.seed + 1, tune=tune)
    sig = simulate(a.n_sig, kind="signal", seed=a.seed + 2, tune=tune)
    tr = tr.select(tr.presel)
    res: dict = {
        "tune": a.tune,
        "tune_values": tune,
        "n_train_preselected": len(tr),
        "n_bkg_generated": a.n_bkg,
        "n_sig_generated": a.n_sig,
        "presel_eff_signal": float(sig.presel.mean()),
        "presel_eff_background": float(np.average(bkg.presel, weights=bkg.weight)),
        "presel_eff_by_process": {
            n: float(bkg.presel[bkg.process == i].mean())
            for n, i in PROCESSES.items()
            if (bkg.process == i).any()
        },
    }
    gb = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, random_state=0).fit(
        tr.features, tr.label
    )
    lr = LogisticBaseline.fit(tr.features, tr.label)
    sigma_tot = sum(v for k, v in CROSS_SECTIONS.items())
    q2 = sig.q2_true
    q2_edges = np.linspace(0.0, 22.885, 9)
    for name, f in (("gbdt", gb.decision_function), ("logistic", lr)):
        ss = np.full(len(sig), -np.inf)
        ss[sig.presel] = f(sig.features[sig.presel])
        sb = np.full(len(bkg), -np.inf)
        sb[bkg.presel] = f(bkg.features[bkg.presel])
        row: dict = {
            "auc_preselected": auc(
                np.r_[ss[sig.presel], sb[bkg.presel]],
                np.r_[np.ones(sig.presel.sum()), np.zeros(bkg.presel.sum())],
                np.r_[np.ones(sig.presel.sum()), bkg.weight[bkg.presel]],
            )
        }
        for eps in (0.08, 0.2):
            cut = np.quantile(ss, 1 - eps)
            passed = sb > cut
            eb = float(np.sum(bkg.weight * passed) / np.sum(bkg.weight))
            s_yield = eps * N_BPM * BF_SM
            b_yield = eb * sigma_tot * LUMI_NB
            row[f"eps_s={eps}"] = {
                "eps_b": eb,
                "n_bkg_events_passing": int(passed.sum()),
                "by_process": {
                    n: int((passed & (bkg.process == i)).sum()) for n, i in PROCESSES.items() if i
                },
                "S_362fb": s_yield,
                "B_362fb": b_yield,
                "S_over_B": s_yield / b_yield if b_yield > 0 else None,
            }
            if eps == 0.08:
                hs = np.histogram(q2[ss > cut], q2_edges)[0]
                hg = np.histogram(q2, q2_edges)[0]
                row["eps_q2_at_8pct"] = {
                    "q2_edges": q2_edges.tolist(),
                    "eps": (hs / np.maximum(hg, 1)).tolist(),
                }
        res[name] = row
    res["published_eps_q2_estimate"] = PUBLISHED_EPS_Q2
    res["wall_s"] = time.perf_counter() - t0
    out = Path(
        a.out or Path(__file__).resolve().parents[1] / "docs/_static/fm" / f"calibration_{a.tune}.json"
    )
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
