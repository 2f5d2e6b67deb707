"""Impact ranking of nuisance parameters on a parameter of interest.

The impact of a nuisance θ on the parameter of interest (POI) is the shift of the
POI's best-fit value when θ is fixed at θ̂ ± σ̂_θ (its post-fit value plus or minus
its post-fit error) and all other parameters are refitted. Refitting every one
of the hundreds of nuisances of a real analysis twice is expensive, so the
ranking is done in two steps:

1. **Estimate** for every constrained parameter (analysis nuisances and the
   components of correlated theory groups) from the fit's covariance:
   ΔPOI ≈ cov(POI, θ) / σ_θ, the linear response of the profiled POI to a ±1σ
   shift of θ (exact for a Gaussian likelihood). This costs nothing.
2. **Refits** for the ``top`` parameters with the largest estimate (two fits each,
   warm-started from the best fit), which give the reported impacts.

So the cost is ``2 * top`` fits instead of ``2 * n``; the estimate of every
parameter is kept in the result, so a reader can check that the ranking by the
estimate agrees with the refitted impacts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..exceptions import ModelSpecError
from ..progress import Progress, resolve
from ..typing import FixedValues, ModelLike
from ._objective import objective
from ._tasks import json_dict
from .mle import FitResult, fit, minimize, resolve_data

__all__ = ["ImpactResult", "impacts"]


def __dir__() -> list[str]:
    return list(__all__)


@dataclass(frozen=True)
class ImpactResult:
    """Ranked impacts of constrained parameters on a POI.

    Attributes
    ----------
    poi : str
        The parameter of interest.
    labels : list of str
        The refitted parameters (display labels), largest impact first.
    impact_up, impact_down : numpy.ndarray
        ΔPOI with the parameter fixed at θ̂ + σ̂ and θ̂ − σ̂ (refits).
    estimate : numpy.ndarray
        The covariance-based estimate cov(POI, θ)/σ_θ of the same parameters.
    all_labels : list of str
        Every ranked candidate, by decreasing ``|estimate|``.
    all_estimates : numpy.ndarray
        Their estimates.
    method : str
        How the impacts were computed (for reports).
    bestfit : FitResult
        The fit the impacts refer to.

    The JSON form carries ``"kind": "impacts"`` (see :mod:`redist.report`).
    """

    kind: ClassVar[str] = "impacts"

    poi: str
    labels: list[str]
    impact_up: np.ndarray
    impact_down: np.ndarray
    estimate: np.ndarray
    all_labels: list[str]
    all_estimates: np.ndarray
    method: str
    bestfit: FitResult = field(repr=False)
    converged: list[bool] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return json_dict(
            {
                "kind": self.kind,
                "poi": self.poi,
                "labels": self.labels,
                "impact_up": self.impact_up,
                "impact_down": self.impact_down,
                "estimate": self.estimate,
                "all_labels": self.all_labels,
                "all_estimates": self.all_estimates,
                "method": self.method,
                "converged": self.converged,
                "bestfit": self.bestfit.to_dict(),
            }
        )

    def to_json(self, **kwargs: Any) -> str:
        """JSON string of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ImpactResult:
        """Inverse of :meth:`to_dict`."""

        def arr(v: Any) -> np.ndarray:
            return np.asarray([np.nan if x is None else x for x in v], dtype=float)

        return cls(
            poi=str(d["poi"]),
            labels=list(d["labels"]),
            impact_up=arr(d["impact_up"]),
            impact_down=arr(d["impact_down"]),
            estimate=arr(d["estimate"]),
            all_labels=list(d["all_labels"]),
            all_estimates=arr(d["all_estimates"]),
            method=str(d["method"]),
            converged=[bool(c) for c in d.get("converged", [])],
            bestfit=FitResult.from_dict(d["bestfit"]),
        )


