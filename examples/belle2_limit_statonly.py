"""Toy CLs upper limit on cTL from the Belle II data, statistics only (nuisances at nominal).

The same q~ and toy calibration as ``redist limit --method toys`` (signal-plus-background
toys at each tested cTL, background-only toys at cTL = 0, cVL and cSL profiled), on the
statistics-only likelihood of ``examples/coverage.py`` (exact Belle II yields as a closed
quadratic form in the coefficients, profiles on a grid of step 1/3). The full-nuisance
``examples/belle2_limit.sh`` needs about 2000 Newton fits of 239 parameters (about 0.6
CPU-second each). Writes a :class:`redist.infer.LimitResult` (``redist show`` / ``plot``
read it) and its figure.

Run: ``nice -n 10 .venv/bin/python examples/belle2_limit_statonly.py [N_CAL]``.
Outputs: ``examples/output/belle2_limit_cTL_statonly.{json,png}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from coverage import T_GRID, StatOnly, profiles

from redist.infer.limits import LimitResult, crossing
from redist.report.figures import limit_figure, save_figure

N_CAL = int(sys.argv[1]) if len(sys.argv) > 1 else 300
OUT = Path(__file__).parent / "output"
BAND = (0.02275, 0.15866, 0.5, 0.84134, 0.97725)


def main() -> None:
    from redist.demo import belle2_model

    rng = np.random.default_rng(29)
    m = StatOnly()
    parts = m.grid_nll_parts()
    rm = belle2_model()
    n_obs = np.asarray(rm.data, dtype=float)[: m.coef.shape[1]]
    _, q_obs = profiles(m, parts, n_obs)
    nu_b = m.yields(np.array([m.sm_cvl, 0.0, 0.0]))
    q_b = np.array([profiles(m, parts, n)[1] for n in rng.poisson(nu_b, (N_CAL, nu_b.size)).astype(float)])
    cls_obs, cls_err, cls_exp, thr = [], [], [], []
    for k, mu in enumerate(T_GRID):
        nu = m.yields(np.array([m.sm_cvl, 0.0, mu]))
        q_s = np.sort([profiles(m, parts, n)[1][k] for n in rng.poisson(nu, (N_CAL, nu.size)).astype(float)])
        qb = np.sort(q_b[:, k])

        def tail(sq: np.ndarray, q: np.ndarray) -> np.ndarray:
            out: np.ndarray = 1.0 - np.searchsorted(sq, np.asarray(q) - 1e-9) / sq.size
            return out

        p_sb, p_b = float(tail(q_s, q_obs[k])), float(tail(qb, q_obs[k]))
        cls_obs.append(p_sb / p_b if p_b > 0 else 1.0)
        e_sb = np.sqrt(max(p_sb * (1 - p_sb), 1 / N_CAL) / N_CAL) / max(p_sb, 1e-12)
        e_b = np.sqrt(max(p_b * (1 - p_b), 1 / N_CAL) / N_CAL) / max(p_b, 1e-12)
        cls_err.append(cls_obs[-1] * float(np.hypot(e_sb, e_b)))
        cls_b = tail(q_s, qb) / np.maximum(tail(qb, qb), 1e-12)
        cls_exp.append(np.quantile(np.minimum(cls_b, 1.0), BAND))
        cand = np.unique(np.concatenate([q_s, qb]))
        hit = np.flatnonzero(tail(q_s, cand + 2e-9) / np.maximum(tail(qb, cand + 2e-9), 1e-12) <= 0.05)
        thr.append(float(cand[hit[0]]) if hit.size else float("nan"))
    cls_exp_a = np.array(cls_exp).T
    observed = crossing(T_GRID, cls_obs, 0.05)
    res = LimitResult(
        parameter="cTL",
        cl=0.95,
        observed=observed,
        expected=[crossing(T_GRID, row, 0.05) for row in cls_exp_a],
        scan=T_GRID,
        cls_observed=np.array(cls_obs),
        cls_expected=cls_exp_a,
        method="toys",
        in_range=bool(np.isfinite(observed)),
        n_toys=N_CAL,
        cls_observed_err=np.array(cls_err),
        q_observed=q_obs,
        q_threshold=np.array(thr),
    )
    doc = {**res.to_dict(), "likelihood": "statistics only (nuisances at nominal)"}
    (OUT / "belle2_limit_cTL_statonly.json").write_text(json.dumps(doc, indent=1) + "\n")
    save_figure(limit_figure(res), OUT / "belle2_limit_cTL_statonly.png")
    print(
        json.dumps(
            {k: doc[k] for k in ("observed", "expected", "in_range", "q_observed", "q_threshold")}, indent=1
        )
    )


if __name__ == "__main__":
    main()
