"""Bayesian posterior sampling of reinterpreted models.

The posterior is the likelihood of the *main* measurement times priors. The
auxiliary (constraint) terms of the pyhf model are kept: they are the priors of
the nuisance parameters, and for the theory's correlated form-factor group the
unit-normal constraint on its eigen-directions **is** the correlated
multivariate-normal prior on the form-factor coefficients
(:class:`FormFactorNormal`). Unconstrained parameters get a :class:`Uniform`
prior over their bounds unless another prior is given.

Samplers:

* ``"nuts"`` (default; jax and blackjax, ``pip install 'redist[stats]'``): the
  no-U-turn sampler on the real line (every bounded parameter through a logit or
  log map with its Jacobian), window adaptation, several chains from
  over-dispersed starts (:mod:`redist.infer.nuts`);
* ``"mh"`` (built in, for non-differentiable likelihoods): adaptive random-walk Metropolis–Hastings with a
  full-covariance Gaussian proposal started from the Laplace approximation at
  the best fit (exact Hessian), whose scale is adapted during burn-in (target
  acceptance 0.234), several chains evaluated in one batched (vmapped) call;
* ``"emcee"`` (``pip install 'redist[mcmc]'``): the affine-invariant ensemble
  sampler with a vectorised log-probability — good for few free parameters
  (e.g. with ``fix_nuisances=True``), poor for hundreds.

Chains are independent and seeded from one seed, so running chains as Dask tasks
gives the same samples as the serial run.

Every result is judged: the rank-normalised R-hat and the bulk and tail effective
sample sizes (ArviZ) of the summarised parameters are stored in the summary, and
``converged`` is false when any R-hat exceeds :data:`RHAT_MAX` or any bulk ESS is
below :data:`ESS_MIN`. Summaries (:func:`summarize_draws`) give the mode of a
boundary-corrected density estimate with a data-driven bandwidth
(:func:`isj_bandwidth`), 68 % / 95 % HPD and central intervals, each with a Monte
Carlo standard error (batch means), and say when a marginal is flat.
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
    "ESS_MIN",
    "RHAT_MAX",
    "FormFactorNormal",
    "Normal",
    "PosteriorResult",
    "Prior",
    "Uniform",
    "hpd_interval",
    "isj_bandwidth",
    "marginal_density",
    "marginal_mode",
    "sample",
    "summarize_draws",
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


def isj_bandwidth(samples: npt.ArrayLike, grid_size: int = 2**12) -> float:
    """Gaussian-kernel bandwidth by the improved Sheather–Jones plug-in (Botev et al. 2010).

    The density functionals that set the asymptotically optimal bandwidth are estimated
    by a fixed-point iteration on the discrete cosine transform of a fine histogram; no
    normal reference is assumed, so plateaus and skewed marginals get a bandwidth from
    their own shape. Falls back to Silverman's rule when the fixed point has no root.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(0.0, 1.0, 20000)
    >>> round(isj_bandwidth(x) / (1.06 * 20000 ** -0.2), 1)  # normal data: close to Silverman
    1.0
    """
    from scipy.fft import dct
    from scipy.optimize import brentq

    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    sd = float(np.std(x))
    silverman = 1.06 * sd * max(n, 2) ** -0.2 if sd > 0 else 1.0
    lo, hi = float(x.min()), float(x.max())
    span = hi - lo
    if n < 10 or span <= 0:
        return silverman
    lo, hi = lo - 0.1 * span, hi + 0.1 * span
    span = hi - lo
    hist = np.histogram(x, bins=grid_size, range=(lo, hi))[0] / n
    a = dct(hist, type=2)
    k2 = np.arange(1, grid_size, dtype=float) ** 2
    a2 = (a[1:] / 2) ** 2
    nu = float(np.unique(x).size)

    def xi(t: float) -> float:
        # functional of order ell = 7, then down to 2 with the plug-in times of each order
        ell = 7
        f = 2 * np.pi ** (2 * ell) * np.sum(k2**ell * a2 * np.exp(-k2 * np.pi**2 * t))
        for s in range(ell - 1, 1, -1):
            k0 = np.prod(np.arange(1, 2 * s, 2)) / np.sqrt(2 * np.pi)
            c = (1 + 0.5 ** (s + 0.5)) / 3
            ts = (2 * c * k0 / nu / f) ** (2 / (3 + 2 * s))
            f = 2 * np.pi ** (2 * s) * np.sum(k2**s * a2 * np.exp(-k2 * np.pi**2 * ts))
        return float(t - (2 * nu * np.sqrt(np.pi) * f) ** (-0.4))

    try:
        t_star = brentq(xi, 0.0, 0.1)
    except ValueError:
        return silverman
    return float(np.sqrt(t_star) * span)


def marginal_density(
    samples: npt.ArrayLike,
    bounds: tuple[float, float] = (-math.inf, math.inf),
    grid: npt.ArrayLike | None = None,
    bandwidth: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Boundary-corrected Gaussian KDE of a 1D marginal (reflection at finite bounds).

    The bandwidth (default :func:`isj_bandwidth`) is chosen from the sample itself,
    not from the sample mirrored at the bounds (mirroring a plateau at both ends
    widens it and biases the mode); reflection only removes the boundary loss of mass.

    Returns
    -------
    grid, density : numpy.ndarray
        Evaluation points (default: 401 points over the sample range inside the
        bounds) and the normalised density there.
    """
    x = np.asarray(samples, dtype=float)
    lo, hi = bounds
    h = isj_bandwidth(x) if bandwidth is None else float(bandwidth)
    g = (
        np.linspace(max(x.min(), lo), min(x.max(), hi), 401)
        if grid is None
        else np.asarray(grid, dtype=float)
    )
    centres = [x]
    if math.isfinite(lo):
        centres.append(2 * lo - x)
    if math.isfinite(hi):
        centres.append(2 * hi - x)
    c = np.concatenate(centres)
    # binned evaluation: the KDE of a fine histogram of the centres (error << h)
    clo, chi = c.min() - 5 * h, c.max() + 5 * h
    nb = int(np.clip(10 * (chi - clo) / h, 256, 4096))  # bins of at most h / 10
    counts, edges = np.histogram(c, bins=nb, range=(clo, chi))
    mids = 0.5 * (edges[1:] + edges[:-1])
    dens = np.zeros(g.size)
    for j in range(0, g.size, 64):
        z = (g[j : j + 64, None] - mids[None, :]) / h
        dens[j : j + 64] = np.exp(-0.5 * z * z) @ counts
    dens /= x.size * h * math.sqrt(2 * math.pi)
    return g, dens


