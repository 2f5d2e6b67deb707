"""``make bench``: redist's likelihood engine against plain pyhf (issue 12), one table from one run.

Steps:

1. ``bench_engine.py`` in a fresh process (Belle II WET model): fresh-process command
   lines (``redist fit model.json`` with an empty and a warm compile cache, ``pyhf fit``
   on the published workspace), value+gradient, Hessian, warm fits, the 20 x 20
   profiled grid, 1000 toys (peak memory), Dask with 2 workers;
2. print one table with the ratios against plain pyhf (numpy + Minuit, pyhf's jax
   backend = the previous redist path, the ``pyhf fit`` command line) and the machine
   load beside it, and write ``benchmarks/results.json`` (keys ``cli_fit_cold_s``,
   ``cli_fit_warm_cache_s``, ``pyhf_cli_fit_s``, ``value_and_grad_us``, ``fit_warm_s``,
   ``grid_20x20_s``, ``toys_1000_s``, the load, and everything measured);
3. with ``--redistpy``: also the comparison with redistpy 2.0.0 (issue 4; its own venv
   ``benchmarks/.venv-redistpy``, created from PyPI), kept in ``results.json`` under
   ``"redistpy_comparison"`` (the previous one is kept when it is not re-run).

Usage: ``python benchmarks/run.py [--quick] [--redistpy] [--skip-venv]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402
import synthetic  # noqa: E402

VENV = HERE / ".venv-redistpy"
VPY = VENV / "bin" / "python"
REDISTPY = "redistpy==2.0.0"

# run configurations; redistpy's 2D grids are strided sub-grids, extrapolated to 20x20
PROFILES: dict[str, dict[str, Any]] = {
    "full": {
        "common": {
            "repeats": 30,
            "min_total": 1.0,
            "build_repeats": 3,
            "belle2_build_repeats": 3,
            "fit_repeats": 3,
            "belle2_fit": True,
            "grid_stride": 1,
            "grid_offset": 0,
            "scan1d_stride": 1,
        },
        "redist": {},
        "pyhf": {},
        "vectorised": {"grid_stride": 4, "grid_offset": 1},
        "pointwise": {
            "grid_stride": 5,
            "grid_offset": 2,
            "fit_repeats": 1,
            "scan1d_stride": 2,
            "belle2_build_repeats": 1,
        },
    },
    "quick": {
        "common": {
            "repeats": 10,
            "min_total": 0.3,
            "build_repeats": 1,
            "belle2_build_repeats": 1,
            "fit_repeats": 1,
            "belle2_fit": False,
            "grid_stride": 4,
            "grid_offset": 1,
            "scan1d_stride": 1,
        },
        "redist": {},
        "pyhf": {},
        "vectorised": {"grid_stride": 8, "grid_offset": 1, "scan1d_stride": 5},
        "pointwise": {"grid_stride": 8, "grid_offset": 1, "scan1d_stride": 10},
    },
}


def ensure_venv() -> None:
    """Create the redistpy environment with the same core versions as this one."""
    if VPY.exists():
        r = subprocess.run(
            [str(VPY), "-c", "import importlib.metadata as m; print(m.version('redistpy'))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode == 0 and r.stdout.strip() == "2.0.0":
            return
    print(f"creating {VENV} with {REDISTPY}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pins = [f"{p}=={version(p)}" for p in ("numpy", "scipy", "pyhf", "iminuit")]
    subprocess.run([str(VPY), "-m", "pip", "install", "--quiet", REDISTPY, *pins], check=True)


def _env(clean: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if clean:  # nothing of this project on the path of the redistpy process
        env.pop("VIRTUAL_ENV", None)
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def run_script(
    python: str, script: str, out: Path, cfg: dict[str, Any], *, rss: bool = False
) -> dict[str, Any]:
    cmd = [python, str(HERE / script), "--out", str(out), "--config", json.dumps(cfg)]
    if rss:
        cmd.append("--rss")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=_env(python == str(VPY)), cwd=str(HERE))
    if not rss:
        print(f"  {script} finished in {time.perf_counter() - t0:.0f} s", flush=True)
    return json.loads(out.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- reporting
def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _get(d: dict[str, Any], *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def summarise(
    r: dict[str, Any], rp: dict[str, Any], ph: dict[str, Any], rss: dict[str, Any]
) -> dict[str, Any]:
    """Medians, ratios, agreement and target checks."""
    s, v, p = r["synthetic"], rp["synthetic_vectorised"], rp["synthetic_pointwise"]
    rows: list[dict[str, Any]] = []

    def row(what: str, ours: Any, vec: Any, pw: Any, plain: Any) -> None:
        rows.append(
            {
                "what": what,
                "redist_s": ours,
                "redistpy_vectorised_s": vec,
                "redistpy_pointwise_s": pw,
                "pyhf_s": plain,
                "redistpy_vectorised/redist": _ratio(vec, ours),
                "redistpy_pointwise/redist": _ratio(pw, ours),
                "redist/redistpy_vectorised": _ratio(ours, vec),
                "redist/pyhf": _ratio(ours, plain),
            }
        )

    row(
        "build",
        s["build"]["median_s"],
        v["build"]["median_s"],
        p["build"]["median_s"],
        ph["synthetic"]["build"]["median_s"],
    )
    row(
        "bin weights (new point)",
        s["weights"]["median_s"],
        v["weights"]["median_s"],
        p["weights"]["median_s"],
        None,
    )
    row(
        "logpdf (new theory point)",
        s["logpdf"]["median_s"],
        v["logpdf"]["median_s"],
        p["logpdf"]["median_s"],
        ph["synthetic"]["logpdf"]["median_s"],
    )
    row(
        "MLE fit (warm)",
        s["fit"]["median_s"],
        v["fit"]["median_s"],
        p["fit"]["median_s"],
        ph["synthetic"]["fit"]["median_s"],
    )
    row(
        "MLE fit (first, incl. compile)",
        s["fit_first"]["median_s"],
        v["fit"]["median_s"],
        p["fit"]["median_s"],
        None,
    )
    row(
        "21-point 1D profile",
        s["scan1d"]["extrapolated_s"],
        v["scan1d"]["extrapolated_s"],
        p["scan1d"]["extrapolated_s"],
        ph["synthetic"]["scan1d"]["extrapolated_s"],
    )
    row(
        "20x20 profiled 2D grid",
        s["scan2d"]["extrapolated_s"],
        v["scan2d"]["extrapolated_s"],
        p["scan2d"]["extrapolated_s"],
        None,
    )
    row(
        "20x20 grid incl. compile",
        s["scan2d"]["extrapolated_s"] + s["fit_first"]["median_s"] - s["fit"]["median_s"],
        v["scan2d"]["extrapolated_s"],
        p["scan2d"]["extrapolated_s"],
        None,
    )

    # agreement
    agree: dict[str, Any] = {}
    for style, x in (("vectorised", v), ("pointwise", p)):
        agree[f"best_fit_twice_nll_redist_minus_redistpy_{style}"] = (
            s["fit"]["twice_nll"] - x["fit"]["twice_nll"]
        )
        agree[f"best_fit_max_abs_diff_wilson_{style}"] = max(
            abs(s["fit"]["values"][k] - x["fit"]["values"][k]) for k in ("cVL", "cSL")
        )
        m1 = dict(zip(map(float, s["scan1d"]["values"]), s["scan1d"]["twice_nll"]))
        agree[f"scan1d_max_abs_diff_twice_nll_{style}"] = max(
            abs(m1[float(a)] - b) for a, b in zip(x["scan1d"]["values"], x["scan1d"]["twice_nll"])
        )
        agree[f"scan1d_max_redist_minus_redistpy_{style}"] = max(
            m1[float(a)] - b for a, b in zip(x["scan1d"]["values"], x["scan1d"]["twice_nll"])
        )
        m2 = {
            (float(a), float(b)): s["scan2d"]["twice_nll"][i][j]
            for i, a in enumerate(s["scan2d"]["x_values"])
            for j, b in enumerate(s["scan2d"]["y_values"])
        }
        diffs = [
            m2[(float(a), float(b))] - x["scan2d"]["twice_nll"][i][j]
            for i, a in enumerate(x["scan2d"]["x_values"])
            for j, b in enumerate(x["scan2d"]["y_values"])
            if (float(a), float(b)) in m2
        ]
        agree[f"scan2d_max_abs_diff_twice_nll_{style}"] = max(map(abs, diffs)) if diffs else None
        agree[f"scan2d_max_redist_minus_redistpy_{style}"] = max(diffs) if diffs else None
    agree["logpdf_at_init_redist_minus_redistpy"] = s["logpdf_value_at_init"] - v["logpdf_value_at_init"]
    agree["theory_function_max_rel_diff_vs_WET"] = r["theory_check"]["max_rel_diff_vs_WET"]

    b2r, b2v, b2p, b2h = r["belle2"], rp["belle2_vectorised"], rp["belle2_pointwise"], ph["belle2"]
    belle2 = {
        "npars": {"redist": b2r["npars"], "redistpy": b2v["npars"], "pyhf": b2h["npars"]},
        "build_s": {
            "redist": b2r["build"]["median_s"],
            "redistpy_vectorised": b2v["build"]["median_s"],
            "redistpy_pointwise": b2p["build"]["median_s"],
            "pyhf": b2h["build"]["median_s"],
        },
        "logpdf_s": {
            "redist": b2r["logpdf"]["median_s"],
            "redistpy_vectorised": b2v["logpdf"]["median_s"],
            "redistpy_pointwise": b2p["logpdf"]["median_s"],
            "pyhf": b2h["logpdf"]["median_s"],
        },
        "weights_s": {"redist": b2r["weights"]["median_s"]},
        "logpdf_at_init_redist_minus_redistpy": b2r["logpdf_value_at_init"] - b2v["logpdf_value_at_init"],
        "peak_rss_build_mib": rss,
    }
    if "fit" in b2r and "fit" in b2v:
        belle2["fit"] = {
            "redist_s": b2r["fit"]["median_s"],
            "redist_first_s": b2r["fit_first"]["median_s"],
            "redistpy_vectorised_s": b2v["fit"]["median_s"],
            "pyhf_s": _get(b2h, "fit", "median_s"),
            "redist_twice_nll": b2r["fit"]["twice_nll"],
            "redistpy_twice_nll": b2v["fit"]["twice_nll"],
            "redist_cVL": b2r["fit"]["values"]["cVL"],
            "redistpy_cVL": b2v["fit"]["values"]["cVL"],
            "mu_equivalent_redist": (b2r["fit"]["values"]["cVL"] / 6.613114906357177) ** 2,
            "pyhf_mu_hat": _get(b2h, "fit", "mu_hat"),
        }

    def target(name: str, value: float | None, goal: float, *, at_least: bool) -> dict[str, Any]:
        ok = value is not None and (value >= goal if at_least else value <= goal)
        return {
            "target": name,
            "value": value,
            "goal": (">= " if at_least else "<= ") + f"{goal:g}",
            "met": bool(ok),
        }

    by = {x["what"]: x for x in rows}
    tol = 1e-3
    targets = [
        target(
            "bin weights: redistpy (vectorised, Gauss-Legendre) / redist",
            by["bin weights (new point)"]["redistpy_vectorised/redist"],
            20,
            at_least=True,
        ),
        target(
            "bin weights: redistpy (pointwise theory) / redist",
            by["bin weights (new point)"]["redistpy_pointwise/redist"],
            500,
            at_least=True,
        ),
        target(
            "logpdf at a new theory point: redist / plain pyhf",
            by["logpdf (new theory point)"]["redist/pyhf"],
            1.3,
            at_least=False,
        ),
        target(
            "MLE fit (warm): redistpy vectorised / redist",
            by["MLE fit (warm)"]["redistpy_vectorised/redist"],
            3,
            at_least=True,
        ),
        target(
            "MLE fit (warm): redistpy pointwise / redist",
            by["MLE fit (warm)"]["redistpy_pointwise/redist"],
            3,
            at_least=True,
        ),
        target(
            "MLE fit (first, incl. jax compile): redistpy vectorised / redist",
            by["MLE fit (first, incl. compile)"]["redistpy_vectorised/redist"],
            3,
            at_least=True,
        ),
        target(
            "20x20 grid: redistpy vectorised / redist",
            by["20x20 profiled 2D grid"]["redistpy_vectorised/redist"],
            3,
            at_least=True,
        ),
        target(
            "20x20 grid: redistpy pointwise / redist",
            by["20x20 profiled 2D grid"]["redistpy_pointwise/redist"],
            3,
            at_least=True,
        ),
        target(
            "best fit -2lnL: redist - redistpy (vectorised)",
            agree["best_fit_twice_nll_redist_minus_redistpy_vectorised"],
            tol,
            at_least=False,
        ),
        target(
            "best fit -2lnL: redist - redistpy (pointwise)",
            agree["best_fit_twice_nll_redist_minus_redistpy_pointwise"],
            tol,
            at_least=False,
        ),
    ]
    return {"rows": rows, "agreement": agree, "belle2": belle2, "targets": targets}


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if abs(x) >= 100:
            return f"{x:.0f}"
        if abs(x) >= 1:
            return f"{x:.2f}"
        if abs(x) >= 1e-3:
            return f"{x * 1e3:.2f}m"
        return f"{x * 1e6:.1f}u"
    return str(x)


def print_report(summary: dict[str, Any]) -> None:
    print("\nSynthetic 40-bin / 55-parameter B+->K+nunu-like model (times in s; m = 1e-3, u = 1e-6)")
    hdr = ("what", "redist", "rdp vec", "rdp pw", "pyhf", "vec/redist", "pw/redist", "redist/pyhf")
    print(f"{hdr[0]:<32}" + "".join(f"{h:>12}" for h in hdr[1:]))
    for x in summary["rows"]:
        vals = (
            x["redist_s"],
            x["redistpy_vectorised_s"],
            x["redistpy_pointwise_s"],
            x["pyhf_s"],
            x["redistpy_vectorised/redist"],
            x["redistpy_pointwise/redist"],
            x["redist/pyhf"],
        )
        print(f"{x['what']:<32}" + "".join(f"{_fmt(v):>12}" for v in vals))
    print("\nAgreement")
    for k, val in summary["agreement"].items():
        print(f"  {k:<58} {val:.3g}" if val is not None else f"  {k:<58} -")
    print("\nBelle II published model")
    for k, val in summary["belle2"].items():
        print(f"  {k}: {json.dumps(val, default=float)}")
    print("\nTargets")
    for t in summary["targets"]:
        val = "-" if t["value"] is None else f"{t['value']:.3g}"
        print(f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {val} (goal {t['goal']})")


TARGETS = {
    "value_and_grad_us": 50.0,
    "cli_fit_cold_s": 5.0,
    "cli_fit_warm_cache_s": 2.0,
    "fit_warm_s": 0.1,
    "grid_20x20_s": 10.0,
    "toys_1000_s": 60.0,
    "toys_peak_rss_mb": 2048.0,
}


def engine_table(e: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Rows (what, redist, pyhf reference, ratio, target) of the issue-12 table."""

    def f(x: Any, unit: str, nd: int = 2) -> str:
        return "—" if x is None else f"{x:.{nd}f} {unit}"

    def r(ref: Any, ours: Any) -> str:
        return "—" if ref is None or ours in (None, 0) else f"{ref / ours:.1f}x"

    def tgt(key: str) -> str:
        v, t = e.get(key), TARGETS.get(key)
        if v is None or t is None:
            return ""
        return f"<= {t:g} {'met' if v <= t else 'MISSED'}"

    pyhf_fit = e.get("pyhf_numpy_minuit_fit_s")
    rows = [
        ("value + gradient (Belle II, 239 pars)", f(e.get("value_and_grad_us"), "us", 1),
         f"{f(e.get('pyhf_jax_value_and_grad_us'), 'us', 1)} (pyhf jax = previous redist path)",
         r(e.get("pyhf_jax_value_and_grad_us"), e.get("value_and_grad_us")), tgt("value_and_grad_us")),
        ("exact Hessian", f(e.get("hessian_ms"), "ms"), "", "", ""),
        ("`redist fit model.json`, empty cache", f(e.get("cli_fit_cold_s"), "s"),
         f"{f(e.get('pyhf_cli_fit_s'), 's')} (`pyhf fit`)",
         r(e.get("pyhf_cli_fit_s"), e.get("cli_fit_cold_s")), tgt("cli_fit_cold_s")),
        ("`redist fit model.json`, warm cache", f(e.get("cli_fit_warm_cache_s"), "s"),
         f"{f(e.get('pyhf_cli_fit_s'), 's')} (`pyhf fit`)",
         r(e.get("pyhf_cli_fit_s"), e.get("cli_fit_warm_cache_s")), tgt("cli_fit_warm_cache_s")),
        ("`redist --help` / `redist theory list`",
         f"{f(e.get('cli_help_s'), 's')} / {f(e.get('cli_theory_list_s'), 's')}", "", "", ""),
        ("warm fit, engine Newton", f(e.get("fit_warm_s"), "s", 3),
         f"{f(pyhf_fit, 's', 1)} (pyhf numpy + Minuit)", r(pyhf_fit, e.get("fit_warm_s")), tgt("fit_warm_s")),
        ("warm fit, redist.infer.fit (Minuit, errors)", f(e.get("infer_fit_warm_s"), "s", 3),
         f"{f(pyhf_fit, 's', 1)} (pyhf numpy + Minuit)", r(pyhf_fit, e.get("infer_fit_warm_s")), ""),
        ("20 x 20 profiled (cVL, cTL) grid", f(e.get("grid_20x20_s"), "s"),
         "" if pyhf_fit is None else f"~{400 * pyhf_fit:.0f} s (400 pyhf fits, extrapolated)",
         r(None if pyhf_fit is None else 400 * pyhf_fit, e.get("grid_20x20_s")), tgt("grid_20x20_s")),
        ("1000 toy fits, all parameters free", f(e.get("toys_1000_s"), "s"),
         "" if pyhf_fit is None else f"~{1000 * pyhf_fit:.0f} s (extrapolated)",
         r(None if pyhf_fit is None else 1000 * pyhf_fit, e.get("toys_1000_s")), tgt("toys_1000_s")),
        ("peak memory of the 1000-toy process", f(e.get("toys_peak_rss_mb"), "MB", 0), "", "",
         tgt("toys_peak_rss_mb")),
        ("grid on Dask, 2 local workers", f(e.get("dask_2_workers_grid_s"), "s"),
         f"{f(e.get('grid_20x20_s'), 's')} serial", "" if e.get("dask_speedup_2_workers") is None
         else f"{e['dask_speedup_2_workers']:.2f}x", ""),
    ]
    return rows


