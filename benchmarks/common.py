"""Timing and I/O helpers shared by the benchmark runners (numpy and stdlib only).

Imports neither ``redist`` package, so it can be used from both virtual
environments.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
BELLE2 = ROOT / "redist" / "data" / "belle2"
BELLE2_PRUNE = ("mu", "corr_ff_c1", "corr_ff_c2", "corr_ff_c3")
BELLE2_CUTOFF = (0.0, 22.885)


def load_synthetic(path: str | Path | None = None) -> dict[str, Any]:
    """The synthetic model written by ``synthetic.py``."""
    return json.loads(Path(path or OUT / "synthetic.json").read_text(encoding="utf-8"))


def load_belle2() -> tuple[dict[str, Any], dict[tuple[str, str], np.ndarray], list[float]]:
    """Published Belle II workspace, joint densities by (channel, sample), q² edges."""
    binning = json.loads((BELLE2 / "binning.json").read_text(encoding="utf-8"))
    ws = json.loads((BELLE2 / "combined_likelihood.json").read_text(encoding="utf-8"))
    dens = {
        (info["pyhf_channel"], info["pyhf_sample"]): np.loadtxt(BELLE2 / f, delimiter=",", ndmin=2)
        for f, info in binning["files"].items()
    }
    return ws, dens, [float(e) for e in binning["kinematic_bin_edges"]]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time (s) of one call and its result."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def median_time(fn: Callable[[int], Any], repeats: int, *, min_total: float = 0.0) -> dict[str, Any]:
    """Median wall time of ``fn(i)`` over ``repeats`` calls (``i`` = call index).

    With ``min_total`` the number of calls grows until their total time exceeds it
    (for sub-millisecond operations), ``repeats`` being the minimum.
    """
    times: list[float] = []
    i = 0
    total = 0.0
    while i < repeats or total < min_total:
        t0 = time.perf_counter()
        fn(i)
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
        i += 1
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "n": len(times),
    }


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024.0 if sys.platform != "darwin" else kib / 1024.0**2


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON (creating parent folders)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(obj, indent=1, default=float), encoding="utf-8")


def env_info() -> dict[str, Any]:
    """Versions and machine facts recorded with every result."""
    import platform

    import pyhf
    import scipy

    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pyhf": pyhf.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    try:
        import iminuit

        info["iminuit"] = iminuit.__version__
    except ImportError:  # pragma: no cover
        pass
    return info
