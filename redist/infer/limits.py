r"""Asymptotic CLs upper limits on one parameter, with expected bands (via ``pyhf.infer``).

The chosen parameter becomes the model's parameter of interest and
:func:`pyhf.infer.intervals.upper_limits.upper_limit` runs the CLs hypothesis
tests with the :math:`\\tilde{q}_\\mu` test statistic and asymptotic formulae.
The parameter's lower bound plays the role of "no signal" and must be 0 (for
WET: the absence of any b→sνν̄ contribution in that coefficient), as
:math:`\\tilde{q}_\\mu` requires.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyhf

from ..exceptions import ModelSpecError
from ..typing import FixedValues, ModelLike
from ._objective import layout_of, pyhf_backend, resolve_backend
from ._tasks import json_dict
from .mle import start_and_mask

__all__ = ["LimitResult", "upper_limit"]


@dataclass(frozen=True)
class LimitResult:
    """Observed and expected CLs upper limits on one parameter.

    Attributes
    ----------
    parameter : str
        The parameter limited.
    cl : float
        Confidence level (e.g. 0.95).
    observed : float
        Observed upper limit.
    expected : list of float
        Expected limits at −2σ, −1σ, median, +1σ, +2σ.
    scan : numpy.ndarray
        Tested values.
    cls_observed : numpy.ndarray
        Observed CLs at each tested value.
    cls_expected : numpy.ndarray
        Expected CLs band, shape ``(5, len(scan))``.

    The JSON form carries ``"kind": "limit"`` (see :mod:`redist.report`).
    """

    kind: ClassVar[str] = "limit"

    parameter: str
    cl: float
    observed: float
    expected: list[float]
    scan: np.ndarray
    cls_observed: np.ndarray
    cls_expected: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return json_dict({"kind": self.kind, **dataclasses.asdict(self)})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LimitResult:
        """Inverse of :meth:`to_dict`."""

        def arr(v: Any) -> np.ndarray:
            a = np.asarray(v, dtype=object)
            return np.where(a == None, np.nan, a).astype(float)  # noqa: E711

        return cls(
            parameter=str(d["parameter"]),
            cl=float(d["cl"]),
            observed=math.nan if d["observed"] is None else float(d["observed"]),
            expected=[math.nan if e is None else float(e) for e in d["expected"]],
            scan=arr(d["scan"]),
            cls_observed=arr(d["cls_observed"]),
            cls_expected=arr(d["cls_expected"]),
        )

    def to_json(self, **kwargs: Any) -> str:
        """JSON string of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), **kwargs)


def _with_poi(model: ModelLike, par: str) -> ModelLike:
    if isinstance(model, pyhf.pdf.Model):
        return pyhf.Model(model.spec, poi_name=par, validate=False)
    return model.with_poi(par)


def upper_limit(
    model: ModelLike,
    par: str,
    *,
    scan: npt.ArrayLike | None = None,
    cl: float = 0.95,
    fixed: FixedValues | None = None,
    fix_groups: bool = False,
    backend: str = "numpy",
    data: npt.ArrayLike | None = None,
) -> LimitResult:
    """Asymptotic CLs upper limit on a parameter (others profiled).

    Parameters
    ----------
    model : ModelLike
        The likelihood.
    par : str
        Scalar parameter to limit; its lower bound must be 0.
    scan : sequence of float, optional
        Values to test (default: 41 points over the parameter's bounds).
    cl : float
        Confidence level.
    fixed, fix_groups
        As for :func:`~redist.infer.fit`.
    backend : {"numpy", "jax", "auto"}
        pyhf backend for ``pyhf.infer`` (jax: autodiff gradients in pyhf's fits).
    data : array_like, optional
        Observed + auxiliary data (default: the model's data).

    Returns
    -------
    LimitResult
    """
    be = resolve_backend(backend)
    layout = layout_of(model)
    if layout.check(par).size != 1:
        msg = f"upper_limit needs a scalar model parameter, got {par!r}"
        raise ModelSpecError(msg)
    limited = _with_poi(model, par)
    with pyhf_backend(be):
        pm = limited if isinstance(limited, pyhf.pdf.Model) else limited.model
        i = layout.index(par)
        lo, hi = layout.bounds[i]
        if lo != 0.0:
            msg = f"parameter {par!r} has lower bound {lo}; CLs with q~mu needs a lower bound of 0"
            raise ModelSpecError(msg)
        x0, mask = start_and_mask(layout, None, fixed, fix_groups)
        if mask[i]:
            msg = f"parameter {par!r} is fixed; it cannot be limited"
            raise ModelSpecError(msg)
        if data is None:
            if isinstance(limited, pyhf.pdf.Model):
                msg = "a plain pyhf model needs data="
                raise ModelSpecError(msg)
            d = pyhf.tensorlib.astensor(np.asarray(limited.data, dtype=float))
        else:
            d = pyhf.tensorlib.astensor(np.asarray(data, dtype=float))
        grid = np.linspace(lo, hi, 41)[1:] if scan is None else np.asarray(scan, dtype=float)
        obs, exp, (tested, results) = pyhf.infer.intervals.upper_limits.upper_limit(
            d,
            pm,
            grid,
            level=1.0 - cl,
            return_results=True,
            test_stat="qtilde",
            init_pars=x0.tolist(),
            fixed_params=mask.tolist(),
        )
    cls_obs = np.array([float(r[0]) for r in results])
    cls_exp = np.array([[float(v) for v in r[1]] for r in results]).T
    return LimitResult(
        parameter=par,
        cl=cl,
        observed=float(obs),
        expected=[float(e) for e in exp],
        scan=np.asarray(tested, dtype=float),
        cls_observed=cls_obs,
        cls_expected=cls_exp,
    )
