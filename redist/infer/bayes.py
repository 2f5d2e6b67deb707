"""Bayesian posterior sampling of reinterpreted models.

The posterior is the likelihood of the *main* measurement times priors. The
auxiliary (constraint) terms of the pyhf model are kept: they are the priors of
the nuisance parameters, and for the theory's correlated form-factor group the
unit-normal constraint on its eigen-directions **is** the correlated
multivariate-normal prior on the form-factor coefficients
(:class:`FormFactorNormal`). Unconstrained parameters get a :class:`Uniform`
prior over their bounds unless another prior is given.

Samplers:

* ``"mh"`` (built in): adaptive random-walk Metropolis–Hastings with a
  full-covariance Gaussian proposal started from the Laplace approximation at
  the best fit (exact Hessian), whose scale is adapted during burn-in (target
  acceptance 0.234), several chains evaluated in one batched (vmapped) call;
* ``"emcee"`` (``pip install 'redist[mcmc]'``): the affine-invariant ensemble
  sampler with a vectorised log-probability — good for few free parameters
  (e.g. with ``fix_nuisances=True``), poor for hundreds.

Chains are independent and seeded from one :class:`numpy.random.SeedSequence`,
so running groups of chains as Dask tasks gives the same samples as the serial
run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .._optional import optional_import
from ..exceptions import ModelSpecError
from ..layout import ParameterKind
from ..typing import FixedValues, ModelLike, ParameterValues
from ._objective import Objective, objective
from ._tasks import ObjectiveHandle, dask_client, json_dict
from .mle import FitResult, fit, resolve_data, start_and_mask

__all__ = [
    "FormFactorNormal",
    "Normal",
    "PosteriorResult",
    "Prior",
    "Uniform",
    "hpd_interval",
    "marginal_mode",
    "sample",
]


@dataclass(frozen=True)
class Prior:
    """Base class of priors on one scalar parameter."""

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (up to a constant) at an array of values."""
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """Range with non-zero density."""
        return (-math.inf, math.inf)


