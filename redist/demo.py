"""The Belle II B+ -> K+ nu nu WET reinterpretation, on the shipped published likelihood.

:func:`belle2_model` rebuilds the reinterpretation exactly as Belle II did
(arXiv:2507.12393): the published pyhf likelihood of PRD 109, 112006 with the
signal strength ``mu`` and the form-factor histosys terms ``corr_ff_c1..3``
pruned, and the signal samples (``signal`` in the ITA channels A and B,
``sgn_1_had`` in the HTA channel) reweighted from the SM to B+ -> K+ nu nu in
WET with BSZ2015 form factors (GKvD:2018 covariance, 8 eigen-nuisances).
:func:`run` performs the fit and writes a results file and figures; it is what
``redist demo`` (and ``make demo``) runs.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from .density import JointDensity
from .infer.mle import FitResult
from .layout import ParameterKind
from .modifier import Reweighting
from .progress import Progress
from .reinterpret import ReinterpretedModel, reinterpret
from .theory import get_theory
from .weights import normalised_rows
from .workspace import scale_sample

__all__ = ["BELLE2_PRUNE", "belle2_data", "belle2_model", "run", "sentinel_split_workspace"]


def __dir__() -> list[str]:
    return list(__all__)


def __getattr__(name: str) -> Any:
    if name == "SM_CVL":  # deprecated: the SM point belongs to the WET theory
        warnings.warn(
            "redist.demo.SM_CVL is deprecated; use "
            "redist.get_theory('wet').reference_point()['cVL']",
            DeprecationWarning,
            stacklevel=2,
        )
        return get_theory("wet").reference_point()["cVL"]
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


#: the Wilson coefficients of the demo fit
BELLE2_PARAMETERS = ("cVL", "cSL", "cTL")
#: modifiers of the published likelihood replaced by the theory reweighting
BELLE2_PRUNE = ("mu", "corr_ff_c1", "corr_ff_c2", "corr_ff_c3")
#: kinematic range that is reweighted; the [-1, 0] sentinel column keeps weight 1
BELLE2_CUTOFF = ((0.0, 22.885),)


def belle2_data() -> tuple[dict[str, Any], dict[tuple[str, str], JointDensity], list[float]]:
    """The shipped published workspace, joint number densities and q² bin edges."""
    root = files("redist").joinpath("data").joinpath("belle2")
    binning = json.loads(root.joinpath("binning.json").read_text(encoding="utf-8"))
    workspace = json.loads(root.joinpath("combined_likelihood.json").read_text(encoding="utf-8"))
    edges = [float(e) for e in binning["kinematic_bin_edges"]]
    densities = {}
    for fname, info in binning["files"].items():
        with root.joinpath(fname).open("r", encoding="utf-8") as f:
            values = np.loadtxt(f, delimiter=",", ndmin=2)
        densities[(info["pyhf_channel"], info["pyhf_sample"])] = JointDensity.from_array(
            values, edges, z_names=("q2",), source=f"redist/data/belle2/{fname}"
        )
    return workspace, densities, edges


def belle2_model(
    parameters: Sequence[str] = BELLE2_PARAMETERS,
    *,
    form_factors: str = "GKvD2018",
    bounds: tuple[float, float] = (0.0, 20.0),
    nuisance_groups: bool = True,
) -> ReinterpretedModel:
    """The Belle II B+ -> K+ nu nu likelihood reinterpreted in WET.

    Parameters
    ----------
    parameters : sequence of str
        Wilson coefficients exposed as fit parameters (others fixed: SM values).
    form_factors : str
        ``"GKvD2018"`` (as Belle II) or ``"HPQCD2022"``.
    bounds : tuple of float
        Bounds of the exposed coefficients.
    nuisance_groups : bool
        Float the form-factor eigen-nuisances.

    Examples
    --------
    >>> rm = belle2_model()
    >>> rm.model.config.npars
    239
    """
    workspace, densities, edges = belle2_data()
    theory = get_theory("wet", process="B+->K+nunu", form_factors=form_factors)
    null = get_theory("wet", process="B+->K+nunu", form_factors="GKvD2018")
    rw = Reweighting(
        name="wet",
        theory=theory,
        null=None if form_factors == "GKvD2018" else null,
        z_edges=[edges],
        parameters=tuple(parameters),
        bounds={p: bounds for p in parameters},  # inits: the SM (theory defaults, clipped to bounds)
        nuisance_groups=nuisance_groups,
        cutoff=list(BELLE2_CUTOFF),
    )
    return reinterpret(workspace, densities, rw, prune=BELLE2_PRUNE)


def sentinel_split_workspace(prune_form_factors: bool = False) -> Any:
    """Published likelihood with the sentinel-column share of the signal not scaled by ``mu``.

    Each signal sample whose density has entries in the [-1, 0] column is split
    into the share that comes from that column (no ``mu``) and the rest (``mu``)
    with :func:`redist.workspace.scale_sample` (``staterror="quadrature"``: histosys
    data split proportionally, staterror data by the square root of the share, so
    that the per-bin staterror constraint is unchanged).
    With only cVL free, the WET reinterpretation equals this plain-pyhf model at
    ``mu = (cVL / cVL_SM)^2``: an independent check of the redist modifier.

    Parameters
    ----------
    prune_form_factors : bool
        Also remove the ``corr_ff_c1..3`` histosys terms.

    Returns
    -------
    pyhf.Workspace
    """
    import pyhf

    workspace, densities, _ = belle2_data()
    spec = copy.deepcopy(workspace)
    for ch in spec["channels"]:
        for i, s in enumerate(list(ch["samples"])):
            if prune_form_factors:
                s["modifiers"] = [m for m in s["modifiers"] if not m["name"].startswith("corr_ff_c")]
            key = (ch["name"], s["name"])
            if key not in densities:
                continue
            u = normalised_rows(densities[key].values())[:, 0]
            if not np.any(u):
                continue
            under = {**s, "name": s["name"] + "_underflow",
                     "modifiers": [m for m in s["modifiers"] if m["name"] != "mu"]}  # fmt: skip
            ch["samples"][i] = scale_sample(s, 1 - u, staterror="quadrature")
            ch["samples"].append(scale_sample(under, u, staterror="quadrature"))
    return pyhf.Workspace(spec)


def run(
    output: str | Path = "redist-demo",
    *,
    plots: bool = True,
    reference: bool = True,
    results_file: str | Path | None = None,
    progress: Progress | bool | None = None,
) -> dict[str, Any]:
    """Fit the Belle II WET reinterpretation and write ``results.json`` and figures.

    Parameters
    ----------
    output : str or Path
        Output directory (created).
    plots : bool
        Write figures.
    reference : bool
        Also run the cVL-only consistency fit.
    results_file : str or Path, optional
        Where to write the results (default: ``output/results.json``).
    progress : Progress or bool, optional
        Reporter of the phases (see :mod:`redist.progress`).

    Returns
    -------
    dict
        The content of ``results.json`` (plus ``"figures"``); nothing is printed
        (``redist demo`` prints the table).
    """
    from .infer import fit
    from .io.atomic import atomic_write_text
    from .progress import resolve

    rep = resolve(progress)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    with rep.phase("build the Belle II model"):
        rm = belle2_model()
    reference_point = rm.reweightings["wet"].theory.reference_point()
    sm_point = {p: reference_point[p] for p in BELLE2_PARAMETERS}
    with rep.phase("best fit"):
        best = fit(rm, init={"cVL": 12.0, "cSL": 1.0, "cTL": 6.0}, progress=rep)
    with rep.phase("fit at the SM point"):
        sm = fit(rm, fixed=sm_point, progress=rep)
    results: dict[str, Any] = {
        "kind": "demo",
        "model": "Belle II B+->K+nunu (PRD 109, 112006), WET, BSZ2015 GKvD2018",
        "conventions": f"EOS: full Wilson coefficients, SM cVL = {sm_point['cVL']!r}, alpha_e = 1/133",
        "sm_point": sm_point,
        "best_fit": _summary(best),
        "sm_fit": _summary(sm),
        "minus_two_delta_lnL_vs_SM": sm.twice_nll - best.twice_nll,
    }
    if reference:
        with rep.phase("cVL-only consistency fit"):
            only = belle2_model(parameters=("cVL",), nuisance_groups=False)
            cvl = fit(only, init={"cVL": 12.0}, progress=rep)
        results["cVL_only_fit"] = _summary(cvl)
        results["cVL_only_mu_equivalent"] = (cvl.values["cVL"] / sm_point["cVL"]) ** 2
    if plots:
        from .demo_plots import write_demo_plots

        with rep.phase("figures"):
            results["figures"] = write_demo_plots(rm, best, out)
    target = Path(results_file) if results_file is not None else out / "results.json"
    atomic_write_text(target, json.dumps(results, indent=1, allow_nan=False) + "\n")
    return results


def _summary(res: FitResult) -> dict[str, Any]:
    """The theory part of a fit result (the full covariance stays out of results.json)."""
    full = res.to_dict()
    layout = res.layout
    theory = layout.names_of(ParameterKind.THEORY, ParameterKind.THEORY_GROUP)
    idx = np.flatnonzero(layout.mask(theory))
    cov = np.asarray(res.covariance)[np.ix_(idx, idx)]
    keep = ("twice_nll", "converged", "message", "nfcn", "ngrad", "flat_directions", "at_limit", "backend")
    return {
        "values": {k: full["values"][k] for k in theory},
        "errors": {k: full["errors"][k] for k in theory},
        "covariance_labels": [layout.labels[i] for i in idx],
        "covariance": cov.tolist(),
        **{k: full[k] for k in keep if k in full},
    }
