"""redist side of the benchmark (runs in the project's own environment).

Builds the synthetic and the Belle II reinterpretations from the same inputs
as ``bench_redistpy.py``, with the WET theory (bin integrals precomputed once,
:mod:`redist.kernels`), and times model build, weights, ``logpdf`` and fits
(:func:`redist.infer.fit`, compiled jax objective when jax is installed).
Also checks that :mod:`bkrate` -- the theory function handed to redistpy --
reproduces ``theories.wet.WET.rate``, and times redist with the same rate as a
point-by-point :class:`theories.callable.CallableTheory` (no basis structure).
"""

from __future__ import annotations

import argparse
import json
import warnings
from typing import Any

import bkrate
import common
import numpy as np
import pyhf

import redist
from redist.density import JointDensity
from redist.modifier import Reweighting
from redist.reinterpret import ReinterpretedModel, reinterpret
from redist.theory import CorrelatedGroup, Kinematic, Parameter, get_theory

if "site-packages" in (redist.__file__ or "") and "redistpy" in str(redist.__file__):
    msg = f"picked up redistpy instead of redist: {redist.__file__}"
    raise SystemExit(msg)

pyhf.set_backend("numpy")
WILSON = ("cVL", "cSL", "cTL")


def pointwise_theory() -> Any:
    """The bkrate rate, called one q² point at a time, as a redist theory without basis."""
    from theories.callable import CallableTheory

    def f(z: np.ndarray, **v: float) -> Any:
        return bkrate.dbr_dq2_pointwise(z[:, 0], *(v[n] for n in bkrate.PARAMETERS))

    pars = [Parameter(n, d, (0.0, 20.0)) for n, d in zip(WILSON, (bkrate.SM_CVL, 0.0, 0.0))]
    group = CorrelatedGroup(
        "ff_BtoK_GKvD2018",
        bkrate.FF_NAMES,
        bkrate.FF_MEAN,
        tuple(tuple(r) for r in bkrate.FF_COV),
    )
    return CallableTheory(
        f, pars, [Kinematic("q2", 0.0, bkrate.Q2_MAX, "GeV^2")], [group], name="bkrate-pointwise"
    )


def build(
    workspace: dict[str, Any],
    densities: dict[tuple[str, str], np.ndarray],
    edges: list[float],
    *,
    prune: tuple[str, ...],
    cutoff: tuple[float, float] | None,
    theory: Any = None,
    bounds: tuple[float, float] = (0.0, 20.0),
    inits: dict[str, float] | None = None,
) -> ReinterpretedModel:
    """Reinterpreted model (pyhf model built, kernels precomputed)."""
    th = theory if theory is not None else get_theory("wet", process="B+->K+nunu")
    dens = {k: JointDensity.from_array(v, edges) for k, v in densities.items()}
    rw = Reweighting(
        "wet",
        th,
        [edges],
        parameters=WILSON,
        bounds={p: bounds for p in WILSON},
        inits=inits or {"cVL": bkrate.SM_CVL, "cSL": 0.0, "cTL": 0.0},
        cutoff=[cutoff] if cutoff else None,
    )
    rm = reinterpret(workspace, dens, rw, prune=list(prune))
    _ = rm.data
    return rm


def theory_check() -> dict[str, float]:
    """Max relative difference between bkrate and theories.wet.WET.rate at random points."""
    th = get_theory("wet", process="B+->K+nunu")
    rng = np.random.default_rng(7)
    q2 = np.linspace(0.0, bkrate.Q2_MAX, 2001)
    worst = 0.0
    for _ in range(20):
        p = np.array(bkrate.SM_POINT)
        p[:3] = rng.uniform(0.0, 15.0, 3)
        p[3:] *= 1.0 + 0.1 * rng.normal(size=8)
        ref = th.rate(q2, dict(zip(bkrate.PARAMETERS, p)))
        worst = max(worst, float(np.max(np.abs(bkrate.dbr_dq2(q2, *p) - ref)) / np.max(ref)))
    return {"max_rel_diff_vs_WET": worst}


