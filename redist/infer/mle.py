"""Maximum-likelihood fits of reinterpreted (or plain pyhf) models.

:func:`fit` minimises −2 ln L over any subset of parameters chosen by name with
Minuit. On the jax backend Minuit gets the exact gradient of the compiled
objective (:mod:`redist.infer._objective`), the minimum is polished with Newton
steps on the exact Hessian, and the covariance is twice the inverse of the exact
Hessian of −2 ln L in the free parameters. On the numpy backend Minuit
differentiates numerically and the covariance comes from Minuit's HESSE, exactly
as in ``pyhf.infer.mle.fit``.

Flat directions are reported, not fatal: a parameter sitting on a bound with a
vanishing first derivative (for B→Kνν̄, ``cSL`` and ``cTL`` at 0 with bounds
[0, 20] — the rate depends on ``|cSL+cSR|²`` and ``|cTL|²``) triggers retries from
interior starting points unless the exact Hessian shows a minimum there (a saddle on
the bound is retried, a positive definite Hessian is not), and both these parameters
and (near-)null directions of the Hessian are listed in
:attr:`FitResult.flat_directions`. Every fit returns a
:class:`FitResult`, converged or not.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from iminuit import Minuit

from ..exceptions import FileFormatError, ModelSpecError
from ..layout import ParameterKind, ParameterLayout
from ..progress import SILENT, Progress, resolve
from ..typing import FixedValues, ModelLike, ParameterValues
from ._linalg import eigh
from ._objective import Objective, objective
from ._tasks import json_dict

__all__ = ["FitResult", "fit"]


@dataclass(frozen=True)
class FitResult:
    """Result of one maximum-likelihood fit.

    Attributes
    ----------
    layout : ParameterLayout
        The model's parameter layout (names, slots, bounds, kinds); rows and columns of
        :attr:`covariance` and components of :attr:`bestfit` follow it.
    bestfit : numpy.ndarray
        Best-fit parameter vector (model order, fixed components included).
    values, errors : dict
        ``name -> float`` (scalars) or ``list`` (vector parameters); errors of fixed
        components are 0.
    covariance : numpy.ndarray
        Covariance in model order (zero rows/columns for fixed components).
    twice_nll : float
        −2 ln L at the best fit.
    converged : bool
        Minuit's validity (and a finite objective).
    message : str
        Human-readable summary (why a fit did not converge, retries, flat directions).
    nfcn, ngrad : int
        Likelihood and gradient evaluations of the minimisation (retries included).
    fixed : list of str
        Labels of the fixed components (display only).
    at_limit : list of str
        Labels of free components that ended on a bound (display only).
    flat_directions : list of dict
        ``{"kind", "parameters": {label: weight}, "curvature"}`` entries: parameters
        stationary on a bound (zero first derivative) and near-null Hessian directions.
    covariance_valid : bool
        Whether the free-parameter Hessian was positive definite.
    backend : str
        ``"jax"`` or ``"numpy"``.
    n_starts : int
        Number of starting points tried.
    time_s : float
        Wall time of the fit.
    prefit_sigma : numpy.ndarray or None
        Pre-fit width of every component (NaN for unconstrained ones; ``None`` when
        unknown): pulls are ``(value - init) / prefit_sigma``.

    The JSON form carries ``"kind": "fit"`` (see :mod:`redist.report`).
    """

    kind: ClassVar[str] = "fit"

    layout: ParameterLayout = field(repr=False)
    bestfit: np.ndarray = field(repr=False)
    values: dict[str, Any]
    errors: dict[str, Any]
    covariance: np.ndarray = field(repr=False)
    twice_nll: float
    converged: bool
    message: str
    nfcn: int
    ngrad: int
    fixed: list[str] = field(default_factory=list)
    at_limit: list[str] = field(default_factory=list)
    flat_directions: list[dict[str, Any]] = field(default_factory=list)
    covariance_valid: bool = True
    backend: str = "jax"
    n_starts: int = 1
    time_s: float = 0.0
    prefit_sigma: np.ndarray | None = field(default=None, repr=False)

    @property
    def parameter_names(self) -> list[str]:
        """Pyhf parameter names in model order (vector parameters once)."""
        return list(self.layout.names)

    @property
    def labels(self) -> list[str]:
        """One display label per component (``name[i]`` for vectors): rows of :attr:`covariance`."""
        return list(self.layout.labels)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (non-finite numbers become ``None``).

        ``parameter_names`` and ``labels`` are written for readers of the file;
        :meth:`from_dict` takes everything from ``layout``.
        """
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "layout"}
        d = {"kind": self.kind, "layout": self.layout.to_dict(),
             "parameter_names": self.parameter_names, "labels": self.labels, **d}  # fmt: skip
        if self.prefit_sigma is None:
            del d["prefit_sigma"]
        return json_dict(d)

    def to_json(self, **kwargs: Any) -> str:
        """JSON string of :meth:`to_dict` (keyword arguments go to :func:`json.dumps`)."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FitResult:
        """Inverse of :meth:`to_dict`."""
        if "layout" not in d:
            msg = "fit result without a parameter 'layout' (written by an older redist); re-run the fit"
            raise FileFormatError(msg)
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw["layout"] = ParameterLayout.from_dict(kw["layout"])
        if kw.get("prefit_sigma") is not None:
            kw["prefit_sigma"] = np.asarray([np.nan if v is None else v for v in kw["prefit_sigma"]], float)
        kw["bestfit"] = np.asarray([np.nan if v is None else v for v in kw["bestfit"]], float)
        kw["covariance"] = np.asarray(
            [[np.nan if v is None else v for v in row] for row in kw["covariance"]], float
        )
        kw["twice_nll"] = np.nan if kw["twice_nll"] is None else kw["twice_nll"]
        return cls(**kw)

    def correlation(self) -> np.ndarray:
        """Correlation matrix (zero rows for fixed components)."""
        s = np.sqrt(np.clip(np.diag(self.covariance), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            c = self.covariance / np.outer(s, s)
        return np.where(np.outer(s, s) > 0, c, 0.0)


class _Problem:
    """The free-parameter view of an objective used by Minuit and the Newton polish."""

    def __init__(self, obj: Objective, data: np.ndarray, x: np.ndarray, mask: np.ndarray) -> None:
        self.obj = obj
        self.data = data
        self.base = x.copy()
        self.free = np.flatnonzero(~mask)
        self._last: tuple[np.ndarray, float, np.ndarray] | None = None
        self.nfcn = 0
        self.ngrad = 0

    def full(self, xf: np.ndarray) -> np.ndarray:
        p: np.ndarray = self.base.copy()
        p[self.free] = xf
        return p

    def _vg(self, xf: np.ndarray) -> tuple[float, np.ndarray]:
        xf = np.asarray(xf, dtype=float)
        if self._last is not None and np.array_equal(self._last[0], xf):
            return self._last[1], self._last[2]
        v, g = self.obj.value_and_grad(self.full(xf), self.data)
        gf = g[self.free]
        self._last = (xf.copy(), v, gf)
        return v, gf

    def fcn(self, xf: np.ndarray) -> float:
        self.nfcn += 1
        if self.obj.backend == "jax":
            v = self._vg(xf)[0]
        else:
            v = self.obj.value(self.full(np.asarray(xf, dtype=float)), self.data)
        return v if math.isfinite(v) else 1e300

    def grad(self, xf: np.ndarray) -> np.ndarray:
        self.ngrad += 1
        return self._vg(xf)[1]


def _minuit(
    prob: _Problem,
    x0: np.ndarray,
    bounds: np.ndarray,
    strategy: int,
    tolerance: float,
    g2: np.ndarray | None = None,
    names: Sequence[str] | None = None,
) -> Minuit:
    grad = prob.grad if prob.obj.backend == "jax" else None
    if g2 is not None:
        # diagonal second derivatives for Migrad's seed (saves 2n numerical evaluations)
        m = Minuit(prob.fcn, x0, grad=grad, g2=lambda _x: g2, name=names)
    else:
        m = Minuit(prob.fcn, x0, grad=grad, name=names)
    m.errordef = Minuit.LEAST_SQUARES  # the objective is −2 ln L
    m.limits = [tuple(b) for b in bounds]
    m.errors = [max(1e-2 * (hi - lo), 1e-3) if math.isfinite(hi - lo) else 0.1 for lo, hi in bounds]
    m.strategy = strategy
    m.tol = tolerance
    m.print_level = 0
    m.migrad()
    return m


def _interior(x: np.ndarray, bounds: np.ndarray, rtol: float = 1e-7) -> np.ndarray:
    span = np.where(np.isfinite(bounds[:, 1] - bounds[:, 0]), bounds[:, 1] - bounds[:, 0], 1.0)
    eps = rtol * np.maximum(span, 1.0)
    inside: np.ndarray = (x - bounds[:, 0] > eps) & (bounds[:, 1] - x > eps)
    return inside


def _stuck(xf: np.ndarray, g: np.ndarray, bounds: np.ndarray, gtol: float = 1e-3) -> list[int]:
    """Free components near a bound (1 % of the range) that moving inward would not improve.

    ``g`` is the gradient of −2 ln L; at a lower bound the inward derivative is ``g``,
    at an upper bound ``-g``. Such a component either sits in a constrained minimum
    or on a stationary point (zero derivative) that a minimiser cannot leave.
    """
    out = []
    for i in range(xf.size):
        lo, hi = bounds[i]
        span = hi - lo if math.isfinite(hi - lo) else 1.0
        if (xf[i] - lo <= 1e-2 * span and g[i] >= -gtol) or (hi - xf[i] <= 1e-2 * span and -g[i] >= -gtol):
            out.append(i)
    return out


def _snap(prob: _Problem, xf: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Move stuck components exactly onto their bound when that does not increase −2 ln L."""
    v, g = prob._vg(xf)
    for i in _stuck(xf, g, bounds, gtol=0.0):
        lo, hi = bounds[i]
        x = xf.copy()
        x[i] = lo if xf[i] - lo < hi - xf[i] else hi
        if x[i] == xf[i]:
            continue
        vn, _ = prob._vg(x)
        if vn <= v + 1e-12:
            xf, v = x, vn
    return xf