def marginal_mode(samples: np.ndarray, bounds: tuple[float, float] = (-math.inf, math.inf)) -> float:
    """Mode of a 1D marginal from the boundary-corrected KDE (:func:`marginal_density`).

    Examples
    --------
    >>> x = np.abs(np.random.default_rng(3).normal(0.0, 1.0, 20000))  # half-normal: mode 0
    >>> marginal_mode(x, (0.0, math.inf)) < 0.2
    True
    """
    g, dens = marginal_density(samples, bounds)
    return float(g[int(np.argmax(dens))])


def _arviz() -> Any:
    """ArviZ, imported without its refactoring notice (warnings are errors in the tests)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return optional_import("arviz", purpose="posterior diagnostics", extra="stats")


#: convergence thresholds on the reported parameters (rank-normalised R-hat, bulk ESS)
RHAT_MAX = 1.01
ESS_MIN = 400.0


def _batches(chains: np.ndarray, n_batches: int = 20) -> list[np.ndarray]:
    """Contiguous batches within chains (at least ``n_batches`` in all)."""
    per = max(1, math.ceil(n_batches / chains.shape[0]))
    out = []
    for row in chains:
        out.extend(np.array_split(row, per))
    return [b for b in out if b.size >= 10]


def summarize_draws(
    chains: npt.ArrayLike, bounds: tuple[float, float] = (-math.inf, math.inf)
) -> dict[str, Any]:
    """Honest summary of one scalar parameter from its chains.

    Parameters
    ----------
    chains : array_like
        Draws, shape ``(n_chains, n_draws)``.
    bounds : tuple of float
        Support (the KDE reflects at finite bounds).

    Returns
    -------
    dict
        ``mode`` (boundary-corrected KDE), ``mean``, ``std``, ``hpd68``, ``hpd95``,
        ``central68``, ``central95``; Monte Carlo standard errors (``mcse_mode``,
        ``mcse_hpd68``, ``mcse_hpd95``, ``mcse_central95``, ``mcse_mean``): the larger
        of batch means (20 contiguous batches) and chain spread; ArviZ diagnostics
        ``rhat`` (rank-normalised), ``ess_bulk``, ``ess_tail``; ``plateau`` (the interval
        around the mode where the density is within 20 % of its maximum), ``flat`` (the
        plateau covers at least half of the 95 % HPD interval) and a ``note`` saying so.
    """
    x = np.asarray(chains, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    flat_x = x.reshape(-1)
    az = _arviz()
    lo_b, hi_b = bounds

    def stats(v: np.ndarray, h: float | None = None) -> dict[str, Any]:
        g, dens = marginal_density(v, bounds, bandwidth=h)
        return {
            "mode": float(g[int(np.argmax(dens))]),
            "hpd68": list(hpd_interval(v, 0.6827)),
            "hpd95": list(hpd_interval(v, 0.95)),
            "central68": [float(q) for q in np.quantile(v, [0.15865, 0.84135])],
            "central95": [float(q) for q in np.quantile(v, [0.025, 0.975])],
            "mean": float(v.mean()),
            "_grid": g,
            "_dens": dens,
        }

    h = isj_bandwidth(flat_x)
    full = stats(flat_x, h)
    # Monte Carlo errors: the same estimators on contiguous batches (batch means, 20 batches)
    # and on whole chains (chain spread); the larger of sd / sqrt(n) of the two. The chain
    # spread catches what short batches miss: an HPD edge in a flat region that jumps
    # between chains (the shortest interval is then ill-determined).
    groups = [_batches(x)] + ([list(x)] if x.shape[0] >= 2 else [])
    out: dict[str, Any] = {k: v for k, v in full.items() if not k.startswith("_")}
    out["std"] = float(flat_x.std())
    for key in ("mode", "mean"):
        errs = []
        for grp in groups:
            per = [stats(b, h * (flat_x.size / b.size) ** 0.2) for b in grp] if key == "mode" else None
            vals = [p[key] for p in per] if per else [float(np.mean(b)) for b in grp]
            if len(vals) > 1:
                errs.append(float(np.std(vals, ddof=1) / math.sqrt(len(vals))))
        out[f"mcse_{key}"] = max(errs) if errs else math.nan
    per_groups = [[stats(b, h * (flat_x.size / b.size) ** 0.2) for b in grp] for grp in groups]
    for key in ("hpd68", "hpd95", "central68", "central95"):
        err = np.full(2, np.nan)
        for per in per_groups:
            if len(per) > 1:
                arr = np.array([p[key] for p in per])
                e = arr.std(axis=0, ddof=1) / math.sqrt(len(per))
                err = np.fmax(err, e)
        out[f"mcse_{key}"] = [float(e) for e in err]
    # flatness: the interval around the mode where the density stays within 20 % of its maximum
    g, dens = full["_grid"], full["_dens"]
    i = int(np.argmax(dens))
    top = dens >= 0.8 * dens[i]
    a = i
    while a > 0 and top[a - 1]:
        a -= 1
    b = i
    while b < g.size - 1 and top[b + 1]:
        b += 1
    plateau = [float(g[a]), float(g[b])]
    width95 = out["hpd95"][1] - out["hpd95"][0]
    out["plateau"] = plateau
    out["flat"] = bool(width95 > 0 and plateau[1] - plateau[0] >= 0.5 * width95)
    out["note"] = (
        f"flat: density varies < 20 % over [{plateau[0]:.3g}, {plateau[1]:.3g}]; the mode is ill-defined"
        if out["flat"]
        else ""
    )
    if x.shape[0] >= 2 and x.shape[1] >= 4:
        ds = az.convert_to_dataset(x[None, :, :] if x.ndim == 1 else {"v": x})
        out["rhat"] = float(az.rhat(ds, method="rank")["v"].values)
        out["ess_bulk"] = float(az.ess(ds, method="bulk")["v"].values)
        out["ess_tail"] = float(az.ess(ds, method="tail")["v"].values)
    else:
        out["rhat"] = math.nan
        out["ess_bulk"] = float(az.ess(az.convert_to_dataset({"v": x}), method="bulk")["v"].values)
        out["ess_tail"] = math.nan
    del lo_b, hi_b
    return out


@dataclass(frozen=True)
class PosteriorResult:
    """Posterior draws, their diagnostics and honest summaries.

    Attributes
    ----------
    labels : list of str
        Display labels of the sampled components (columns of :attr:`samples`).
    indices : list of int
        Positions of the sampled components in the parameter vector
        (``bestfit.layout``).
    samples : numpy.ndarray
        Draws of all chains, chain after chain, shape ``(n, len(labels))``.
    log_posterior : numpy.ndarray
        Log posterior (up to a constant) per draw.
    acceptance : list of float
        Mean acceptance (probability) per chain.
    summary : dict
        For each summarised parameter: see :func:`summarize_draws` (mode, HPD and
        central intervals with Monte Carlo errors, R-hat, bulk/tail ESS, flatness).
    map_point : dict
        Components of the draw with the highest posterior density.
    sampler : str
        ``"nuts"``, ``"mh"`` or ``"emcee"``.
    bestfit : FitResult
        The fit used to start the chains.
    n_chains : int
        Number of chains (:attr:`samples` holds ``n_chains`` equal blocks).
    converged : bool or None
        Every summarised parameter has R-hat ≤ :data:`RHAT_MAX` and bulk ESS ≥
        :data:`ESS_MIN` (``None``: not assessed).
    wall_s : float
        Wall time of the sampling (fit and compilation included).
    diagnostics : dict
        Sampler-level diagnostics: divergences, tree-depth hits, step sizes, the
        thresholds and the parameters that failed them.
    sample_stats : dict of numpy.ndarray
        Per-draw sampler statistics ``(n_chains, n_draws)`` (``diverging``,
        ``tree_depth``, ``n_steps``, ``acceptance_rate``, ``energy``, ``lp``).

    The JSON form carries ``"kind": "posterior"`` (see :mod:`redist.report`);
    :meth:`to_inference_data` and :meth:`to_netcdf` export the draws for ArviZ.
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
    n_chains: int = 1
    converged: bool | None = None
    wall_s: float = 0.0
    diagnostics: dict[str, Any] = field(default_factory=dict)
    sample_stats: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def column(self, name: str, component: int | None = None) -> np.ndarray:
        """Samples of a scalar parameter, or of ``component`` of a vector parameter."""
        i = self.bestfit.layout.index(name, component)
        if i not in self.indices:
            msg = f"{self.bestfit.layout.labels[i]!r} was not sampled (it is fixed)"
            raise ModelSpecError(msg)
        return self.samples[:, self.indices.index(i)]

    @property
    def chains(self) -> np.ndarray:
        """The draws per chain, shape ``(n_chains, n_draws, len(labels))``."""
        k = len(self.labels)
        return self.samples.reshape(self.n_chains, -1, k)

    def to_inference_data(self) -> Any:
        """The draws as :class:`arviz.InferenceData`.

        Scalar parameters are variables ``(chain, draw)``; the components of a vector
        parameter form one variable ``(chain, draw, NAME_dim_0)``. ``sample_stats``
        holds ArviZ's names (``diverging``, ``tree_depth``, ``n_steps``,
        ``acceptance_rate``, ``energy``, ``lp``).
        """
        az = _arviz()
        layout = self.bestfit.layout
        ch = self.chains
        col = {int(i): j for j, i in enumerate(self.indices)}
        post: dict[str, np.ndarray] = {}
        for entry in layout.entries:
            idx = [i for i in range(entry.start, entry.start + entry.size) if i in col]
            if not idx:
                continue
            arr = ch[:, :, [col[i] for i in idx]]
            post[entry.name] = arr[:, :, 0] if entry.scalar else arr
        stats = {k: np.asarray(v) for k, v in self.sample_stats.items()}
        return az.from_dict(
            posterior=post,
            sample_stats=stats or None,
            attrs={"sampler": self.sampler, "converged": str(self.converged)},
        )

    def to_netcdf(self, path: Any) -> Any:
        """Write :meth:`to_inference_data` to a netCDF file; returns the path."""
        return self.to_inference_data().to_netcdf(str(path))

    def to_dict(self, *, with_samples: bool = False) -> dict[str, Any]:
        """JSON-ready dictionary (samples only if asked)."""
        d: dict[str, Any] = {
            "kind": self.kind,
            "sampler": self.sampler,
            "converged": self.converged,
            "wall_s": self.wall_s,
            "summary": self.summary,
            "diagnostics": self.diagnostics,
            "labels": self.labels,
            "indices": self.indices,
            "n_samples": int(self.samples.shape[0]),
            "n_chains": self.n_chains,
            "acceptance": self.acceptance,
            "map_point": self.map_point,
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
        nc = int(d.get("n_chains", 1))
        if samples.shape[0] % max(nc, 1):
            nc = 1
        conv = d.get("converged")
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
            n_chains=max(nc, 1),
            converged=None if conv is None else bool(conv),
            wall_s=float(d.get("wall_s") or 0.0),
            diagnostics=dict(d.get("diagnostics") or {}),
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


def _nuts_chains(
    model: ModelLike,
    d: np.ndarray,
    base: np.ndarray,
    free: np.ndarray,
    fb: np.ndarray,
    normal: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    starts: list[np.ndarray],
    n_samples: int,
    n_burn: int,
    thin: int,
    seed: int,
    target_accept: float,
    max_tree_depth: int,
    dask: Any,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], list[float]]:
    """Run the NUTS chains; returns draws (c, n, k), log densities (c, n), stats, step sizes."""
    from .. import engine
    from .nuts import Transform, chain_function, make_logdensity, run_chain

    lik = engine.likelihood(model)
    tr = Transform(fb[:, 0].copy(), fb[:, 1].copy())
    logdensity = make_logdensity(lik.logpdf_fn, d, base, free, tr, normal)
    fn = chain_function(logdensity, n_burn, n_samples, target_accept, max_tree_depth)
    u0 = [tr.inverse(x) for x in starts]
    from .. import progress as _progress

    rep = _progress.current()
    if dask is None or dask is False:
        bar = rep.bar(len(u0), "NUTS chains", unit="chain")
        outs = []
        for i, u in enumerate(u0):
            outs.append(run_chain(fn, seed, i, u))
            bar.advance()
        bar.close()
    else:
        client, close = dask_client(dask)
        try:
            futs = [client.submit(run_chain, fn, seed, i, u, pure=False) for i, u in enumerate(u0)]
            outs = client.gather(futs)
        finally:
            close()
    draws = []
    for o in outs:
        draws.append(np.array([tr.forward(q)[0] for q in o.position[::thin]]))
    stats = {
        "diverging": np.array([o.diverging[::thin] for o in outs]),
        "tree_depth": np.array([o.tree_depth[::thin] for o in outs]),
        "n_steps": np.array([o.n_steps[::thin] for o in outs]),
        "acceptance_rate": np.array([o.acceptance_rate[::thin] for o in outs]),
        "energy": np.array([o.energy[::thin] for o in outs]),
        "lp": np.array([o.log_density[::thin] for o in outs]),
    }
    return np.array(draws), stats["lp"], stats, [o.step_size for o in outs]


