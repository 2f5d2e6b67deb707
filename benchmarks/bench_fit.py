"""Benchmark of the compiled fit fast path on the Belle II B+ -> K+ nu nu model (issue 8).

Run: ``python benchmarks/bench_fit.py [--grid2d 20] [--backend jax]``. Not a test:
it prints timings, call counts, ratios measured in the same run, and a cProfile.

Measured:

* compilation of the objective (value-and-gradient, exact Hessian), separately;
* the WET MLE fit (cVL, cSL, cTL + 8 form-factor nuisances + all analysis
  nuisances) after compilation, against plain pyhf's fit of the *published*
  likelihood (signal strength mu, numpy backend, Minuit) — the reference the
  reinterpretation has to compete with;
* a 21-point 1D profile of cVL (all other parameters profiled);
* an N x N profiled 2D grid in (cVL, cTL); with ``--grid2d`` smaller than 20
  the 20 x 20 time is extrapolated linearly in the number of points (said so).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import time
from importlib.resources import files

import numpy as np
import pyhf

from redist.demo import belle2_model
from redist.infer import fit, objective, scan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid2d", type=int, default=20, help="points per axis of the 2D grid")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of the single fits")
    ap.add_argument("--backend", default="jax", choices=["jax", "numpy"])
    ap.add_argument("--skip-pyhf", action="store_true", help="skip the plain pyhf reference fit")
    ap.add_argument(
        "--dask-workers", default="", help="comma-separated worker counts for a Dask scaling run, e.g. 1,2"
    )
    ap.add_argument("--dask-grid", type=int, default=6, help="points per axis of the Dask scaling grid")
    args = ap.parse_args()

    rm = belle2_model()
    print(f"model: {rm.model.config.npars} parameters, backend {args.backend}")

    t0 = time.perf_counter()
    obj = objective(rm, args.backend)
    t_vg = time.perf_counter() - t0
    t0 = time.perf_counter()
    obj.hessian(obj.layout.inits, obj.data)
    t_h = time.perf_counter() - t0
    print(f"compile value+grad: {t_vg:.2f} s; exact Hessian (compile + first call): {t_h:.2f} s")

    # WET MLE fit after compilation
    times = []
    res = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = fit(rm, init={"cVL": 10.0}, backend=args.backend)
        times.append(time.perf_counter() - t0)
    assert res is not None
    t_fit = statistics.median(times)
    print(
        f"WET fit (3 WCs + FF + nuisances): {t_fit:.2f} s median of {args.repeat} "
        f"[{', '.join(f'{t:.2f}' for t in times)}], nfcn={res.nfcn}, ngrad={res.ngrad}, "
        f"starts={res.n_starts}, converged={res.converged}"
    )
    print("  best fit:", {k: round(res.values[k], 3) for k in ("cVL", "cSL", "cTL")},
          "errors:", {k: round(res.errors[k], 3) for k in ("cVL", "cSL", "cTL")},
          f"-2lnL={res.twice_nll:.4f}")
    print("  message:", res.message)

    # plain pyhf on the published likelihood (mu)
    t_pyhf = float("nan")
    if not args.skip_pyhf:
        ws = pyhf.Workspace(
            json.loads(
                files("redist").joinpath("data", "belle2", "combined_likelihood.json").read_text()
            )
        )
        pyhf.set_backend("numpy", "minuit")
        model = ws.model()
        data = ws.data(model)
        t0 = time.perf_counter()
        bf = pyhf.infer.mle.fit(data, model, return_uncertainties=True)
        t_pyhf = time.perf_counter() - t0
        mu = np.asarray(bf)[model.config.poi_index]
        print(f"plain pyhf fit of the published likelihood (mu): {t_pyhf:.2f} s, "
              f"mu = {mu[0]:.3f} +- {mu[1]:.3f}")

    # 21-point 1D profile
    t0 = time.perf_counter()
    s1 = scan(rm, {"cVL": np.linspace(0, 20, 21)}, backend=args.backend)
    t_1d = time.perf_counter() - t0
    print(f"21-point profile of cVL: {t_1d:.2f} s, {s1.nfcn} fcn / {s1.ngrad} grad calls, "
          f"{int(s1.converged.sum())}/21 converged, 68% interval {s1.interval(0.6827)}")

    # 2D grid
    n = args.grid2d
    t0 = time.perf_counter()
    s2 = scan(rm, {"cVL": np.linspace(0, 20, n), "cTL": np.linspace(0, 15, n)},
              backend=args.backend)
    t_2d = time.perf_counter() - t0
    t_400 = t_2d * 400 / (n * n)
    note = "" if n == 20 else f" -> extrapolated to 20x20: {t_400:.1f} s"
    print(f"{n}x{n} profiled grid (cVL, cTL): {t_2d:.1f} s{note}, {s2.nfcn} fcn / {s2.ngrad} grad, "
          f"{int(s2.converged.sum())}/{n * n} converged")

    # Dask: the same 2D grid on local clusters of 1, 2, ... single-threaded process workers
    dask_times = {}
    if args.dask_workers:
        from distributed import Client, LocalCluster

        m = args.dask_grid
        grid = {"cVL": np.linspace(0, 20, m), "cTL": np.linspace(0, 15, m)}
        ref = scan(rm, grid, backend=args.backend)
        for k in (int(w) for w in args.dask_workers.split(",")):
            with LocalCluster(n_workers=k, threads_per_worker=1, processes=True) as cluster, Client(
                cluster
            ) as client:
                t0 = time.perf_counter()
                sd = scan(rm, grid, backend=args.backend, dask=client)
                dask_times[k] = time.perf_counter() - t0
            same = np.array_equal(sd.twice_nll, ref.twice_nll)
            print(f"dask {k} worker(s), {m}x{m} grid: {dask_times[k]:.1f} s "
                  f"(includes per-worker compilation); identical to serial: {same}")
        base = dask_times[min(dask_times)]
        for k, t in sorted(dask_times.items()):
            print(f"  speed-up with {k} worker(s) vs {min(dask_times)}: {base / t:.2f}")

    # where the time goes
    prof = cProfile.Profile()
    prof.enable()
    fit(rm, init={"cVL": 10.0}, backend=args.backend)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(15)
    print("cProfile of one WET fit (top 15 cumulative):")
    print("\n".join(out.getvalue().splitlines()[:40]))

    print("\nsummary (same run):")
    print(f"  compile: {t_vg + t_h:.1f} s (value+grad {t_vg:.1f}, Hessian {t_h:.1f})")
    print(f"  WET fit {t_fit:.2f} s (target <= 2 s); plain pyhf mu fit {t_pyhf:.2f} s; "
          f"ratio pyhf/WET = {t_pyhf / t_fit:.1f}")
    print(f"  1D 21 points {t_1d:.1f} s (target <= 30 s); per point {t_1d / 21:.2f} s")
    print(f"  2D {n}x{n} {t_2d:.1f} s; 20x20 {'measured' if n == 20 else 'extrapolated'} "
          f"{t_400:.0f} s (target <= 600 s)")


if __name__ == "__main__":
    main()