@dataclass(frozen=True)
class Uniform(Prior):
    """Flat prior on ``[low, high]``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.high > self.low:
            msg = f"Uniform prior needs high > low, got [{self.low}, {self.high}]"
            raise ModelSpecError(msg)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """0 inside, −inf outside."""
        x = np.asarray(x, dtype=float)
        return np.where((x >= self.low) & (x <= self.high), 0.0, -np.inf)

    def support(self) -> tuple[float, float]:
        """``(low, high)``."""
        return (self.low, self.high)


@dataclass(frozen=True)
class Normal(Prior):
    """Gaussian prior with mean ``mu`` and width ``sigma``."""

    mu: float
    sigma: float

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """−½ ((x − μ)/σ)²."""
        return -0.5 * ((np.asarray(x, dtype=float) - self.mu) / self.sigma) ** 2


@dataclass(frozen=True)
class FormFactorNormal(Prior):
    """The correlated multivariate-normal form-factor prior (the model's own constraint).

    Usable for a correlated theory nuisance group (vector parameter) or any
    constrained nuisance: the pyhf constraint term already supplies it.
    """

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """0: the density is in the model's auxiliary terms."""
        return np.zeros(np.shape(x))


def hpd_interval(samples: np.ndarray, cl: float = 0.95) -> tuple[float, float]:
    """Shortest interval containing a fraction ``cl`` of 1D samples.

    Examples
    --------
    >>> x = np.random.default_rng(1).uniform(0, 1, 10001)
    >>> lo, hi = hpd_interval(x**2, 0.5)  # density of x**2 decreases: starts at 0
    >>> round(lo, 2), round(hi, 2)
    (0.0, 0.25)
    """
    x = np.sort(np.asarray(samples, dtype=float))
    n = x.size
    k = max(1, math.ceil(cl * n))
    if k >= n:
        return float(x[0]), float(x[-1])
    widths = x[k - 1 :] - x[: n - k + 1]
    i = int(np.argmin(widths))
    return float(x[i]), float(x[i + k - 1])


def marginal_mode(
    samples: np.ndarray, bounds: tuple[float, float] = (-math.inf, math.inf)
) -> float:
    """Mode of a 1D marginal from a Gaussian KDE, reflected at finite bounds."""
    from scipy.stats import gaussian_kde

    x = np.asarray(samples, dtype=float)
    lo, hi = bounds
    data = [x]
    if math.isfinite(lo):
        data.append(2 * lo - x)
    if math.isfinite(hi):
        data.append(2 * hi - x)
    kde = gaussian_kde(np.concatenate(data), bw_method=0.15 * len(data) ** 0.2)
    grid = np.linspace(max(x.min(), lo), min(x.max(), hi), 801)
    return float(grid[int(np.argmax(kde(grid)))])


@dataclass(frozen=True)
class PosteriorResult:
    """Posterior samples and summaries.

    Attributes
    ----------
    labels : list of str
        Display labels of the sampled components (columns of :attr:`samples`).
    indices : list of int
        Positions of the sampled components in the parameter vector
        (``bestfit.layout``).
    samples : numpy.ndarray
        Post-burn-in, thinned samples of all chains, shape ``(n, len(labels))``.
    log_posterior : numpy.ndarray
        Log posterior (up to a constant) per sample.
    acceptance : list of float
        Acceptance fraction per chain (``mh``) or per walker mean (``emcee``).
    summary : dict
        For each summarised parameter: mode (KDE, bounded), mean, std, HPD intervals.
    map_point : dict
        Components of the sample with the highest posterior density.
    sampler : str
        ``"mh"`` or ``"emcee"``.
    bestfit : FitResult
        The fit used to start the chains.

    The JSON form carries ``"kind": "posterior"`` (see :mod:`redist.report`).
    """

    kind: ClassVar[str] = "posterior"

    labels: list[str]
    indices: list[int]
    samples: np.ndarray = field(repr=False)
    log_posterior: np.ndarray = field(repr=False)
    acceptance: list[float]
    summary: dict[str, dict[str, Any]]
    map_point: dict[str, float]
    sampler: str
    bestfit: FitResult = field(repr=False)

    def column(self, name: str, component: int | None = None) -> np.ndarray:
        """Samples of a scalar parameter, or of ``component`` of a vector parameter."""
        i = self.bestfit.layout.index(name, component)
        if i not in self.indices:
            msg = f"{self.bestfit.layout.labels[i]!r} was not sampled (it is fixed)"
            raise ModelSpecError(msg)
        return self.samples[:, self.indices.index(i)]

    def to_dict(self, *, with_samples: bool = False) -> dict[str, Any]:
        """JSON-ready dictionary (samples only if asked)."""
        d: dict[str, Any] = {
            "kind": self.kind,
            "labels": self.labels,
            "indices": self.indices,
            "n_samples": int(self.samples.shape[0]),
            "acceptance": self.acceptance,
            "summary": self.summary,
            "map_point": self.map_point,
            "sampler": self.sampler,
            "bestfit": self.bestfit.to_dict(),
        }
        if with_samples:
            d["samples"] = self.samples
            d["log_posterior"] = self.log_posterior
        return json_dict(d)

    def to_json(self, **kwargs: Any) -> str:
        """JSON string of :meth:`to_dict` (without samples)."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PosteriorResult:
        """Inverse of :meth:`to_dict` (empty samples when they were not written)."""
        n = len(d["labels"])
        samples = np.asarray(d.get("samples", np.zeros((0, n))), dtype=float).reshape(-1, n)
        return cls(
            labels=list(d["labels"]),
            indices=[int(i) for i in d["indices"]],
            samples=samples,
            log_posterior=np.asarray(d.get("log_posterior", np.zeros(samples.shape[0])), dtype=float),
            acceptance=[float(a) for a in d["acceptance"]],
            summary={k: dict(v) for k, v in d["summary"].items()},
            map_point={k: float(v) for k, v in d["map_point"].items()},
            sampler=str(d["sampler"]),
            bestfit=FitResult.from_dict(d["bestfit"]),
        )


class _LogPosterior:
    """Vectorised log posterior over the free components."""

    def __init__(
        self,
        obj: Objective,
        data: np.ndarray,
        base: np.ndarray,
        free: np.ndarray,
        priors: Mapping[int, Prior],
        bounds: np.ndarray,
    ) -> None:
        self.obj = obj
        self.data = data
        self.base = base
        self.free = free
        self.priors = priors
        self.bounds = bounds
        self._fns: dict[int, Any] = {}

    def __call__(self, xf: np.ndarray) -> np.ndarray:
        xf = np.atleast_2d(np.asarray(xf, dtype=float))
        n = xf.shape[0]
        lp = np.zeros(n)
        ok = np.all((xf >= self.bounds[:, 0]) & (xf <= self.bounds[:, 1]), axis=1)
        for j, pr in self.priors.items():
            lp += pr.logpdf(xf[:, j])
        ok &= np.isfinite(lp)
        if n not in self._fns:
            self._fns[n] = self.obj.batched_value(n)
        p = np.tile(self.base, (n, 1))
        p[:, self.free] = np.where(ok[:, None], xf, self.base[self.free])
        v = self._fns[n](p, self.data)
        out = np.where(ok & np.isfinite(v), lp - 0.5 * v, -np.inf)
        return out


def _mh_chains(
    logp: _LogPosterior,
    x0: np.ndarray,
    cov: np.ndarray,
    n_steps: int,
    n_burn: int,
    thin: int,
    seeds: Sequence[np.random.SeedSequence],
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Adaptive Metropolis for a group of chains evaluated together."""
    k = len(seeds)
    d = x0.size
    rngs = [np.random.default_rng(s) for s in seeds]
    # over-dispersed starts around the mode, inside the bounds
    chol = np.linalg.cholesky(cov + 1e-12 * np.eye(d))
    x = np.array([x0 + 0.5 * chol @ r.standard_normal(d) for r in rngs])
    x = np.clip(x, logp.bounds[:, 0], logp.bounds[:, 1])
    lp = logp(x)
    bad = ~np.isfinite(lp)
    x[bad] = x0
    lp[bad] = logp(x0[None, :])[0]
    scale = np.full(k, 2.38**2 / d)
    chols = np.array([chol] * k)
    acc = np.zeros(k)
    out_x = []
    out_lp = []
    for step in range(n_burn + n_steps):
        z = np.array([r.standard_normal(d) for r in rngs])
        prop = x + np.sqrt(scale)[:, None] * np.einsum("kij,kj->ki", chols, z)
        lpp = logp(prop)
        u = np.array([r.uniform() for r in rngs])
        accept = np.log(u) < lpp - lp
        x = np.where(accept[:, None], prop, x)
        lp = np.where(accept, lpp, lp)
        if step < n_burn:
            # Robbins-Monro adaptation of the scale towards 23.4 % acceptance; the proposal
            # shape stays the Laplace covariance (an empirical covariance from a short,
            # correlated burn-in in hundreds of dimensions collapses onto it and stops mixing)
            gamma = 1.0 / (step + 10) ** 0.6
            scale *= np.exp(gamma * (accept.astype(float) - 0.234))
        else:
            acc += accept
            if (step - n_burn) % thin == 0:
                out_x.append(x.copy())
                out_lp.append(lp.copy())
    xs = np.array(out_x)  # (n, k, d)
    lps = np.array(out_lp)
    return xs, lps, (acc / max(n_steps, 1)).tolist()


def _run_group(
    handle: Any,
    data: np.ndarray,
    base: np.ndarray,
    free: np.ndarray,
    priors: Mapping[int, Prior],
    bounds: np.ndarray,
    x0: np.ndarray,
    cov: np.ndarray,
    n_steps: int,
    n_burn: int,
    thin: int,
    seeds: Sequence[np.random.SeedSequence],
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    obj = handle.resolve() if isinstance(handle, ObjectiveHandle) else handle
    logp = _LogPosterior(obj, data, base, free, priors, bounds)
    return _mh_chains(logp, x0, cov, n_steps, n_burn, thin, seeds)


def sample(
    model: ModelLike,
    *,
    priors: Mapping[str, Prior] | None = None,
    fixed: FixedValues | None = None,
    fix_groups: bool = False,
    fix_nuisances: bool = False,
    init: ParameterValues | None = None,
    summarize: Sequence[str] | None = None,
    n_samples: int = 5000,
    n_burn: int = 2000,
    n_chains: int = 8,
    thin: int = 5,
    sampler: str = "mh",
    seed: int = 0,
    backend: str = "auto",
    data: npt.ArrayLike | None = None,
    dask: Any = None,
    chains_per_task: int = 4,
) -> PosteriorResult:
    """Sample the posterior of a (reinterpreted) model.

    Parameters
    ----------
    model : ModelLike
        The likelihood.
    priors : mapping, optional
        ``name -> Prior`` for scalar parameters; unconstrained parameters default to
        ``Uniform`` over their bounds, constrained ones (and the form-factor group)
        to their model constraint (:class:`FormFactorNormal`). A ``Uniform`` prior
        narrower than the bounds restricts the sampled range.
    fixed, fix_groups, init, backend, data
        As for :func:`~redist.infer.fit`.
    fix_nuisances : bool
        Fix every parameter that is neither a theory parameter with a prior nor a
        theory nuisance group at its best-fit value (fast, approximate).
    summarize : sequence of str, optional
        Parameters to summarise (default: those given in ``priors``, else the POI).
    n_samples : int
        Steps per chain after burn-in (before thinning).
    n_burn : int
        Adaptation / burn-in steps per chain (``mh``) or discarded steps (``emcee``).
    n_chains : int
        Chains (``mh``) or walkers (``emcee``; at least twice the dimension).
    thin : int
        Keep every ``thin``-th step.
    sampler : {"mh", "emcee"}
        Sampler (``emcee`` needs the ``mcmc`` extra).
    seed : int
        Seed of the :class:`numpy.random.SeedSequence` of all chains.
    dask : str, distributed.Client or True, optional
        Run groups of ``chains_per_task`` ``mh`` chains as Dask tasks (same samples).
    chains_per_task : int
        Chains per task (also in the serial run, so that results agree).

    Returns
    -------
    PosteriorResult
    """
    obj = objective(model, backend)
    layout = obj.layout
    d = resolve_data(obj, data)
    priors = dict(priors or {})
    best = fit(model, fixed=fixed, fix_groups=fix_groups, init=init, backend=obj.backend, data=d)
    x0, mask = start_and_mask(layout, init, fixed, fix_groups)
    bounds = layout.bounds.copy()
    prior_idx: dict[int, Prior] = {}
    for name, pr in priors.items():
        entry = layout.check(name)
        if isinstance(pr, FormFactorNormal):
            if entry.constraint is None:
                msg = f"FormFactorNormal prior on {name!r}: the model does not constrain it"
                raise ModelSpecError(msg)
            continue
        if entry.constraint is not None:
            msg = (
                f"parameter {name!r} is constrained by the model; its prior is that constraint "
                "(use FormFactorNormal() or leave it out)"
            )
            raise ModelSpecError(msg)
        i = layout.index(name)
        lo, hi = pr.support()
        bounds[i] = [max(lo, bounds[i][0]), min(hi, bounds[i][1])]
        prior_idx[i] = pr
    if fix_nuisances:
        keep = set(prior_idx)
        for g in layout.names_of(ParameterKind.THEORY_GROUP):
            sl = layout.slice(g)
            keep.update(range(sl.start, sl.stop))
        for i in range(layout.size):
            if i not in keep:
                mask[i] = True
    base = np.where(mask, x0, best.bestfit)
    free = np.flatnonzero(~mask)
    fb = bounds[free]
    pri = {int(np.flatnonzero(free == i)[0]): p for i, p in prior_idx.items() if i in free}
    xstart = np.clip(best.bestfit[free], fb[:, 0], fb[:, 1])
    cov = best.covariance[np.ix_(free, free)]
    span = np.where(np.isfinite(fb[:, 1] - fb[:, 0]), fb[:, 1] - fb[:, 0], 1.0)
    var = np.diag(cov).copy()
    small = ~(var > 0) | (np.sqrt(np.abs(var)) > span)
    cov = cov.copy()
    cov[small, :] = 0.0
    cov[:, small] = 0.0
    cov[small, small] = (0.1 * span[small]) ** 2
    lam, vec = np.linalg.eigh(0.5 * (cov + cov.T))
    cov = (vec * np.clip(lam, 1e-10 * lam.max(), None)) @ vec.T
    ss = np.random.SeedSequence(seed)
    labels = [layout.labels[i] for i in free]
    if sampler == "emcee":
        emcee = optional_import("emcee", purpose="sampler='emcee'", extra="mcmc")
        nw = max(n_chains, 2 * free.size + 2)
        logp = _LogPosterior(obj, d, base, free, pri, fb)
        rng = np.random.default_rng(ss)
        chol = np.linalg.cholesky(cov)
        p0 = np.clip(xstart + 0.1 * (chol @ rng.standard_normal((free.size, nw))).T,
                     fb[:, 0], fb[:, 1])
        es = emcee.EnsembleSampler(nw, free.size, logp, vectorize=True)
        es.random_state = np.random.RandomState(seed).get_state()
        es.run_mcmc(p0, n_burn + n_samples, progress=False)
        xs = es.get_chain(discard=n_burn, thin=thin, flat=True)
        lps = es.get_log_prob(discard=n_burn, thin=thin, flat=True)
        acceptance = [float(np.mean(es.acceptance_fraction))]
    elif sampler == "mh":
        seeds = ss.spawn(n_chains)
        groups = [seeds[i : i + chains_per_task] for i in range(0, n_chains, chains_per_task)]
        args = (d, base, free, pri, fb, xstart, cov, n_samples, n_burn, thin)
        parts: list[Any]
        if dask is None or dask is False:
            parts = [_run_group(obj, *args, g) for g in groups]
        else:
            client, close = dask_client(dask)
            handle = ObjectiveHandle(model, obj)
            try:
                futs = [client.submit(_run_group, handle, *args, g, pure=False) for g in groups]
                parts = client.gather(futs)
            finally:
                handle.release()
                close()
        xs = np.concatenate([p[0].reshape(-1, free.size) for p in parts])
        lps = np.concatenate([p[1].reshape(-1) for p in parts])
        acceptance = [a for p in parts for a in p[2]]
    else:
        msg = f"unknown sampler {sampler!r}; use 'mh' or 'emcee'"
        raise ModelSpecError(msg)
    names = list(summarize or [n for n in priors if not isinstance(priors[n], FormFactorNormal)]
                 or ([layout.poi] if layout.poi else []))
    column = {int(i): j for j, i in enumerate(free)}
    summary = {}
    sampled = []
    for n in names:
        i = layout.index(n)
        if i not in column:
            continue
        j = column[i]
        sampled.append((n, j))
        col = xs[:, j]
        summary[n] = {
            "mode": marginal_mode(col, (fb[j, 0], fb[j, 1])),
            "mean": float(col.mean()),
            "std": float(col.std()),
            "hpd68": list(hpd_interval(col, 0.6827)),
            "hpd95": list(hpd_interval(col, 0.95)),
        }
    k = int(np.argmax(lps))
    return PosteriorResult(
        labels=labels,
        indices=[int(i) for i in free],
        samples=xs,
        log_posterior=lps,
        acceptance=acceptance,
        summary=summary,
        map_point={n: float(xs[k, j]) for n, j in sampled},
        sampler=sampler,
        bestfit=best,
    )
