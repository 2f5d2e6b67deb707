"""redistpy 2.0.0 side of the benchmark (runs in ``benchmarks/.venv-redistpy``).

redistpy's import name ``redist`` clashes with ours, so this script runs in its
own virtual environment and process. It uses redistpy as its documentation and
examples do: one ``redist.modifier.Modifier`` per joint density, attached with
``modifier.add_to_model``, numpy backend and ``pyhf.infer.mle.fit`` with Minuit.
The theory is :mod:`bkrate` (the same numbers as ``theories.wet.WET``), either
vectorised or wrapped point by point the way EOS observables are.
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

import bkrate
import common
import numpy as np
import pyhf

import redist  # redistpy, not ours
from redist import modifier as rmod

if not hasattr(redist, "modifier") or "site-packages" not in (redist.__file__ or ""):
    msg = f"expected redistpy from site-packages, got {redist.__file__}"
    raise SystemExit(msg)

pyhf.set_backend("numpy", "minuit")

STYLES = {
    "vectorised": (bkrate.dbr_dq2, bkrate.sm_dbr_dq2),
    "pointwise": (bkrate.dbr_dq2_pointwise, bkrate.sm_dbr_dq2_pointwise),
}


def new_pars(bounds: tuple[float, float], inits: dict[str, float]) -> dict[str, Any]:
    """redistpy parameter declaration: cVL, cSL, cTL and the correlated form factors."""
    out: dict[str, Any] = {
        p: {"inits": (float(inits[p]),), "bounds": (tuple(bounds),), "paramset_type": "unconstrained"}
        for p in ("cVL", "cSL", "cTL")
    }
    out["ff"] = {
        "inits": tuple(bkrate.FF_MEAN),
        "bounds": (),
        "cov": bkrate.FF_COV,
        "paramset_type": "constrained_by_normal",
    }
    return out


def build(
    workspace: dict[str, Any],
    densities: dict[tuple[str, str], np.ndarray],
    edges: list[float],
    style: str,
    *,
    prune: tuple[str, ...],
    cutoff: tuple[float, float] | None,
    bounds: tuple[float, float] = (0.0, 20.0),
    inits: dict[str, float] | None = None,
) -> tuple[Any, list[Any], list[float]]:
    """Model, modifiers and data, the way redistpy's Belle II example builds them."""
    alt, null = STYLES[style]
    pars = new_pars(bounds, inits or {"cVL": bkrate.SM_CVL, "cSL": 0.0, "cTL": 0.0})
    ws = pyhf.Workspace(copy.deepcopy(workspace)).prune(modifiers=list(prune))
    model = ws.model(poi_name=None)
    cmods = []
    specs = []
    for i, ((channel, sample), dens) in enumerate(densities.items()):
        name = f"wet{i}"
        cmods.append(
            rmod.Modifier(
                pars,
                alt,
                null,
                dens,
                [edges],
                name=name,
                cutoff=(tuple(cutoff),) if cutoff else None,
            )
        )
        specs.append(
            (channel, sample, {"name": f"{name}_theory", "type": name, "data": {"expr": f"{name}_weight_fn"}})
        )
    expanded: dict[str, Any] = {}
    for c in cmods:
        expanded.update(c.expanded_pyhf)
    for channel, sample, spec in specs:
        model = rmod.add_to_model(model, [channel], [sample], expanded, spec, poi_name="cVL")
    data = ws.data(model, include_auxdata=False) + list(model.config.auxdata)
    return model, cmods, data


def synthetic_inputs(
    d: dict[str, Any],
) -> tuple[dict[str, Any], dict[tuple[str, str], np.ndarray], list[float]]:
    dens = {(d["density"]["channel"], d["density"]["sample"]): np.asarray(d["density"]["values"])}
    return d["workspace"], dens, d["z_edges"]


def pars_vector(model: Any, init: dict[str, float], base: Any = None) -> np.ndarray:
    p = np.array(model.config.suggested_init() if base is None else base, dtype=float)
    for k, v in init.items():
        p[model.config.par_slice(k)] = v
    return p


def fixed_mask(model: Any, fixed: dict[str, float]) -> list[bool]:
    m = list(model.config.suggested_fixed())
    for k in fixed:
        m[model.config.par_slice(k)] = [True]
    return m