def sample(
    model: ModelLike,
    *,
    priors: Mapping[str, Prior] | None = None,
    fixed: FixedValues | None = None,
    fix_groups: bool = False,
    fix_nuisances: bool = False,
    init: ParameterValues | None = None,
    summarize: Sequence[str] | None = None,
    n_samples: int | None = None,
    n_burn: int | None = None,
    n_chains: int = 4,
    thin: int | None = None,
    sampler: str = "nuts",
    seed: int = 0,
    backend: str = "auto",
    data: npt.ArrayLike | None = None,
    dask: Any = None,
    chains_per_task: int = 4,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
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
        Parameters to summarise and to judge convergence on (default: the theory
        parameters, else those given in ``priors``, else the POI).
    n_samples : int, optional
        Draws per chain after adaptation (default 1000 for ``nuts``; steps before
        thinning, default 5000, for ``mh``/``emcee``).
    n_burn : int, optional
        Adaptation steps per chain (default 1000 for ``nuts``, 2000 otherwise).
    n_chains : int
        Chains (``emcee``: walkers, at least twice the dimension).
    thin : int, optional
        Keep every ``thin``-th draw (default 1 for ``nuts``, 5 otherwise).
    sampler : {"nuts", "mh", "emcee"}
        ``"nuts"`` (default; needs jax and blackjax): the no-U-turn sampler with window
        adaptation on the real line (:mod:`redist.infer.nuts`), for every
        differentiable likelihood. ``"mh"``: random-walk Metropolis–Hastings, kept for
        non-differentiable likelihoods (mixes slowly in many dimensions: check
        ``converged``). ``"emcee"`` needs the ``mcmc`` extra.
    seed : int
        Seed of all chains (chain ``i`` is reproducible on its own).
    dask : str, distributed.Client or True, optional
        Run the chains as Dask tasks (same draws as the serial run).
    chains_per_task : int
        ``mh`` chains per task (also in the serial run, so that results agree).
    target_accept, max_tree_depth
        NUTS target acceptance probability and maximum tree depth.

    Returns
    -------
    PosteriorResult
        With ``converged`` set from rank-normalised R-hat and bulk ESS of the
        summarised parameters (:data:`RHAT_MAX`, :data:`ESS_MIN`).
    """
    import time

    t_start = time.perf_counter()
    is_nuts = sampler == "nuts"
    if sampler not in ("nuts", "mh", "emcee"):
        msg = f"unknown sampler {sampler!r}; use 'nuts', 'mh' or 'emcee'"
        raise ModelSpecError(msg)
    n_samples = int(n_samples if n_samples is not None else (1000 if is_nuts else 5000))
    n_burn = int(n_burn if n_burn is not None else (1000 if is_nuts else 2000))
    thin = int(thin if thin is not None else (1 if is_nuts else 5))
    obj = objective(model, "jax" if is_nuts else backend)
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
    names = list(
        summarize
        or [n for n in layout.names_of(ParameterKind.THEORY) if layout.check(n).size == 1]
        or [n for n in priors if not isinstance(priors[n], FormFactorNormal)]
        or ([layout.poi] if layout.poi else [])
    )
    sample_stats: dict[str, np.ndarray] = {}
    diagnostics: dict[str, Any] = {}
    if is_nuts:
        optional_import("blackjax", purpose="sampler='nuts'", extra="stats")
        normal = None
        nrm = [(j, p) for j, p in pri.items() if isinstance(p, Normal)]
        if nrm:
            normal = (
                np.array([j for j, _ in nrm]),
                np.array([p.mu for _, p in nrm]),
                np.array([p.sigma for _, p in nrm]),
            )
        # over-dispersed starts: parameters with a finite uniform prior anywhere in the
        # central 90 % of their range, the others around the best fit at twice its errors
        theory_cols = {
            j
            for j, i in enumerate(free)
            if layout.entries[_entry_of(layout, int(i))].constraint is None
            and not isinstance(pri.get(j), Normal)
            and np.isfinite(fb[j]).all()
        }
        sd = np.sqrt(np.diag(cov))
        starts = []
        for r in (np.random.default_rng(s) for s in ss.spawn(n_chains)):
            x = xstart + 2.0 * sd * r.standard_normal(free.size)
            for j in theory_cols:
                x[j] = fb[j, 0] + (0.05 + 0.9 * r.uniform()) * (fb[j, 1] - fb[j, 0])
            inner = np.where(np.isfinite(span), 1e-3 * span, 0.0)
            starts.append(np.clip(x, fb[:, 0] + inner, fb[:, 1] - inner))
        chains, lpc, sample_stats, steps = _nuts_chains(
            model, d, base, free, fb, normal, starts, n_samples, n_burn, thin, seed,
            target_accept, max_tree_depth, dask,
        )  # fmt: skip
        xs = chains.reshape(-1, free.size)
        lps = lpc.reshape(-1)
        acceptance = [float(a) for a in sample_stats["acceptance_rate"].mean(axis=1)]
        depth = sample_stats["tree_depth"]
        diagnostics = {
            "divergences": int(sample_stats["diverging"].sum()),
            "tree_depth_hits": int((depth >= max_tree_depth).sum()),
            "max_tree_depth": int(max_tree_depth),
            "step_size": steps,
            "mean_tree_depth": float(depth.mean()),
        }
    elif sampler == "emcee":
        emcee = optional_import("emcee", purpose="sampler='emcee'", extra="mcmc")
        nw = max(n_chains, 2 * free.size + 2)
        logp = _LogPosterior(obj, d, base, free, pri, fb)
        rng = np.random.default_rng(ss)
        chol = np.linalg.cholesky(cov)
        p0 = np.clip(xstart + 0.1 * (chol @ rng.standard_normal((free.size, nw))).T,
                     fb[:, 0], fb[:, 1])  # fmt: skip
        es = emcee.EnsembleSampler(nw, free.size, logp, vectorize=True)
        es.random_state = np.random.RandomState(seed).get_state()
        es.run_mcmc(p0, n_burn + n_samples, progress=False)
        chains = np.swapaxes(es.get_chain(discard=n_burn, thin=thin), 0, 1)
        lpc = np.swapaxes(es.get_log_prob(discard=n_burn, thin=thin), 0, 1)
        xs = chains.reshape(-1, free.size)
        lps = lpc.reshape(-1)
        acceptance = [float(a) for a in es.acceptance_fraction]
    else:
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
        # (n, k, d) per group -> (chains, n, d)
        chains = np.concatenate([np.swapaxes(p[0], 0, 1) for p in parts])
        lpc = np.concatenate([np.swapaxes(p[1], 0, 1) for p in parts])
        xs = chains.reshape(-1, free.size)
        lps = lpc.reshape(-1)
        acceptance = [a for p in parts for a in p[2]]
        sample_stats = {"lp": lpc}
    column = {int(i): j for j, i in enumerate(free)}
    summary = {}
    sampled = []
    for n in names:
        i = layout.index(n)
        if i not in column:
            continue
        j = column[i]
        sampled.append((n, j))
        summary[n] = summarize_draws(chains[:, :, j], (fb[j, 0], fb[j, 1]))
    bad = [
        n for n, s in summary.items()
        if not (s["rhat"] <= RHAT_MAX and s["ess_bulk"] >= ESS_MIN)
    ]  # fmt: skip
    converged = bool(summary) and not bad
    diagnostics.update({"rhat_max": RHAT_MAX, "ess_min": ESS_MIN, "not_converged": bad})
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
        n_chains=int(chains.shape[0]),
        converged=converged,
        wall_s=time.perf_counter() - t_start,
        diagnostics=diagnostics,
        sample_stats=sample_stats,
    )


def _entry_of(layout: Any, i: int) -> int:
    """Position in ``layout.entries`` of the entry holding component ``i``."""
    for k, e in enumerate(layout.entries):
        if e.start <= i < e.start + e.size:
            return k
    msg = f"component {i} is outside the layout"
    raise ModelSpecError(msg)
