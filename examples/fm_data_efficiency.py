"""Replicated data-efficiency study: pre-trained FM vs scratch vs engineered-feature baselines.

Each run r is fully independent: its own unlabelled sample, pre-training seed, labelled
pool, label subsets, fine-tuning seeds and test samples (all seeds derived from r). For
each number of labels N (balanced) it trains, with the same fixed optimiser budget:

* ``finetuned``: the run's MPM-pre-trained backbone, all weights fine-tuned;
* ``frozen``: the same backbone kept fixed, only the head trained;
* ``scratch``: the same architecture and token standardiser, random initial weights;
* ``logistic``: L2 logistic regression on the 26 engineered features (+ squares);
* ``gbdt``: a gradient-boosted tree (scikit-learn HistGradientBoosting) on the same features.

Metrics on independent test samples (SM signal, generated; background mixed by cross
section, generated, physical weights): AUC on preselected events; background efficiency at
8 % and 20 % signal efficiency (of generated signal; 8 % is the published SR); and the
expected significance Z_A of SM signal at 362 fb^-1 in 4 bins of the score holding 10 % of
the generated signal each (top 40 %; looser than the published 8 % SR because the test pools
cannot resolve the background there), with a 10 % background uncertainty per bin (Cowan et al.'s
Asimov formula, bins combined in quadrature). Background in a bin with no test event is
set to one test event's weight (the test pool limits the reachable background level).

Run: ``python examples/fm_data_efficiency.py --runs 0-9`` (one JSON per run in
``--workdir``, committed in ``examples/output/fm_data_efficiency/``), then ``--aggregate`` to
write ``docs/_static/fm/data_efficiency.json`` and ``.png``. A run whose JSON already exists
is **resumed**: label counts it already holds are skipped; the run's samples, backbone and
label subsets are re-made from its seeds (the pre-training loss, the pool counts and the
logistic-regression AUC at its first stored label count are compared with the stored ones and
recorded in ``sessions[-1]["check"]``, with the package versions and CPU seconds of each
session). The CPU budget (2 shared cores) sets the sizes: backbone ``ci`` (dim 32, 2 layers),
--pretrain-steps 200 x 256, --finetune-steps 80 x 128 (the same for every N and every torch
arm; under-trains the larger N), test pools of 4k signal and 20k background (generated).
The ``gbdt`` arm needs scikit-learn, which is not part of the ``fm`` extra
(``pip install --group studies``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

STATIC = Path(__file__).resolve().parents[1] / "docs" / "_static" / "fm"
WORKDIR = Path(__file__).resolve().parent / "output" / "fm_data_efficiency"
NS = (100, 300, 1000, 3000, 10000)
ARMS = ("finetuned", "frozen", "scratch", "logistic", "gbdt")
LUMI_NB = 362e6
N_BPM = 2 * 387e6 * 0.514
BF_SM = 4.97e-6


def runs_arg(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return out


def z_asimov(s: np.ndarray, b: np.ndarray, rel_b: float = 0.1) -> float:
    """Median discovery significance, per-bin Cowan formula with background uncertainty, in quadrature."""
    sb2 = (rel_b * b) ** 2
    t1 = (s + b) * np.log((s + b) * (b + sb2) / (b**2 + (s + b) * sb2))
    t2 = b**2 / sb2 * np.log1p(sb2 * s / (b * (b + sb2)))
    z2 = 2 * (t1 - t2)
    # s << b: the formula cancels numerically; its limit is s^2 / (b + sigma_b^2)
    z2 = np.where(s / b < 1e-2, s**2 / (b + sb2), np.maximum(z2, 0.0))
    return float(np.sqrt(np.sum(z2)))


def metrics(score_s: np.ndarray, score_b: np.ndarray, w_b: np.ndarray, presel_s, presel_b) -> dict:
    from redist.fm.eta import auc
    from redist.simulate import CROSS_SECTIONS

    ss = np.where(presel_s, score_s, -np.inf)
    sb = np.where(presel_b, score_b, -np.inf)
    out = {
        "auc": auc(
            np.r_[ss[presel_s], sb[presel_b]],
            np.r_[np.ones(presel_s.sum()), np.zeros(presel_b.sum())],
            np.r_[np.ones(presel_s.sum()), w_b[presel_b]],
        )
    }
    wsum = w_b.sum()
    for eps in (0.08, 0.2):
        cut = np.quantile(ss, 1 - eps)
        out[f"eps_b@{eps}"] = float(np.sum(w_b * (sb > cut)) / wsum)
    sigma = sum(CROSS_SECTIONS.values())
    edges = np.quantile(ss, [1 - 0.40, 1 - 0.30, 1 - 0.20, 1 - 0.10, 1.0])
    edges[-1] = np.inf
    s_bins, b_bins = [], []
    w_floor = w_b.mean()
    for lo, hi in itertools.pairwise(edges):
        s_bins.append(0.10 * N_BPM * BF_SM)
        wb = np.sum(w_b * ((sb > lo) & (sb <= hi)))
        b_bins.append(max(wb, w_floor) / wsum * sigma * LUMI_NB)
    out["z_a"] = z_asimov(np.array(s_bins), np.array(b_bins))
    return out


def versions() -> dict[str, str]:
    import sklearn
    import torch

    return {"numpy": np.__version__, "torch": torch.__version__, "sklearn": sklearn.__version__}


def one_run(
    r: int, a: argparse.Namespace, save: Callable[[dict], None] | None = None, prev: dict | None = None
) -> dict:
    """Run ``r`` (all label counts of ``a.ns``; with ``prev``, only those it lacks)."""
    import torch
    from sklearn.ensemble import HistGradientBoostingClassifier

    from redist.fm.backbone import SIZES, pretrain, setup_torch
    from redist.fm.baseline import LogisticBaseline
    from redist.fm.heads import finetune, predict
    from redist.fm.pipeline import fit_standardizer, pretrain_inputs, sample_tokens
    from redist.simulate import simulate

    setup_torch(a.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    base = 7919 * (r + 1)
    unl = simulate(a.n_unlabelled, kind="mixed", signal_fraction=0.3, seed=base + 1)
    pool = simulate(a.n_pool, kind="mixed", signal_fraction=0.5, q2_shape="flat", seed=base + 2)
    pool = pool.select(pool.presel)
    tsig = simulate(a.n_test_signal, kind="signal", seed=base + 3)
    tbkg = simulate(a.n_test_background, kind="background", seed=base + 4)
    t_sim = time.perf_counter() - t0
    std = fit_standardizer(unl)
    inp = pretrain_inputs(unl, std)
    cfg = SIZES[a.size]
    enc, hist = pretrain(
        inp["tokens"],
        inp["pad"],
        cfg,
        kinds=inp["kinds"],
        steps=a.pretrain_steps,
        batch_size=256,
        seed=base + 5,
    )
    xp, pp = sample_tokens(pool, std)
    # only preselected test events are scored (the others never enter a selection)
    xs, ps = sample_tokens(tsig.select(tsig.presel), std)
    xb, pb = sample_tokens(tbkg.select(tbkg.presel), std)

    def full(scores: np.ndarray, presel: np.ndarray) -> np.ndarray:
        out = np.full(len(presel), -np.inf)
        out[presel] = scores
        return out

    res: dict = {
        "run": r,
        "seeds_base": base,
        "pretrain": {k: hist[k] for k in ("loss_first", "loss_last", "steps", "n_events")},
        "pool": {"n_signal": int(pool.label.sum()), "n_background": int((pool.label == 0).sum())},
        "test": {"n_signal_generated": len(tsig), "n_background_generated": len(tbkg)},
        "sim_s": t_sim,
        "by_n": {},
    }
    session = {"versions": versions(), "ns_new": []}
    if prev is not None:
        res = {**prev, "by_n": dict(prev["by_n"])}
        # the resumed part must start from the same samples and backbone as the stored part
        check: dict = {
            "pretrain_loss_last": {"stored": prev["pretrain"]["loss_last"], "now": hist["loss_last"]},
            "pool": {"stored": prev["pool"], "now": {"n_signal": int(pool.label.sum()),
                                                      "n_background": int((pool.label == 0).sum())}},
        }  # fmt: skip
        session["check"] = check
    rng = np.random.default_rng(base + 6)
    sig_idx, bkg_idx = np.flatnonzero(pool.label == 1), np.flatnonzero(pool.label == 0)
    for n in a.ns:
        half = n // 2
        if half > min(len(sig_idx), len(bkg_idx)):
            continue
        idx = np.concatenate(
            [rng.choice(sig_idx, half, replace=False), rng.choice(bkg_idx, half, replace=False)]
        )  # drawn for every N in order, also for skipped ones: the same labels as a fresh run
        if str(n) in res["by_n"]:
            check = session.get("check")
            if check is not None and "logistic_auc" not in check:
                lr = LogisticBaseline.fit(pool.features[idx], pool.label[idx])
                now = metrics(lr(tsig.features), lr(tbkg.features), tbkg.weight, tsig.presel, tbkg.presel)
                check["logistic_auc"] = {"n": n, "stored": res["by_n"][str(n)]["logistic"]["auc"],
                                         "now": now["auc"]}  # fmt: skip
            continue
        session["ns_new"].append(n)
        row: dict = {}
        for arm in ARMS:
            if arm in ("finetuned", "frozen", "scratch"):
                model, _ = finetune(
                    xp[idx], pp[idx], pool.label[idx], pool.q2_true[idx], config=cfg,
                    backbone=None if arm == "scratch" else enc, frozen=arm == "frozen",
                    steps=a.finetune_steps, batch_size=128, seed=base + 100 + n,
                )  # fmt: skip
                s_s = full(predict(model, xs, ps)["logit"], tsig.presel)
                s_b = full(predict(model, xb, pb)["logit"], tbkg.presel)
            elif arm == "logistic":
                lr = LogisticBaseline.fit(pool.features[idx], pool.label[idx])
                s_s, s_b = lr(tsig.features), lr(tbkg.features)
            else:
                gb = HistGradientBoostingClassifier(max_iter=200, random_state=base + n).fit(
                    pool.features[idx], pool.label[idx]
                )
                s_s, s_b = gb.decision_function(tsig.features), gb.decision_function(tbkg.features)
            row[arm] = metrics(s_s, s_b, tbkg.weight, tsig.presel, tbkg.presel)
        res["by_n"][str(n)] = row
        session["wall_s"] = time.perf_counter() - t0
        session["cpu_s"] = time.process_time() - c0
        res["sessions"] = [*prev.get("sessions", []), session] if prev is not None else [session]
        if save is not None:  # partial runs count for the label counts they reached
            save(res)
        print(json.dumps({"run": r, "n": n, **{k: round(v["auc"], 4) for k, v in row.items()}}), flush=True)
    session["wall_s"] = time.perf_counter() - t0
    session["cpu_s"] = time.process_time() - c0
    res["sessions"] = [*prev.get("sessions", []), session] if prev is not None else [session]
    if prev is None:
        res["wall_s"] = session["wall_s"]
    res["threads"] = torch.get_num_threads()
    return res


def aggregate(workdir: Path, out: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from redist.io.atomic import atomic_write_text
    from redist.report.figures import save_figure
    from redist.simulate import CROSS_SECTIONS

    runs = [json.loads(p.read_text()) for p in sorted(workdir.glob("run_*.json"))]
    if not runs:
        raise SystemExit(f"no run_*.json in {workdir}")
    # derived: statistical-only Asimov significance of a one-bin SR at eps_S = 8 % (the published SR)
    s8 = 0.08 * N_BPM * BF_SM
    sigma = sum(CROSS_SECTIONS.values())
    for r in runs:
        for row in r["by_n"].values():
            for d in row.values():
                b = max(d["eps_b@0.08"], 1.0 / r["test"]["n_background_generated"]) * sigma * LUMI_NB
                d["z_sr8"] = float(np.sqrt(2 * ((s8 + b) * np.log1p(s8 / b) - s8)))
    summary: dict = {}
    metrics_ = ("auc", "eps_b@0.08", "eps_b@0.2", "z_a", "z_sr8")
    for n in NS:
        rows = [r["by_n"][str(n)] for r in runs if str(n) in r["by_n"]]
        if not rows:
            continue
        summary[str(n)] = {"n_runs": len(rows)}
        for arm in ARMS:
            d = {}
            for m in metrics_:
                v = np.array([row[arm][m] for row in rows])
                d[m] = {
                    "mean": float(v.mean()),
                    "se": float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None,
                }
            summary[str(n)][arm] = d
        # paired differences (same run, same labels) against scratch and the best engineered baseline
        for ref in ("scratch", "logistic", "gbdt"):
            for m in ("auc", "z_a", "z_sr8"):
                dv = np.array([row["finetuned"][m] - row[ref][m] for row in rows])
                summary[str(n)][f"finetuned-{ref}:{m}"] = {
                    "mean": float(dv.mean()),
                    "se": float(dv.std(ddof=1) / np.sqrt(len(dv))) if len(dv) > 1 else None,
                    "n_positive": int((dv > 0).sum()),
                    "n": len(dv),
                }
    doc = {
        "description": (__doc__ or "").split("\n")[0],
        "runs": [r["run"] for r in runs],
        "settings": runs[0].get("settings", {}),
        "summary": summary,
        "per_run": runs,
    }
    atomic_write_text(out, json.dumps(doc, indent=1) + "\n")
    atomic_write_text(out.with_suffix(".md"), markdown(summary))
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.4))
    for ax, (m, lab) in zip(
        axes,
        (
            ("auc", "AUC (preselected)"),
            ("eps_b@0.08", r"$\epsilon_B$ at $\epsilon_S$ = 8 %"),
            ("z_sr8", r"$Z_A$ stat., SR $\epsilon_S$ = 8 % (362 fb$^{-1}$)"),
        ),
    ):
        for arm, mk in zip(ARMS, "osD^v"):
            ns = [int(n) for n in summary]
            mu = np.array([summary[str(n)][arm][m]["mean"] for n in ns])
            se = np.array([summary[str(n)][arm][m]["se"] or 0.0 for n in ns])
            ax.errorbar(ns, mu, yerr=se, marker=mk, ms=4, capsize=2, label=arm)
        ax.set_xscale("log")
        if m.startswith("eps_b"):
            ax.set_yscale("log")
        ax.set_xlabel("labelled events N (balanced)")
        ax.set_title(lab, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"mean ± s.e. over {len(runs)} independent runs", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out.with_suffix(".png"), dpi=80)
    return doc


def markdown(summary: dict) -> str:
    """Markdown tables of the summary (quoted in docs/fm.md)."""

    def cell(d: dict, fmt: str) -> str:
        se = d["se"]
        return f"{d['mean']:{fmt}} ± {se:{fmt.lstrip('+')}}" if se is not None else f"{d['mean']:{fmt}}"

    lines = []
    for m, fmt, title in (
        ("auc", ".3f", "AUC (preselected, physical background weights)"),
        ("eps_b@0.2", ".2e", "background efficiency at 20 % signal efficiency"),
        ("eps_b@0.08", ".2e", "background efficiency at 8 % signal efficiency"),
        ("z_a", ".4f", "Z_A (SM, 362 fb^-1, 4 bins of 10 % signal, 10 % bkg uncertainty)"),
        ("z_sr8", ".3f", "Z_A stat. only, one-bin SR at eps_S = 8 % (SM, 362 fb^-1)"),
    ):
        lines += [f"**{title}** (mean ± s.e. over runs)", "", "| N | runs | " + " | ".join(ARMS) + " |"]
        lines.append("|---" * (len(ARMS) + 2) + "|")
        for n, row in summary.items():
            lines.append(
                f"| {n} | {row['n_runs']} | " + " | ".join(cell(row[a][m], fmt) for a in ARMS) + " |"
            )
        lines.append("")
    lines += ["**Paired differences** (fine-tuned minus reference, same run and labels)", ""]
    lines.append(
        "| N | Δ AUC vs scratch | Δ AUC vs logistic | Δ AUC vs gbdt | Δ Z_SR8 vs scratch | Δ Z_SR8 vs gbdt |"
    )
    lines.append("|---|---|---|---|---|---|")
    for n, row in summary.items():
        cells = []
        for ref, m in (
            ("scratch", "auc"),
            ("logistic", "auc"),
            ("gbdt", "auc"),
            ("scratch", "z_sr8"),
            ("gbdt", "z_sr8"),
        ):
            d = row[f"finetuned-{ref}:{m}"]
            cells.append(f"{cell(d, '+.3f')} ({d['n_positive']}/{d['n']} > 0)")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--runs", type=runs_arg, default=runs_arg("0-9"))
    ap.add_argument("--ns", type=lambda t: [int(v) for v in t.split(",")], default=list(NS))
    ap.add_argument("--size", default="ci")
    ap.add_argument("--pretrain-steps", type=int, default=200)
    ap.add_argument("--finetune-steps", type=int, default=80)
    ap.add_argument("--n-unlabelled", type=int, default=15000)
    ap.add_argument("--n-pool", type=int, default=30000)
    ap.add_argument("--n-test-signal", type=int, default=4000)
    ap.add_argument("--n-test-background", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workdir", default=str(WORKDIR))
    ap.add_argument("--aggregate", action="store_true")
    ap.add_argument("--out", default=str(STATIC / "data_efficiency.json"))
    a = ap.parse_args()
    wd = Path(a.workdir)
    if a.aggregate:
        doc = aggregate(wd, Path(a.out))
        print(json.dumps(doc["summary"], indent=1))
        return
    wd.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(a).items() if k not in ("runs", "aggregate", "out", "workdir")}
    from redist.io.atomic import atomic_write_text

    for r in a.runs:
        path = wd / f"run_{r:03d}.json"
        prev = json.loads(path.read_text()) if path.is_file() else None
        if prev is not None:
            if {k: v for k, v in prev["settings"].items() if k != "ns"} != {
                k: v for k, v in settings.items() if k != "ns"
            }:
                raise SystemExit(f"{path}: stored settings {prev['settings']} differ from {settings}")
            if all(str(n) in prev["by_n"] for n in a.ns):
                print(json.dumps({"run": r, "skipped": "complete"}), flush=True)
                continue

        def save(res: dict, path: Path = path) -> None:
            atomic_write_text(path, json.dumps({**res, "settings": settings}, indent=1) + "\n")

        save(one_run(r, a, save, prev))


if __name__ == "__main__":
    main()
