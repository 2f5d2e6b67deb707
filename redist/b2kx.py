"""B+ -> K+ X (X invisible) from the Belle II B+ -> K+ nu nu likelihood: model and study.

:func:`b2kx_model` reweights the signal samples of the published Belle II
likelihood (the same samples, densities, pruning and q² cutoff as
:func:`redist.demo.belle2_model`) from the SM to "SM + X" with the theory
``bkx`` (:class:`theories.bkx.BKX`): ``m_X`` and ``width_X`` are non-linear
theory parameters (exact gradients), ``BR_X`` (units of 1e-6, BR × P(X
invisible)) enters linearly. :func:`run` is the study of ``redist demo --study
b2kx`` (profile in m_X, q0 and local/global significance, CLs limits vs m_X,
posterior and Bayes factor); see ``docs/b2kx.md``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .demo import BELLE2_CUTOFF, BELLE2_PRUNE, belle2_data
from .modifier import Reweighting
from .reinterpret import ReinterpretedModel, reinterpret
from .theory import get_theory

__all__ = ["BR_X_BOUNDS", "LIMIT_WIDTHS", "b2kx_model", "run"]


def __dir__() -> list[str]:
    return list(__all__)


#: fit range of BR_X (units of 1e-6)
BR_X_BOUNDS = (0.0, 100.0)


def b2kx_model(
    *,
    m_X: float | None = None,
    width_X: float | None = 0.0,
    m_range: tuple[float, float] | None = None,
    width_range: tuple[float, float] = (0.0, 0.5),
    nuisance_groups: bool = True,
    br_bounds: tuple[float, float] = BR_X_BOUNDS,
) -> ReinterpretedModel:
    """The Belle II likelihood reinterpreted as SM + B+ -> K+ X.

    Parameters
    ----------
    m_X : float, optional
        Fix the mass of X (GeV); ``None`` (default): ``m_X`` is a fit parameter.
    width_X : float or None
        Fix the width of X (GeV; default 0: narrow); ``None``: a fit parameter.
    m_range : (float, float), optional
        Fit range of a free ``m_X`` (default: 0 to the top of the reweighted q² range,
        sqrt(22.885) GeV; above it a narrow X would land outside the cutoff).
    width_range : (float, float)
        Fit range of a free ``width_X``.
    nuisance_groups : bool
        Float the BSZ2015 form-factor eigen-nuisances of the SM component.
    br_bounds : (float, float)
        Fit range of ``BR_X``.

    Returns
    -------
    ReinterpretedModel
        Theory parameters ``BR_X`` and, when free, ``m_X`` / ``width_X``.

    Examples
    --------
    >>> rm = b2kx_model()
    >>> [p for p in rm.layout.names if p in ("m_X", "width_X", "BR_X")]
    ['BR_X', 'm_X']
    """
    workspace, densities, edges = belle2_data()
    theory = get_theory("bkx", process="B+->K+X")
    m_hi = min(theory.kinematics[0].high, BELLE2_CUTOFF[0][1]) ** 0.5
    parameters = ["BR_X"]
    values: dict[str, float] = {}
    bounds: dict[str, tuple[float, float]] = {"BR_X": br_bounds}
    inits: dict[str, float] = {}
    if m_X is None:
        parameters.append("m_X")
        bounds["m_X"] = m_range if m_range is not None else (0.0, m_hi)
        inits["m_X"] = 0.5 * (bounds["m_X"][0] + bounds["m_X"][1])
    else:
        values["m_X"] = float(m_X)
    if width_X is None:
        parameters.append("width_X")
        bounds["width_X"] = width_range
        inits["width_X"] = 0.5 * (width_range[0] + width_range[1])
    else:
        values["width_X"] = float(width_X)
    rw = Reweighting(
        name="bkx",
        theory=theory,
        z_edges=[edges],
        parameters=tuple(parameters),
        values=values,
        bounds=bounds,
        inits=inits,
        nuisance_groups=nuisance_groups,
        cutoff=list(BELLE2_CUTOFF),
    )
    return reinterpret(workspace, densities, rw, prune=BELLE2_PRUNE)


# ============================================================================ the study
#: widths of the limit scan (GeV): a narrow X and the wide benchmark of arXiv:2602.09666
LIMIT_WIDTHS = (0.0, 0.1)
#: CLs level
CLS_ALPHA = 0.05
#: chunk of the batched minimiser (one compiled executable for every batch of the study)
#: uniform m_X prior range (GeV) of the NUTS cross-check (see ``run``)
NUTS_MASS_RANGE = (1.5, 3.0)
_CHUNK = 16
_MAXITER = 40


def _phi(x: Any) -> Any:
    from scipy.stats import norm

    return norm.cdf(x)


def _phi_inv(p: Any) -> Any:
    from scipy.stats import norm

    return norm.ppf(p)


def _cls_qtilde(qt: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Asymptotic CLs of the q~_mu test statistic (Cowan, Cranmer, Gross, Vitells 2011, eqs. 65-66)."""
    qt = np.clip(qt, 0.0, None)
    qa = (mu / sigma) ** 2
    sq = np.sqrt(qt)
    low = qt <= qa
    with np.errstate(divide="ignore", invalid="ignore"):
        big_sb = (qt + qa) / (2 * np.sqrt(qa))
        big_b = (qt - qa) / (2 * np.sqrt(qa))
    clsb = np.where(low, 1 - _phi(sq), 1 - _phi(big_sb))
    clb = np.where(low, 1 - _phi(sq - np.sqrt(qa)), 1 - _phi(big_b))
    out: np.ndarray = clsb / np.maximum(clb, 1e-300)
    return out


