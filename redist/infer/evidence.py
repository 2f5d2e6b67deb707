r"""Bayesian evidence of a hypothesis and Bayes factors between two.

A hypothesis is the model with some parameters given uniform priors over ranges
(the *sampled* parameters, e.g. the Wilson coefficients ``cVL``, ``cSL``, ``cTL``
on ``[0, 20]``, or ``m_X``, ``width_X``, ``BR_X``) and the others fixed (e.g. the
SM: every coefficient at its SM value). Its evidence is

.. math:: Z = \int L(t, \nu)\, \pi(t)\, \pi(\nu)\, dt\, d\nu ,

where the priors :math:`\pi(\nu)` of the nuisance parameters are the model's own
constraint terms (pyhf's ``logpdf`` includes them, normalised). The integral
is split in two:

* over the nuisance parameters :math:`\nu` (hundreds of them, with nearly Gaussian
  posteriors) by the **Laplace approximation** at each :math:`t`:
  :math:`\ln \int L\pi\,d\nu \approx \ln L(t, \hat\nu_t) + \tfrac{k}{2}\ln 2\pi -
  \tfrac12 \ln\det H_t`, with :math:`\hat\nu_t` found by Newton steps and
  :math:`H_t` the exact Hessian of :math:`-\ln L` in :math:`\nu` (jax), all compiled
  into one function of :math:`t`;
* over the sampled parameters :math:`t` by **nested sampling** (dynesty), which gives
  :math:`\ln Z` with its statistical uncertainty.

With no sampled parameter (a point hypothesis such as the SM) only the Laplace step
remains and the uncertainty is 0 (up to the Laplace approximation itself). Every
nuisance parameter must be constrained: an unconstrained parameter that is neither
sampled nor fixed has no prior, and is refused.

:func:`bayes_factor` turns two :class:`EvidenceResult` into
:math:`\ln B_{10} = \ln Z_1 - \ln Z_0` with the errors added in quadrature.

Examples
--------
>>> r1 = EvidenceResult(ln_z=-10.2, ln_z_err=0.1, parameters={"mu": [0.0, 5.0]})
>>> r0 = EvidenceResult(ln_z=-11.0, ln_z_err=0.0, parameters={})
>>> bf = bayes_factor(r1, r0)
>>> round(bf.ln_b, 2), round(bf.ln_b_err, 2)
(0.8, 0.1)
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .._optional import optional_import
from ..exceptions import ModelSpecError
from ..progress import Progress, resolve
from ..typing import FixedValues, ModelLike
from ._objective import layout_of
from ._tasks import json_dict
from .mle import start_and_mask

__all__ = ["BayesFactor", "EvidenceResult", "bayes_factor", "evidence"]


def __dir__() -> list[str]:
    return list(__all__)


@dataclass(frozen=True)
class EvidenceResult:
    """Log-evidence of one hypothesis.

    Attributes
    ----------
    ln_z : float
        Natural log of the evidence.
    ln_z_err : float
        Its statistical uncertainty (nested sampling; 0 for a point hypothesis).
    parameters : dict
        Sampled parameters and their uniform prior ranges ``[lo, hi]``.
    fixed : dict
        Parameters held fixed, with their values.
    method : str
        ``"nested+laplace"`` or ``"laplace"`` (no sampled parameter).
    n_live : int
        Live points of the nested sampler.
    n_calls : int
        Likelihood evaluations (each one a Laplace integral over the nuisances).
    information : float
        Kullback–Leibler divergence prior → posterior (nats), from the nested sampler.
    laplace_grad : float
        Largest gradient norm of ln L in the nuisances left at the Laplace points
        (a check that every inner maximisation converged).
    wall_s : float
        Wall time.
    seed : int
        Seed of the nested sampler.
    """

    kind: ClassVar[str] = "evidence"

    ln_z: float
    ln_z_err: float
    parameters: dict[str, list[float]]
    fixed: dict[str, Any] = field(default_factory=dict)
    method: str = "nested+laplace"
    n_live: int = 0
    n_calls: int = 0
    information: float = 0.0
    laplace_grad: float = 0.0
    wall_s: float = 0.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``"kind": "evidence"``)."""
        return json_dict({"kind": self.kind, **dataclasses.asdict(self)})

    def to_json(self, **kwargs: Any) -> str:
        """JSON string of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EvidenceResult:
        """Inverse of :meth:`to_dict` (extra keys such as a stored Bayes factor are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["parameters"] = {k: [float(a), float(b)] for k, (a, b) in dict(d.get("parameters") or {}).items()}
        kw["fixed"] = dict(d.get("fixed") or {})
        return cls(**kw)


@dataclass(frozen=True)
class BayesFactor:
    """``ln B = ln Z_1 − ln Z_0`` with its uncertainty (errors added in quadrature).

    Positive ``ln_b`` favours hypothesis 1. On Jeffreys' scale ``|ln B|`` < 1 is
    inconclusive, 1–2.5 substantial, 2.5–5 strong, > 5 decisive.
    """

    ln_b: float
    ln_b_err: float
    ln_z_1: float
    ln_z_0: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return json_dict(dataclasses.asdict(self))


def bayes_factor(result_1: EvidenceResult, result_0: EvidenceResult) -> BayesFactor:
    """Bayes factor of hypothesis 1 over hypothesis 0 (e.g. WET over the SM).

    Parameters
    ----------
    result_1, result_0 : EvidenceResult
        Evidences of the two hypotheses (same model and data).

    Returns
    -------
    BayesFactor
    """
    return BayesFactor(
        ln_b=result_1.ln_z - result_0.ln_z,
        ln_b_err=math.hypot(result_1.ln_z_err, result_0.ln_z_err),
        ln_z_1=result_1.ln_z,
        ln_z_0=result_0.ln_z,
    )


class _Laplace:
    """Compiled ``t -> ln ∫ L(t, ν) π(ν) dν`` (Laplace) for the free nuisance components."""

    def __init__(
        self,
        model: ModelLike,
        data: np.ndarray,
        base: np.ndarray,
        theory: np.ndarray,
        nuis: np.ndarray,
        bounds: np.ndarray,
        n_iter: int = 15,
    ) -> None:
        import jax
        import jax.numpy as jnp

        from .. import engine

        lik = engine.likelihood(model)
        logpdf = lik.logpdf_fn
        d = jnp.asarray(data)
        b = jnp.asarray(base)
        ti = jnp.asarray(theory, dtype=int)
        ni = jnp.asarray(nuis, dtype=int)
        lo = jnp.asarray(bounds[nuis, 0])
        hi = jnp.asarray(bounds[nuis, 1])
        k = int(nuis.size)

        def f(nu: Any, t: Any) -> Any:
            return logpdf(b.at[ti].set(t).at[ni].set(nu), d)

        grad = jax.grad(f)
        hess = jax.hessian(f)
        t0 = base[theory]
        nu0 = jnp.asarray(base[nuis])
        # preconditioner: the exact Hessian at the starting point (the problem is nearly
        # quadratic in the nuisances, so preconditioned ascent converges in a few steps)
        h0 = -np.asarray(jax.jit(hess)(nu0, jnp.asarray(t0)))
        precond = jnp.asarray(np.linalg.inv(h0 + 1e-9 * np.eye(k)))

        def run(t: Any) -> Any:
            def body(_: Any, nu: Any) -> Any:
                return jnp.clip(nu + precond @ grad(nu, t), lo, hi)

            nu = jax.lax.fori_loop(0, n_iter, body, nu0)
            # one exact Hessian: the final Newton step and the determinant (at a point within
            # one Newton step of the maximum, the difference in ln det is second order)
            h = -hess(nu, t)
            nu = jnp.clip(nu + jnp.linalg.solve(h, grad(nu, t)), lo, hi)
            _, logdet = jnp.linalg.slogdet(h)
            lnl = f(nu, t)
            gnorm = jnp.max(jnp.abs(grad(nu, t)))
            return lnl + 0.5 * k * jnp.log(2 * jnp.pi) - 0.5 * logdet, gnorm

        self._fn = jax.jit(run)
        self.ncalls = 0
        self.max_grad = 0.0

    def __call__(self, t: npt.ArrayLike) -> float:
        self.ncalls += 1
        v, g = self._fn(np.asarray(t, dtype=float))
        self.max_grad = max(self.max_grad, float(g))
        out = float(v)
        return out if math.isfinite(out) else -1e300


def evidence(
    model: ModelLike,
    parameters: Mapping[str, Sequence[float]] | Sequence[str] = (),
    *,
    fixed: FixedValues | None = None,
    fix_groups: bool = False,
    data: npt.ArrayLike | None = None,
    n_live: int = 400,
    dlogz: float = 0.1,
    seed: int = 0,
    progress: Progress | bool | None = None,
) -> EvidenceResult:
    """Log-evidence of the hypothesis "``parameters`` uniform over their ranges, ``fixed`` fixed".

    Parameters
    ----------
    model : ModelLike
        The likelihood (its constraint terms are the priors of the nuisances).
    parameters : mapping or sequence of str
        Sampled parameters: ``{"cVL": (0, 20), ...}`` (uniform priors), or names
        (uniform over their bounds). Empty for a point hypothesis.
    fixed : mapping, optional
        Parameters held fixed (e.g. the SM: ``{"cVL": 6.6, "cSL": 0, "cTL": 0}``).
        Every other unconstrained parameter must be sampled or fixed.
    fix_groups : bool
        Fix the theory nuisance groups (form factors) instead of integrating them.
    data : array_like, optional
        Observed + auxiliary data (default: the model's).
    n_live : int
        Live points of dynesty (statistical error ≈ sqrt(information / n_live)).
    dlogz : float
        Stopping criterion of dynesty (remaining evidence, in ln Z).
    seed : int
        Seed of the nested sampler.
    progress : Progress, bool or None
        Progress reporting.

    Returns
    -------
    EvidenceResult
        ``.ln_z``, ``.ln_z_err`` and the hypothesis.

    Examples
    --------
    >>> import pyhf
    >>> m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
    >>> z = evidence(m, {"mu": (0.0, 4.0)}, data=[15.0, 25.0], n_live=100)  # doctest: +SKIP
    """
    t_start = time.perf_counter()
    layout = layout_of(model)
    rng_par = dict(parameters) if isinstance(parameters, Mapping) else {n: None for n in parameters}
    x0, mask = start_and_mask(layout, None, fixed, fix_groups)
    bounds = layout.bounds.copy()
    theory: list[int] = []
    ranges: dict[str, list[float]] = {}
    for name, r in rng_par.items():
        entry = layout.check(name)
        if entry.size != 1:
            msg = f"evidence: sampled parameter {name!r} must be scalar"
            raise ModelSpecError(msg)
        if entry.constraint is not None:
            msg = f"evidence: {name!r} is constrained by the model (its prior); it is integrated, not sampled"
            raise ModelSpecError(msg)
        i = layout.index(name)
        if mask[i]:
            msg = f"evidence: {name!r} is both sampled and fixed"
            raise ModelSpecError(msg)
        lo, hi = (float(v) for v in (bounds[i] if r is None else r))
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            msg = f"evidence: the prior range of {name!r} must be finite with hi > lo, got [{lo}, {hi}]"
            raise ModelSpecError(msg)
        theory.append(i)
        ranges[name] = [lo, hi]
    free = np.flatnonzero(~mask)
    nuis = np.array([i for i in free if i not in theory], dtype=int)
    unconstrained = [
        lab
        for e in layout.entries
        if e.constraint is None
        for lab, i in zip(e.labels, range(e.start, e.start + e.size))
        if i in set(nuis.tolist())
    ]
    if unconstrained:
        msg = (
            f"evidence: {', '.join(unconstrained)} have no prior (unconstrained): give them a range "
            "(sample them) or fix them"
        )
        raise ModelSpecError(msg)
    if data is None:
        import pyhf

        from ._objective import pyhf_backend

        if isinstance(model, pyhf.pdf.Model):
            msg = "a plain pyhf model needs data="
            raise ModelSpecError(msg)
        with pyhf_backend("numpy"):
            d = np.asarray(model.data, dtype=float)
    else:
        d = np.asarray(data, dtype=float)
    rep = resolve(progress)
    # start the nuisances at their fit with the sampled parameters at mid-range
    from .mle import fit

    mid = {n: 0.5 * (lo + hi) for n, (lo, hi) in ranges.items()}
    with rep.phase("conditional fit"):
        fx: dict[str, Any] = {**{layout.labels[i]: float(x0[i]) for i in np.flatnonzero(mask)}, **mid}
        best = fit(model, fixed=_by_name(layout, fx), data=d, errors=False)
    base = np.asarray(best.bestfit, dtype=float)
    tidx = np.asarray(theory, dtype=int)
    with rep.phase("compile Laplace integral"):
        lap = _Laplace(model, d, base, tidx, nuis, bounds)
    lows = np.array([ranges[layout.labels[i]][0] for i in theory])
    widths = np.array([ranges[layout.labels[i]][1] - ranges[layout.labels[i]][0] for i in theory])
    if not theory:
        with rep.phase("Laplace integral"):
            lnz = lap(np.zeros(0))
        return EvidenceResult(
            ln_z=lnz,
            ln_z_err=0.0,
            parameters={},
            fixed=_fixed_theory(layout, x0, mask),
            method="laplace",
            n_calls=lap.ncalls,
            laplace_grad=lap.max_grad,
            wall_s=time.perf_counter() - t_start,
            seed=seed,
        )
    dynesty = optional_import("dynesty", purpose="evidence (nested sampling)", extra="stats")

    def prior_transform(u: np.ndarray) -> np.ndarray:
        out: np.ndarray = lows + widths * np.asarray(u)
        return out

    sampler = dynesty.NestedSampler(
        lap, prior_transform, len(theory), nlive=int(n_live), rstate=np.random.default_rng(seed)
    )
    with rep.phase(f"nested sampling ({len(theory)} parameters, {n_live} live points)"):
        sampler.run_nested(dlogz=dlogz, print_progress=False)
    res = sampler.results
    return EvidenceResult(
        ln_z=float(res.logz[-1]),
        ln_z_err=float(res.logzerr[-1]),
        parameters=ranges,
        fixed=_fixed_theory(layout, x0, mask),
        method="nested+laplace",
        n_live=int(n_live),
        n_calls=lap.ncalls,
        information=float(res.information[-1]),
        laplace_grad=lap.max_grad,
        wall_s=time.perf_counter() - t_start,
        seed=seed,
    )


def _by_name(layout: Any, values: Mapping[str, float]) -> dict[str, Any]:
    """``label -> value`` to ``name -> value`` (vector parameters as lists)."""
    out: dict[str, Any] = {}
    for e in layout.entries:
        labs = e.labels
        if e.scalar:
            if e.name in values:
                out[e.name] = values[e.name]
        elif all(lab in values for lab in labs):
            out[e.name] = [values[lab] for lab in labs]
    return out


def _fixed_theory(layout: Any, x0: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    """The fixed unconstrained (theory) parameters and their values."""
    out: dict[str, Any] = {}
    for e in layout.entries:
        if e.constraint is None and e.scalar and mask[e.start]:
            out[e.name] = float(x0[e.start])
    return out