def _polish(
    prob: _Problem, xf: np.ndarray, bounds: np.ndarray, h: np.ndarray, steps: int = 4
) -> np.ndarray:
    """Chord-Newton steps with a fixed exact Hessian over interior free parameters.

    Steps never increase −2 ln L and are clipped to the bounds.
    """
    inside = _interior(xf, bounds)
    if not inside.any():
        return xf
    lam, vec = eigh(h[np.ix_(inside, inside)])
    if lam.min() <= 1e-12 * max(lam.max(), 1e-300):
        return xf
    v, g = prob._vg(xf)
    for _ in range(steps):
        step = np.zeros_like(xf)
        step[inside] = -(vec @ ((vec.T @ g[inside]) / lam))
        if abs(step @ g) < 1e-12:
            break
        xn = np.clip(xf + step, bounds[:, 0], bounds[:, 1])
        vn, gn = prob._vg(xn)
        if not vn <= v:
            break
        xf, v, g = xn, vn, gn
    return xf


def _flat_report(
    labels: Sequence[str],
    xf: np.ndarray,
    g: np.ndarray,
    h: np.ndarray | None,
    bounds: np.ndarray,
    gtol: float = 1e-3,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    on_bound = ~_interior(xf, bounds, 1e-9)
    for i in _stuck(xf, g, bounds, gtol):
        if abs(g[i]) < gtol and on_bound[i]:
            out.append(
                {
                    "kind": "stationary_at_bound",
                    "parameters": {labels[i]: 1.0},
                    "gradient": float(g[i]),
                    "curvature": float(h[i, i]) if h is not None else None,
                }
            )
    inside = _interior(xf, bounds)
    if h is not None and inside.any():
        hi = h[np.ix_(inside, inside)]
        lam, vec = eigh(hi)
        scale = max(float(np.abs(lam).max()), 1e-300)
        names = [labels[int(i)] for i in np.flatnonzero(inside)]
        for k in np.flatnonzero(lam <= 1e-9 * scale):
            w = vec[:, k]
            top = np.argsort(-np.abs(w))[:4]
            out.append(
                {
                    "kind": "hessian_null_direction",
                    "parameters": {names[j]: float(w[j]) for j in top if abs(w[j]) > 1e-3},
                    "curvature": float(lam[k]),
                }
            )
    return out


def _covariance(
    h: np.ndarray, free: np.ndarray, npars: int, xf: np.ndarray, bounds: np.ndarray
) -> tuple[np.ndarray, bool]:
    """Covariance (model order) from the Hessian of −2 ln L in the free parameters."""
    cov = np.zeros((npars, npars))
    if free.size == 0:
        return cov, True
    lam, vec = eigh(h)
    valid = bool(lam.min() > 1e-12 * max(lam.max(), 1e-300))
    keep = lam > 1e-12 * max(lam.max(), 1e-300)
    c = (vec[:, keep] / lam[keep]) @ vec[:, keep].T * 2.0
    cov[np.ix_(free, free)] = c
    return cov, valid


def _minimum_on_bound(h: np.ndarray, g: np.ndarray, xf: np.ndarray, bounds: np.ndarray,
                      gtol: float = 1e-3) -> bool:
    """Whether a point with components stuck on a bound is a strict local minimum there.

    Components held by a derivative pointing out of the range (``|g| > gtol``) stay on
    their bound; the Hessian of −2 ln L over every other free component, the stationary
    ones on a bound included, must be positive definite (the covariance's criterion).
    Then no feasible direction lowers −2 ln L to second order and interior restarts are
    not needed; otherwise (a saddle, e.g. ``cSL`` = 0 when the data want a larger rate)
    :func:`minimize` retries from interior starts.
    """
    held = np.zeros(xf.size, dtype=bool)
    for i in _stuck(xf, g, bounds, gtol):
        held[i] = abs(g[i]) > gtol
    keep = ~held
    if not keep.any():
        return True
    lam, _ = eigh(h[np.ix_(keep, keep)])
    return bool(lam.min() > 1e-12 * max(float(lam.max()), 1e-300))


def _alternative_starts(
    xf: np.ndarray, g: np.ndarray, bounds: np.ndarray, free_labels: Sequence[str], n: int
) -> list[np.ndarray]:
    """Interior starting points for parameters stuck where the first derivative vanishes."""
    stuck = _stuck(xf, g, bounds)
    starts = []
    for frac in (0.3, 0.6, 0.15)[:n]:
        x = xf.copy()
        for i in stuck:
            lo, hi = bounds[i]
            if math.isfinite(lo) and math.isfinite(hi):
                x[i] = lo + frac * (hi - lo) if xf[i] - lo < hi - xf[i] else hi - frac * (hi - lo)
            else:
                x[i] = xf[i] + (1.0 if xf[i] - lo < hi - xf[i] else -1.0) * frac
        if stuck:
            starts.append(x)
    return starts


def minimize(
    obj: Objective,
    data: np.ndarray,
    x0: np.ndarray,
    mask: np.ndarray,
    *,
    errors: bool = True,
    strategy: int | None = None,
    tolerance: float = 1e-3,
    retries: int = 2,
    polish: bool = True,
    seed_curvature: np.ndarray | None = None,
    progress: Progress = SILENT,
) -> FitResult:
    """Minimise with Minuit from ``x0`` over the components not in ``mask`` (no name handling).

    Used by :func:`fit`, scans and limits; see :func:`fit` for the meaning of the options.
    ``seed_curvature`` (full-length diagonal of the Hessian of −2 ln L, e.g. from a
    neighbouring scan point) seeds Migrad instead of its 2n numerical evaluations.
    ``progress`` receives the phases "minimise" and "Hessian" (silent by default:
    scans call this once per grid point).
    """
    t0 = time.perf_counter()
    layout = obj.layout
    prob = _Problem(obj, data, x0, mask)
    free = prob.free
    bounds = layout.bounds[free]
    labels = [layout.labels[i] for i in free]
    jax = obj.backend == "jax"
    if strategy is None:
        strategy = 0 if jax else 1
    best: tuple[float, np.ndarray, Minuit | None] | None = None
    messages = []
    starts = [np.clip(x0[free], bounds[:, 0], bounds[:, 1])]
    n_starts = 0
    tried_alt = False
    h_first: tuple[np.ndarray, np.ndarray] | None = None  # Hessian where the first start ended
    g2 = None
    if seed_curvature is not None and free.size:
        d2 = np.asarray(seed_curvature, dtype=float)[free]
        g2 = np.where(np.isfinite(d2) & (d2 > 0), d2, 1.0)
    elif jax and errors and free.size:
        # the exact Hessian is computed for the errors anyway: one more call seeds Migrad
        with progress.phase("Hessian (compile and seed)"):
            d2 = np.diag(obj.hessian(prob.full(starts[0]), data))[free]
        g2 = np.where(np.isfinite(d2) & (d2 > 0), d2, 1.0)
    with progress.phase(f"minimise ({free.size} free parameters)"):
        while starts and n_starts < 1 + retries:
            xs = starts.pop(0)
            n_starts += 1
            if free.size == 0:
                v = obj.value(prob.full(xs), data)
                best = (v, xs, None)
                break
            m = _minuit(prob, xs, bounds, strategy, tolerance, g2, labels)
            xf = np.asarray(m.values, dtype=float)
            if jax:
                xf = _snap(prob, xf, bounds)
            v = prob.fcn(xf)
            if not m.valid:
                messages.append(f"start {n_starts}: migrad invalid (edm={m.fmin.edm:.2g})")
                if strategy < 2 and not starts:
                    strategy += 1
                    starts.append(xf)
            if best is None or (v < best[0] - 1e-9) or (best[2] is not None and not best[2].valid
                                                         and m.valid):
                best = (v, xf, m)
            if not tried_alt and jax:
                tried_alt = True
                _, g = prob._vg(xf)
                stuck = _stuck(xf, g, bounds)
                if stuck and retries:
                    h_first = (xf, obj.hessian(prob.full(xf), data)[np.ix_(free, free)])
                    names = ", ".join(labels[i] for i in stuck)
                    if _minimum_on_bound(h_first[1], g, xf, bounds):
                        messages.append(
                            f"zero first derivative on a bound for {names}; a minimum there "
                            "(positive definite Hessian), no retries"
                        )
                    else:
                        alts = _alternative_starts(xf, g, bounds, labels, retries)
                        messages.append(
                            f"zero first derivative on a bound for {names}"
                            f"; retried from {len(alts)} interior start(s)"
                        )
                        starts.extend(alts)
    assert best is not None
    v, xf, m = best
    x = prob.full(xf)
    converged = bool(math.isfinite(v) and (m is None or m.valid))
    h = None
    cov = np.zeros((layout.size, layout.size))
    cov_valid = True
    if jax:
        _, g = prob._vg(xf) if free.size else (v, np.zeros(0))
    else:
        g = np.zeros(free.size)
    with progress.phase("Hessian") if errors and free.size else SILENT.phase("Hessian"):
        if errors and free.size:
            if jax:
                if h_first is not None and np.array_equal(h_first[0], xf):
                    h = h_first[1]
                else:
                    h = obj.hessian(x, data)[np.ix_(free, free)]
                if polish and converged:
                    xp = _polish(prob, xf, bounds, h)
                    if not np.array_equal(xp, xf):
                        xf = xp
                        v, g = prob._vg(xf)
                        x = prob.full(xf)
                cov, cov_valid = _covariance(h, free, layout.size, xf, bounds)
            elif m is not None:
                m.hesse()
                cov[np.ix_(free, free)] = np.asarray(m.covariance)
                cov_valid = bool(m.accurate)
    flat = _flat_report(labels, xf, g, h, bounds) if jax else []
    err_vec = np.sqrt(np.clip(np.diag(cov), 0, None))
    if not converged:
        messages.insert(0, "fit did NOT converge")
    else:
        messages.insert(0, "converged")
    if flat:
        messages.append(f"{len(flat)} flat direction(s) reported")
    if errors and not cov_valid:
        messages.append("Hessian not positive definite: covariance restricted to curved directions")
    return FitResult(
        layout=layout,
        bestfit=x,
        values=layout.to_mapping(x),
        errors=layout.to_mapping(err_vec),
        covariance=cov,
        twice_nll=float(v),
        converged=converged,
        message="; ".join(messages),
        nfcn=prob.nfcn,
        ngrad=prob.ngrad,
        fixed=[layout.labels[i] for i in np.flatnonzero(mask)],
        at_limit=[labels[i] for i in np.flatnonzero(~_interior(xf, bounds))] if free.size else [],
        flat_directions=flat,
        covariance_valid=cov_valid,
        backend=obj.backend,
        n_starts=n_starts,
        time_s=time.perf_counter() - t0,
    )


def start_and_mask(
    layout: ParameterLayout,
    init: ParameterValues | None,
    fixed: FixedValues | None,
    fix_groups: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Start vector (inits, then ``init``, then fixed values) and the mask of fixed components."""
    kinds = (ParameterKind.THEORY_GROUP,) if fix_groups else ()
    return layout.fix(fixed, base=layout.to_vector(init), kinds=kinds)


def resolve_data(obj: Objective, data: npt.ArrayLike | None) -> np.ndarray:
    """The data vector to fit: ``data`` if given (checked), else the model's own."""
    if data is None:
        if obj.data is None:
            msg = "a plain pyhf model needs data= (observed main bins followed by auxdata)"
            raise ModelSpecError(msg)
        return obj.data
    d = np.asarray(data, dtype=float)
    if d.shape != (obj.ndata,):
        msg = f"data has shape {d.shape}, the model expects ({obj.ndata},) (main bins + auxdata)"
        raise ModelSpecError(msg)
    return d


def fit(
    model: ModelLike,
    *,
    fixed: FixedValues | None = None,
    fix_groups: bool = False,
    init: ParameterValues | None = None,
    backend: str = "auto",
    data: npt.ArrayLike | None = None,
    errors: bool = True,
    strategy: int | None = None,
    tolerance: float = 1e-3,
    retries: int = 2,
    progress: Progress | bool | None = None,
) -> FitResult:
    """Maximum-likelihood fit over the parameters that are not fixed.

    Parameters
    ----------
    model : ModelLike
        The likelihood: a :class:`~redist.reinterpret.ReinterpretedModel`, a
        combination, or a plain pyhf model (which needs ``data``).
    fixed : mapping or sequence of str, optional
        Parameters to hold fixed, by pyhf name: ``{"cSL": 0.0}``; a value ``None``
        (or a bare name in a sequence) fixes the parameter at its initial value;
        vector parameters take a list or a scalar broadcast to every component.
        Parameters fixed by the measurement (``suggested_fixed``) stay fixed.
    fix_groups : bool
        Also fix the theory's correlated nuisance groups (form factors) at init.
    init : mapping, optional
        Starting values by name (default: the model's suggested init).
    backend : {"auto", "jax", "numpy"}
        ``"auto"``: compiled jax fast path when jax is installed, else numpy.
    data : array_like, optional
        Observed + auxiliary data (default: the model's own data).
    errors : bool
        Compute the covariance (exact Hessian on jax, HESSE on numpy).
    strategy : int, optional
        Minuit strategy (default 0 with exact gradients, 1 without).
    tolerance : float
        Minuit tolerance (EDM target ``0.002 * tolerance``); the jax path then polishes
        the minimum with Newton steps.
    retries : int
        Extra starting points tried for parameters stuck on a bound with a vanishing
        derivative where the point is not a minimum (the exact Hessian over the free
        components is not positive definite), or after an invalid minimum.
    progress : Progress or bool, optional
        Where to report the phases (compile, minimise, Hessian); ``None``: the reporter
        installed with :func:`redist.progress.use` (silent by default).

    Returns
    -------
    FitResult
        Always returned; check :attr:`FitResult.converged` and
        :attr:`FitResult.flat_directions`.

    Examples
    --------
    >>> import pyhf
    >>> from redist.infer import fit
    >>> m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
    >>> res = fit(m, data=[15.0, *m.config.auxdata], backend="numpy")
    >>> round(res.values["mu"], 2)
    1.0
    """
    rep = resolve(progress)
    with rep.phase("compile"):
        obj = objective(model, backend)
    d = resolve_data(obj, data)
    x0, mask = start_and_mask(obj.layout, init, fixed, fix_groups)
    res = minimize(
        obj,
        d,
        x0,
        mask,
        errors=errors,
        strategy=strategy,
        tolerance=tolerance,
        retries=retries,
        progress=rep,
    )
    return replace(res, prefit_sigma=prefit_widths(obj))


def prefit_widths(obj: Objective) -> np.ndarray:
    """Pre-fit width of every component of the objective's model (NaN where unconstrained)."""
    cfg = obj.model.config
    out = np.full(obj.layout.size, np.nan)
    for e in obj.layout.entries:
        ps = cfg.param_set(e.name)
        if getattr(ps, "constrained", False):
            out[e.slice] = np.asarray(ps.width(), dtype=float)
    return out
