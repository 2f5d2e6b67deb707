r"""CLs upper limits on one parameter, with expected bands: asymptotic where valid, else toys.

Two methods, one result (:class:`LimitResult`):

* ``"asymptotic"`` -- :func:`pyhf.infer.intervals.upper_limits.upper_limit` with the
  :math:`\tilde{q}_\mu` test statistic and the asymptotic formulae. They assume that the
  parameter enters the expected yields linearly near its null value. That is checked
  first (:func:`fisher_information`): when the Asimov Fisher information of the
  parameter at its null value vanishes (a Wilson coefficient, whose rate is quadratic)
  the method refuses with :class:`~redist.exceptions.AsymptoticsInvalid`.
* ``"toys"`` -- the same :math:`\tilde{q}_\mu`, with its distributions under the
  signal-plus-background hypothesis (at each tested value) and under the
  background-only hypothesis (the null value) from pseudo-experiments, every fit of
  every toy done by the engine's batched Newton minimiser
  (:func:`redist.engine.minimize_batch`). Valid for any parameter.
* ``"auto"`` -- asymptotic when valid, else toys.

The observed and expected limits are interpolated between tested values where CLs
crosses ``1 - cl``; when it does not cross inside the tested range the limit is
reported as not found (``observed`` NaN / ``null``, ``in_range`` false), never as the
edge of the range.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyhf

from ..exceptions import AsymptoticsInvalid, ModelSpecError
from ..progress import Progress, resolve
from ..typing import FixedValues, ModelLike
from ._objective import _pyhf_model, layout_of, objective, pyhf_backend, resolve_backend
from ._tasks import json_dict
from .mle import resolve_data, start_and_mask

__all__ = ["LimitResult", "crossing", "fisher_information", "upper_limit"]

#: relative Asimov Fisher information (null value vs the tested range) below which
#: the parameter counts as entering the yields non-linearly (asymptotics invalid)
FISHER_RATIO_MIN = 1e-6


@dataclass(frozen=True)
class LimitResult:
    r"""Observed and expected CLs upper limits on one parameter.

    Attributes
    ----------
    parameter : str
        The parameter limited.
    cl : float
        Confidence level (e.g. 0.95).
    observed : float
        Observed upper limit (NaN when CLs does not cross ``1 - cl`` in the tested range).
    expected : list of float
        Expected limits at −2σ, −1σ, median, +1σ, +2σ (NaN where not in range).
    scan : numpy.ndarray
        Tested values.
    cls_observed : numpy.ndarray
        Observed CLs at each tested value.
    cls_expected : numpy.ndarray
        Expected CLs band, shape ``(5, len(scan))``.
    method : str
        ``"asymptotic"`` or ``"toys"``.
    in_range : bool
        The observed CLs crosses ``1 - cl`` inside the tested range.
    n_toys : int
        Toys per hypothesis and tested value (0 for asymptotic).
    cls_observed_err : numpy.ndarray
        Monte Carlo (binomial) error of the observed CLs (toys; zeros otherwise).
    fisher : dict
        The Asimov Fisher information check (:func:`fisher_information`).
    failed_fits : int
        Toys dropped because a fit did not converge.
    q_observed : numpy.ndarray
        Observed :math:`\tilde{q}_\mu` at each tested value (toys; the profile
        −2Δln L with the q~ convention).
    q_threshold : numpy.ndarray
        Toy-calibrated threshold at each tested value: any :math:`\tilde{q}_\mu` above
        it gives CLs ≤ ``1 - cl`` (the observed limit is where ``q_observed`` crosses it;
        resolved to the spacing of the toy values).

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
    method: str = "asymptotic"
    in_range: bool = True
    n_toys: int = 0
    cls_observed_err: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fisher: dict[str, Any] = field(default_factory=dict)
    failed_fits: int = 0
    q_observed: np.ndarray = field(default_factory=lambda: np.zeros(0))
    q_threshold: np.ndarray = field(default_factory=lambda: np.zeros(0))

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
            method=str(d.get("method", "asymptotic")),
            in_range=bool(d.get("in_range", True)),
            n_toys=int(d.get("n_toys", 0)),
            cls_observed_err=arr(d.get("cls_observed_err", [])),
            fisher=dict(d.get("fisher") or {}),
            failed_fits=int(d.get("failed_fits", 0)),
            q_observed=arr(d.get("q_observed", [])),
            q_threshold=arr(d.get("q_threshold", [])),
        )

    def to_json(self, **kwargs: Any) -> str:
        """JSON string of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), **kwargs)


def crossing(values: npt.ArrayLike, cls: npt.ArrayLike, alpha: float) -> float:
    """Where CLs first falls to ``alpha``, linearly interpolated between tested values.

    NaN when CLs stays above ``alpha`` over the tested values (the limit lies
    beyond them) or is already below it at the first value (it lies before).

    Examples
    --------
    >>> crossing([1.0, 2.0, 3.0], [0.5, 0.1, 0.01], 0.05)
    2.5555555555555554
    >>> crossing([1.0, 2.0], [0.5, 0.2], 0.05)
    nan
    """
    x = np.asarray(values, dtype=float)
    y = np.asarray(cls, dtype=float)
    order = np.argsort(x)
    x, y = x[order], y[order]
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size == 0 or y[0] <= alpha:
        return math.nan
    below = np.flatnonzero(y <= alpha)
    if below.size == 0:
        return math.nan
    j = int(below[0])
    x0, x1, y0, y1 = x[j - 1], x[j], y[j - 1], y[j]
    return float(x0 + (y0 - alpha) * (x1 - x0) / (y0 - y1))


def fisher_information(
    model: ModelLike,
    par: str,
    *,
    null: float | None = None,
    reference: float | None = None,
    fixed: FixedValues | None = None,
) -> dict[str, Any]:
    r"""Asimov Fisher information of a parameter at its null value and at a reference value.

    :math:`I(\mu) = \sum_i (\partial\nu_i/\partial\mu)^2 / \nu_i` over the main bins, with
    the other parameters at their initial values, the derivative by second-order
    one-sided differences (exact for a rate quadratic in :math:`\mu`). A parameter that
    enters the yields linearly has :math:`I(0) \approx I(\mu_\mathrm{ref})`; a
    Wilson coefficient (rate :math:`\propto c^2`) has :math:`I(0) = 0`, and the
    asymptotic formulae of :math:`\tilde{q}_\mu` do not apply.

    Parameters
    ----------
    model : ModelLike
        The likelihood.
    par : str
        Scalar parameter.
    null : float, optional
        Null value (default: its lower bound).
    reference : float, optional
        Reference value (default: its upper bound).
    fixed : mapping, optional
        Values of other parameters (as for :func:`~redist.infer.fit`).

    Returns
    -------
    dict
        ``parameter``, ``null``, ``reference``, ``info_null``, ``info_reference``,
        ``ratio`` and ``linear`` (``ratio`` ≥ :data:`FISHER_RATIO_MIN`).

    Examples
    --------
    >>> import pyhf
    >>> m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
    >>> f = fisher_information(m, "mu")
    >>> f["linear"], round(f["info_null"], 3)  # 5**2 / 10
    (True, 2.5)
    """
    layout = layout_of(model)
    if layout.check(par).size != 1:
        msg = f"the Fisher information needs a scalar parameter, got {par!r}"
        raise ModelSpecError(msg)
    i = layout.index(par)
    lo, hi = (float(v) for v in layout.bounds[i])
    mu0 = lo if null is None else float(null)
    mu1 = hi if reference is None else float(reference)
    x0, _ = start_and_mask(layout, None, fixed, False)
    with pyhf_backend("numpy"):
        pm = _pyhf_model(model, "numpy")

        def yields(mu: float) -> np.ndarray:
            p = x0.copy()
            p[i] = mu
            return np.asarray(pm.expected_actualdata(p), dtype=float)

        def info(mu: float, sign: float) -> float:
            h = 1e-3 * max(abs(hi - lo), 1e-6) if math.isfinite(hi - lo) else 1e-3 * max(1.0, abs(mu))
            h *= sign
            n0, n1, n2 = yields(mu), yields(mu + h), yields(mu + 2 * h)
            deriv = (-3 * n0 + 4 * n1 - n2) / (2 * h)
            ok = n0 > 0
            return float(np.sum(deriv[ok] ** 2 / n0[ok]))

        i0 = info(mu0, 1.0 if mu0 + 2e-3 * (hi - lo) <= hi else -1.0)
        i1 = info(mu1, -1.0 if mu1 - 2e-3 * (hi - lo) >= lo else 1.0)
    ratio = i0 / i1 if i1 > 0 else 0.0
    return {
        "parameter": par,
        "null": mu0,
        "reference": mu1,
        "info_null": i0,
        "info_reference": i1,
        "ratio": ratio,
        "linear": bool(i1 > 0 and ratio >= FISHER_RATIO_MIN),
    }


def _with_poi(model: ModelLike, par: str) -> ModelLike:
    if isinstance(model, pyhf.pdf.Model):
        return pyhf.Model(model.spec, poi_name=par, validate=False)
    return model.with_poi(par)


_BAND = (0.02275, 0.15866, 0.5, 0.84134, 0.97725)  # -2, -1, 0, +1, +2 sigma


def _best(fit: Any, n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item the best of ``k`` starts stored start-major: (twice_nll, x, converged)."""
    nll = np.where(fit.converged, fit.twice_nll, np.inf).reshape(k, n)
    j = np.argmin(nll, axis=0)
    cols = np.arange(n)
    x = fit.x.reshape(k, n, -1)[j, cols]
    conv = fit.converged.reshape(k, n)[j, cols]
    raw = fit.twice_nll.reshape(k, n)[j, cols]
    return raw, x, conv