def mle(model: Any, data: list[float], init: np.ndarray, fixed: list[bool]) -> dict[str, Any]:
    best, twice_nll, res = pyhf.infer.mle.fit(
        data,
        model,
        init_pars=init.tolist(),
        fixed_params=fixed,
        return_fitted_val=True,
        return_result_obj=True,
    )
    return {
        "x": np.asarray(best, dtype=float),
        "twice_nll": float(twice_nll),
        "converged": bool(res.success),
        "nfev": int(getattr(res, "nfev", -1)),
    }


def named(model: Any, x: np.ndarray, names: tuple[str, ...] = ("cVL", "cSL", "cTL")) -> dict[str, float]:
    return {n: float(x[model.config.par_slice(n)][0]) for n in names}


def clear(cmods: list[Any]) -> None:
    for c in cmods:
        c.cache.clear()


def bench_synthetic(d: dict[str, Any], style: str, cfg: dict[str, Any]) -> dict[str, Any]:
    ws, dens, edges = synthetic_inputs(d)
    th = d["theory"]
    kw = {"prune": ("mu",), "cutoff": None, "bounds": tuple(th["bounds"]), "inits": th["inits"]}
    res: dict[str, Any] = {"style": style}
    res["build"] = common.median_time(lambda i: build(ws, dens, edges, style, **kw), cfg["build_repeats"])
    model, cmods, data = build(ws, dens, edges, style, **kw)
    res["npars"] = model.config.npars
    res["quad"] = cmods[0].quad
    res["quad_order"] = cmods[0].quad_order
    p0 = pars_vector(model, {})
    names = list(cmods[0].unco_pars)

    def wpoint(i: int) -> dict[str, float]:
        out = {n: float(p0[model.config.par_slice(n)][0]) for n in names}
        out["cVL"] = 5.0 + 1e-3 * i
        out["cSL"] = 1.0
        return out

    res["weights"] = common.median_time(
        lambda i: cmods[0].get_weights(wpoint(i)), cfg["repeats"], min_total=cfg["min_total"]
    )

    def lp(i: int) -> Any:
        p = p0.copy()
        p[model.config.par_slice("cVL")] = 5.0 + 1e-3 * i
        return model.logpdf(p, data)

    res["logpdf"] = common.median_time(lp, cfg["repeats"], min_total=cfg["min_total"])
    res["logpdf_value_at_init"] = float(model.logpdf(p0, data)[0])
    fit = d["fit"]
    init = pars_vector(model, {**fit["fixed"], **fit["init"]})
    mask = fixed_mask(model, fit["fixed"])
    fits = []
    for _ in range(cfg["fit_repeats"]):
        clear(cmods)
        t, r = common.timed(lambda: mle(model, data, init, mask))
        fits.append((t, r))
    best = fits[-1][1]
    res["fit"] = {
        "median_s": float(np.median([t for t, _ in fits])),
        "n": len(fits),
        "twice_nll": best["twice_nll"],
        "values": named(model, best["x"]),
        "converged": best["converged"],
        "nfev": best["nfev"],
    }
    # 1D profile scan: warm-started from the best fit, cTL fixed
    s1 = d["scan1d"]
    vals = s1["values"][:: cfg["scan1d_stride"]]
    mask1 = fixed_mask(model, {**s1["fixed"], s1["parameter"]: 0.0})
    clear(cmods)

    def scan1() -> list[float]:
        return [
            mle(model, data, pars_vector(model, {s1["parameter"]: v}, best["x"]), mask1)["twice_nll"]
            for v in vals
        ]

    t, prof = common.timed(scan1)
    res["scan1d"] = {
        "points_run": len(vals),
        "points_nominal": len(s1["values"]),
        "total_s": t,
        "per_point_s": t / len(vals),
        "extrapolated_s": t / len(vals) * len(s1["values"]),
        "values": vals,
        "twice_nll": prof,
    }
    # 2D profiled grid (optionally a strided sub-grid, extrapolated)
    s2 = d["scan2d"]
    xs = s2["x_values"][cfg["grid_offset"] :: cfg["grid_stride"]]
    ys = s2["y_values"][cfg["grid_offset"] :: cfg["grid_stride"]]
    mask2 = fixed_mask(model, {**s2["fixed"], s2["x"]: 0.0, s2["y"]: 0.0})
    clear(cmods)

    def scan2() -> list[list[float]]:
        return [
            [
                mle(model, data, pars_vector(model, {s2["x"]: x, s2["y"]: y}, best["x"]), mask2)["twice_nll"]
                for y in ys
            ]
            for x in xs
        ]

    t, grid = common.timed(scan2)
    n_nom = len(s2["x_values"]) * len(s2["y_values"])
    res["scan2d"] = {
        "points_run": len(xs) * len(ys),
        "points_nominal": n_nom,
        "total_s": t,
        "per_point_s": t / (len(xs) * len(ys)),
        "extrapolated_s": t / (len(xs) * len(ys)) * n_nom,
        "x_values": xs,
        "y_values": ys,
        "twice_nll": grid,
    }
    return res