def print_engine_table(e: dict[str, Any]) -> None:
    print(f"\nredist.engine vs plain pyhf (Belle II WET model); load {e.get('load_start')} at start, "
          f"{e.get('load_end')} at the end")
    print(f"  {e.get('uptime_start')}\n  {e.get('uptime_end')}")
    rows = engine_table(e)
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    head = ("", "redist", "reference", "ratio", "target")
    print("  " + " | ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  " + "-+-".join("-" * w for w in widths))
    for row in rows:
        print("  " + " | ".join(c.ljust(w) for c, w in zip(row, widths)))
    extra = {k: v for k, v in e.items() if k.startswith("dask_projected")}
    if extra:
        print("  Dask projection (100 workers, 16-point tasks, measured per-task time and worker start):")
        for k, v in extra.items():
            print(f"    {k.replace('dask_projected_100_workers_', '')}: {v:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats and smaller grids")
    ap.add_argument("--redistpy", action="store_true",
                    help="also the comparison with redistpy 2.0.0 (issue 4)")
    ap.add_argument("--skip-venv", action="store_true", help="do not create/check the redistpy venv")
    ap.add_argument("--out", default=str(HERE / "results.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    eng_out = common.OUT / "engine.json"
    cmd = [sys.executable, str(HERE / "bench_engine.py"), "--out", str(eng_out)]
    if args.quick:
        cmd += ["--toys", "100", "--repeat", "2", "--cli-repeat", "1", "--no-pyhf-fit", "--no-pyhf-cli",
                "--no-dask"]
    subprocess.run(cmd, check=True)
    eng = json.loads(eng_out.read_text(encoding="utf-8"))
    previous: dict[str, Any] = {}
    if Path(args.out).exists():
        previous = json.loads(Path(args.out).read_text(encoding="utf-8"))
    comparison = previous.get("redistpy_comparison")
    if comparison is None and "raw" in previous:  # results.json written before issue 12
        comparison = previous
    if args.redistpy:
        comparison = redistpy_comparison(args)
    keys = ("cli_fit_cold_s", "cli_fit_warm_cache_s", "pyhf_cli_fit_s", "value_and_grad_us", "fit_warm_s",
            "grid_20x20_s", "toys_1000_s")
    result = {
        "machine_load": {"start": eng.get("uptime_start"), "end": eng.get("uptime_end"),
                         "load1_start": eng.get("load_start"), "load1_end": eng.get("load_end")},
        **{k: eng.get(k) for k in keys},
        "targets": TARGETS,
        "engine": eng,
        "packages": {p: version(p) for p in ("jax", "jaxlib", "pyhf", "iminuit", "numpy")},
        "wall_s": time.perf_counter() - t0,
    }
    if comparison is not None:
        result["redistpy_comparison"] = comparison
    common.write_json(args.out, result)
    print_engine_table(eng)
    print(f"\nwrote {args.out} ({result['wall_s']:.0f} s)")


def redistpy_comparison(args: argparse.Namespace) -> dict[str, Any]:
    """The issue-4 comparison with redistpy 2.0.0 and plain pyhf on the synthetic model."""
    profile = "quick" if args.quick else "full"
    cfg = PROFILES[profile]
    if not args.skip_venv:
        ensure_venv()
    model = synthetic.write(common.OUT / "synthetic.json")
    print(f"inputs: {model}", flush=True)
    out = common.OUT
    t0 = time.perf_counter()
    r = run_script(sys.executable, "bench_redist.py", out / "redist.json", cfg)
    ph = run_script(sys.executable, "bench_pyhf.py", out / "pyhf.json", cfg)
    rp = run_script(str(VPY), "bench_redistpy.py", out / "redistpy.json", cfg)
    rss = {
        "redist": run_script(sys.executable, "bench_redist.py", out / "rss_redist.json", cfg, rss=True),
        "redistpy": run_script(str(VPY), "bench_redistpy.py", out / "rss_redistpy.json", cfg, rss=True),
        "pyhf": run_script(sys.executable, "bench_pyhf.py", out / "rss_pyhf.json", cfg, rss=True),
    }
    summary = summarise(r, rp, ph, rss)
    result = {
        "profile": profile,
        "config": cfg,
        "wall_s": time.perf_counter() - t0,
        "env": {"redist": r["env"], "redistpy": rp["env"]},
        "packages": [r["package"], rp["package"], ph["package"]],
        "notes": [
            "medians over repeats; logpdf and weights at a new theory point every call (no cache hits)",
            "redistpy 2D grids run on a strided sub-grid and are extrapolated to 20x20 "
            "(points_run / points_nominal in raw); redist runs the full grid",
            "redist fits: redist.infer.fit (jax objective, compiled once per model); scans with "
            "errors=False; 'fit (first)' includes the one-off compilation",
            "redistpy and pyhf fits: pyhf.infer.mle.fit, numpy backend, Minuit (as redistpy's examples)",
            "pointwise theory: bkrate.dbr_dq2_pointwise (a python loop over scalar calls, the way EOS "
            "is wrapped); redistpy's quad='auto' picks Gauss-Legendre for it because it accepts arrays",
        ],
        **summary,
        "raw": {"redist": r, "redistpy": rp, "pyhf": ph},
    }
    print_report(summary)
    return result


if __name__ == "__main__":
    main()
