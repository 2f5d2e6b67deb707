"""Coverage of profile-likelihood intervals and of the toy CLs limit on the Belle II WET model.

Pseudo-experiments are generated from the Belle II likelihood (main bins Poisson,
auxiliary data from the constraint terms, pyhf's sampler) at two known truths,
with every nuisance at its nominal value:

* ``cVL10``: cVL = 10, cSL = cTL = 0;
* ``SM``: cVL at its SM value, cSL = cTL = 0.

Each toy is fitted with the engine's batched Newton minimiser (all 239 parameters;
two starts for the unconditional fit):

* the profile -2 Delta ln L of cVL on a grid (cSL, cTL and the nuisances profiled)
  gives the 68.27 % and 95 % intervals (-2 Delta ln L <= 1, <= 3.84, linear
  interpolation between grid points); coverage = fraction of toys whose interval
  contains the true cVL;
* the q~ of cTL on the grid of ``belle2_limit_cTL.json`` against the toy-calibrated
  thresholds stored there gives each toy's 95 % CLs limit on cTL; coverage =
  fraction of toys whose limit is at least the true cTL (= 0 here, so what is
  informative is the distribution of the limits, compared with the expected band of
  the limit run).

Run (about 20 min on 2 busy cores): ``nice -n 10 .venv/bin/python examples/coverage.py [N_TOYS]``;
``--post`` recomputes the CLs part after ``examples/belle2_limit.sh`` has written its thresholds.
Outputs: ``examples/output/coverage.json`` and ``coverage.png``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from redist import engine
from redist.demo import belle2_model
from redist.infer._objective import _pyhf_model, pyhf_backend
from redist.infer.limits import crossing

N_TOYS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 50
OUT = Path(__file__).parent / "output"
CVL_GRID = np.linspace(0.0, 20.0, 11)
SEEDS = {"cVL10": 10, "SM": 20}
T_GRID = np.linspace(4.0, 20.0, 9)  # the tested values of examples/belle2_limit.sh


def interval(grid: np.ndarray, d2: np.ndarray, level: float) -> tuple[float, float]:
    """Edges where the profile crosses ``level`` (grid edges when it does not)."""
    i = int(np.argmin(d2))
    lo, hi = float(grid[0]), float(grid[-1])
    for j in range(i, 0, -1):
        if d2[j - 1] > level >= d2[j]:
            lo = float(grid[j - 1] + (d2[j - 1] - level) * (grid[j] - grid[j - 1]) / (d2[j - 1] - d2[j]))
            break
    for j in range(i, grid.size - 1):
        if d2[j + 1] > level >= d2[j]:
            hi = float(grid[j] + (level - d2[j]) * (grid[j + 1] - grid[j]) / (d2[j + 1] - d2[j]))
            break
    return lo, hi


def main() -> None:
    rm = belle2_model()
    lay = rm.layout
    lik = engine.likelihood(rm)
    t = lik.tensors
    pm = _pyhf_model(rm, "numpy")
    iv, i_s, it = (lay.index(n) for n in ("cVL", "cSL", "cTL"))
    init = np.asarray(t.init, dtype=float)
    fixed0 = np.asarray(t.fixed, dtype=bool)
    t_grid = T_GRID
    truths = {
        "cVL10": {"cVL": 10.0, "cSL": 0.0, "cTL": 0.0},
        "SM": {"cVL": float(init[iv]), "cSL": 0.0, "cTL": 0.0},
    }
    report: dict[str, object] = {
        "n_toys": N_TOYS,
        "load_before": os.getloadavg()[0],
        "cvl_grid": CVL_GRID.tolist(),
    }
    t0 = time.perf_counter()
    for name, truth in truths.items():
        gen = init.copy()
        gen[[iv, i_s, it]] = [truth["cVL"], truth["cSL"], truth["cTL"]]
        np.random.seed(SEEDS[name])  # noqa: NPY002  (pyhf samples from numpy's global generator)
        with pyhf_backend("numpy"):
            import pyhf

            toys = np.asarray(pm.make_pdf(pyhf.tensorlib.astensor(gen)).sample((N_TOYS,)), dtype=float)
        cover68, cover95, qs, failed = [], [], [], 0
        for k, data in enumerate(toys):
            rows_init, rows_fixed = [], []
            # unconditional: from the truth and from a second start (cSL, cTL away from 0)
            other = gen.copy()
            other[[iv, i_s, it]] = [truth["cVL"] * 0.8, 3.0, 3.0]
            for start in (gen, other):
                rows_init.append(start)
                rows_fixed.append(fixed0)
            for g in CVL_GRID:
                x = gen.copy()
                x[iv] = g
                f = fixed0.copy()
                f[iv] = True
                rows_init.append(x)
                rows_fixed.append(f)
            for g in t_grid:
                x = gen.copy()
                x[it] = g
                f = fixed0.copy()
                f[it] = True
                rows_init.append(x)
                rows_fixed.append(f)
            res = engine.minimize_batch(lik, data=data, init=np.array(rows_init), fixed=np.array(rows_fixed))
            nll = np.where(res.converged, res.twice_nll, np.inf)
            if not np.isfinite(nll[:2]).any():
                failed += 1
                continue
            nv = nll[2 : 2 + CVL_GRID.size]
            nt = nll[2 + CVL_GRID.size :]
            nmin = min(float(np.min(nll[:2])), float(np.min(nv)), float(np.min(nt)) if nt.size else math.inf)
            best = res.x[int(np.argmin(nll[:2]))]
            d2 = np.clip(nv - nmin, 0.0, None)
            lo1, hi1 = interval(CVL_GRID, d2, 1.0)
            lo2, hi2 = interval(CVL_GRID, d2, 3.841)
            cover68.append(lo1 <= truth["cVL"] <= hi1)
            cover95.append(lo2 <= truth["cVL"] <= hi2)
            q = np.clip(nt - nmin, 0.0, None)
            qs.append(np.where(best[it] <= t_grid, q, 0.0).tolist())
            print(f"{name} toy {k + 1}/{N_TOYS} ({time.perf_counter() - t0:.0f} s)", flush=True)
        n = len(cover68)
        entry: dict[str, object] = {
            "truth": truth,
            "toys_used": n,
            "toys_failed": failed,
            "coverage68": float(np.mean(cover68)),
            "coverage68_err": math.sqrt(0.6827 * 0.3173 / n),
            "coverage95": float(np.mean(cover95)),
            "coverage95_err": math.sqrt(0.95 * 0.05 / n),
        }
        entry["q_cTL"] = qs
        report[name] = entry
    report["t_grid"] = t_grid.tolist()
    report["wall_s"] = time.perf_counter() - t0
    report["load_after"] = os.getloadavg()[0]
    (OUT / "coverage.json").write_text(json.dumps(report, indent=1) + "\n")
    post()


def post() -> None:
    """CLs-limit coverage from the stored q~ of every toy and the toy-calibrated thresholds."""
    report = json.loads((OUT / "coverage.json").read_text())
    lim_path = OUT / "belle2_limit_cTL.json"
    lim = json.loads(lim_path.read_text()) if lim_path.exists() else None
    if lim is not None:
        t_grid = np.asarray(report["t_grid"], dtype=float)
        if np.allclose(np.asarray(lim["scan"], dtype=float), t_grid):
            q_thr = np.array([np.nan if v is None else v for v in lim["q_threshold"]], dtype=float)
            for name in ("cVL10", "SM"):
                entry = report[name]
                # CLs <= 0.05 exactly where q~ >= the threshold: the limit is where q~ - threshold
                # turns positive (interpolated like the CLs curve)
                lims = np.array([crossing(t_grid, q_thr - np.asarray(q), 0.0) for q in entry["q_cTL"]])
                found = np.isfinite(lims)
                entry["cTL_limits"] = [float(v) if math.isfinite(v) else None for v in lims]
                entry["cTL_limit_in_range"] = float(np.mean(found))
                entry["cTL_limit_coverage"] = float(np.mean(~found | (lims >= entry["truth"]["cTL"])))
                if found.any():
                    entry["cTL_limit_quantiles"] = np.quantile(
                        lims[found], [0.02275, 0.15866, 0.5, 0.84134, 0.97725]
                    ).tolist()
            (OUT / "coverage.json").write_text(json.dumps(report, indent=1) + "\n")
    figure(report, lim)


def figure(report: dict[str, object], lim: dict[str, object] | None) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    names = [k for k in ("cVL10", "SM") if k in report]
    for j, (level, key) in enumerate(((0.6827, "coverage68"), (0.95, "coverage95"))):
        xs = np.arange(len(names)) + (j - 0.5) * 0.2
        ys = [report[n][key] for n in names]  # type: ignore[index]
        es = [report[n][key + "_err"] for n in names]  # type: ignore[index]
        ax1.errorbar(xs, ys, es, fmt="o", label=f"{level:.0%} profile interval of cVL")
        ax1.axhline(level, ls="--", color=f"C{j}", lw=0.8)
    ax1.set_xticks(range(len(names)), [f"truth {n}" for n in names])
    ax1.set_ylabel("coverage")
    ax1.set_ylim(0.4, 1.05)
    ax1.legend(fontsize="small", loc="lower right")
    ax1.set_title(f"{report['n_toys']} toys per truth", loc="left", fontsize="small")
    sm = report.get("SM")
    if isinstance(sm, dict) and "cTL_limits" in sm:
        vals = [v for v in sm["cTL_limits"] if v is not None]
        ax2.hist(vals, bins=12, color="0.7", label="toy limits (truth SM)")
        if lim is not None:
            exp = lim["expected"]
            for v, ls in zip(exp, (":", "--", "-", "--", ":")):
                if v is not None:
                    ax2.axvline(v, color="k", ls=ls, lw=0.8)
            ax2.plot([], [], "k-", lw=0.8, label="expected limit (median, ±1σ, ±2σ)")
        ax2.set_xlabel("95 % CLs upper limit on cTL")
        ax2.set_ylabel("toys")
        ax2.legend(fontsize="small")
    fig.savefig(OUT / "coverage.png", dpi=110)


if __name__ == "__main__":
    if "--post" in sys.argv:
        post()
    else:
        main()
