"""Benchmark of redist.engine on the Belle II WET model (issue 12), side by side with pyhf.

Usage::

    python benchmarks/bench_engine.py [--toys 1000] [--grid 20] [--repeat 5] [--no-pyhf-fit]
                                      [--no-pyhf-jax] [--out benchmarks/results_engine.json]

Prints ``uptime`` (the machine is shared: give the load with every number),
min/median over repeats, and writes the keys it can measure
(``value_and_grad_us``, ``fit_warm_s``, ``grid_20x20_s``, ``toys_1000_s``, ...)
to a JSON file (atomic write). Compilation is measured in fresh processes with
an empty and then a warm persistent cache. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "uptime unavailable"


def timeit(fn: Any, n: int, repeat: int) -> tuple[float, float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t0) / n)
    return min(out), statistics.median(out)


COMPILE_SNIPPET = """
import time, json
t0 = time.perf_counter()
from redist.demo import belle2_model
from redist import engine
rm = belle2_model()
t1 = time.perf_counter()
lik = engine.likelihood(rm)
lik.value_and_grad(lik.tensors.init, lik.data)
t2 = time.perf_counter()
res = engine.minimize(lik)
t3 = time.perf_counter()
print(json.dumps({"import_build_s": t1 - t0, "vg_first_call_s": t2 - t1, "first_fit_s": t3 - t2,
                  "converged": bool(res.converged[0])}))
