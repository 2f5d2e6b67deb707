"""Statistical inference on reinterpreted models: fits, scans, limits, posteriors.

What to use when:

* :func:`fit` — maximum-likelihood fit over any subset of parameters (by name);
* :func:`scan` — 1D/2D profile-likelihood scans with intervals and contours;
* :func:`upper_limit` — asymptotic CLs upper limits (pyhf.infer) on one parameter;
* :func:`sample` — Bayesian posterior sampling with per-parameter priors
  (:class:`Uniform`, :class:`Normal`, :class:`FormFactorNormal`);
* :func:`combine` — several reinterpreted models as one likelihood.

On the jax backend every likelihood is compiled once per model (value, gradient,
exact Hessian) and reused by all of the above; without jax the numpy backend
is used with pyhf's numerical gradients (one :class:`JaxUnavailableWarning`).
Plots live in :mod:`redist.infer.plot`.
"""

from __future__ import annotations

from ._objective import JaxUnavailableWarning, objective
from .bayes import FormFactorNormal, Normal, PosteriorResult, Uniform, sample
from .combine import combine
from .limits import LimitResult, upper_limit
from .mle import FitResult, fit
from .scan import ScanResult, delta_level, scan

__all__ = [
    "FitResult",
    "FormFactorNormal",
    "JaxUnavailableWarning",
    "LimitResult",
    "Normal",
    "PosteriorResult",
    "ScanResult",
    "Uniform",
    "combine",
    "delta_level",
    "fit",
    "objective",
    "sample",
    "scan",
    "upper_limit",
]


def __dir__() -> list[str]:
    return list(__all__)