def _fit(rm: Any, **kw: Any) -> Any:
    from redist.infer import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(rm, **kw)


def _fit_summary(r: Any, t: float) -> dict[str, Any]:
    return {
        "median_s": t,
        "twice_nll": r.twice_nll,
        "values": {p: r.values[p] for p in WILSON},
        "converged": r.converged,
        "nfev": r.nfcn,
        "ngrad": r.ngrad,
        "backend": r.backend,
    }


def _time_weights_logpdf(rm: ReinterpretedModel, cfg: dict[str, Any]) -> dict[str, Any]:
    model = rm.model
    data = rm.data
    rw = next(iter(rm.reweightings.values()))
    p0 = rm.init_pars()
    sl = model.config.par_slice("cVL")

    def point(i: int) -> np.ndarray:
        p = p0.copy()
        p[sl] = 5.0 + 1e-3 * i
        p[model.config.par_slice("cSL")] = 1.0
        return p

    layout = rm.layout  # what the modifier calls on the numpy backend: layout values, then weights

    def w(i: int) -> Any:
        return rw.weights(layout.theory_values(point(i))[rw.name])

    out = {
        "weights": common.median_time(w, cfg["repeats"], min_total=cfg["min_total"]),
        "logpdf": common.median_time(
            lambda i: model.logpdf(point(i), data), cfg["repeats"], min_total=cfg["min_total"]
        ),
        "logpdf_value_at_init": float(model.logpdf(p0, data)[0]),
        "npars": model.config.npars,
    }
    return out