"""


def compile_times(cache: str) -> dict[str, float]:
    env = dict(os.environ, REDIST_COMPILE_CACHE=cache)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], capture_output=True, text=True, env=env,
                         check=True)
    total = time.perf_counter() - t0
    d: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    d["process_s"] = total
    return d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--toys", type=int, default=1000)
    ap.add_argument("--grid", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-pyhf-fit", action="store_true")
    ap.add_argument("--no-pyhf-jax", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_engine.json")))
    args = ap.parse_args()
    res: dict[str, Any] = {"uptime_start": uptime()}
    print(res["uptime_start"])

    # -- compilation in fresh processes: empty cache, then warm cache ----------------------
    with tempfile.TemporaryDirectory() as tmp:
        cold = compile_times(tmp)
        warm = compile_times(tmp)
    res["compile_cold"] = cold
    res["compile_warm_cache"] = warm
    print(f"fresh process, empty cache : {cold}")
    print(f"fresh process, warm cache  : {warm}")

    import pyhf

    from redist import engine
    from redist.demo import belle2_model

    rm = belle2_model()
    lik = engine.likelihood(rm)
    t = lik.tensors
    data = t.data
    assert data is not None
    p = t.init.copy()
    res["tensors"] = t.summary()
    print("model:", t.summary())

    # -- value + gradient, Hessian ------------------------------------------------------------
    lik.value_and_grad(p, data)
    vg = timeit(lambda: lik.value_and_grad(p, data), 2000, args.repeat)
    res["value_and_grad_us"] = vg[0] * 1e6
    res["value_and_grad_us_median"] = vg[1] * 1e6
    exe = lik.executable("value_and_grad")
    raw = timeit(lambda: exe(p, data), 2000, args.repeat)
    res["value_and_grad_raw_executable_us"] = raw[0] * 1e6
    lik.hessian(p, data)
    hs = timeit(lambda: lik.hessian(p, data), 20, args.repeat)
    res["hessian_ms"] = hs[0] * 1e3
    print(f"engine value+grad: {vg[0] * 1e6:.1f} / {vg[1] * 1e6:.1f} us (min/median; raw executable "
          f"{raw[0] * 1e6:.1f}); Hessian {hs[0] * 1e3:.2f} / {hs[1] * 1e3:.2f} ms   [{uptime()}]")

    model = rm.model
    pn = timeit(lambda: model.logpdf(p, data), 200, args.repeat)
    res["pyhf_numpy_logpdf_us"] = pn[0] * 1e6
    print(f"pyhf numpy logpdf (value only): {pn[0] * 1e6:.1f} / {pn[1] * 1e6:.1f} us")
    if not args.no_pyhf_jax:
        import jax

        pyhf.set_backend("jax", precision="64b")
        mj = rm.build_model()
        f = jax.jit(jax.value_and_grad(lambda q, d: -2.0 * mj.logpdf(q, d)[0]))
        t0 = time.perf_counter()
        jax.block_until_ready(f(p, data))
        res["pyhf_jax_compile_s"] = time.perf_counter() - t0
        pj = timeit(lambda: jax.block_until_ready(f(p, data)), 500, args.repeat)
        res["pyhf_jax_value_and_grad_us"] = pj[0] * 1e6
        pyhf.set_backend("numpy")
        print(f"pyhf jax value+grad: {pj[0] * 1e6:.1f} / {pj[1] * 1e6:.1f} us "
              f"(compile {res['pyhf_jax_compile_s']:.1f} s)")

    # -- warm in-process fits ------------------------------------------------------------------
    fit = engine.minimize(lik)
    fw = timeit(lambda: engine.minimize(lik), 1, args.repeat)
    res["fit_warm_s"] = fw[0]
    res["fit_warm_s_median"] = fw[1]
    res["fit_iterations"] = int(fit.iterations[0])
    res["fit_twice_nll"] = float(fit.twice_nll[0])
    print(f"engine Newton fit (warm): {fw[0]:.3f} / {fw[1]:.3f} s, {fit.iterations[0]} iterations, "
          f"-2lnL {fit.twice_nll[0]:.8f}   [{uptime()}]")

    from iminuit import Minuit

    free = np.flatnonzero(~t.fixed)

    def minuit_fit() -> float:
        def full(xf: np.ndarray) -> np.ndarray:
            q = t.init.copy()
            q[free] = xf
            return q

        m = Minuit(lambda xf: lik.value(full(xf), data), t.init[free],
                   grad=lambda xf: lik.value_and_grad(full(xf), data)[1][free])
        m.errordef = Minuit.LEAST_SQUARES
        m.limits = [tuple(b) for b in t.bounds[free]]
        m.strategy = 0
        m.migrad()
        return float(m.fval)

    minuit_fit()
    mw = timeit(minuit_fit, 1, max(2, args.repeat // 2))
    res["fit_warm_minuit_engine_gradient_s"] = mw[0]
    print(f"Minuit + engine exact gradient (warm, strategy 0): {mw[0]:.3f} / {mw[1]:.3f} s")

    if not args.no_pyhf_fit:
        pyhf.set_backend("numpy", "minuit")
        t0 = time.perf_counter()
        r = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
        res["pyhf_numpy_minuit_fit_s"] = time.perf_counter() - t0
        res["pyhf_numpy_minuit_twice_nll"] = float(r[1])
        pyhf.set_backend("numpy")
        print(f"pyhf.infer.mle.fit (numpy + Minuit): {res['pyhf_numpy_minuit_fit_s']:.1f} s, "
              f"-2lnL {float(r[1]):.8f}")

    # -- 20 x 20 profiled (cVL, cTL) grid ---------------------------------------------------------
    n = args.grid
    i_v, i_t = t.slices["cVL"].start, t.slices["cTL"].start
    cv = np.linspace(0.0, 20.0, n)
    ct = np.linspace(0.0, 20.0, n)
    x0 = np.tile(fit.x[0], (n * n, 1))
    x0[:, i_v] = np.repeat(cv, n)
    x0[:, i_t] = np.tile(ct, n)
    fixed = np.tile(t.fixed, (n * n, 1))
    fixed[:, [i_v, i_t]] = True
    engine.minimize_batch(lik, init=x0[:16], fixed=fixed[:16])  # compile the chunk executable
    t0 = time.perf_counter()
    grid = engine.minimize_batch(lik, init=x0, fixed=fixed)
    res[f"grid_{n}x{n}_s"] = time.perf_counter() - t0
    res["grid_converged"] = int(grid.converged.sum())
    res["grid_iterations_median"] = float(np.median(grid.iterations))
    print(f"{n}x{n} profiled grid: {res[f'grid_{n}x{n}_s']:.2f} s, {grid.converged.sum()}/{n * n} converged, "
          f"median {np.median(grid.iterations):.0f} iterations   [{uptime()}]")

    # -- toys (all parameters free) -------------------------------------------------------------
    rng = np.random.default_rng(1)
    best = fit.x[0]
    main_exp = lik.expected_main(best)
    nt = args.toys
    toys = np.empty((nt, t.ndata))
    toys[:, : t.n_main] = rng.poisson(main_exp, size=(nt, t.n_main))
    toys[:, t.n_main :] = data[t.n_main :]
    noise = rng.normal(size=(nt, t.gauss_par.size))
    toys[:, t.n_main + t.gauss_aux] = best[t.gauss_par] + t.gauss_sigma * noise
    t0 = time.perf_counter()
    tf = engine.minimize_batch(lik, data=toys, init=best)
    res[f"toys_{nt}_s"] = time.perf_counter() - t0
    res["toys_converged"] = int(tf.converged.sum())
    res["toys_iterations_median"] = float(np.median(tf.iterations))
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{nt} toys: {res[f'toys_{nt}_s']:.2f} s, {tf.converged.sum()}/{nt} converged, median "
          f"{np.median(tf.iterations):.0f} iterations; peak RSS of this process {res['peak_rss_mb']:.0f} MB"
          f"   [{uptime()}]")
    res["compile_time_in_process_s"] = lik.compile_time_s
    res["uptime_end"] = uptime()
    print(res["uptime_end"])

    out = Path(args.out)
    fd, tmpname = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(res, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmpname, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
