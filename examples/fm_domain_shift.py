"""Domain shift: scorers trained on nominal simulation, applied to a "data-like" detector.

The "data-like" variant is ``redist.simulate.DATA_LIKE_TUNE`` (tracking resolution x1.5,
PID tails 5 %, K_L response 22 % ECL / 30 % KLM, beam background x1.7-2, photon
efficiency 95 %). Three scorers are trained on the same nominal labels:

* ``engineered``: logistic regression on the engineered features;
* ``fm_nominal``: backbone pre-trained on nominal unlabelled events, fine-tuned on nominal labels;
* ``fm_shifted``: backbone pre-trained on *data-like* unlabelled events (the domain-adaptation
  use of unlabelled data), fine-tuned on the same nominal labels.

For each, on independent samples:

* AUC on nominal and on data-like test events;
* the bias of eps(x|q2): the efficiency per fit bin (eta in {0.25, 0.5, 0.75, 1} x q2_rec in
  {<4, 4-8, >8}; summed over q2 with the SM spectrum) on nominal signal (what an analysis would
  use) and on data-like signal (the "truth"), their ratio, and the chi2 between the two maps
  eps(x|q2) (100 q2 bins, binomial variances);
* the bias of the reinterpreted Wilson coefficients: the pseudo-analysis of
  ``examples/fm_what_x_buys.py`` (eta >= 0.6 in 4 x 3 bins, nominal background with a 10 %
  normalisation uncertainty; 362 fb^-1 and 50 ab^-1) built from **nominal** signal n(x, z),
  fitted to Asimov data whose signal comes from the **data-like** n(x, z) at a truth point
  (background unchanged, so only the signal efficiency is shifted): best fit and 68 %/95 %
  intervals of cVL (cSL = cTL = 0), against the same fit to nominal Asimov data.

Run: ``python examples/fm_domain_shift.py --seeds 0-2`` (one JSON per seed in ``--workdir``),
then ``--aggregate`` for ``docs/_static/fm/domain_shift.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fm_what_x_buys as wxb  # the pseudo-analysis helpers

STATIC = Path(__file__).resolve().parents[1] / "docs" / "_static" / "fm"
WORKDIR = Path(__file__).resolve().parent / "output" / "fm_domain_shift"
ETA_EDGES = (0.25, 0.5, 0.75, 1.0)
Q2REC_EDGES = (-np.inf, 4.0, 8.0, np.inf)
N_X = 9
SCORERS = ("engineered", "fm_nominal", "fm_shifted")


def one_seed(seed: int, a: argparse.Namespace) -> dict[str, Any]:
    from redist.fm.backbone import SIZES, pretrain, setup_torch
    from redist.fm.baseline import LogisticBaseline
    from redist.fm.densities import efficiency
    from redist.fm.eta import auc, fit_eta
    from redist.fm.heads import finetune
    from redist.fm.pipeline import fit_standardizer, fm_fit_bins, pretrain_inputs, sample_tokens, score_sample
    from redist.simulate import DATA_LIKE_TUNE, simulate

    setup_torch(a.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    b = 104729 * (seed + 1)
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
    bkg = simulate(a.n_background, kind="background", seed=b + 8)  # nominal, for the pseudo-analysis
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
    truths = {t: wxb.point_arg(t) for t in a.truth}
    res: dict[str, Any] = {"seed": seed, "seeds_base": b, "tune_shifted": DATA_LIKE_TUNE,
                           "n_labelled": a.n_labelled, "truth": truths, "scorers": {}}  # fmt: skip
    z_edges = np.concatenate([[-1.0], np.linspace(0, 22.885, 11)])
    gen = np.histogram(sig["nominal"].q2_true, z_edges)[0]
    w_sm = gen / gen.sum()
    for name, (score, eta) in scorers.items():
        row: dict[str, Any] = {}
        for dom in ("nominal", "shifted"):
            t = test[dom]
            lg = score(t)
            ok = t.presel
            row[f"auc_{dom}"] = auc(lg[ok], t.label[ok], t.weight[ok])
        lg_sig = {dom: score(sig[dom]) for dom in sig}
        maps = {}
        for dom in ("nominal", "shifted"):
            s = sig[dom]
            xb = fm_fit_bins(s, lg_sig[dom], eta, eta_edges=ETA_EDGES, q2rec_edges=Q2REC_EDGES)
            maps[dom] = efficiency(xb, s.q2_true, N_X, z_edges=z_edges)
        en, es = maps["nominal"], maps["shifted"]
        var = en.variances() + es.variances()
        ok = var > 0
        row["eps_chi2"] = float(np.sum((en.values()[ok] - es.values()[ok]) ** 2 / var[ok]))
        row["eps_ndf"] = int(ok.sum())
        # efficiency per fit bin for SM signal (sum over q2 with the generated SM spectrum)
        row["eps_per_bin_nominal"] = (en.values() @ w_sm).tolist()
        row["eps_per_bin_shifted"] = (es.values() @ w_sm).tolist()
        row["eps_ratio_shifted_over_nominal"] = (
            np.asarray(row["eps_per_bin_shifted"]) / np.maximum(row["eps_per_bin_nominal"], 1e-12)
        ).tolist()
        # reinterpreted Wilson coefficients: nominal model, data-like signal in the Asimov data
        xa = {dom: fm_fit_bins(sig[dom], lg_sig[dom], eta, eta_edges=wxb.ETA_EDGES,
                               q2rec_edges=wxb.Q2REC_EDGES) for dom in sig}  # fmt: skip
        xbk = fm_fit_bins(bkg, score(bkg), eta, eta_edges=wxb.ETA_EDGES, q2rec_edges=wxb.Q2REC_EDGES)
        row["analysis"] = {}
        for lumi in a.lumi_fb:
            byield, kmc = wxb.background_yields(xbk, bkg.weight, lumi)
            dens = {dom: wxb.signal_density(xa[dom], sig[dom].q2_true, len(sig[dom]), lumi) for dom in sig}
            models = {dom: wxb.pseudo_model(dens[dom], byield) for dom in sig}
            arow: dict[str, Any] = {
                "signal_per_bin": {dom: np.asarray(m.templates()[("sr", "signal")]).tolist()
                                   for dom, m in models.items()},
                "background_per_bin": byield.tolist(),
                "background_mc_events_per_bin": kmc.tolist(),
                "intervals": {},
            }  # fmt: skip
            for t, pt in truths.items():
                arow["intervals"][t] = {
                    f"data_{dom}": wxb.intervals(
                        models["nominal"], wxb.asimov(models[dom], models["nominal"], pt, byield), pt,
                        pars=("cVL",),
                    )
                    for dom in ("nominal", "shifted")
                }  # fmt: skip
            row["analysis"][f"{lumi:g}"] = arow
        res["scorers"][name] = row
        brief = {k: v for k, v in row.items() if not isinstance(v, (list, dict))}
        brief["cVL"] = {
            f"{lu}:{t}": {d: round(v["cVL"]["best"], 3) for d, v in iv.items()}
            for lu, ar in row["analysis"].items()
            for t, iv in ar["intervals"].items()
        }
        print(json.dumps({"seed": seed, "scorer": name, **brief}), flush=True)
    res["wall_s"] = time.perf_counter() - t0
    res["cpu_s"] = time.process_time() - c0
    return res


def aggregate(workdir: Path, out: Path) -> dict[str, Any]:
    from redist.io.atomic import atomic_write_text

    runs = [json.loads(p.read_text()) for p in sorted(workdir.glob("seed_*.json"))]
    if not runs:
        raise SystemExit(f"no seed_*.json in {workdir}")

    def ms(v: list[float]) -> dict[str, Any]:
        x = np.asarray(v, float)
        se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else None
        return {"mean": float(x.mean()), "se": se, "values": x.tolist()}

    def cell(d: dict[str, Any], fmt: str) -> str:
        return f"{d['mean']:{fmt}}" + (f" ± {d['se']:{fmt.lstrip('+')}}" if d["se"] is not None else "")

    summary: dict[str, Any] = {}
    for name in SCORERS:
        rows = [r["scorers"][name] for r in runs]
        d: dict[str, Any] = {
            "auc_nominal": ms([r["auc_nominal"] for r in rows]),
            "auc_shifted": ms([r["auc_shifted"] for r in rows]),
            "eps_chi2": ms([r["eps_chi2"] for r in rows]),
            "eps_ndf": rows[0]["eps_ndf"],
            # selected fraction (eta >= 0.25) of SM signal: shifted / nominal
            "eps_total_ratio": ms(
                [sum(r["eps_per_bin_shifted"]) / sum(r["eps_per_bin_nominal"]) for r in rows]
            ),
            "eps_ratio_per_bin": [
                ms(list(v)) for v in zip(*[r["eps_ratio_shifted_over_nominal"] for r in rows])
            ],
        }
        for lu in rows[0]["analysis"]:
            for t in runs[0]["truth"]:
                p = "cVL"
                iv = [r["analysis"][lu]["intervals"][t] for r in rows]
                k = f"{lu}:{t}:{p}"
                d[f"{k}:bias"] = ms(
                    [x["data_shifted"][p]["best"] - x["data_shifted"][p]["truth"] for x in iv]
                )
                d[f"{k}:width68_nominal"] = ms([x["data_nominal"][p]["width68"] for x in iv])
                d[f"{k}:width68_shifted"] = ms([x["data_shifted"][p]["width68"] for x in iv])
                d[f"{k}:truth_in68_shifted"] = int(sum(
                    any(lo <= x["data_shifted"][p]["truth"] <= hi for lo, hi in x["data_shifted"][p]["int68"])
                    for x in iv))  # fmt: skip
        summary[name] = d
    lines = [f"Mean ± s.e. over {len(runs)} seed(s) ({', '.join(str(r['seed']) for r in runs)})", "",
             "| scorer | AUC nominal | AUC data-like | ε(η ≥ 0.25) data-like / nominal | χ²(ε maps) / ndf |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, d in summary.items():
        lines.append(
            f"| {name} | {cell(d['auc_nominal'], '.3f')} | {cell(d['auc_shifted'], '.3f')} | "
            f"{cell(d['eps_total_ratio'], '.3f')} | {cell(d['eps_chi2'], '.0f')} / {d['eps_ndf']} |"
        )
    lines += ["", "| scorer | L [fb⁻¹] | truth | bias of best-fit cVL (data-like data) | "
              "68 % width, nominal data | 68 % width, data-like data | truth inside 68 % (data-like) |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, d in summary.items():
        for lu in runs[0]["scorers"][name]["analysis"]:
            for t in runs[0]["truth"]:
                k = f"{lu}:{t}:cVL"
                lines.append(f"| {name} | {lu} | {t} | {cell(d[f'{k}:bias'], '+.2f')} | "
                             f"{cell(d[f'{k}:width68_nominal'], '.2f')} | "
                             f"{cell(d[f'{k}:width68_shifted'], '.2f')} | "
                             f"{d[f'{k}:truth_in68_shifted']}/{len(runs)} |")  # fmt: skip
    doc = {"description": (__doc__ or "").split("\n")[0], "seeds": [r["seed"] for r in runs],
           "summary": summary, "per_seed": runs}  # fmt: skip
    atomic_write_text(out, json.dumps(doc, indent=1) + "\n")
    atomic_write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--seeds", type=wxb.seeds_arg, default=wxb.seeds_arg("0"))
    ap.add_argument("--n-labelled", type=int, default=2000)
    ap.add_argument("--n-unlabelled", type=int, default=15000)
    ap.add_argument("--n-signal", type=int, default=15000)
    ap.add_argument("--n-background", type=int, default=150000)
    ap.add_argument("--pretrain-steps", type=int, default=200)
    ap.add_argument("--finetune-steps", type=int, default=150)
    ap.add_argument("--truth", nargs="+", default=["SM", "cVL=10"])
    ap.add_argument("--lumi-fb", nargs="+", type=float, default=[362.0, 50000.0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workdir", default=str(WORKDIR))
    ap.add_argument("--aggregate", action="store_true")
    ap.add_argument("--out", default=str(STATIC / "domain_shift.json"))
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