def _wald_limit(mu_hat: np.ndarray, sigma: np.ndarray, alpha: float = CLS_ALPHA) -> np.ndarray:
    """Observed CLs limit with q~_mu in the Wald approximation (q = (mu - mu_hat)^2 / sigma^2)."""
    from scipy.optimize import brentq

    out = np.full(len(mu_hat), np.nan)
    for i, (mh, s) in enumerate(zip(mu_hat, sigma)):
        mh = max(float(mh), 0.0)
        if not (math.isfinite(s) and 0 < s < 1e6):
            continue  # no sensitivity (an X outside the populated q2 range)

        def f(mu: float, mh: float = mh, s: float = float(s)) -> float:
            qt = (mu - mh) ** 2 / s**2 if mu > mh else 0.0
            return float(_cls_qtilde(np.array([qt]), np.array([mu]), np.array([s]))[0]) - alpha

        out[i] = brentq(f, mh + 1e-9 * s, mh + 20 * s)
    return out


def _limit_from_point(q_at: np.ndarray, mu_at: np.ndarray, sigma: np.ndarray,
                      alpha: float = CLS_ALPHA) -> np.ndarray:  # fmt: skip
    """Observed limit from an exact q~ at one mu: sqrt(q~) continued linearly with slope 1/sigma."""
    from scipy.optimize import brentq

    out = np.full(len(q_at), np.nan)
    for i, (q, m0, s) in enumerate(zip(q_at, mu_at, sigma)):
        if not (math.isfinite(m0) and math.isfinite(s) and 0 < s < 1e6):
            continue
        r0 = math.sqrt(max(float(q), 0.0))

        def f(mu: float, r0: float = r0, m0: float = float(m0), s: float = float(s)) -> float:
            r = max(r0 + (mu - m0) / s, 0.0)
            return float(_cls_qtilde(np.array([r * r]), np.array([mu]), np.array([s]))[0]) - alpha

        # the crossing CLs = alpha nearest to m0 (far below m0 the linear continuation of
        # sqrt(q~) is meaningless, and CLs there is not monotonic)
        grid = m0 + s * np.linspace(-min(5.0, 0.95 * m0 / s), 20.0, 501)
        vals = np.array([f(g) for g in grid])
        cross = np.flatnonzero((vals[:-1] > 0) & (vals[1:] <= 0))
        if len(cross):
            j = int(cross[np.argmin(np.abs(grid[cross] - m0))])
            out[i] = brentq(f, grid[j], grid[j + 1])
    return out


