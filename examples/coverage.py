"""Coverage of profile-likelihood intervals and of the toy CLs limit (Belle II WET, statistics only).

The Belle II B+ -> K+ nu nu model in WET, with every nuisance parameter fixed at its
nominal value both when generating and when fitting (the statistics-only likelihood:
Poisson counts in the 28 analysis bins as functions of cVL, cSL, cTL). This isolates what
makes Wilson coefficients hard for asymptotic methods -- yields quadratic in the
coefficients, physical boundaries at 0, a thin shell of equally good fits -- and keeps a
fit at three free parameters, so that hundreds of toys per truth run in minutes on two
busy cores. (The intervals with all 236 nuisances profiled: examples/coverage_profiled.py.) -ln L is
evaluated on a 61^3 grid of the coefficients (step 1/3) and profiled by minimising over
grid axes.

Truths: ``cVL10`` (cVL = 10, cSL = cTL = 0), ``SM`` (cVL = cVL_SM, cSL = cTL = 0) and
``cTL8`` (cVL = cVL_SM, cTL = 8, cSL = 0, for the coverage of the cTL upper limit).
For each toy:

* profile -2 Delta ln L of cVL (cSL, cTL profiled) -> 68.27 % and 95 % intervals (levels 1
  and 3.84); coverage = fraction of toys whose interval contains the true cVL;
* q~ of cTL (cVL, cSL profiled) on the tested values -> 95 % CLs upper limit with the
  q~ distributions calibrated by toys (signal + background at each tested value,
  background only at cTL = 0) -> coverage = fraction of toys with limit >= true cTL.

Run: ``nice -n 10 .venv/bin/python examples/coverage.py [N_TOYS]``.
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
from redist.infer.limits import crossing

N_TOYS = int(sys.argv[1]) if len(sys.argv) > 1 else 500
N_CAL = int(sys.argv[2]) if len(sys.argv) > 2 else 500  # calibration toys per hypothesis (CLs)
OUT = Path(__file__).parent / "output"
GRID = np.linspace(0.0, 20.0, 61)  # step 1/3 in each coefficient
T_GRID = np.linspace(2.0, 20.0, 10)  # tested values of cTL (on GRID)


def _features(c: np.ndarray) -> np.ndarray:
    """1, c_j c_k (j <= k): the rate is a quadratic form in the real coefficients."""
    c = np.atleast_2d(c)
    v, s, t = c[:, 0], c[:, 1], c[:, 2]
    return np.stack([np.ones_like(v), v * v, s * s, t * t, v * s, v * t, s * t], axis=1)


class StatOnly:
    """Poisson -ln L of the main bins as a function of (cVL, cSL, cTL), nuisances nominal.

    The expected yields of the model (engine, exact) are linear in the reweighting, which is
    linear in the rate, which is a quadratic form in (cVL, cSL, cTL): they are fitted once as
    nu_i(c) = b_i + c^T A_i c from 20 points and checked on 10 others (``max_rel_dev``), and the
    toys use that closed form (thousands of fits per minute instead of one per second).
    """

    def __init__(self) -> None:
        from redist.engine import make_functions

        rm = belle2_model()
        lik = engine.likelihood(rm)
        lay = rm.layout
        self.idx = [lay.index(n) for n in ("cVL", "cSL", "cTL")]
        base = np.asarray(lik.tensors.init, dtype=float)
        self.sm_cvl = float(base[self.idx[0]])
        expected, _ = make_functions(lik.tensors)

        def exact(c: np.ndarray) -> np.ndarray:
            p = base.copy()
            p[self.idx] = c
            return np.asarray(expected(p), dtype=float)

        rng = np.random.default_rng(1)
        pts = rng.uniform(0.0, 20.0, (30, 3))
        ys = np.array([exact(c) for c in pts])
        coef, *_ = np.linalg.lstsq(_features(pts[:20]), ys[:20], rcond=None)
        self.coef = coef  # (7, bins)
        pred = _features(pts[20:]) @ coef
        self.max_rel_dev = float(np.max(np.abs(pred - ys[20:]) / ys[20:]))

    def yields(self, c: np.ndarray) -> np.ndarray:
        out: np.ndarray = (_features(np.asarray(c, dtype=float)) @ self.coef)[0]
        return out

    def grid_nll_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """sum_i nu_i and ln nu_i on the (cVL, cSL, cTL) grid (``GRID`` cubed)."""
        c = np.stack(np.meshgrid(GRID, GRID, GRID, indexing="ij"), axis=-1).reshape(-1, 3)
        nu = _features(c) @ self.coef
        return nu.sum(axis=1), np.log(nu)


def profiles(
    m: StatOnly, parts: tuple[np.ndarray, np.ndarray], n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """-2 Delta ln L profiles of cVL (on ``GRID``) and q~ of cTL (at ``T_GRID``) of one dataset.

    -ln L is evaluated on the whole grid (exact yields, a grid step of 1/3) and minimised
    over the other coefficients by taking the minimum over their grid axes.
    """
    tot, lognu = parts
    nll = (tot - lognu @ n).reshape(GRID.size, GRID.size, GRID.size)
    nmin = float(nll.min())
    prof_v = 2 * (nll.min(axis=(1, 2)) - nmin)
    prof_t = 2 * (nll.min(axis=(0, 1)) - nmin)
    ctl_hat = float(GRID[int(np.argmin(prof_t))])
    k = np.searchsorted(GRID, T_GRID - 1e-9)
    q = np.where(ctl_hat <= T_GRID, prof_t[k], 0.0)
    return prof_v, q


def interval(d2: np.ndarray, level: float) -> tuple[float, float]:
    """Where the profile on ``GRID`` crosses ``level`` around its minimum (linear interpolation)."""
    i = int(np.argmin(d2))
    lo, hi = float(GRID[0]), float(GRID[-1])
    for j in range(i, 0, -1):
        if d2[j - 1] > level >= d2[j]:
            lo = float(GRID[j - 1] + (d2[j - 1] - level) * (GRID[j] - GRID[j - 1]) / (d2[j - 1] - d2[j]))
            break
    for j in range(i, GRID.size - 1):
        if d2[j + 1] > level >= d2[j]:
            hi = float(GRID[j] + (level - d2[j]) * (GRID[j + 1] - GRID[j]) / (d2[j + 1] - d2[j]))
            break
    return lo, hi


def main() -> None:
    rng = np.random.default_rng(13)
    m = StatOnly()
    truths = {
        "cVL10": (10.0, 0.0, 0.0),
        "SM": (m.sm_cvl, 0.0, 0.0),
        "cTL8": (m.sm_cvl, 0.0, 8.0),
    }
    t0 = time.perf_counter()
    report: dict[str, object] = {"n_toys": N_TOYS, "n_calibration": N_CAL, "load_before": os.getloadavg()[0],
                                 "mode": "statistics only (nuisances fixed at nominal)"}  # fmt: skip
    # CLs calibration: q~ distributions at each tested cTL (s+b) and at cTL = 0 (b only), with
    # cVL, cSL at the SM for the generation (the null of a cTL limit)
    report["quadratic_form_max_rel_dev"] = m.max_rel_dev
    parts = m.grid_nll_parts()
    nu_b = np.asarray(m.yields(np.array([m.sm_cvl, 0.0, 0.0])))
    q_b = np.array([profiles(m, parts, n)[1] for n in rng.poisson(nu_b, (N_CAL, nu_b.size)).astype(float)])
    q_sb = []
    for k, mu in enumerate(T_GRID):
        nu = np.asarray(m.yields(np.array([m.sm_cvl, 0.0, mu])))
        q_sb.append(
            np.array([profiles(m, parts, n)[1][k] for n in rng.poisson(nu, (N_CAL, nu.size)).astype(float)])
        )
    print(f"calibration done ({time.perf_counter() - t0:.0f} s)", flush=True)

    def cls_of(k: int, q: float) -> float:
        p_sb = float(np.mean(q_sb[k] >= q - 1e-9))
        p_b = float(np.mean(q_b[:, k] >= q - 1e-9))
        return p_sb / p_b if p_b > 0 else 1.0

    for name, truth in truths.items():
        nu = np.asarray(m.yields(np.array(truth)))
        c68, c95, limits = [], [], []
        for n in rng.poisson(nu, (N_TOYS, nu.size)).astype(float):
            prof, q = profiles(m, parts, n)
            lo1, hi1 = interval(prof, 1.0)
            lo2, hi2 = interval(prof, 3.841)
            c68.append(lo1 <= truth[0] <= hi1)
            c95.append(lo2 <= truth[0] <= hi2)
            cls = np.array([cls_of(k, float(q[k])) for k in range(T_GRID.size)])
            limits.append(crossing(T_GRID, cls, 0.05))
        lims = np.array(limits)
        found = np.isfinite(lims)
        n_used = len(c68)
        report[name] = {
            "truth": dict(zip(("cVL", "cSL", "cTL"), truth)),
            "coverage68": float(np.mean(c68)),
            "coverage68_err": math.sqrt(0.6827 * 0.3173 / n_used),
            "coverage95": float(np.mean(c95)),
            "coverage95_err": math.sqrt(0.95 * 0.05 / n_used),
            "cTL_limit_in_range": float(np.mean(found)),
            "cTL_limit_coverage": float(np.mean(~found | (lims >= truth[2]))),
            "cTL_limit_quantiles": np.quantile(
                lims[found], [0.02275, 0.15866, 0.5, 0.84134, 0.97725]
            ).tolist()
            if found.any()
            else None,
            "cTL_limits": [float(v) if math.isfinite(v) else None for v in lims],
        }
        print(name, {k: v for k, v in report[name].items() if k != "cTL_limits"}, flush=True)  # type: ignore[union-attr]
    report["wall_s"] = time.perf_counter() - t0
    report["load_after"] = os.getloadavg()[0]
    OUT.mkdir(exist_ok=True)
    (OUT / "coverage.json").write_text(json.dumps(report, indent=1) + "\n")
    figure(report)


def figure(report: dict[str, object]) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    names = [k for k in ("cVL10", "SM", "cTL8") if k in report]
    for j, (level, key) in enumerate(((0.6827, "coverage68"), (0.95, "coverage95"))):
        xs = np.arange(len(names)) + (j - 0.5) * 0.2
        ys = [report[n][key] for n in names]  # type: ignore[index]
        es = [report[n][key + "_err"] for n in names]  # type: ignore[index]
        ax1.errorbar(xs, ys, es, fmt="o", color=f"C{j}", label=f"{level:.0%} profile interval of cVL")
        ax1.axhline(level, ls="--", color=f"C{j}", lw=0.8)
    xs = np.arange(len(names)) + 0.3
    ax1.plot(xs, [report[n]["cTL_limit_coverage"] for n in names], "s", color="C2",  # type: ignore[index]
             label="95 % CLs upper limit on cTL")  # fmt: skip
    ax1.set_xticks(range(len(names)), [f"truth {n}" for n in names])
    ax1.set_ylabel("coverage")
    ax1.set_ylim(0.4, 1.05)
    ax1.legend(fontsize="small", loc="lower left")
    ax1.set_title(f"{report['n_toys']} toys per truth, statistics only", loc="left", fontsize="small")
    for name, color in (("SM", "0.6"), ("cTL8", "C3")):
        entry = report.get(name)
        if isinstance(entry, dict):
            vals = [v for v in entry["cTL_limits"] if v is not None]
            ax2.hist(vals, bins=np.linspace(0, 20, 21), histtype="step", color=color, label=f"truth {name}")
    ax2.axvline(8.0, color="C3", ls=":", lw=0.8)
    ax2.set_xlabel("95 % CLs upper limit on cTL (toys)")
    ax2.set_ylabel("toys")
    ax2.legend(fontsize="small")
    fig.savefig(OUT / "coverage.png", dpi=110)


if __name__ == "__main__":
    main()
