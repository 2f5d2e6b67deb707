"""Cost of the Belle II bin weights at a new parameter point, three ways (not a test).

The Belle II B+ -> K+ nu nu likelihood reweights 100 q2 bins on [0, 22.885] GeV^2
(plus an underflow bin that is never reweighted). At every new parameter point a
fit needs the weights w_j = R_j(theta) / R_j(SM) of all bins. This script times

* ``kernel``     -- :class:`redist.kernels.BinKernel` with precomputed basis
                    integrals: one (100, M) @ (M,) product;
* ``quadrature`` -- vectorised 24-point Gauss-Legendre of ``theory.rate`` in every
                    bin at every call (2400 rate evaluations, one numpy call);
* ``pointwise``  -- the same quadrature with the rate evaluated one (q2, theta) at a
                    time, as a point-by-point code (EOS, flavio) is used; here with
                    WET's direct formula, and with EOS itself when it is installed;

and prints the median times and their ratios to the kernel. Run with::

    python benchmarks/bench_theory.py [--repeat N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from collections.abc import Callable
from importlib.resources import files

import numpy as np

from redist.kernels import BinKernel
from redist.pointwise import PointwiseTheory
from redist.testing import random_values
from theories.wet import WET


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="repetitions of the fast paths")
    args = parser.parse_args()

    binning = json.loads(files("redist").joinpath("data/belle2/binning.json").read_text())
    edges = np.asarray(binning["kinematic_bin_edges"])
    cutoff = [(0.0, float(edges[-1]))]
    th = WET("B+->K+nunu")

    t0 = time.perf_counter()
    kernel = BinKernel(th, [edges], cutoff=cutoff)
    t_build = time.perf_counter() - t0
    n_in = int(kernel.inside.sum())
    n_nodes = kernel.nodes.shape[0] * kernel.nodes.shape[1]
    null = kernel.rates(th.defaults())
    rng = np.random.default_rng(1)
    points = [th.resolve(random_values(th, rng)) for _ in range(max(args.repeat, 5))]
    it = iter(points * 1000)

    def via_kernel() -> np.ndarray:
        return kernel.rates(next(it)) / null

    def via_quadrature() -> np.ndarray:
        return kernel.quadrature_rates(next(it)) / null

    q2_nodes = kernel.nodes.reshape(-1)

    def via_pointwise(rate_one: Callable[[float, dict], float]) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            v = next(it)
            r = np.array([rate_one(float(q), v) for q in q2_nodes]).reshape(kernel.weights.shape)
            return np.sum(r * kernel.weights, axis=1) / null

        return run

    def wet_one(q2: float, v: dict) -> float:
        return float(th.dbr_dq2_direct(np.array([q2]), v)[0])

    # all three give the same weights
    v = points[0]
    it = iter([v, v, v])
    w_k, w_q, w_p = via_kernel(), via_quadrature(), via_pointwise(wet_one)()
    assert np.allclose(w_k, w_q, rtol=1e-12)
    assert np.allclose(w_k, w_p, rtol=1e-12)
    it = iter(points * 1000)

    rows = [
        ("kernel", median_time(via_kernel, args.repeat)),
        ("quadrature", median_time(via_quadrature, max(args.repeat // 4, 5))),
        ("pointwise (WET formula)", median_time(via_pointwise(wet_one), 3)),
    ]

    eos_note = "EOS not installed (pip install 'redist[eos]') - skipped"
    if importlib.util.find_spec("eos") is not None:
        from theories.eos_adapter import EOSTheory

        eos = EOSTheory("B+->K+nunu")
        wc = [p.name for p in eos.parameters]

        def eos_one(q2: float, v: dict) -> float:
            return eos.function(q2, **{k: float(v[k]) for k in wc})

        rows.append(("pointwise (EOS)", median_time(via_pointwise(eos_one), 5)))
        t0 = time.perf_counter()
        BinKernel(eos, [edges], cutoff=cutoff)
        eos_note = f"one-off EOS kernel build (56 EOS calls per node): {time.perf_counter() - t0:.2f} s"

    print(f"Belle II binning: {len(edges) - 1} bins, {n_in} reweighted, {n_nodes} Gauss-Legendre nodes")
    print(f"WET kernel build (once per binning): {t_build * 1e3:.1f} ms\n")
    print(f"{'method':<26}{'time per point':>16}{'ratio to kernel':>18}")
    base = rows[0][1]
    for name, t in rows:
        print(f"{name:<26}{t * 1e6:>13.1f} us{t / base:>18.0f}")
    print()
    print(eos_note)
    # what the point-by-point kernel build would cost with the WET formula
    t_call = rows[2][1] / n_nodes
    pw = PointwiseTheory(lambda q2, **v: 0.0, th.parameters, th.kinematics)
    n_calls = n_nodes * (len(pw.pairs) + 1)
    print(f"PointwiseTheory build with the WET formula: {n_calls} calls x {t_call * 1e6:.0f} us "
          f"= {n_calls * t_call:.1f} s (once per binning)")  # fmt: skip


if __name__ == "__main__":
    main()