class _ToyRunner:
    """Fits of observed data and toys for the q~mu test statistic of one parameter."""

    def __init__(self, model: ModelLike, i: int, x0: np.ndarray, mask: np.ndarray, data: np.ndarray) -> None:
        from .. import engine

        self.lik = engine.likelihood(model)
        self.pm = _pyhf_model(model, "numpy")
        self.i = i
        self.x0 = x0
        self.mask = mask
        self.data = data
        self.cond_mask = mask.copy()
        self.cond_mask[i] = True

    def fits(self, data: np.ndarray, starts: list[np.ndarray], mu: float | None) -> tuple[np.ndarray, ...]:
        """Best of several starts per dataset; ``mu`` None: POI free, else fixed at ``mu``."""
        from .. import engine

        n = data.shape[0]
        init = np.concatenate([np.broadcast_to(s, (n, s.shape[-1])) for s in starts]).copy()
        if mu is not None:
            init[:, self.i] = mu
        fit = engine.minimize_batch(
            self.lik,
            data=np.tile(data, (len(starts), 1)),
            init=init,
            fixed=self.cond_mask if mu is not None else self.mask,
        )
        return _best(fit, n, len(starts))

    def toys(self, pars: np.ndarray, n: int, seed: int) -> np.ndarray:
        """``n`` pseudo-datasets (main bins and auxdata) generated at ``pars`` (seeded)."""
        # pyhf's numpy backend samples from numpy's global generator: seed it, then restore it
        state = np.random.get_state()  # noqa: NPY002
        try:
            np.random.seed(seed)  # noqa: NPY002
            with pyhf_backend("numpy"):
                pdf = self.pm.make_pdf(pyhf.tensorlib.astensor(pars))
                out = np.asarray(pdf.sample((n,)), dtype=float)
        finally:
            np.random.set_state(state)  # noqa: NPY002
        return out