def bench_synthetic(d: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    dens = {(d["density"]["channel"], d["density"]["sample"]): np.asarray(d["density"]["values"])}
    th = d["theory"]
    kw = {"prune": ("mu",), "cutoff": None, "bounds": tuple(th["bounds"]), "inits": th["inits"]}
    res: dict[str, Any] = {}
    res["build"] = common.median_time(
        lambda i: build(d["workspace"], dens, d["z_edges"], **kw), cfg["build_repeats"]
    )
    rm = build(d["workspace"], dens, d["z_edges"], **kw)
    res.update(_time_weights_logpdf(rm, cfg))
    # the same rate evaluated point by point, no basis: quadrature at every call
    rm_pw = build(d["workspace"], dens, d["z_edges"], theory=pointwise_theory(), **kw)
    res["pointwise_theory"] = _time_weights_logpdf(rm_pw, {**cfg, "min_total": 0.2})
    res["pointwise_theory"]["note"] = (
        "redist with bkrate.dbr_dq2_pointwise as a CallableTheory (no basis): Gauss-Legendre "
        f"at every call, {rm_pw.reweightings['wet'].kernel.order} nodes per bin"
    )
    fit = d["fit"]
    # first fit includes building the objective (jax: tracing and compilation)
    t, r = common.timed(lambda: _fit(rm, fixed=fit["fixed"], init=fit["init"]))
    res["fit_first"] = _fit_summary(r, t)
    fits = [
        common.timed(lambda: _fit(rm, fixed=fit["fixed"], init=fit["init"]))
        for _ in range(cfg["fit_repeats"])
    ]
    best = fits[-1][1]
    res["fit"] = _fit_summary(best, float(np.median([t for t, _ in fits])))
    res["fit"]["n"] = len(fits)
    t, rn = common.timed(lambda: _fit(rm, fixed=fit["fixed"], init=fit["init"], backend="numpy"))
    res["fit_numpy_backend"] = _fit_summary(rn, t)
    start = dict(best.values)
    s1 = d["scan1d"]
    par = s1["parameter"]

    def scan1() -> list[float]:
        return [
            _fit(rm, fixed={**s1["fixed"], par: v}, init={**start, par: v}, errors=False).twice_nll
            for v in s1["values"]
        ]

    t, prof = common.timed(scan1)
    n1 = len(s1["values"])
    res["scan1d"] = {
        "points_run": n1,
        "points_nominal": n1,
        "total_s": t,
        "per_point_s": t / n1,
        "extrapolated_s": t,
        "values": s1["values"],
        "twice_nll": prof,
    }
    s2 = d["scan2d"]
    off, st = cfg["grid_offset"], cfg["grid_stride"]
    xs, ys = s2["x_values"][off::st], s2["y_values"][off::st]

    def scan2() -> list[list[float]]:
        return [
            [
                _fit(
                    rm,
                    fixed={**s2["fixed"], s2["x"]: x, s2["y"]: y},
                    init={**start, s2["x"]: x, s2["y"]: y},
                    errors=False,
                ).twice_nll
                for y in ys
            ]
            for x in xs
        ]

    t, grid = common.timed(scan2)
    n_run = len(xs) * len(ys)
    n_nom = len(s2["x_values"]) * len(s2["y_values"])
    res["scan2d"] = {
        "points_run": n_run,
        "points_nominal": n_nom,
        "total_s": t,
        "per_point_s": t / n_run,
        "extrapolated_s": t / n_run * n_nom,
        "x_values": xs,
        "y_values": ys,
        "twice_nll": grid,
    }
    return res


def bench_belle2(cfg: dict[str, Any]) -> dict[str, Any]:
    ws, dens, edges = common.load_belle2()
    kw = {"prune": common.BELLE2_PRUNE, "cutoff": common.BELLE2_CUTOFF}
    res: dict[str, Any] = {}
    res["build"] = common.median_time(lambda i: build(ws, dens, edges, **kw), cfg["belle2_build_repeats"])
    rm = build(ws, dens, edges, **kw)
    res.update(_time_weights_logpdf(rm, cfg))
    if cfg["belle2_fit"]:
        fixed = {"cSL": 0.0, "cTL": 0.0}
        t, r = common.timed(lambda: _fit(rm, fixed=fixed, init={"cVL": 12.0}))
        res["fit_first"] = _fit_summary(r, t)
        t, r = common.timed(lambda: _fit(rm, fixed=fixed, init={"cVL": 12.0}))
        res["fit"] = {**_fit_summary(r, t), "n": 1, "free": "cVL + all nuisances (cSL = cTL = 0)"}
    return res


def belle2_rss() -> dict[str, Any]:
    """Peak RSS of building the Belle II model (call in a fresh process)."""
    before = common.peak_rss_mib()
    ws, dens, edges = common.load_belle2()
    rm = build(ws, dens, edges, prune=common.BELLE2_PRUNE, cutoff=common.BELLE2_CUTOFF)
    rm.model.logpdf(rm.init_pars(), rm.data)
    return {"after_imports_mib": before, "peak_mib": common.peak_rss_mib()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(common.OUT / "synthetic.json"))
    ap.add_argument("--out", default=str(common.OUT / "redist.json"))
    ap.add_argument("--config", default="{}", help="JSON run configuration")
    ap.add_argument("--rss", action="store_true", help="only measure the Belle II build peak RSS")
    args = ap.parse_args()
    if args.rss:
        common.write_json(args.out, belle2_rss())
        return
    cfg = json.loads(args.config)
    c = {**cfg["common"], **cfg["redist"]}
    d = common.load_synthetic(args.model)
    out: dict[str, Any] = {"package": f"redist {redist.__version__}", "env": common.env_info()}
    try:
        import jax

        out["env"]["jax"] = jax.__version__
    except ImportError:
        out["env"]["jax"] = None
    out["theory_check"] = theory_check()
    print("[redist] synthetic", flush=True)
    out["synthetic"] = bench_synthetic(d, c)
    print("[redist] Belle II", flush=True)
    out["belle2"] = bench_belle2(c)
    common.write_json(args.out, out)


if __name__ == "__main__":
    main()