def bench_belle2(style: str, cfg: dict[str, Any]) -> dict[str, Any]:
    ws, dens, edges = common.load_belle2()
    kw = {"prune": common.BELLE2_PRUNE, "cutoff": common.BELLE2_CUTOFF}
    res: dict[str, Any] = {"style": style}
    res["build"] = common.median_time(
        lambda i: build(ws, dens, edges, style, **kw), cfg["belle2_build_repeats"]
    )
    model, cmods, data = build(ws, dens, edges, style, **kw)
    res["npars"] = model.config.npars
    p0 = pars_vector(model, {})

    def lp(i: int) -> Any:
        p = p0.copy()
        p[model.config.par_slice("cVL")] = 5.0 + 1e-3 * i
        return model.logpdf(p, data)

    res["logpdf"] = common.median_time(lp, cfg["repeats"], min_total=cfg["min_total"])
    res["logpdf_value_at_init"] = float(model.logpdf(p0, data)[0])
    if style == "vectorised" and cfg["belle2_fit"]:
        fixed = {"cSL": 0.0, "cTL": 0.0}
        init = pars_vector(model, {"cVL": 12.0, **fixed})
        clear(cmods)
        t, r = common.timed(lambda: mle(model, data, init, fixed_mask(model, fixed)))
        res["fit"] = {
            "median_s": t,
            "n": 1,
            "twice_nll": r["twice_nll"],
            "values": named(model, r["x"]),
            "converged": r["converged"],
            "nfev": r["nfev"],
            "free": "cVL + all nuisances (cSL = cTL = 0)",
        }
    return res


def belle2_rss() -> dict[str, Any]:
    """Peak RSS of building the Belle II model (call in a fresh process)."""
    before = common.peak_rss_mib()
    ws, dens, edges = common.load_belle2()
    model, _, data = build(
        ws, dens, edges, "vectorised", prune=common.BELLE2_PRUNE, cutoff=common.BELLE2_CUTOFF
    )
    model.logpdf(np.asarray(model.config.suggested_init()), data)
    return {"after_imports_mib": before, "peak_mib": common.peak_rss_mib()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(common.OUT / "synthetic.json"))
    ap.add_argument("--out", default=str(common.OUT / "redistpy.json"))
    ap.add_argument("--config", default="{}", help="JSON overrides of the run configuration")
    ap.add_argument("--rss", action="store_true", help="only measure the Belle II build peak RSS")
    args = ap.parse_args()
    if args.rss:
        common.write_json(args.out, belle2_rss())
        return
    import json

    cfg = json.loads(args.config)
    d = common.load_synthetic(args.model)
    out: dict[str, Any] = {"package": f"redistpy {redist.__version__}", "env": common.env_info()}
    for style in ("vectorised", "pointwise"):
        c = {**cfg["common"], **cfg[style]}
        print(f"[redistpy] synthetic, {style} theory", flush=True)
        out[f"synthetic_{style}"] = bench_synthetic(d, style, c)
        print(f"[redistpy] Belle II, {style} theory", flush=True)
        out[f"belle2_{style}"] = bench_belle2(style, c)
    common.write_json(args.out, out)


if __name__ == "__main__":
    main()