class _Study:
    """The batched fits of the study on one compiled likelihood (width_X, m_X, BR_X in the vector)."""

    def __init__(self, rm: ReinterpretedModel, rep: Any) -> None:
        from . import engine

        self.rm, self.rep = rm, rep
        self.lay = rm.layout
        self.lik = engine.likelihood(rm)
        self.data = np.asarray(rm.data, dtype=float)
        self.i_m, self.i_w, self.i_br = (self.lay.index(n) for n in ("m_X", "width_X", "BR_X"))
        self.base_fixed = np.asarray(self.lay.fixed, dtype=bool).copy()
        self.nfits = 0

    def fits(self, init: np.ndarray, fixed: np.ndarray, data: np.ndarray, what: str) -> Any:
        """Batched fits in pieces (progress per piece); every call uses the same executable."""
        from .engine import minimize_batch

        n = len(init)
        if n < _CHUNK:  # one executable for the whole study: never a batch below the chunk size
            pad = _CHUNK - n
            init = np.concatenate([init, np.repeat(init[-1:], pad, axis=0)])
            fixed = np.concatenate([fixed, np.repeat(fixed[-1:], pad, axis=0)])
            if data.ndim == 2:
                data = np.concatenate([data, np.repeat(data[-1:], pad, axis=0)])
            x, t, c = self.fits(init, fixed, data, what)
            self.nfits -= pad
            return x[:n], t[:n], c[:n]
        piece = 8 * _CHUNK
        outs = []
        bar = self.rep.bar(n, what, unit="fit")
        try:
            starts = list(range(0, n, piece))
            if len(starts) > 1 and n - starts[-1] < _CHUNK:  # keep every piece >= one chunk
                starts.pop()
            for k, s in enumerate(starts):
                e = starts[k + 1] if k + 1 < len(starts) else n
                d = data if data.ndim == 1 else data[s:e]
                outs.append(minimize_batch(self.lik, data=d, init=init[s:e], fixed=fixed[s:e],
                                           chunk=_CHUNK, maxiter=_MAXITER, batch=e - s))  # fmt: skip
                bar.advance(e - s)
        finally:
            bar.close()
        self.nfits += n
        x = np.concatenate([o.x for o in outs])
        t = np.concatenate([o.twice_nll for o in outs])
        conv = np.concatenate([o.converged for o in outs])
        return x, t, conv

    def rows(
        self, start: np.ndarray, m: np.ndarray, w: np.ndarray, br: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Initial vectors and fixed masks: m_X, width_X fixed; BR_X fixed where ``br`` is given."""
        n = len(m)
        init = np.tile(start, (n, 1)) if start.ndim == 1 else start.copy()
        init[:, self.i_m], init[:, self.i_w] = m, w
        fixed = np.tile(self.base_fixed, (n, 1))
        fixed[:, self.i_m] = fixed[:, self.i_w] = True
        if br is None:
            init[:, self.i_br] = np.maximum(init[:, self.i_br], 1.0)
        else:
            init[:, self.i_br] = br
            fixed[:, self.i_br] = True
        return init, fixed


def _hpd(grid: np.ndarray, dens: np.ndarray, cl: float = 0.6827) -> list[float]:
    """Highest-density interval of a 1D density on a grid (the smallest set holding ``cl``)."""
    w = dens * np.gradient(grid)
    order = np.argsort(dens)[::-1]
    keep = order[: int(np.searchsorted(np.cumsum(w[order]) / w.sum(), cl)) + 1]
    return [float(grid[keep].min()), float(grid[keep].max())]


def _z(p: float) -> float:
    return float(_phi_inv(1.0 - p)) if p > 0 else math.inf


def run(
    output: str | Path = "redist-b2kx",
    *,
    n_masses: int = 100,
    n_toys: int = 250,
    n_toy_masses: int = 10,
    widths: tuple[float, ...] = LIMIT_WIDTHS,
    br_prior: tuple[float, float] = (0.0, 50.0),
    seed: int = 1,
    nuts: bool = True,
    nuts_width: float = 0.1,
    nuts_samples: int = 500,
    nuts_mass_range: tuple[float, float] = NUTS_MASS_RANGE,
    plots: bool = True,
    results_file: str | Path | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """The B+ -> K+ X study on the Belle II likelihood; writes ``results.json`` and figures.

    Every fit is a batched Newton fit of the compiled likelihood
    (:func:`redist.engine.minimize_batch`) with all 230+ nuisance parameters
    profiled; ``m_X`` and ``width_X`` are fixed per row.

    Parameters
    ----------
    output : str or Path
        Output directory (created).
    n_masses : int
        Mass points of the profile and of the limit scans (per width).
    n_toys : int
        Background-only (SM) toys for the global significance.
    n_toy_masses : int
        Mass points of the profile of each toy (a subset of the scan grid).
    widths : tuple of float
        Widths of X (GeV) of the limit scans; the first is the headline (narrow).
    br_prior : (float, float)
        Uniform prior range of ``BR_X`` (1e-6) for the posterior and the Bayes factor.
    seed : int
        Seed of the toys and of the NUTS chains.
    nuts : bool
        Also sample the posterior in (m_X, BR_X) with NUTS (:func:`redist.infer.sample`,
        every nuisance sampled) as a cross-check of the grid posterior.
    nuts_width : float
        Width of X (GeV) of the NUTS posterior (a narrow X is flat in m_X inside a true-q²
        bin, where gradients carry no information).
    nuts_samples : int
        Draws per chain (4 chains, as many adaptation steps).
    nuts_mass_range : (float, float)
        Uniform prior range of ``m_X`` (GeV) of the NUTS cross-check. The full scan range
        has a plateau above m_X ≈ 3 GeV (about 3 % of the grid posterior) where the signal
        efficiency vanishes and ``BR_X`` is unconstrained; chains enter and leave it too
        rarely for R-hat ≤ 1.01 within the study's budget, so the cross-check samples the
        main region and states it.
    plots : bool
        Write the figures.
    results_file : str or Path, optional
        Default ``output/results.json``.
    progress : Progress or bool, optional
        Reporter (:mod:`redist.progress`).

    Returns
    -------
    dict
        The content of ``results.json``.
    """
    import time

    import pyhf

    from .io.atomic import atomic_write_text
    from .progress import resolve

    t_start = time.perf_counter()
    rep = resolve(progress)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    with rep.phase("build the SM + B+ -> K+ X model"):
        rm = b2kx_model(m_X=None, width_X=None)
        st = _Study(rm, rep)
    lay = st.lay
    m_top = float(lay.bounds[st.i_m][1])
    masses = np.linspace(0.1, min(4.75, m_top), n_masses)
    ib = st.i_br

    # -- the SM (BR_X = 0) fit ----------------------------------------------------------
    with rep.phase("compile the batched minimiser and fit the SM"):
        init, fixed = st.rows(np.asarray(lay.inits, dtype=float), masses[:1], np.zeros(1), np.zeros(1))
        x_sm, t_sm, _ = st.fits(init, fixed, st.data, "SM fit")
    x_sm, t_sm = x_sm[0], float(t_sm[0])

    # -- profiles in m_X (BR_X and every nuisance profiled), per width --------------------
    scans: dict[float, dict[str, Any]] = {}
    for w in widths:
        init, fixed = st.rows(x_sm, masses, np.full(n_masses, w), None)
        x, t, c = st.fits(init, fixed, st.data, f"profile in m_X (width {w:g} GeV)")
        scans[w] = {"x": x, "t": t, "conv": c, "q0": np.clip(t_sm - t, 0.0, None), "br": x[:, ib]}
    narrow = widths[0]
    prof = scans[narrow]
    k_best = int(np.argmax(prof["q0"]))
    # refine with m_X free from the best grid point (narrow: flat inside a true-q2 bin)
    best: dict[float, dict[str, Any]] = {}
    for w in widths:
        k = int(np.argmax(scans[w]["q0"]))
        xb, tb, cb = scans[w]["x"][k : k + 1], scans[w]["t"][k : k + 1], scans[w]["conv"][k : k + 1]
        if w > 0:  # a narrow X is flat in m_X inside a true-q2 bin: the grid point is the best fit
            init, fixed = st.rows(scans[w]["x"][k], masses[k : k + 1], np.full(1, w), None)
            fixed[:, st.i_m] = False
            xf, tf, cf = st.fits(init, fixed, st.data, f"best fit, m_X free (width {w:g} GeV)")
            if tf[0] <= tb[0] and cf[0]:  # keep the grid point unless the free fit improves on it
                xb, tb, cb = xf, tf, cf
        q0 = max(t_sm - float(tb[0]), 0.0)
        best[w] = {"m_X": float(xb[0, st.i_m]), "BR_X": float(xb[0, ib]), "q0": q0,
                   "z_local": math.sqrt(q0), "converged": bool(cb[0])}  # fmt: skip

    # -- asymptotic CLs limits ----------------------------------------------------------
    asimov = np.asarray(rm.model.expected_data(x_sm), dtype=float)
    t_asimov = st.lik.value(x_sm, asimov)
    limits: list[dict[str, Any]] = []
    checks: dict[str, Any] = {}
    mu0 = 10.0
    br_hi = float(lay.bounds[ib][1])
    for w in widths:
        ww = np.full(n_masses, w)
        init, fixed = st.rows(x_sm, masses, ww, np.full(n_masses, mu0))
        _, ta0, _ = st.fits(init, fixed, asimov, f"Asimov fits at BR_X = {mu0:g} (width {w:g} GeV)")
        sigma0 = mu0 / np.sqrt(np.clip(ta0 - t_asimov, 1e-300, None))
        mu_med = sigma0 * float(_phi_inv(1 - CLS_ALPHA * 0.5))
        init, fixed = st.rows(x_sm, masses, ww, np.minimum(mu_med, br_hi))
        _, ta1, _ = st.fits(init, fixed, asimov, f"Asimov fits at the median limit (width {w:g} GeV)")
        sigma = np.minimum(mu_med, br_hi) / np.sqrt(np.clip(ta1 - t_asimov, 1e-300, None))
        sigma[sigma > br_hi] = np.nan  # no sensitivity inside the BR_X range: no limit
        bands = {n: sigma * (float(_phi_inv(1 - CLS_ALPHA * _phi(n))) + n) for n in (-2, -1, 0, 1, 2)}
        mu_hat = scans[w]["br"]
        mu_w = _wald_limit(mu_hat, sigma)
        mu_fit = np.nan_to_num(np.minimum(mu_w, br_hi), nan=br_hi)
        init, fixed = st.rows(scans[w]["x"], masses, ww, mu_fit)
        _, tc, cc = st.fits(init, fixed, st.data, f"conditional fits at the limit (width {w:g} GeV)")
        q_at = np.clip(tc - scans[w]["t"], 0.0, None)
        obs = _limit_from_point(q_at, mu_fit, sigma)
        obs[obs > br_hi] = np.nan
        scans[w].update(sigma=sigma, obs=obs, q_at=q_at, mu_w=mu_fit, t_at=tc, bands=bands)
        for i, m in enumerate(masses):
            limits.append({
                "m_X": float(m), "width_X": float(w), "observed": float(obs[i]),
                "expected": float(bands[0][i]),
                "expected_band": [float(bands[n][i]) for n in (-2, -1, 0, 1, 2)],
            })  # fmt: skip
        good = np.isfinite(sigma)
        checks[f"width_{w:g}"] = {
            "fisher_information_BR_X_at_0_min": float(np.min(1.0 / sigma[good] ** 2)),
            "fisher_information_BR_X_at_0_min_m_X": float(masses[good][np.argmin(1.0 / sigma[good] ** 2)]),
            "mass_points_with_limit": int(np.sum(np.isfinite(obs))),
            "mass_points_without_sensitivity": [float(m) for m in masses[~good]],
            "sigma_A_ratio_mu0_vs_median_max_deviation": float(np.nanmax(np.abs(sigma0 / sigma - 1))),
            "observed_limit_from_one_point_vs_wald_max_rel": float(np.nanmax(np.abs(obs / mu_w - 1))),
            "conditional_fits_converged": bool(np.all(cc)),
        }
    # BR_X enters the yields linearly: second differences vanish
    p1 = np.array(scans[narrow]["x"][k_best])
    lin = []
    for br in (0.0, 10.0, 20.0):
        p1[ib] = br
        lin.append(np.asarray(rm.model.expected_actualdata(p1), dtype=float))
    second = float(np.max(np.abs(lin[2] - 2 * lin[1] + lin[0])) / np.max(np.abs(lin[1] - lin[0])))
    checks["yields_linear_in_BR_X_second_difference_rel"] = second

    # -- global significance: SM toys on the batched fits --------------------------------
    sub = np.unique(np.round(np.linspace(0, n_masses - 1, n_toy_masses)).astype(int))
    q0_obs_sub = float(np.max(prof["q0"][sub]))
    with rep.phase(f"generate {n_toys} SM toys"), pyhf_numpy():
        np.random.seed(seed)  # noqa: NPY002 - pyhf's numpy sampler draws from the global generator
        toys = np.asarray(rm.model.make_pdf(pyhf.tensorlib.astensor(x_sm)).sample((n_toys,)), dtype=float)
    init, fixed = st.rows(x_sm, np.full(n_toys, masses[0]), np.full(n_toys, narrow), np.zeros(n_toys))
    x0t, t0t, c0t = st.fits(init, fixed, toys, "SM fits of the toys")
    rows_m = np.tile(masses[sub], n_toys)
    init, fixed = st.rows(np.repeat(x0t, len(sub), axis=0), rows_m, np.full(len(rows_m), narrow), None)
    _, tpt, cpt = st.fits(init, fixed, np.repeat(toys, len(sub), axis=0), "profiles of the toys")
    q0_toys = np.clip(np.repeat(t0t, len(sub)) - tpt, 0.0, None).reshape(n_toys, len(sub))
    ok = c0t & cpt.reshape(n_toys, len(sub)).all(axis=1)
    q0max = q0_toys[ok].max(axis=1)
    n_ok = int(ok.sum())
    k_exc = int(np.sum(q0max >= q0_obs_sub))
    p_global = k_exc / n_ok
    p_err = math.sqrt(max(p_global * (1 - p_global), 1.0 / n_ok) / n_ok)
    from scipy.stats import chi2

    def p_local(q: float) -> float:
        return 0.5 * float(chi2.sf(q, 1))

    c0 = 0.5
    ups = np.sum((q0_toys[ok][:, :-1] <= c0) & (q0_toys[ok][:, 1:] > c0), axis=1)
    n_up, n_up_err = float(ups.mean()), float(ups.std(ddof=1) / math.sqrt(n_ok))
    p_gv = p_local(q0_obs_sub) + n_up * math.exp(-(q0_obs_sub - c0) / 2)
    q0f = prof["q0"]
    n_up_obs = int(np.sum((q0f[:-1] <= c0) & (q0f[1:] > c0)))
    glob: dict[str, Any] = {
        "n_toys": n_toys, "n_toys_converged": n_ok, "seed": seed,
        "toy_mass_points": [float(m) for m in masses[sub]],
        "q0_observed_on_toy_grid": q0_obs_sub,
        "n_toys_above": k_exc, "p_global": p_global, "p_global_mc_error": p_err,
        "z_global": _z(p_global) if k_exc else _z(1.0 / n_ok),
        "z_global_kind": "toys" if k_exc else "lower bound: no toy reached q0_obs (p_global < 1/n_toys)",
        "z_global_mc_range": [_z(min(p_global + p_err, 1.0)), _z(max(p_global - p_err, 0.0))],
        "p_local": p_local(q0_obs_sub),
        "gross_vitells": {"c0": c0, "mean_upcrossings_toys": n_up, "mean_upcrossings_error": n_up_err,
                          "p_global": p_gv, "z_global": _z(p_gv),
                          "upcrossings_observed_curve": n_up_obs,
                          "p_global_observed_curve":
                              p_local(q0_obs_sub) + n_up_obs * math.exp(-(q0_obs_sub - c0) / 2)},
    }  # fmt: skip
    glob["gross_vitells"]["z_global_observed_curve"] = _z(glob["gross_vitells"]["p_global_observed_curve"])

    # -- posterior and Bayes factor (uniform priors; nuisances profiled) ------------------
    post = _posterior(masses, scans[narrow], t_sm, br_prior)
    if nuts:
        with rep.phase(f"NUTS posterior in (m_X, BR_X), width {nuts_width:g} GeV"):
            post["posterior_nuts"] = _nuts(nuts_mass_range, br_prior, nuts_width, nuts_samples, seed)

    results: dict[str, Any] = {
        "kind": "b2kx",
        "model": "Belle II B+->K+nunu (PRD 109, 112006) reweighted to SM + B+->K+X (theory bkx, "
                 "BSZ2015 GKvD2018 form factors as nuisances), q2 cutoff [0, 22.885] GeV^2",
        "units": {"m_X": "GeV", "width_X": "GeV", "BR_X": "1e-6 (BR(B+->K+X) x P(X invisible))"},
        "best": {"m_X": best[narrow]["m_X"], "BR_X": best[narrow]["BR_X"], "width_X": narrow},
        "best_by_width": {f"{w:g}": best[w] for w in widths},
        "q0": best[narrow]["q0"],
        "z_local": best[narrow]["z_local"],
        "z_global": glob["z_global"],
        "global_significance": glob,
        "twice_nll_sm": t_sm,
        "profile": {f"{w:g}": {"m_X": masses.tolist(), "q0": scans[w]["q0"].tolist(),
                               "BR_X_hat": scans[w]["br"].tolist(),
                               "converged": scans[w]["conv"].tolist()} for w in widths},
        "limits": limits,
        "limits_method": (
            "95% CLs with q~_mu, asymptotic formulae (Cowan et al. 2011): sigma_A from Asimov fits "
            "(SM Asimov data at the SM fit, BR_X fixed at the median expected limit); observed: exact "
            "q~_mu from one conditional fit at the Wald limit, continued with slope 1/sigma_A"
        ),
        "asymptotics_check": checks,
        **post,
        "n_fits": st.nfits,
        "wall_time_s": None,
    }  # fmt: skip
    if plots:
        with rep.phase("figures"):
            results["figures"] = _figures(out, masses, scans, widths, post, best[narrow], glob)
    results["wall_time_s"] = time.perf_counter() - t_start
    target = Path(results_file) if results_file is not None else out / "results.json"
    atomic_write_text(target, json.dumps(_clean(results), indent=1, allow_nan=False) + "\n")
    return results


def _nuts(
    mass_range: tuple[float, float], br_prior: tuple[float, float], width: float, n: int, seed: int
) -> dict[str, Any]:
    """NUTS posterior of (m_X, BR_X) for a fixed width (the statistics issue's sampler)."""
    import inspect

    from .infer import Uniform, sample

    if "fix_nuisances" not in inspect.signature(sample).parameters:  # pragma: no cover
        return {"skipped": "redist.infer.sample has no NUTS with fix_nuisances in this version"}
    rm = b2kx_model(m_X=None, width_X=width)
    priors = {"m_X": Uniform(*mass_range), "BR_X": Uniform(*br_prior)}
    res = sample(rm, priors=priors, n_samples=n, n_burn=n, n_chains=4,
                 sampler="nuts", seed=seed, init={"m_X": 2.1, "BR_X": 8.0})  # fmt: skip
    keep = ("mode", "hpd68", "hpd95", "central68", "mean", "rhat", "ess_bulk", "ess_tail", "mcse")
    summ = {p: {k: v for k, v in res.summary[p].items() if not k.startswith("_") and
                any(k.startswith(q) for q in keep)} for p in ("m_X", "BR_X")}  # fmt: skip
    return {
        "width_X": width,
        "method": "NUTS (redist.infer.sample, blackjax), 4 chains, every nuisance sampled "
                  "(constraints as priors)",
        "priors": {"m_X": ["uniform", float(mass_range[0]), float(mass_range[1])],
                   "BR_X": ["uniform", float(br_prior[0]), float(br_prior[1])]},
        "prior_note": "m_X restricted to the main region: above ~3 GeV the posterior has a "
                      "plateau (BR_X unconstrained where the efficiency vanishes) that chains "
                      "cross too rarely for R-hat <= 1.01 in the study's budget",
        "n_draws": int(res.samples.shape[0]), "converged": res.converged, "wall_s": res.wall_s,
        "divergences": res.diagnostics.get("divergences"),
        **summ,
    }  # fmt: skip


def _clean(obj: Any) -> Any:
    """JSON-safe: non-finite floats become None (strings 'inf' for infinite significances)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def pyhf_numpy() -> Any:
    """The numpy backend of pyhf for the duration of a block."""
    from .infer._objective import pyhf_backend

    return pyhf_backend("numpy")


def _posterior(masses: np.ndarray, scan: dict[str, np.ndarray], t_sm: float,
               br_prior: tuple[float, float]) -> dict[str, Any]:  # fmt: skip
    """Posterior in (m_X, BR_X) and ln B(SM + X vs SM), nuisances profiled.

    Per mass, -2 ln L(BR_X) is the parabola through three exact batched fits
    (BR_X = 0, the best fit, the conditional fit at the limit); uniform priors in
    m_X (the scan range) and BR_X (``br_prior``).
    """
    br = np.linspace(br_prior[0], br_prior[1], 801)
    pts_x = np.stack([np.zeros_like(masses), scan["br"], scan["mu_w"]], axis=1)
    pts_t = np.stack([np.full_like(masses, t_sm), scan["t"], scan["t_at"]], axis=1)
    tt = np.empty((len(masses), len(br)))
    for i in range(len(masses)):
        x, t = pts_x[i], pts_t[i]
        scale = max(1.0, abs(x[2]))
        if min(abs(x[1] - x[0]), abs(x[2] - x[1])) < 1e-3 * scale:  # two distinct points only
            c = (t[2] - t[0]) / (x[2] - x[0]) ** 2  # parabola with its minimum at 0
            tt[i] = t[0] + c * br**2
        else:  # the parabola through the three points (Lagrange form)
            tt[i] = sum(
                t[a] * np.prod([(br - x[b]) / (x[a] - x[b]) for b in range(3) if b != a], axis=0)
                for a in range(3)
            )
    like = np.exp(-0.5 * (tt - t_sm))  # L / L_SM
    dm, dbr = masses[-1] - masses[0], br_prior[1] - br_prior[0]
    per_mass = np.trapezoid(like, br, axis=1) / dbr
    bf = float(np.trapezoid(per_mass, masses) / dm)
    bf_half = float(np.trapezoid(per_mass[::2], masses[::2]) / (masses[::2][-1] - masses[0]))
    alternatives = []
    for (m_lo, m_hi), br_hi in (((1.0, 3.5), br_prior[1]), ((masses[0], masses[-1]), 20.0),
                                ((1.0, 3.5), 20.0)):  # fmt: skip
        sel_m = (masses >= m_lo - 1e-12) & (masses <= m_hi + 1e-12)
        sel_b = br <= br_hi + 1e-12
        sub = like[np.ix_(sel_m, sel_b)]
        val = np.trapezoid(np.trapezoid(sub, br[sel_b], axis=1), masses[sel_m])
        vol = (masses[sel_m][-1] - masses[sel_m][0]) * (br[sel_b][-1] - br[sel_b][0])
        alternatives.append({"m_X": [float(m_lo), float(m_hi)], "BR_X": [float(br_prior[0]), float(br_hi)],
                             "ln_B": math.log(val / vol)})  # fmt: skip
    dens = like / np.trapezoid(np.trapezoid(like, br, axis=1), masses)
    pm = np.trapezoid(dens, br, axis=1)
    pb = np.trapezoid(dens, masses, axis=0)
    flat = np.sort(dens.ravel())[::-1]
    cell = np.gradient(masses)[:, None] * np.gradient(br)[None, :]
    order = np.argsort(dens.ravel())[::-1]
    cum = np.cumsum((dens.ravel() * cell.ravel())[order])
    cum /= cum[-1]
    levels = [float(flat[min(int(np.searchsorted(cum, c)), len(flat) - 1)]) for c in (0.6827, 0.9545)]
    return {
        "posterior": {
            "method": "grid over (m_X, BR_X) of the profile likelihood (nuisances profiled, not "
                      "marginalised); -2lnL(BR_X) per mass from three exact fits",
            "priors": {"m_X": ["uniform", float(masses[0]), float(masses[-1])],
                       "BR_X": ["uniform", float(br_prior[0]), float(br_prior[1])]},
            "m_X": {"mode": float(masses[int(np.argmax(pm))]), "hpd68": _hpd(masses, pm)},
            "BR_X": {"mode": float(br[int(np.argmax(pb))]), "hpd68": _hpd(br, pb)},
            "grid": {"m_X": masses.tolist(), "BR_X": br[::10].tolist(),
                     "density": dens[:, ::10].tolist(), "levels_68_95": levels},
        },
        "ln_bayes_factor": math.log(bf),
        "bayes_factor": {
            "ln_B": math.log(bf), "ln_B_error": abs(math.log(bf) - math.log(bf_half)),
            "error_note": "quadrature (full vs every other mass point); the Laplace factor of the "
                          "profiled nuisances is not included",
            "priors": "uniform m_X on the scan range, uniform BR_X on br_prior",
            "other_priors": alternatives,
        },
    }  # fmt: skip


def _figures(out: Path, masses: np.ndarray, scans: dict[float, dict[str, Any]], widths: tuple[float, ...],
             post: dict[str, Any], best: dict[str, Any], glob: dict[str, Any]) -> list[str]:  # fmt: skip
    """Brazil plot, profile in m_X with a local-significance axis, 2D posterior; PNG paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: list[str] = []
    # Brazil plots
    fig, axes = plt.subplots(1, len(widths), figsize=(4.6 * len(widths), 3.6), sharey=True, squeeze=False)
    for ax, w in zip(axes[0], widths):
        b = scans[w]["bands"]
        ax.fill_between(masses, b[-2], b[2], color="#ffdf00", label="expected ±2σ", lw=0)
        ax.fill_between(masses, b[-1], b[1], color="#00c000", label="expected ±1σ", lw=0)
        ax.plot(masses, b[0], "k--", lw=1, label="expected")
        ax.plot(masses, scans[w]["obs"], "k-", lw=1.4, label="observed")
        ax.set_xlabel(r"$m_X$ [GeV]")
        ax.set_title("narrow X" if w == 0 else rf"$\Gamma_X$ = {w:g} GeV", fontsize=10)
        ax.set_xlim(masses[0], masses[-1])
        ax.set_yscale("log")
    axes[0][0].set_ylabel(r"95% CLs upper limit on BR$(B^+\to K^+X)\times 10^{6}$")
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    files.append(_save(fig, out / "b2kx_limits.png"))
    # profile in m_X with a local-significance axis
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for w, style in zip(widths, ("-", "--", ":")):
        ax.plot(masses, scans[w]["q0"], style, lw=1.3,
                label="narrow X" if w == 0 else rf"$\Gamma_X$ = {w:g} GeV")  # fmt: skip
    ax.axvline(best["m_X"], color="0.6", lw=0.8)
    ax.set_xlabel(r"$m_X$ [GeV]")
    ax.set_ylabel(r"$q_0 = -2\Delta\ln L$ (SM vs SM + X)")
    ax.set_xlim(masses[0], masses[-1])
    top = max(float(np.max(scans[w]["q0"])) for w in widths)
    ax.set_ylim(0, max(1.15 * top, 4.0))
    z = ax.twinx()
    z.set_ylim(ax.get_ylim())
    ticks = [k for k in range(0, 7) if k * k <= ax.get_ylim()[1]]
    z.set_yticks([k * k for k in ticks], [f"{k}σ" for k in ticks])
    z.set_ylabel(r"local significance $\sqrt{q_0}$")
    ax.legend(fontsize=8, loc="upper left", title=f"Z_global = {glob['z_global']:.2f} (toys)",
              title_fontsize=8)  # fmt: skip
    fig.tight_layout()
    files.append(_save(fig, out / "b2kx_profile.png"))
    # 2D posterior
    g = post["posterior"]["grid"]
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    dens = np.asarray(g["density"])
    mm, bb = np.meshgrid(g["m_X"], g["BR_X"], indexing="ij")
    ax.pcolormesh(mm, bb, dens, shading="auto", cmap="Blues")
    lv = g["levels_68_95"]
    ax.contour(mm, bb, dens, levels=sorted(lv), colors=["k", "k"], linestyles=["--", "-"], linewidths=1)
    ax.plot([], [], "k-", label="68%")
    ax.plot([], [], "k--", label="95%")
    ax.set_xlabel(r"$m_X$ [GeV]")
    ax.set_ylabel(r"BR$(B^+\to K^+X)\times 10^{6}$")
    ax.set_ylim(0, min(float(bb.max()), 30.0))
    ax.legend(fontsize=8)
    ax.set_title("posterior, narrow X (uniform priors)", fontsize=10)
    fig.tight_layout()
    files.append(_save(fig, out / "b2kx_posterior.png"))
    return files


def _save(fig: Any, path: Path) -> str:
    import matplotlib.pyplot as plt

    from .report.figures import save_figure

    save_figure(fig, path, dpi=90)  # atomic, as every writer of redist
    plt.close(fig)
    return str(path)


def b2kx_tables(results: dict[str, Any]) -> list[Any]:
    """The study's headline table (from the content of ``results.json``)."""
    from .report.tables import Table

    g = results["global_significance"]
    gv = g["gross_vitells"]
    post = results["posterior"]
    fmt = "{:.3f}".format

    def z(v: Any) -> str:
        return "-" if v is None else fmt(v)

    rows = [
        ("best m_X [GeV] (narrow)", fmt(results["best"]["m_X"])),
        ("best BR_X [1e-6] (narrow)", fmt(results["best"]["BR_X"])),
        ("q0 = -2 Δln L (SM vs SM + X)", fmt(results["q0"])),
        ("Z_local", fmt(results["z_local"])),
        (f"Z_global (toys, n = {g['n_toys_converged']})",
         ("≥ " if g["z_global_kind"] != "toys" else "") + z(results["z_global"])),
        ("Z_global (Gross-Vitells)", z(gv["z_global"])),
        ("ln B (SM + X vs SM)",
         f"{results['ln_bayes_factor']:.2f} ± {results['bayes_factor']['ln_B_error']:.2f}"),
        ("posterior m_X HPD 68% [GeV]", "[{:.2f}, {:.2f}]".format(*post["m_X"]["hpd68"])),
        ("posterior BR_X HPD 68% [1e-6]", "[{:.2f}, {:.2f}]".format(*post["BR_X"]["hpd68"])),
    ]  # fmt: skip
    nuts = results.get("posterior_nuts")
    if nuts and "m_X" in nuts and not nuts["converged"]:
        # an unconverged chain is not a result: say so, with the diagnostics, and no interval
        worst = max(("m_X", "BR_X"), key=lambda p: nuts[p]["rhat"])
        rows.append((f"NUTS cross-check (width {nuts['width_X']:g})",
                     f"NOT CONVERGED: R-hat({worst}) {nuts[worst]['rhat']:.3f}, "
                     f"ESS {min(nuts[p]['ess_bulk'] for p in ('m_X', 'BR_X')):.0f}; "
                     "no interval reported"))  # fmt: skip
    elif nuts and "m_X" in nuts:
        w = nuts["width_X"]
        lo, hi = nuts["priors"]["m_X"][1:]
        rows += [
            (f"NUTS m_X HPD 68% [GeV] (width {w:g}, m_X prior [{lo:g}, {hi:g}])",
             "[{:.2f}, {:.2f}]".format(*nuts["m_X"]["hpd68"])),
            (f"NUTS BR_X HPD 68% [1e-6] (width {w:g})", "[{:.2f}, {:.2f}]".format(*nuts["BR_X"]["hpd68"])),
            ("NUTS converged (R-hat, ESS)", str(nuts["converged"])),
        ]
    return [
        Table(
            title="B+ -> K+ X from the Belle II B+ -> K+ nu nu likelihood",
            columns=("quantity", "value"),
            rows=rows,
            summary=[("model", str(results.get("model", ""))),
                     ("limits", f"{len(results['limits'])} points")],
            numeric=(False, True),
        )
    ]
