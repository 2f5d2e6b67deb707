"""Domain shift: scorers trained on nominal simulation, applied to a "data-like" detector.

The "data-like" variant is ``redist.simulate.DATA_LIKE_TUNE`` (tracking resolution x1.5,
PID tails 5 %, K_L response 22 % ECL / 30 % KLM, beam background x1.7-2, photon
efficiency 95 %). Three scorers are trained on the same nominal labels:

* ``engineered``: logistic regression on the engineered features;
* ``fm_nominal``: backbone pre-trained on nominal unlabelled events, fine-tuned on nominal labels;
* ``fm_shifted``: backbone pre-trained on *data-like* unlabelled events (the domain-adaptation
  use of unlabelled data), fine-tuned on the same nominal labels.

For each: AUC on nominal and on data-like test events, and the bias of eps(x|q2) -- the
efficiency per fit bin (summed over q2) and the chi2 between the map built on nominal
signal (what an analysis would use) and the map on data-like signal (the "truth").

Run: ``python examples/fm_domain_shift.py [--seed 0]``. Writes ``docs/_static/fm/domain_shift.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from redist.fm.backbone import SIZES, pretrain, setup_torch
from redist.fm.baseline import LogisticBaseline
from redist.fm.densities import efficiency
from redist.fm.eta import auc, fit_eta
from redist.fm.heads import finetune
from redist.fm.pipeline import fit_standardizer, fm_fit_bins, pretrain_inputs, sample_tokens, score_sample
from redist.simulate import DATA_LIKE_TUNE, simulate

STATIC = Path(__file__).resolve().parents[1] / "docs" / "_static" / "fm"
ETA_EDGES = (0.25, 0.5, 0.75, 1.0)
Q2REC_EDGES = (-np.inf, 4.0, 8.0, np.inf)
N_X = 9


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-labelled", type=int, default=2000)
    ap.add_argument("--n-unlabelled", type=int, default=15000)
    ap.add_argument("--n-signal", type=int, default=15000)
    ap.add_argument("--pretrain-steps", type=int, default=200)
    ap.add_argument("--finetune-steps", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(STATIC / "domain_shift.json"))
    a = ap.parse_args()
    setup_torch(a.threads)
    t0 = time.perf_counter()
    b = 104729 * (a.seed + 1)
    lab = simulate(16000, kind="mixed", signal_fraction=0.5, q2_shape="flat", seed=b + 1)
    lab = lab.select(lab.presel)
    unl = {
        "nominal": simulate(a.n_unlabelled, kind="mixed", signal_fraction=0.3, seed=b + 2),
        "shifted": simulate(
            a.n_unlabelled, kind="mixed", signal_fraction=0.3, seed=b + 3, tune=DATA_LIKE_TUNE
        ),
    }
    test = {
        "nominal": simulate(8000, kind="mixed", signal_fraction=0.3, seed=b + 4),
        "shifted": simulate(8000, kind="mixed", signal_fraction=0.3, seed=b + 5, tune=DATA_LIKE_TUNE),
    }
    sig = {
        "nominal": simulate(a.n_signal, kind="signal", seed=b + 6),
        "shifted": simulate(a.n_signal, kind="signal", seed=b + 7, tune=DATA_LIKE_TUNE),
    }
    rng = np.random.default_rng(b)
    half = a.n_labelled // 2
    idx = np.concatenate([rng.choice(np.flatnonzero(lab.label == k), half, replace=False) for k in (1, 0)])
    held = lab.select(np.setdiff1d(np.arange(len(lab)), idx))
    scorers = {}
    base = LogisticBaseline.fit(lab.features[idx], lab.label[idx])
    eta_b = fit_eta(base(held.features), held)
    scorers["engineered"] = (lambda s: np.where(s.presel, base(s.features), np.nan), eta_b)
    for dom in ("nominal", "shifted"):
        std = fit_standardizer(unl[dom])
        inp = pretrain_inputs(unl[dom], std)
        enc, _ = pretrain(
            inp["tokens"], inp["pad"], SIZES["ci"], kinds=inp["kinds"], steps=a.pretrain_steps, seed=b
        )
        x, pad = sample_tokens(lab, std)
        model, _ = finetune(x[idx], pad[idx], lab.label[idx], lab.q2_true[idx], backbone=enc,
                            steps=a.finetune_steps, seed=b)  # fmt: skip
        eta = fit_eta(score_sample(model, std, held)["logit"], held)
        scorers[f"fm_{dom}"] = (lambda s, m=model, st=std: score_sample(m, st, s)["logit"], eta)
    res: dict = {"seed": a.seed, "tune_shifted": DATA_LIKE_TUNE, "n_labelled": a.n_labelled, "scorers": {}}
    for name, (score, eta) in scorers.items():
        row: dict = {}
        for dom in ("nominal", "shifted"):
            t = test[dom]
            lg = score(t)
            ok = t.presel
            row[f"auc_{dom}"] = auc(lg[ok], t.label[ok], t.weight[ok])
        maps = {}
        for dom in ("nominal", "shifted"):
            s = sig[dom]
            xb = fm_fit_bins(s, score(s), eta, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES)
            maps[dom] = efficiency(
                xb, s.q2_true, N_X, z_edges=np.concatenate([[-1.0], np.linspace(0, 22.885, 11)])
            )
        en, es = maps["nominal"], maps["shifted"]
        var = en.variances() + es.variances()
        ok = var > 0
        row["eps_chi2"] = float(np.sum((en.values()[ok] - es.values()[ok]) ** 2 / var[ok]))
        row["eps_ndf"] = int(ok.sum())
        # efficiency per fit bin for SM signal (sum over q2 with the generated SM spectrum)
        gen = np.histogram(sig["nominal"].q2_true, np.concatenate([[-1.0], np.linspace(0, 22.885, 11)]))[0]
        w = gen / gen.sum()
        row["eps_per_bin_nominal"] = (en.values() @ w).tolist()
        row["eps_per_bin_shifted"] = (es.values() @ w).tolist()
        row["eps_ratio_shifted_over_nominal"] = (
            np.asarray(row["eps_per_bin_shifted"]) / np.maximum(row["eps_per_bin_nominal"], 1e-12)
        ).tolist()
        res["scorers"][name] = row
        print(name, json.dumps({k: v for k, v in row.items() if not isinstance(v, list)}), flush=True)
    res["wall_s"] = time.perf_counter() - t0
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
