"""Benchmark of redist.engine on the Belle II WET model (issue 12), side by side with pyhf.

Usage::

    python benchmarks/bench_engine.py [--toys 1000] [--grid 20] [--repeat 5] [--cli-repeat 3]
                                      [--no-pyhf-fit] [--no-pyhf-cli] [--no-dask]
                                      [--out benchmarks/out/engine.json]

Everything the table of ``make bench`` shows, from one run: fresh-process command
lines (``redist fit model.json`` with an empty and with a warm compile cache,
``redist --help``, ``redist theory list``, ``pyhf fit`` on the published workspace),
in-process value+gradient, Hessian, warm fits, the 20 x 20 profiled grid
(``redist.infer.scan``), 1000 toy fits (``engine.minimize_batch``, peak memory of a
fresh process) and the Dask scale-out of the grid (2 local worker processes, per-task
times, projection to 100 workers). Each timing is printed with ``uptime`` beside it
(the machine is shared); repeated timings give min and median. No timing is
asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "uptime unavailable"


def load1() -> float:
    return os.getloadavg()[0]


def timeit(fn: Any, n: int, repeat: int) -> tuple[float, float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t0) / n)
    return min(out), statistics.median(out)


CPU: dict[str, list[float]] = {}


def run_cmd(cmd: list[str], env: dict[str, str] | None = None, label: str | None = None) -> float:
    """Wall seconds of a fresh process; its CPU seconds (user + sys) go to ``CPU[label]``.

    On a loaded machine the CPU time of a single-threaded command is the better estimate
    of its wall time on an idle one.
    """
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label is not None:
        CPU.setdefault(label, []).append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return wall


def stats(xs: list[float]) -> dict[str, Any]:
    return {"min": min(xs), "median": statistics.median(xs), "runs": xs}


def cli_timings(args: argparse.Namespace, res: dict[str, Any], tmp: Path) -> None:
    """Fresh processes: ``redist fit`` (empty / warm cache), ``redist --help``, ``pyhf fit``."""
    from redist import save
    from redist.demo import belle2_model

    model = tmp / "model.json"
    save(model, belle2_model())
    redist = str(BIN / "redist")
    cold, warm = [], []
    for k in range(args.cli_repeat):
        cache = tmp / f"cache{k}"
        env = dict(os.environ, REDIST_COMPILE_CACHE=str(cache))
        cmd = [redist, "fit", str(model), "-q", "-o", str(tmp / "fit.json")]
        cold.append(run_cmd(cmd, env, "cli_fit_cold"))
        print(f"  redist fit, empty cache: {cold[-1]:.2f} s   [{uptime()}]", flush=True)
        warm.append(run_cmd(cmd, env, "cli_fit_warm_cache"))
        print(f"  redist fit, warm cache : {warm[-1]:.2f} s   [{uptime()}]", flush=True)
    fitted = json.loads((tmp / "fit.json").read_text())
    res["cli_fit_twice_nll"] = fitted.get("twice_nll")
    res["cli_fit_cold"] = stats(cold)
    res["cli_fit_warm_cache"] = stats(warm)
    res["cli_fit_cold_s"] = min(cold)
    res["cli_fit_warm_cache_s"] = min(warm)
    nocache = run_cmd([redist, "--no-cache", "fit", str(model), "-q"])
    res["cli_fit_no_cache_s"] = nocache
    print(f"  redist --no-cache fit : {nocache:.2f} s   [{uptime()}]", flush=True)
    helps = [run_cmd([redist, "--help"], label="cli_help") for _ in range(3)]
    theory = [run_cmd([redist, "theory", "list"], label="cli_theory_list") for _ in range(3)]
    res["cli_help_s"] = min(helps)
    res["cli_theory_list_s"] = min(theory)
    print(f"  redist --help {min(helps):.2f} s, redist theory list {min(theory):.2f} s", flush=True)
    if not args.no_pyhf_cli:
        ws = ROOT / "redist" / "data" / "belle2" / "combined_likelihood.json"
        # `pyhf fit` exactly as its console script runs it (the thin venv has no `pyhf` script)
        pyhf_cli = [sys.executable, "-c", "import sys; from pyhf.cli import cli; sys.exit(cli())", "fit"]
        pyhf_runs = [run_cmd([*pyhf_cli, str(ws)], label="pyhf_cli_fit") for _ in range(args.pyhf_cli_repeat)]
        res["pyhf_cli_fit"] = stats(pyhf_runs)
        res["pyhf_cli_fit_s"] = min(pyhf_runs)
        print(f"  pyhf fit (published workspace): {min(pyhf_runs):.2f} s   [{uptime()}]", flush=True)
    res["cli_cpu_s"] = {k: stats(v) for k, v in CPU.items()}
    print("  CPU seconds (user + sys) of the same processes, min: "
          + ", ".join(f"{k} {min(v):.2f}" for k, v in CPU.items()), flush=True)


TOYS_SNIPPET = """
import json, resource, sys, time
import numpy as np
from redist import engine
from redist.demo import belle2_model
nt = int(sys.argv[1])
lik = engine.likelihood(belle2_model())
t = lik.tensors
best = engine.minimize(lik).x[0]
rng = np.random.default_rng(1)
main = lik.expected_main(best)
toys = np.empty((nt, t.ndata))
toys[:, : t.n_main] = rng.poisson(main, size=(nt, t.n_main))
toys[:, t.n_main :] = t.data[t.n_main :]
toys[:, t.n_main + t.gauss_aux] = best[t.gauss_par] + t.gauss_sigma * rng.normal(size=(nt, t.gauss_par.size))
engine.minimize_batch(lik, data=toys[:16], init=best)  # compiled (or loaded) outside the timing
t0 = time.perf_counter()
fits = engine.minimize_batch(lik, data=toys, init=best)
wall = time.perf_counter() - t0
print(json.dumps({"wall_s": wall, "converged": int(fits.converged.sum()),
                  "iterations_median": float(np.median(fits.iterations)),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--toys", type=int, default=1000)
    ap.add_argument("--grid", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cli-repeat", type=int, default=3)
    ap.add_argument("--pyhf-cli-repeat", type=int, default=1)
    ap.add_argument("--no-pyhf-fit", action="store_true")
    ap.add_argument("--no-pyhf-cli", action="store_true")
    ap.add_argument("--no-pyhf-jax", action="store_true")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--out", default=str(HERE / "out" / "engine.json"))
    args = ap.parse_args()
    res: dict[str, Any] = {"uptime_start": uptime(), "load_start": load1()}
    print(res["uptime_start"], flush=True)

    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        if not args.no_cli:
            cli_timings(args, res, tmp)

        import pyhf

        from redist import engine
        from redist.demo import belle2_model
        from redist.infer import fit as infer_fit
        from redist.infer import scan

        rm = belle2_model()
        lik = engine.likelihood(rm)
        t = lik.tensors
        data = t.data
        assert data is not None
        p = t.init.copy()
        res["tensors"] = t.summary()
        print("model:", t.summary(), flush=True)

        # -- value + gradient, Hessian ----------------------------------------------------------
        lik.value_and_grad(p, data)
        vg = timeit(lambda: lik.value_and_grad(p, data), 2000, args.repeat)
        res["value_and_grad_us"] = vg[0] * 1e6
        res["value_and_grad_us_median"] = vg[1] * 1e6
        exe = lik.executable("vg_flat")
        raw = timeit(lambda: exe(p, data), 2000, args.repeat)
        res["value_and_grad_raw_executable_us"] = raw[0] * 1e6
        lik.hessian(p, data)
        hs = timeit(lambda: lik.hessian(p, data), 50, args.repeat)
        res["hessian_ms"] = hs[0] * 1e3
        res["hessian_ms_median"] = hs[1] * 1e3
        print(f"engine value+grad: {vg[0] * 1e6:.1f} / {vg[1] * 1e6:.1f} us (min/median; raw executable "
              f"{raw[0] * 1e6:.1f}); Hessian {hs[0] * 1e3:.2f} / {hs[1] * 1e3:.2f} ms   [{uptime()}]",
              flush=True)

        model = rm.model
        pn = timeit(lambda: model.logpdf(p, data), 200, args.repeat)
        res["pyhf_numpy_logpdf_us"] = pn[0] * 1e6
        print(f"pyhf numpy logpdf (value only): {pn[0] * 1e6:.1f} / {pn[1] * 1e6:.1f} us", flush=True)
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
            res["pyhf_jax_value_and_grad_us_median"] = pj[1] * 1e6
            pyhf.set_backend("numpy")
            print(f"pyhf jax value+grad (the previous redist path): {pj[0] * 1e6:.1f} / {pj[1] * 1e6:.1f} us "
                  f"(compile {res['pyhf_jax_compile_s']:.1f} s)", flush=True)

        # -- warm in-process fits ----------------------------------------------------------------
        best = engine.minimize(lik)
        fw = timeit(lambda: engine.minimize(lik), 1, args.repeat)
        res["fit_warm_s"] = fw[0]
        res["fit_warm_s_median"] = fw[1]
        res["fit_iterations"] = int(best.iterations[0])
        res["fit_twice_nll"] = float(best.twice_nll[0])
        print(f"engine Newton fit (warm): {fw[0]:.3f} / {fw[1]:.3f} s, {best.iterations[0]} iterations, "
              f"-2lnL {best.twice_nll[0]:.8f}   [{uptime()}]", flush=True)
        ref = infer_fit(rm)
        iw = timeit(lambda: infer_fit(rm), 1, max(2, args.repeat // 2))
        res["infer_fit_warm_s"] = iw[0]
        res["infer_fit_warm_s_median"] = iw[1]
        res["infer_fit_twice_nll"] = ref.twice_nll
        res["infer_fit_cVL"] = [ref.values["cVL"], ref.errors["cVL"]]
        res["infer_fit_cTL"] = [ref.values["cTL"], ref.errors["cTL"]]
        print(f"redist.infer.fit (Minuit + engine gradient, exact-Hessian errors, retries; warm): "
              f"{iw[0]:.3f} / {iw[1]:.3f} s, -2lnL {ref.twice_nll:.8f}   [{uptime()}]", flush=True)

        if not args.no_pyhf_fit:
            # plain pyhf (numpy + Minuit) on the same likelihood; Migrad may call its minimum
            # invalid there (cSL stationary on its bound), then the published workspace (mu)
            pyhf.set_backend("numpy", "minuit")
            # pyhf logs the whole Minuit object (a 239 x 239 correlation table) when Migrad
            # fails; the benchmark reports the failure in one line instead
            logging.getLogger("pyhf").setLevel(logging.CRITICAL)
            t0 = time.perf_counter()
            try:
                r = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
                res["pyhf_numpy_minuit_fit_s"] = time.perf_counter() - t0
                res["pyhf_numpy_minuit_twice_nll"] = float(r[1])
                what = "WET model"
            except pyhf.exceptions.FailedMinimization:
                res["pyhf_numpy_minuit_wet_failed_after_s"] = time.perf_counter() - t0
                published = ROOT / "redist" / "data" / "belle2" / "combined_likelihood.json"
                ws = pyhf.Workspace(json.loads(published.read_text()))
                pm = ws.model()
                t0 = time.perf_counter()
                r = pyhf.infer.mle.fit(ws.data(pm), pm, return_fitted_val=True)
                res["pyhf_numpy_minuit_fit_s"] = time.perf_counter() - t0
                res["pyhf_numpy_minuit_twice_nll"] = float(r[1])
                what = "published workspace, mu (Migrad called the WET minimum invalid)"
            res["pyhf_numpy_minuit_fit_model"] = what
            pyhf.set_backend("numpy")
            print(f"pyhf.infer.mle.fit (numpy + Minuit, {what}): {res['pyhf_numpy_minuit_fit_s']:.1f} s, "
                  f"-2lnL {float(r[1]):.8f}   [{uptime()}]", flush=True)

        # -- 20 x 20 profiled (cVL, cTL) grid: redist.infer.scan ----------------------------------
        n = args.grid
        pars = [f"cVL:0:20:{n}", f"cTL:0:20:{n}"]
        scan(rm, ["cVL:0:20:2", "cTL:0:20:2"])  # the block executable, compiled (or loaded) once
        t0 = time.perf_counter()
        grid = scan(rm, pars)
        res[f"grid_{n}x{n}_s"] = time.perf_counter() - t0
        res["grid_converged"] = int(grid.converged.sum())
        res["grid_load"] = load1()
        print(f"{n}x{n} profiled grid (redist.infer.scan): {res[f'grid_{n}x{n}_s']:.2f} s, "
              f"{grid.converged.sum()}/{n * n} converged   [{uptime()}]", flush=True)

        # -- toys in a fresh process (peak memory of the whole run) ---------------------------------
        out = subprocess.run([sys.executable, "-c", TOYS_SNIPPET, str(args.toys)], capture_output=True,
                             text=True, check=True)
        toys = json.loads(out.stdout.strip().splitlines()[-1])
        nt = args.toys
        res[f"toys_{nt}_s"] = toys["wall_s"]
        res["toys_converged"] = toys["converged"]
        res["toys_iterations_median"] = toys["iterations_median"]
        res["toys_peak_rss_mb"] = toys["peak_rss_mb"]
        res["toys_load"] = load1()
        print(f"{nt} toys: {toys['wall_s']:.2f} s, {toys['converged']}/{nt} converged, median "
              f"{toys['iterations_median']:.0f} iterations; peak RSS {toys['peak_rss_mb']:.0f} MB"
              f"   [{uptime()}]", flush=True)

        # -- Dask: the same grid on 2 local worker processes -----------------------------------------
        if not args.no_dask:
            from distributed import Client, LocalCluster

            serial_s = res[f"grid_{n}x{n}_s"]
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
            with cluster as cl, Client(cl) as client:
                t0 = time.perf_counter()
                first = scan(rm, ["cVL:0:20:2", "cTL:0:20:2"], dask=client)  # workers load the executable
                res["dask_worker_first_task_s"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                dgrid = scan(rm, pars, dask=client)
                res["dask_2_workers_grid_s"] = time.perf_counter() - t0
                del first
            res["dask_identical_to_serial"] = bool(np.array_equal(dgrid.twice_nll, grid.twice_nll))
            res["dask_speedup_2_workers"] = serial_s / res["dask_2_workers_grid_s"]
            # projection: 16-point tasks, measured per-task time from the serial grid, one
            # worker start (model rebuild + executable load) per worker
            per_task = serial_s / max(1, -(-n * n // 16))
            res["dask_per_task_s"] = per_task
            for points in (400, 10_000, 100_000):
                tasks = -(-points // 16)
                res[f"dask_projected_100_workers_{points}_points_s"] = (
                    res["dask_worker_first_task_s"] + -(-tasks // 100) * per_task
                )
            print(f"Dask 2 workers: {res['dask_2_workers_grid_s']:.2f} s "
                  f"({res['dask_speedup_2_workers']:.2f}x serial), "
                  f"identical: {res['dask_identical_to_serial']}; "
                  f"worker start {res['dask_worker_first_task_s']:.1f} s; per 16-point task {per_task:.2f} s"
                  f"   [{uptime()}]", flush=True)

    res["compile_time_in_process_s"] = lik.compile_time_s
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res["uptime_end"] = uptime()
    res["load_end"] = load1()
    print(res["uptime_end"], flush=True)

    outp = Path(args.out)
    outp.parent.mkdir(parents=True, exist_ok=True)
    fd, tmpname = tempfile.mkstemp(dir=outp.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(res, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmpname, outp)
    print(f"wrote {outp}")


if __name__ == "__main__":
    main()
