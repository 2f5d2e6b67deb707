"""Statistical inference on reinterpreted models: fits, scans, limits, posteriors.

What to use when:

* :func:`fit` — maximum-likelihood fit over any subset of parameters (by name);
* :func:`scan` — 1D/2D profile-likelihood scans with intervals and contours;
* :func:`upper_limit` — CLs upper limits: asymptotic where valid (checked), else toys;
* :func:`sample` — Bayesian posterior sampling (NUTS by default) with per-parameter
  priors (:class:`Uniform`, :class:`Normal`, :class:`FormFactorNormal`), diagnostics
  and a ``converged`` flag;
* :func:`evidence` / :func:`bayes_factor` — ln Z of a hypothesis (nested sampling over
  the sampled parameters, Laplace over the nuisances) and ln B between two;
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
from .evidence import BayesFactor, EvidenceResult, bayes_factor, evidence
from .limits import LimitResult, upper_limit
from .mle import FitResult, fit
from .scan import ScanResult, delta_level, scan

__all__ = [
    "BayesFactor",
    "EvidenceResult",
    "FitResult",
    "FormFactorNormal",
    "JaxUnavailableWarning",
    "LimitResult",
    "Normal",
    "PosteriorResult",
    "ScanResult",
    "Uniform",
    "bayes_factor",
    "combine",
    "delta_level",
    "evidence",
    "fit",
    "objective",
    "sample",
    "scan",
    "upper_limit",
]


def __dir__() -> list[str]:
    return list(__all__)
