"""Seeded synthetic B -> K nu nu-like model shared by all benchmark runners.

The model mimics the published Belle II likelihood at a smaller scale: one
signal region of 40 fit bins (4 classifier bins x 10 reconstructed-q² bins), a
signal and two backgrounds with ``staterror`` (40 gammas), ``normsys`` (3) and
``histosys`` (1) modifiers, and a signal-strength ``normfactor`` ``mu`` that the
reinterpretation prunes. With the theory (cVL, cSL, cTL and 8 form-factor
eigen-nuisances) the reinterpreted model has 55 parameters.

The joint number density n(x, z) comes from a seeded toy: true q² drawn from
the SM rate, Gaussian q² resolution, a q²-dependent efficiency and classifier
response. Everything -- workspace, density, q² binning, theory settings, scan
ranges -- is written to one JSON file that every runner reads, so that redist,
redistpy and plain pyhf do identical work. Only numpy is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bkrate
import numpy as np

CHANNEL = "SR"
SIGNAL = "signal"
N_ETA, N_Q2REC = 4, 10
Z_EDGES = np.linspace(0.0, 22.5, 51)  # 50 true-q2 bins, all below q2_max = 22.90
Q2REC_EDGES = np.linspace(0.0, 25.0, N_Q2REC + 1)
TRUTH = {"cVL": 1.5 * bkrate.SM_CVL, "cSL": 3.0, "cTL": 0.0}
SIGNAL_YIELD_SM = 400.0


def _toy_density(rng: np.random.Generator, n_events: int) -> tuple[np.ndarray, np.ndarray]:
    """n(x, z) and its variances from a seeded toy migration."""
    fine = np.linspace(0.0, bkrate.Q2_MAX, 20001)
    pdf = bkrate.sm_dbr_dq2(fine)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(fine))])
    q2 = np.interp(rng.uniform(0.0, cdf[-1], n_events), cdf, fine)
    eff = 0.35 * np.exp(-q2 / 18.0) + 0.05
    selected = rng.uniform(size=n_events) < eff
    q2_rec = q2 + rng.normal(0.0, 1.2 + 0.05 * q2, n_events)
    # classifier bin: higher purity bins more likely at low q2
    p_hi = np.clip(0.55 - 0.015 * q2, 0.05, None)
    eta = np.minimum(rng.binomial(N_ETA - 1, p_hi), N_ETA - 1)
    irec = np.digitize(q2_rec, Q2REC_EDGES) - 1
    ok = selected & (irec >= 0) & (irec < N_Q2REC) & (q2 < Z_EDGES[-1])
    x = eta[ok] * N_Q2REC + irec[ok]
    z = np.digitize(q2[ok], Z_EDGES) - 1
    n_x, n_z = N_ETA * N_Q2REC, len(Z_EDGES) - 1
    counts = np.zeros((n_x, n_z))
    np.add.at(counts, (x, z), 1.0)
    if np.any(counts.sum(axis=1) == 0):
        msg = "toy produced an empty fit bin; increase n_events"
        raise RuntimeError(msg)
    scale = SIGNAL_YIELD_SM / counts.sum()
    return counts * scale, counts * scale**2


def _background(shape_slope: float, level: float, eta_weights: list[float]) -> np.ndarray:
    c = 0.5 * (Q2REC_EDGES[1:] + Q2REC_EDGES[:-1])
    per_q2 = level * np.exp(-shape_slope * c) + 0.1 * level
    return np.concatenate([w * per_q2 for w in eta_weights])


def make_model(seed: int = 20240607, n_events: int = 400_000) -> dict[str, Any]:
    """Build the synthetic model dictionary (deterministic for a given seed)."""
    rng = np.random.default_rng(seed)
    dens, dvar = _toy_density(rng, n_events)
    sig = dens.sum(axis=1)
    sig_stat = np.sqrt(dvar.sum(axis=1))
    bb = _background(0.08, 120.0, [1.0, 0.5, 0.25, 0.12])
    qq = _background(0.03, 60.0, [1.2, 0.5, 0.2, 0.08])
    bb_stat = 0.04 * bb
    qq_stat = 0.06 * qq
    tilt = 1.0 + 0.06 * np.tile(np.linspace(-1.0, 1.0, N_Q2REC), N_ETA)
    lumi = {"name": "lumi", "type": "normsys", "data": {"hi": 1.01, "lo": 0.99}}
    samples = [
        {
            "name": SIGNAL,
            "data": sig.tolist(),
            "modifiers": [
                {"name": "mu", "type": "normfactor", "data": None},
                lumi,
                {"name": "stat_SR", "type": "staterror", "data": sig_stat.tolist()},
            ],
        },
        {
            "name": "bbbar",
            "data": bb.tolist(),
            "modifiers": [
                lumi,
                {"name": "norm_bbbar", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}},
                {
                    "name": "shape_bbbar",
                    "type": "histosys",
                    "data": {"hi_data": (bb * tilt).tolist(), "lo_data": (bb / tilt).tolist()},
                },
                {"name": "stat_SR", "type": "staterror", "data": bb_stat.tolist()},
            ],
        },
        {
            "name": "qqbar",
            "data": qq.tolist(),
            "modifiers": [
                lumi,
                {"name": "norm_qqbar", "type": "normsys", "data": {"hi": 1.15, "lo": 0.85}},
                {"name": "stat_SR", "type": "staterror", "data": qq_stat.tolist()},
            ],
        },
    ]
    # data: Poisson around the reweighted expectation at the truth point
    truth = (TRUTH["cVL"], TRUTH["cSL"], TRUTH["cTL"], *bkrate.FF_MEAN)
    w = bkrate.bin_integrals(Z_EDGES, truth) / bkrate.bin_integrals(Z_EDGES, bkrate.SM_POINT)
    expected = (dens @ w) + bb + qq
    observed = rng.poisson(expected).astype(float)
    workspace = {
        "channels": [{"name": CHANNEL, "samples": samples}],
        "observations": [{"name": CHANNEL, "data": observed.tolist()}],
        "measurements": [
            {
                "name": "meas",
                "config": {
                    "poi": "mu",
                    "parameters": [{"name": "mu", "bounds": [[0.0, 20.0]], "inits": [1.0]}],
                },
            }
        ],
        "version": "1.0.0",
    }
    cvl = np.linspace(4.0, 14.0, 21)
    return {
        "description": "synthetic 40-bin B+->K+nunu-like model for the redist/redistpy benchmarks",
        "seed": seed,
        "n_events": n_events,
        "workspace": workspace,
        "density": {
            "channel": CHANNEL,
            "sample": SIGNAL,
            "values": dens.tolist(),
            "variances": dvar.tolist(),
        },
        "z_edges": Z_EDGES.tolist(),
        "theory": {
            "process": "B+->K+nunu",
            "parameters": ["cVL", "cSL", "cTL"],
            "bounds": [0.0, 20.0],
            "inits": {"cVL": bkrate.SM_CVL, "cSL": 0.0, "cTL": 0.0},
            "ff_names": list(bkrate.FF_NAMES),
            "ff_mean": list(bkrate.FF_MEAN),
            "ff_cov": bkrate.FF_COV,
        },
        "truth": TRUTH,
        "fit": {"fixed": {"cTL": 0.0}, "init": {"cVL": 9.0, "cSL": 1.0}},
        "scan1d": {"parameter": "cVL", "values": cvl.tolist(), "fixed": {"cTL": 0.0}},
        "scan2d": {
            "x": "cVL",
            "y": "cSL",
            "x_values": np.linspace(5.0, 13.0, 20).tolist(),
            "y_values": np.linspace(0.0, 8.0, 20).tolist(),
            "fixed": {"cTL": 0.0},
        },
    }


def write(path: str | Path, seed: int = 20240607) -> Path:
    """Write the model JSON (only if missing or different)."""
    path = Path(path)
    text = json.dumps(make_model(seed), indent=1)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":
    import sys

    print(write(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out" / "synthetic.json"))
