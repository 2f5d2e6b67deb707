"""B+ -> K+ X (X invisible) from the Belle II B+ -> K+ nu nu likelihood: model and study.

:func:`b2kx_model` reweights the signal samples of the published Belle II
likelihood (the same samples, densities, pruning and q² cutoff as
:func:`redist.demo.belle2_model`) from the SM to "SM + X" with the theory
``bkx`` (:class:`theories.bkx.BKX`): ``m_X`` and ``width_X`` are non-linear
theory parameters (exact gradients), ``BR_X`` (units of 1e-6, BR × P(X
invisible)) enters linearly. :func:`run` is the study of ``redist demo --study
b2kx`` (profile in m_X, q0 and local/global significance, CLs limits vs m_X,
posterior and Bayes factor); see ``docs/b2kx.md``.
"""

from __future__ import annotations

from .demo import BELLE2_CUTOFF, BELLE2_PRUNE, belle2_data
from .modifier import Reweighting
from .reinterpret import ReinterpretedModel, reinterpret
from .theory import get_theory

__all__ = ["BR_X_BOUNDS", "b2kx_model"]


def __dir__() -> list[str]:
    return list(__all__)


#: fit range of BR_X (units of 1e-6)
BR_X_BOUNDS = (0.0, 100.0)


def b2kx_model(
    *,
    m_X: float | None = None,
    width_X: float | None = 0.0,
    m_range: tuple[float, float] | None = None,
    width_range: tuple[float, float] = (0.0, 0.5),
    nuisance_groups: bool = True,
    br_bounds: tuple[float, float] = BR_X_BOUNDS,
) -> ReinterpretedModel:
    """The Belle II likelihood reinterpreted as SM + B+ -> K+ X.

    Parameters
    ----------
    m_X : float, optional
        Fix the mass of X (GeV); ``None`` (default): ``m_X`` is a fit parameter.
    width_X : float or None
        Fix the width of X (GeV; default 0: narrow); ``None``: a fit parameter.
    m_range : (float, float), optional
        Fit range of a free ``m_X`` (default: 0 to the top of the reweighted q² range,
        sqrt(22.885) GeV; above it a narrow X would land outside the cutoff).
    width_range : (float, float)
        Fit range of a free ``width_X``.
    nuisance_groups : bool
        Float the BSZ2015 form-factor eigen-nuisances of the SM component.
    br_bounds : (float, float)
        Fit range of ``BR_X``.

    Returns
    -------
    ReinterpretedModel
        Theory parameters ``BR_X`` and, when free, ``m_X`` / ``width_X``.

    Examples
    --------
    >>> rm = b2kx_model()
    >>> [p for p in rm.layout.names if p in ("m_X", "width_X", "BR_X")]
    ['BR_X', 'm_X']
    """
    workspace, densities, edges = belle2_data()
    theory = get_theory("bkx", process="B+->K+X")
    m_hi = min(theory.kinematics[0].high, BELLE2_CUTOFF[0][1]) ** 0.5
    parameters = ["BR_X"]
    values: dict[str, float] = {}
    bounds: dict[str, tuple[float, float]] = {"BR_X": br_bounds}
    inits: dict[str, float] = {}
    if m_X is None:
        parameters.append("m_X")
        bounds["m_X"] = m_range if m_range is not None else (0.0, m_hi)
        inits["m_X"] = 0.5 * (bounds["m_X"][0] + bounds["m_X"][1])
    else:
        values["m_X"] = float(m_X)
    if width_X is None:
        parameters.append("width_X")
        bounds["width_X"] = width_range
        inits["width_X"] = 0.5 * (width_range[0] + width_range[1])
    else:
        values["width_X"] = float(width_X)
    rw = Reweighting(
        name="bkx",
        theory=theory,
        z_edges=[edges],
        parameters=tuple(parameters),
        values=values,
        bounds=bounds,
        inits=inits,
        nuisance_groups=nuisance_groups,
        cutoff=list(BELLE2_CUTOFF),
    )
    return reinterpret(workspace, densities, rw, prune=BELLE2_PRUNE)