def impacts(
    model: ModelLike,
    poi: str,
    *,
    result: FitResult | None = None,
    top: int = 10,
    fixed: FixedValues | None = None,
    fix_groups: bool = False,
    backend: str = "auto",
    data: npt.ArrayLike | None = None,
    progress: Progress | bool | None = None,
) -> ImpactResult:
    """Rank the constrained parameters by their impact on ``poi`` (see the module docstring).

    Parameters
    ----------
    model : ModelLike
        The likelihood.
    poi : str
        A scalar, free parameter.
    result : FitResult, optional
        The best fit (with covariance); fitted here when not given.
    top : int
        Number of parameters refitted (two fits each).
    fixed, fix_groups, backend, data
        As for :func:`~redist.infer.fit`.
    progress : Progress or bool, optional
        Reporter (a bar over the refits).

    Returns
    -------
    ImpactResult

    Examples
    --------
    >>> import pyhf
    >>> m = pyhf.simplemodels.uncorrelated_background([5.0, 8.0], [10.0, 9.0], [2.0, 3.0])
    >>> r = impacts(m, "mu", data=[16.0, 18.0, *m.config.auxdata], backend="numpy", top=2)
    >>> r.labels[0].startswith("uncorr_bkguncrt"), bool(np.all(r.impact_up * r.impact_down <= 0))
    (True, True)
    """
    if top < 1:
        msg = f"top must be at least 1, got {top}"
        raise ModelSpecError(msg)
    rep = resolve(progress)
    obj = objective(model, backend)
    layout = obj.layout
    ip = layout.index(poi)
    d = resolve_data(obj, data)
    if result is None:
        result = fit(model, fixed=fixed, fix_groups=fix_groups, backend=obj.backend, data=d, progress=rep)
    if result.prefit_sigma is None:
        msg = "the fit result has no pre-fit widths (written by an older redist); re-run the fit"
        raise ModelSpecError(msg)
    labels = layout.labels
    fixed_mask = np.isin(np.asarray(labels), np.asarray(result.fixed, dtype=object))
    if fixed_mask[ip]:
        msg = f"{poi!r} is fixed in the fit; its impacts are zero"
        raise ModelSpecError(msg)
    cov = np.asarray(result.covariance, dtype=float)
    sig = np.sqrt(np.clip(np.diag(cov), 0, None))
    cand = [
        i
        for i in range(layout.size)
        if i != ip and not fixed_mask[i] and math.isfinite(result.prefit_sigma[i]) and sig[i] > 0
    ]
    est = np.array([cov[ip, i] / sig[i] for i in cand])
    order = np.argsort(-np.abs(est), kind="stable")
    ranked = [cand[k] for k in order]
    chosen = ranked[:top]
    x_best = np.asarray(result.bestfit, dtype=float)
    poi_hat = float(x_best[ip])
    up, dn, conv = [], [], []
    bar = rep.bar(2 * len(chosen), f"impacts on {poi}", unit="fit")
    try:
        for i in chosen:
            shifts = []
            for sign in (+1.0, -1.0):
                lo, hi = layout.bounds[i]
                x0 = x_best.copy()
                x0[i] = float(np.clip(x_best[i] + sign * sig[i], lo, hi))
                mask = fixed_mask.copy()
                mask[i] = True
                r = minimize(obj, d, x0, mask, errors=False)
                shifts.append(float(r.bestfit[ip]) - poi_hat)
                conv.append(bool(r.converged))
                bar.advance()
            up.append(shifts[0])
            dn.append(shifts[1])
    finally:
        bar.close()
    # final order: by the refitted impact (largest |up| or |down| first)
    size = np.maximum(np.abs(up), np.abs(dn)) if chosen else np.zeros(0)
    final = np.argsort(-size, kind="stable")
    conv_pairs = [conv[2 * k] and conv[2 * k + 1] for k in range(len(chosen))]
    return ImpactResult(
        poi=poi,
        labels=[labels[chosen[k]] for k in final],
        impact_up=np.asarray(up)[final] if chosen else np.zeros(0),
        impact_down=np.asarray(dn)[final] if chosen else np.zeros(0),
        estimate=np.asarray([est[order][k] for k in final]) if chosen else np.zeros(0),
        all_labels=[labels[i] for i in ranked],
        all_estimates=est[order],
        method=(
            "refits with each parameter fixed at its post-fit value +- its post-fit error, for the "
            f"{len(chosen)} of {len(cand)} constrained parameters with the largest covariance "
            "estimate cov(POI, theta)/sigma"
        ),
        bestfit=result,
        converged=conv_pairs,
    )
