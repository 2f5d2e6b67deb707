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
from ._objective import layout_of, objective
from ._tasks import json_dict
from .mle import resolve_data, start_and_mask

__all__ = ["BayesFactor", "EvidenceResult", "bayes_factor", "evidence", "evidence_grid"]


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
        ``"nested+laplace"``, ``"laplace"`` (no sampled parameter) or ``"grid+laplace"``
        (:func:`evidence_grid`).
    n_live : int
        Live points of the nested sampler.
    n_calls : int
        Likelihood evaluations (each one a Laplace integral over the nuisances).
    information : float
        Kullback–Leibler divergence prior → posterior (nats), from the nested sampler.
    laplace_grad : float
        Largest component of the gradient of ln L in the nuisances left at the Laplace
        points whose integrand is within 30 nats of the largest one (a check that the
        inner maximisations converged wherever they can matter).
    wall_s : float
        Wall time.
    seed : int
        Seed of the nested sampler.
    cpu_s : float
        CPU time of the process (``time.process_time``) spent on it.
    sample : str
        dynesty's sampling method (or the quadrature rule of :func:`evidence_grid`).
    n_iter : int
        Iterations of the nested sampler.
    profile_ln_z : float or None
        The same integral of the *profile* likelihood ``L(t, ν̂_t)`` (the nuisances at
        their maximum, no Laplace factor; grid and point hypotheses only): the difference
        ``ln_z - profile_ln_z`` is what marginalising the nuisances adds.
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
    cpu_s: float = 0.0
    sample: str = ""
    n_iter: int = 0
    profile_ln_z: float | None = None

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
    """Compiled ``t -> ln ∫ L(t, ν) π(ν) dν`` (Laplace) for the free nuisance components.

    At each point ``t`` the maximum in ν is found by damped Newton steps on the exact
    Hessian, recomputed at every step: the curvature in the nuisances changes by large
    factors across the prior range of the coefficients (it scales with the yields) and
    is indefinite away from the maximum (seen on Belle II at cVL = cSL = cTL = 0), so
    neither one fixed preconditioner nor plain Newton steps converge everywhere. Each
    step tries the Levenberg–Marquardt damping values 0, 0.1, 1, 10 and step lengths
    1, 1/2, 1/4 and keeps the best point (or none: ln L never decreases). Single calls
    start from the maximum of the previous call (consecutive points of a nested
    sampler are close); rounds of ``n_iter`` steps are repeated, up to ``rounds``
    times, until the gradient of ln L (ignoring components that push a nuisance
    through its bound) is below ``tol``. The determinant of the Hessian at the last
    point gives the Laplace factor; a Hessian that is not positive definite there
    makes the point's value undefined (``-1e300``, infinite gradient recorded).
    Hessians are the engine's (:attr:`redist.engine.Likelihood.grad_and_hessian_fn`:
    forward-over-reverse with compressed tangents, 65 Hessian-vector products on
    Belle II instead of one per nuisance).
    """

    def __init__(
        self,
        model: ModelLike,
        data: np.ndarray,
        base: np.ndarray,
        theory: np.ndarray,
        nuis: np.ndarray,
        bounds: np.ndarray,
        n_iter: int = 4,
        rounds: int = 4,
        tol: float = 1e-4,
    ) -> None:
        import jax
        import jax.numpy as jnp

        from .. import engine

        lik = engine.likelihood(model)
        logpdf = lik.logpdf_fn
        grad_hess = lik.grad_and_hessian_fn  # of -2 ln L, full parameter vector
        d = jnp.asarray(data)
        b = jnp.asarray(base)
        ti = jnp.asarray(theory, dtype=int)
        ni = jnp.asarray(nuis, dtype=int)
        lo = jnp.asarray(bounds[nuis, 0])
        hi = jnp.asarray(bounds[nuis, 1])
        k = int(nuis.size)
        eye = jnp.eye(k)
        damping = jnp.asarray([0.0, 0.1, 1.0, 10.0])
        lengths = jnp.asarray([1.0, 0.5, 0.25])

        def full(nu: Any, t: Any) -> Any:
            return b.at[ti].set(t).at[ni].set(nu)

        def f(nu: Any, t: Any) -> Any:
            v = logpdf(full(nu, t), d)
            return jnp.where(jnp.isfinite(v), v, -jnp.inf)

        def grad_hess_nu(nu: Any, t: Any) -> tuple[Any, Any]:
            """Gradient of ln L and Hessian of -ln L in the nuisances."""
            g2, h2 = grad_hess(full(nu, t), d)
            return -0.5 * g2[ni], 0.5 * h2[ni][:, ni]

        def step(nu: Any, t: Any) -> tuple[Any, Any, Any]:
            g, h = grad_hess_nu(nu, t)
            dirs = jax.vmap(lambda lam: jnp.linalg.solve(h + lam * eye, g))(damping)
            cands = jnp.clip(nu + (lengths[:, None, None] * dirs[None]).reshape(-1, k), lo, hi)
            vals = jax.vmap(lambda c: f(c, t))(cands)
            j = jnp.argmax(vals)
            better = vals[j] > f(nu, t)
            return jnp.where(better, cands[j], nu), g, h

        def projected(g: Any, nu: Any) -> Any:
            """Gradient components that can still move a nuisance (not pushing through a bound)."""
            stuck = ((nu <= lo) & (g < 0)) | ((nu >= hi) & (g > 0))
            return jnp.max(jnp.abs(jnp.where(stuck, 0.0, g)))

        def run(t: Any, nu_start: Any) -> Any:
            def body(_: Any, carry: Any) -> Any:
                return step(carry[0], t)

            g0, h0 = grad_hess_nu(nu_start, t)
            nu, _, _ = jax.lax.fori_loop(0, n_iter, body, (nu_start, g0, h0))
            g_end, h_end = grad_hess_nu(nu, t)
            sign, logdet = jnp.linalg.slogdet(h_end)
            lnl = f(nu, t)
            value = jnp.where(sign > 0, lnl + 0.5 * k * jnp.log(2 * jnp.pi) - 0.5 * logdet, -jnp.inf)
            gnorm = jnp.where(sign > 0, projected(g_end, nu), jnp.inf)
            return value, gnorm, lnl, nu

        self._fn = jax.jit(run)
        self._batch = jax.jit(jax.vmap(run))
        self._nu0 = np.asarray(base[nuis], dtype=float)
        self._warm = self._nu0.copy()
        self._rounds = int(rounds)
        self._tol = float(tol)
        self.ncalls = 0
        self.last_profile = math.nan
        self._values: list[float] = []
        self._grads: list[float] = []

    def __call__(self, t: npt.ArrayLike) -> float:
        self.ncalls += 1
        tt = np.asarray(t, dtype=float)
        nu = self._warm
        for r in range(self._rounds):
            v, g, lnl, nu_new = (np.asarray(a) for a in self._fn(tt, nu))
            if float(g) <= self._tol:
                break
            # not converged: continue from where it got, or restart from the fit if the warm
            # start led nowhere
            nu = nu_new if r or math.isfinite(float(v)) else self._nu0
        if float(g) <= self._tol:
            self._warm = nu_new
        self.last_profile = float(lnl)
        out = float(v) if math.isfinite(float(v)) else -1e300
        self._values.append(out)
        self._grads.append(float(g) if math.isfinite(float(g)) else math.inf)
        return out

    def batch(self, ts: npt.ArrayLike, block: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Laplace values and profile ln L(t, ν̂) at the rows of ``ts``.

        Evaluated in blocks of ``block`` points (one compiled, vectorised function; the
        last block padded), each from the fit's nuisances, with up to ``rounds`` rounds.
        """
        pts = np.atleast_2d(np.asarray(ts, dtype=float))
        out = np.empty((3, len(pts)))
        for s in range(0, len(pts), block):
            chunk = pts[s : s + block]
            n = len(chunk)
            pad = np.concatenate([chunk, np.repeat(chunk[-1:], block - n, axis=0)])
            nu = np.repeat(self._nu0[None, :], block, axis=0)
            for _ in range(self._rounds):
                v, g, lnl, nu = (np.asarray(a) for a in self._batch(pad, nu))
                if np.all(g[:n] <= self._tol):
                    break
            out[0, s : s + n], out[1, s : s + n], out[2, s : s + n] = v[:n], g[:n], lnl[:n]
        self.ncalls += len(pts)
        out[[0, 2]] = np.where(np.isfinite(out[[0, 2]]), out[[0, 2]], -1e300)
        out[1] = np.where(np.isfinite(out[1]), out[1], np.inf)
        self._values.extend(out[0].tolist())
        self._grads.extend(out[1].tolist())
        return out[0], out[2]

    def max_grad(self, margin: float = 30.0) -> float:
        """Largest remaining gradient over the points within ``margin`` nats of the largest integrand.

        Points far below the maximum carry no weight in the integral; there the inner
        maximisation is allowed to stop early.
        """
        if not self._values:
            return 0.0
        v = np.asarray(self._values)
        g = np.asarray(self._grads)
        return float(np.max(g[v >= v.max() - margin]))


@dataclass
class _Hypothesis:
    """What :func:`evidence` and :func:`evidence_grid` share: the parameters and the integrand."""

    layout: Any
    x0: np.ndarray
    mask: np.ndarray
    theory: list[int]
    ranges: dict[str, list[float]]
    laplace: _Laplace

    @property
    def lows(self) -> np.ndarray:
        return np.array([self.ranges[self.layout.labels[i]][0] for i in self.theory])

    @property
    def highs(self) -> np.ndarray:
        return np.array([self.ranges[self.layout.labels[i]][1] for i in self.theory])


def _hypothesis(
    model: ModelLike,
    parameters: Mapping[str, Sequence[float]] | Sequence[str],
    fixed: FixedValues | None,
    fix_groups: bool,
    data: npt.ArrayLike | None,
    rep: Progress,
) -> _Hypothesis:
    """Check the hypothesis, fit the nuisances at mid-range and compile the Laplace integrand."""
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
    from .mle import fit

    d = resolve_data(objective(model), data)
    # start the nuisances at the best fit of the hypothesis (sampled parameters free, from
    # mid-range), where the integrand is largest; if that fit fails, at the fit with the
    # sampled parameters fixed at mid-range
    mid = {n: 0.5 * (lo + hi) for n, (lo, hi) in ranges.items()}
    held: dict[str, Any] = {layout.labels[i]: float(x0[i]) for i in np.flatnonzero(mask)}
    with rep.phase("fit of the hypothesis"):
        best = fit(model, fixed=_by_name(layout, held), init=mid, data=d, errors=False)
        if not best.converged:
            best = fit(model, fixed=_by_name(layout, {**held, **mid}), data=d, errors=False)
    base = np.asarray(best.bestfit, dtype=float)
    with rep.phase("compile Laplace integral"):
        lap = _Laplace(model, d, base, np.asarray(theory, dtype=int), nuis, bounds)
    return _Hypothesis(layout, x0, mask, theory, ranges, lap)


def evidence(
    model: ModelLike,
    parameters: Mapping[str, Sequence[float]] | Sequence[str] = (),
    *,
    fixed: FixedValues | None = None,
    fix_groups: bool = False,
    data: npt.ArrayLike | None = None,
    n_live: int = 400,
    dlogz: float = 0.1,
    sample: str = "rslice",
    bound: str = "multi",
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
    sample : {"rslice", "rwalk", "slice", "unif", "auto"}
        How dynesty draws a new point inside the likelihood contour. The default,
        random slice sampling, only uses the bounding ellipsoids for its directions,
        so it stays efficient on curved posteriors (the shell of Wilson coefficients,
        where the rate is a sum of squares) on which uniform sampling inside the
        ellipsoids (``"unif"``) needs a large bootstrap enlargement.
    bound : {"multi", "single", "balls", "cubes", "none"}
        dynesty's bounding distribution.
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
    c_start = time.process_time()
    rep = resolve(progress)
    hyp = _hypothesis(model, parameters, fixed, fix_groups, data, rep)
    lap, layout, x0, mask = hyp.laplace, hyp.layout, hyp.x0, hyp.mask
    if not hyp.theory:
        with rep.phase("Laplace integral"):
            lnz = lap(np.zeros(0))
        return EvidenceResult(
            ln_z=lnz,
            ln_z_err=0.0,
            parameters={},
            fixed=_fixed_theory(layout, x0, mask),
            method="laplace",
            profile_ln_z=lap.last_profile,
            n_calls=lap.ncalls,
            laplace_grad=lap.max_grad(),
            wall_s=time.perf_counter() - t_start,
            cpu_s=time.process_time() - c_start,
            seed=seed,
        )
    dynesty = optional_import("dynesty", purpose="evidence (nested sampling)", extra="stats")
    lows = hyp.lows
    widths = hyp.highs - lows

    def prior_transform(u: np.ndarray) -> np.ndarray:
        out: np.ndarray = lows + widths * np.asarray(u)
        return out

    ndim = len(hyp.theory)
    sampler = dynesty.NestedSampler(
        lap, prior_transform, ndim, nlive=int(n_live), sample=sample, bound=bound,
        rstate=np.random.default_rng(seed),
    )  # fmt: skip
    with rep.phase(f"nested sampling ({ndim} parameters, {n_live} live points, {sample})"):
        sampler.run_nested(dlogz=dlogz, print_progress=False)
    res = sampler.results
    return EvidenceResult(
        ln_z=float(res.logz[-1]),
        ln_z_err=float(res.logzerr[-1]),
        parameters=hyp.ranges,
        fixed=_fixed_theory(layout, x0, mask),
        method="nested+laplace",
        n_live=int(n_live),
        n_calls=lap.ncalls,
        information=float(res.information[-1]),
        laplace_grad=lap.max_grad(),
        wall_s=time.perf_counter() - t_start,
        cpu_s=time.process_time() - c_start,
        seed=seed,
        sample=sample,
        n_iter=int(res.niter),
    )


def evidence_grid(
    model: ModelLike,
    parameters: Mapping[str, Sequence[float]] | Sequence[str],
    *,
    nodes: Sequence[int] = (12, 16),
    even: Sequence[str] = (),
    steps: Mapping[str, Sequence[float]] | None = None,
    fixed: FixedValues | None = None,
    fix_groups: bool = False,
    data: npt.ArrayLike | None = None,
    progress: Progress | bool | None = None,
) -> EvidenceResult:
    r"""Log-evidence by Gauss–Legendre product quadrature over the sampled parameters.

    The same integrand as :func:`evidence` (the Laplace integral over the nuisances at
    each point), integrated over a tensor-product Gauss–Legendre grid instead of by
    nested sampling: a deterministic cross-check for one to three sampled parameters
    with a smooth likelihood. The grid is evaluated at two resolutions; the finer one
    is the result and the difference between them its error.

    Parameters
    ----------
    model : ModelLike
        The likelihood.
    parameters : mapping or sequence of str
        Sampled parameters and their uniform prior ranges (as in :func:`evidence`).
    nodes : sequence of int
        Nodes per parameter of the coarse and the fine rule (two increasing numbers).
    even : sequence of str
        Parameters in which the likelihood is even about the lower end of their range
        (e.g. a Wilson coefficient on ``[0, hi]`` that enters the rate squared). For
        those the rule with ``2 n`` nodes on ``[2 lo - hi, hi]`` is used, of which only
        the ``n`` nodes above ``lo`` are evaluated: twice the resolution for the same
        cost. The symmetry is checked at three points and a violation is an error.
    steps : mapping, optional
        Parameters in which the likelihood is piecewise constant, with the points where
        it may jump (e.g. ``m_X`` of a narrow resonance, which moves its whole rate from
        one kinematic bin to the next at ``sqrt`` of each bin edge): integrated exactly,
        one node at the middle of each piece weighted by its length, in both grids.
        Constancy is checked inside one piece and a violation is an error.
    fixed, fix_groups, data, progress
        As in :func:`evidence`.

    Returns
    -------
    EvidenceResult
        ``method="grid+laplace"``, ``ln_z_err`` = abs(ln Z(fine) − ln Z(coarse)),
        ``n_calls`` the Laplace evaluations of both grids.

    Examples
    --------
    >>> import pyhf
    >>> m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
    >>> z = evidence_grid(m, {"mu": (0.0, 4.0)}, data=[15.0, 25.0])  # doctest: +SKIP
    """
    from scipy.special import logsumexp

    t_start = time.perf_counter()
    c_start = time.process_time()
    rep = resolve(progress)
    n_coarse, n_fine = (int(n) for n in nodes)
    if not 1 <= n_coarse < n_fine:
        msg = f"evidence_grid: nodes must be two increasing positive numbers, got {tuple(nodes)}"
        raise ModelSpecError(msg)
    hyp = _hypothesis(model, parameters, fixed, fix_groups, data, rep)
    if not hyp.theory:
        msg = "evidence_grid needs at least one sampled parameter"
        raise ModelSpecError(msg)
    names = [hyp.layout.labels[i] for i in hyp.theory]
    steps = dict(steps or {})
    unknown = sorted((set(even) | set(steps)) - set(names))
    if unknown:
        msg = f"evidence_grid: even= or steps= name {', '.join(unknown)}, which are not sampled"
        raise ModelSpecError(msg)
    both_ways = sorted(set(even) & set(steps))
    if both_ways:
        msg = f"evidence_grid: {', '.join(both_ways)} cannot be both even and piecewise constant"
        raise ModelSpecError(msg)
    lows, highs = hyp.lows, hyp.highs
    lap = hyp.laplace
    pieces: dict[str, np.ndarray] = {}
    for nm, lo, hi in zip(names, lows, highs):
        if nm in steps:
            inner = [float(s) for s in steps[nm] if lo < float(s) < hi]
            pieces[nm] = np.array([lo, *sorted(inner), hi])
    if pieces:
        mid = 0.5 * (lows + highs)
        probe = np.repeat(mid[None, :], 2, axis=0)
        for j, nm in enumerate(names):
            if nm in pieces:
                e = pieces[nm]
                k = int(np.argmax(np.diff(e)))  # the longest piece
                probe[:, j] = e[k] + np.array([0.25, 0.75]) * (e[k + 1] - e[k])
        pv = lap.batch(probe)[0]
        if abs(pv[0] - pv[1]) > 1e-6:
            msg = (
                f"evidence_grid: the likelihood is not constant between the steps of {', '.join(pieces)} "
                f"(ln L differs by {abs(pv[0] - pv[1]):.3g} inside one piece)"
            )
            raise ModelSpecError(msg)
    if even:
        rng = np.random.default_rng(0)
        flip = np.array([n in even for n in names])
        pts = lows + (highs - lows) * rng.uniform(0.2, 0.8, size=(3, len(names)))
        mirrored = np.where(flip, 2 * lows - pts, pts)
        both = lap.batch(np.concatenate([pts, mirrored]))[0]
        gap = float(np.max(np.abs(both[:3] - both[3:])))
        if gap > 1e-6:
            msg = (
                f"evidence_grid: the likelihood is not even in {', '.join(even)} (ln L differs by {gap:.3g})"
            )
            raise ModelSpecError(msg)

    def rule(n: int, nm: str, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        """Nodes and log-weights of the prior-normalised rule on [lo, hi]."""
        if nm in pieces:
            e = pieces[nm]
            return 0.5 * (e[1:] + e[:-1]), np.log(np.diff(e) / (hi - lo))
        if nm in even:
            x, w = np.polynomial.legendre.leggauss(2 * n)
            keep = x > 0
            return lo + (hi - lo) * x[keep], np.log(w[keep])  # sum of w over x > 0 is 1
        x, w = np.polynomial.legendre.leggauss(n)
        return lo + 0.5 * (hi - lo) * (x + 1), np.log(0.5 * w)

    values = []
    profile = math.nan
    for n in (n_coarse, n_fine):
        rules = [rule(n, nm, lo, hi) for nm, lo, hi in zip(names, lows, highs)]
        grid = np.stack(np.meshgrid(*[r[0] for r in rules], indexing="ij"), axis=-1).reshape(-1, len(names))
        logw = np.sum(np.stack(np.meshgrid(*[r[1] for r in rules], indexing="ij")), axis=0).ravel()
        with rep.phase(f"Laplace integral on {len(grid)} quadrature nodes"):
            lnz_t, lnl = lap.batch(grid)
        values.append(float(logsumexp(lnz_t + logw)))
        profile = float(logsumexp(lnl + logw))
    return EvidenceResult(
        ln_z=values[1],
        ln_z_err=abs(values[1] - values[0]),
        parameters=hyp.ranges,
        fixed=_fixed_theory(hyp.layout, hyp.x0, hyp.mask),
        method="grid+laplace",
        profile_ln_z=profile,
        n_calls=lap.ncalls,
        laplace_grad=lap.max_grad(),
        wall_s=time.perf_counter() - t_start,
        cpu_s=time.process_time() - c_start,
        sample=f"gauss-legendre {n_coarse}/{n_fine}"
        + (f" (even in {', '.join(even)})" if even else "")
        + (f" (piecewise constant in {', '.join(pieces)})" if pieces else ""),
        n_iter=0,
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