def _qtilde(nll_c: np.ndarray, nll_u: np.ndarray, mu_hat: np.ndarray, mu: float) -> np.ndarray:
    q = np.clip(nll_c - np.minimum(nll_u, nll_c), 0.0, None)
    return np.where(mu_hat <= mu, q, 0.0)


def _toy_limit(
    model: ModelLike,
    par: str,
    grid: np.ndarray,
    x0: np.ndarray,
    mask: np.ndarray,
    d: np.ndarray,
    cl: float,
    n_toys: int,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    layout = layout_of(model)
    i = layout.index(par)
    null = float(layout.bounds[i][0])
    run = _ToyRunner(model, i, x0, mask, d)
    alpha = 1.0 - cl
    bar = progress.bar(grid.size + 1, f"toy CLs on {par} ({n_toys} toys per hypothesis)", unit="point")
    obs = d[None, :]
    # observed data: unconditional fit from the start and from each tested value
    starts = [x0] + [np.where(np.arange(x0.size) == i, m, x0) for m in grid]
    nll_u_obs, xu_obs, _ = run.fits(obs, starts, None)
    fail = 0

    def cond_obs(mu: float) -> tuple[float, np.ndarray]:
        nll, x, _ = run.fits(obs, [x0, xu_obs[0]], mu)
        return float(nll[0]), x[0]

    # background-only toys at the conditional fit of the null value
    _, x_null = cond_obs(null)
    ss = np.random.SeedSequence(seed)
    seeds = [int(s.generate_state(1)[0]) for s in ss.spawn(grid.size + 1)]
    tb = run.toys(x_null, n_toys, seeds[0])
    nll_u_b, xu_b, cu_b = run.fits(tb, [x_null, xu_obs[0]], None)
    bar.advance()
    cls_obs = np.full(grid.size, np.nan)
    cls_err = np.full(grid.size, np.nan)
    cls_exp = np.full((5, grid.size), np.nan)
    q_obs_all = np.full(grid.size, np.nan)
    q_thr = np.full(grid.size, np.nan)
    for k, mu in enumerate(grid):
        nll_c_obs, x_mu = cond_obs(float(mu))
        q_obs = float(_qtilde(np.array([nll_c_obs]), nll_u_obs, xu_obs[:, i], float(mu))[0])
        q_obs_all[k] = q_obs
        # signal-plus-background toys at the conditional fit of mu
        ts = run.toys(x_mu, n_toys, seeds[k + 1])
        nll_u_s, xu_s, cu_s = run.fits(ts, [x_mu, xu_obs[0]], None)
        nll_c_s, _, cc_s = run.fits(ts, [x_mu], float(mu))
        q_s = _qtilde(nll_c_s, nll_u_s, xu_s[:, i], float(mu))[cu_s & cc_s]
        nll_c_b, _, cc_b = run.fits(tb, [np.where(np.arange(x0.size) == i, mu, x_null), x_mu], float(mu))
        q_b = _qtilde(nll_c_b, nll_u_b, xu_b[:, i], float(mu))[cu_b & cc_b]
        fail += int((~(cu_s & cc_s)).sum() + (~(cu_b & cc_b)).sum())
        if q_s.size == 0 or q_b.size == 0:
            bar.advance()
            continue
        qs = np.sort(q_s)
        qb = np.sort(q_b)

        def tail(sorted_q: np.ndarray, q: Any) -> Any:
            # fraction of toys with a test statistic at least q (a small tolerance for ties at 0)
            return 1.0 - np.searchsorted(sorted_q, np.asarray(q) - 1e-9, side="left") / sorted_q.size

        p_sb = float(tail(qs, q_obs))
        p_b = float(tail(qb, q_obs))
        cls_obs[k] = float(p_sb / p_b) if p_b > 0 else 1.0
        err_sb = math.sqrt(max(p_sb * (1 - p_sb), 1.0 / qs.size) / qs.size)
        err_b = math.sqrt(max(p_b * (1 - p_b), 1.0 / qb.size) / qb.size)
        cls_err[k] = float(cls_obs[k] * math.hypot(err_sb / max(p_sb, 1e-12), err_b / max(p_b, 1e-12)))
        # expected: the CLs each background-only toy would report, at the band quantiles
        cls_b = tail(qs, qb) / np.maximum(tail(qb, qb), 1e-12)
        cls_exp[:, k] = np.quantile(np.minimum(cls_b, 1.0), _BAND)
        # CLs(q) steps down just above each toy value: the threshold is the smallest toy value
        # such that any larger q gives CLs <= alpha
        cand = np.unique(np.concatenate([qs, qb]))
        cls_c = tail(qs, cand + 2e-9) / np.maximum(tail(qb, cand + 2e-9), 1e-12)
        hit = np.flatnonzero(cls_c <= alpha)
        q_thr[k] = float(cand[hit[0]]) if hit.size else math.nan
        bar.advance()
    bar.close()
    observed = crossing(grid, cls_obs, alpha)
    expected = [crossing(grid, cls_exp[j], alpha) for j in range(5)]
    return {
        "observed": observed,
        "expected": expected,
        "cls_observed": cls_obs,
        "cls_expected": cls_exp,
        "cls_observed_err": cls_err,
        "failed_fits": fail,
        "q_observed": q_obs_all,
        "q_threshold": q_thr,
    }


def upper_limit(
    model: ModelLike,
    par: str,
    *,
    scan: npt.ArrayLike | None = None,
    cl: float = 0.95,
    method: str = "auto",
    n_toys: int = 500,
    seed: int = 0,
    fixed: FixedValues | None = None,
    fix_groups: bool = False,
    backend: str = "numpy",
    data: npt.ArrayLike | None = None,
    progress: Progress | bool | None = None,
) -> LimitResult:
    """CLs upper limit on a parameter (others profiled), asymptotic where valid, else with toys.

    Parameters
    ----------
    model : ModelLike
        The likelihood.
    par : str
        Scalar parameter to limit; its lower bound is the null (no-signal) value
        and must be 0 for the asymptotic method.
    scan : sequence of float, optional
        Values to test (default: 41 points over the parameter's bounds for the
        asymptotic method, 12 for toys).
    cl : float
        Confidence level.
    method : {"auto", "asymptotic", "toys"}
        ``"auto"``: asymptotic when :func:`fisher_information` says the parameter
        enters linearly, else toys.
    n_toys : int
        Toys per hypothesis (background-only, and signal-plus-background at each
        tested value).
    seed : int
        Seed of the toys.
    fixed, fix_groups
        As for :func:`~redist.infer.fit`.
    backend : {"numpy", "jax", "auto"}
        pyhf backend for the asymptotic method (toys always use the compiled engine).
    data : array_like, optional
        Observed + auxiliary data (default: the model's data).
    progress : Progress, bool or None
        Progress reporting (a bar over the tested values for toys).

    Returns
    -------
    LimitResult
        ``in_range`` false (and ``observed`` NaN) when the observed CLs does not
        cross ``1 - cl`` inside the tested values.

    Raises
    ------
    AsymptoticsInvalid
        ``method="asymptotic"`` on a parameter whose Asimov Fisher information
        vanishes at its null value.

    Examples
    --------
    >>> import pyhf
    >>> m = pyhf.simplemodels.uncorrelated_background([12.0, 11.0], [50.0, 52.0], [3.0, 7.0])
    >>> data = [51.0, 48.0, *m.config.auxdata]
    >>> res = upper_limit(m, "mu", scan=[0.5, 1.0, 1.5, 2.0], data=data)  # auto: linear, asymptotic
    >>> res.method, res.in_range, round(res.observed, 2)
    ('asymptotic', True, 1.03)
    """
    if method not in ("auto", "asymptotic", "toys"):
        msg = f"unknown limit method {method!r}; use 'auto', 'asymptotic' or 'toys'"
        raise ModelSpecError(msg)
    layout = layout_of(model)
    if layout.check(par).size != 1:
        msg = f"upper_limit needs a scalar model parameter, got {par!r}"
        raise ModelSpecError(msg)
    i = layout.index(par)
    lo, hi = (float(v) for v in layout.bounds[i])
    x0, mask = start_and_mask(layout, None, fixed, fix_groups)
    if mask[i]:
        msg = f"parameter {par!r} is fixed; it cannot be limited"
        raise ModelSpecError(msg)
    d = resolve_data(objective(model, "numpy"), data)  # numpy: no compilation for reading the data
    user_grid = scan is not None
    grid = None if scan is None else np.asarray(scan, dtype=float)
    ref = float(np.max(grid)) if grid is not None else hi
    fisher = fisher_information(model, par, reference=ref, fixed=fixed)
    chosen = method
    if method == "auto":
        chosen = "asymptotic" if fisher["linear"] else "toys"
    if chosen == "asymptotic" and not fisher["linear"]:
        msg = (
            f"asymptotic CLs is invalid for {par!r}: its Asimov Fisher information at the null value "
            f"{fisher['null']:g} is {fisher['info_null']:.3g} ({fisher['ratio']:.2g} of that at {ref:g}), "
            "so the expected yields are not linear in it (e.g. a rate quadratic in a Wilson coefficient); "
            "use method='toys' (redist limit --method toys) or limit a parameter that enters linearly "
            "(a signal strength, a branching ratio, or a reparametrisation such as cX**2)"
        )
        raise AsymptoticsInvalid(msg)
    rep = resolve(progress)
    if chosen == "toys":
        if grid is None:
            grid = np.linspace(lo, hi, 13)[1:]
        with rep.phase("toy CLs"):
            out = _toy_limit(model, par, grid, x0, mask, d, cl, int(n_toys), seed, rep)
        observed = out["observed"]
        return LimitResult(
            parameter=par,
            cl=cl,
            observed=observed,
            expected=out["expected"],
            scan=grid,
            cls_observed=out["cls_observed"],
            cls_expected=out["cls_expected"],
            method="toys",
            in_range=bool(math.isfinite(observed)),
            n_toys=int(n_toys),
            cls_observed_err=out["cls_observed_err"],
            fisher=fisher,
            failed_fits=out["failed_fits"],
            q_observed=out["q_observed"],
            q_threshold=out["q_threshold"],
        )
    if lo != 0.0:
        msg = f"parameter {par!r} has lower bound {lo}; CLs with q~mu needs a lower bound of 0"
        raise ModelSpecError(msg)
    del user_grid
    be = resolve_backend(backend)
    limited = _with_poi(model, par)
    with pyhf_backend(be), rep.phase("asymptotic CLs"):
        pm = limited if isinstance(limited, pyhf.pdf.Model) else limited.model
        if grid is None:
            grid = np.linspace(lo, hi, 41)[1:]
        _, _, (tested, results) = pyhf.infer.intervals.upper_limits.upper_limit(
            pyhf.tensorlib.astensor(d),
            pm,
            grid,
            level=1.0 - cl,
            return_results=True,
            test_stat="qtilde",
            init_pars=x0.tolist(),
            fixed_params=mask.tolist(),
        )
    tested = np.asarray(tested, dtype=float)
    cls_obs = np.array([float(r[0]) for r in results])
    cls_exp = np.array([[float(v) for v in r[1]] for r in results]).T
    observed = crossing(tested, cls_obs, 1.0 - cl)
    expected = [crossing(tested, row, 1.0 - cl) for row in cls_exp]  # pyhf's rows: -2 sigma ... +2 sigma
    return LimitResult(
        parameter=par,
        cl=cl,
        observed=observed,
        expected=[float(e) for e in expected],
        scan=tested,
        cls_observed=cls_obs,
        cls_expected=cls_exp,
        method="asymptotic",
        in_range=bool(math.isfinite(observed)),
        cls_observed_err=np.zeros(tested.size),
        fisher=fisher,
    )
