"""From a scorer to n(x, q2_true) and epsilon(x | q2) in the published joint-density layout.

Layout (as the Belle II HEPData joint number density): rows are the flattened
fit bins ``x = eta_bin * n_q2rec + q2rec_bin`` (eta outer, q2_rec inner), columns
are true-q2 bins: a ``[-1, 0)`` sentinel column first, then uniform bins on
``[0, 22.885]`` GeV^2. Everything here is numpy; the scorer can be the
fine-tuned FM (:mod:`redist.fm.heads`), the engineered-feature baseline
(:mod:`redist.fm.baseline`) or any function of reconstructed quantities.

* :func:`joint_density` -- n(x, z) with Weight storage (sum w, sum w^2);
* :func:`efficiency` -- epsilon(x|z) = N_sel(x, z) / N_gen(z), with binomial variances;
* :func:`bootstrap_efficiency` -- Poisson-bootstrap replicas of epsilon;
* :func:`ensemble_systematic` -- spread of epsilon over a seed/fold ensemble of scorers;
* :func:`bin_rate_ratio`, :func:`reweight`, :func:`closure_chi2` -- q2-only reweighting
  to another theory point and its closure test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..density import JointDensity
from ..exceptions import DensityError

__all__ = [
    "Q2_CUTOFF",
    "DensityResult",
    "bin_rate_ratio",
    "bootstrap_efficiency",
    "closure_chi2",
    "closure_test",
    "efficiency",
    "ensemble_systematic",
    "fit_bins",
    "joint_density",
    "produced",
    "published_z_edges",
    "reweight",
]

#: Upper end of the published q2 binning (GeV^2).
Q2_CUTOFF = 22.885


def published_z_edges(n_bins: int = 100, q2_max: float = Q2_CUTOFF) -> np.ndarray:
    """``[-1, 0)`` sentinel plus ``n_bins`` uniform bins on ``[0, q2_max]``."""
    return np.concatenate([[-1.0], np.linspace(0.0, q2_max, n_bins + 1)])


def fit_bins(
    eta: np.ndarray,
    q2_rec: np.ndarray,
    selected: np.ndarray,
    eta_edges: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
    q2rec_edges: Sequence[float] = (-np.inf, 4.0, 8.0, np.inf),
) -> np.ndarray:
    """Flattened fit-bin index (eta outer, q2_rec inner); ``-1`` outside the signal region.

    The signal region is ``selected & eta >= eta_edges[0]``; the last eta bin
    includes ``eta == eta_edges[-1]``.
    """
    e_edges = np.asarray(eta_edges, float)
    q_edges = np.asarray(q2rec_edges, float)
    for name, ed in (("eta_edges", e_edges), ("q2rec_edges", q_edges)):
        if ed.ndim != 1 or len(ed) < 2 or not np.all(np.diff(ed) > 0):
            msg = f"{name} must be strictly increasing with at least 2 entries, got {ed.tolist()}"
            raise DensityError(msg)
    eta = np.asarray(eta, float)
    q2_rec = np.asarray(q2_rec, float)
    ie = np.searchsorted(e_edges, eta, side="right") - 1
    ie = np.where(eta == e_edges[-1], len(e_edges) - 2, ie)
    iq = np.searchsorted(q_edges, q2_rec, side="right") - 1
    ok = (
        np.asarray(selected, bool) & (ie >= 0) & (ie < len(e_edges) - 1) & (iq >= 0) & (iq < len(q_edges) - 1)
    )
    return np.where(ok, ie * (len(q_edges) - 1) + iq, -1).astype(np.int64)


def _z(q2_true: np.ndarray) -> np.ndarray:
    z = np.asarray(q2_true, float)
    # the kinematic endpoint (m_B - m_K)^2 = 22.90 GeV^2 lies just above the published last
    # edge 22.885: those few events join the last bin
    z = np.where(z > Q2_CUTOFF, np.nextafter(Q2_CUTOFF, 0.0), z)
    # background or missing truth goes to the [-1, 0) sentinel column
    return np.where(np.isfinite(z), z, -0.5)


def joint_density(
    x: np.ndarray,
    q2_true: np.ndarray,
    n_x: int,
    *,
    weights: np.ndarray | None = None,
    z_edges: np.ndarray | None = None,
) -> JointDensity:
    """n(x, q2_true) with Weight storage from events (``x = -1``: not selected)."""
    edges = published_z_edges() if z_edges is None else np.asarray(z_edges, float)
    return JointDensity.from_events(x, _z(q2_true), n_x=n_x, z_edges=edges, weights=weights)


def produced(
    q2_true: np.ndarray, z_edges: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Generated yield per z bin, all events before selection: (sum w, sum w^2)."""
    z = _z(q2_true)
    w = np.ones(len(z)) if weights is None else np.asarray(weights, float)
    sw, _ = np.histogram(z, bins=z_edges, weights=w)
    sw2, _ = np.histogram(z, bins=z_edges, weights=w**2)
    return sw, sw2


def _eff_array(
    x: np.ndarray, z: np.ndarray, w: np.ndarray, n_x: int, z_edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    nz = len(z_edges) - 1
    iz = np.searchsorted(z_edges, z, side="right") - 1
    ok = (iz >= 0) & (iz < nz)
    gen = np.bincount(iz[ok], weights=w[ok], minlength=nz)
    sel = ok & (x >= 0) & (x < n_x)
    num = np.bincount(x[sel] * nz + iz[sel], weights=w[sel], minlength=n_x * nz).reshape(n_x, nz)
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = np.where(gen > 0, num / np.where(gen > 0, gen, 1.0), 0.0)
    return eps, gen


def efficiency(
    x: np.ndarray,
    q2_true: np.ndarray,
    n_x: int,
    *,
    weights: np.ndarray | None = None,
    z_edges: np.ndarray | None = None,
) -> JointDensity:
    """epsilon(x|z) = N_sel(x, z) / N_gen(z) as a :class:`JointDensity`.

    Variances are binomial with effective counts,
    ``eps (1 - eps) / N_eff(z)``, ``N_eff = (sum w)^2 / sum w^2``. ``x`` and
    ``q2_true`` must cover *all* generated events (``x = -1`` for rejected ones).
    """
    edges = published_z_edges() if z_edges is None else np.asarray(z_edges, float)
    xi = np.asarray(x, np.int64)
    z = _z(q2_true)
    w = np.ones(len(z)) if weights is None else np.asarray(weights, float)
    if not (len(xi) == len(z) == len(w)):
        msg = f"x ({len(xi)}), q2_true ({len(z)}) and weights ({len(w)}) differ in length"
        raise DensityError(msg)
    eps, _ = _eff_array(xi, z, w, n_x, edges)
    sw, sw2 = produced(q2_true, edges, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        neff = np.where(sw2 > 0, sw**2 / np.where(sw2 > 0, sw2, 1.0), 0.0)
        var = np.where(neff > 0, eps * (1.0 - eps) / np.where(neff > 0, neff, 1.0), 0.0)
    return JointDensity.from_array(eps, edges, variances=var, source="<efficiency>")


def bootstrap_efficiency(
    x: np.ndarray,
    q2_true: np.ndarray,
    n_x: int,
    *,
    weights: np.ndarray | None = None,
    z_edges: np.ndarray | None = None,
    n_replicas: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """Poisson(1)-bootstrap replicas of epsilon(x|z), shape ``(n_replicas, n_x, n_z)``."""
    edges = published_z_edges() if z_edges is None else np.asarray(z_edges, float)
    xi = np.asarray(x, np.int64)
    z = _z(q2_true)
    w = np.ones(len(z)) if weights is None else np.asarray(weights, float)
    rng = np.random.default_rng(seed)
    reps = np.empty((n_replicas, n_x, len(edges) - 1))
    for r in range(n_replicas):
        reps[r] = _eff_array(xi, z, w * rng.poisson(1.0, len(z)), n_x, edges)[0]
    return reps


def ensemble_systematic(members: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of epsilon maps from an ensemble (seeds or folds)."""
    arr = np.stack([np.asarray(m, float) for m in members])
    if len(arr) < 2:
        msg = f"an ensemble systematic needs at least 2 members, got {len(arr)}"
        raise DensityError(msg)
    return arr.mean(axis=0), arr.std(axis=0, ddof=1)


def bin_rate_ratio(
    theory: Any,
    values_a: Mapping[str, float] | None,
    values_b: Mapping[str, float] | None,
    z_edges: np.ndarray | None = None,
    cutoff: tuple[float, float] = (0.0, Q2_CUTOFF),
) -> np.ndarray:
    """w_z = int_bin rate_B / int_bin rate_A per z bin (1 outside the reweighted range)."""
    from ..kernels import BinKernel

    edges = published_z_edges() if z_edges is None else np.asarray(z_edges, float)
    kern = BinKernel(theory, [edges], cutoff=[cutoff])
    ra = kern.rates(theory.resolve(dict(values_a or {})))
    rb = kern.rates(theory.resolve(dict(values_b or {})))
    w = np.ones(kern.n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        w[kern.inside] = np.where(ra > 0, rb / np.where(ra > 0, ra, 1.0), 0.0)
    return w


def reweight(density: JointDensity, w_z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-fit-bin yields and variances of ``sum_z n(x, z) w_z``."""
    w = np.asarray(w_z, float).reshape(-1)
    v, var = density.values(), density.variances()
    if w.shape[0] != v.shape[1]:
        msg = f"{density.source}: {v.shape[1]} z bins but {w.shape[0]} weights"
        raise DensityError(msg)
    return v @ w, var @ w**2


def closure_chi2(
    pred: np.ndarray, pred_var: np.ndarray, direct: np.ndarray, direct_var: np.ndarray
) -> tuple[float, int]:
    """chi^2 and ndf of reweighted vs directly simulated yields (independent samples)."""
    tot = np.asarray(pred_var) + np.asarray(direct_var)
    ok = tot > 0
    chi2 = float(np.sum((np.asarray(pred)[ok] - np.asarray(direct)[ok]) ** 2 / tot[ok]))
    return chi2, int(ok.sum())


def closure_test(
    x_a: np.ndarray,
    q2_a: np.ndarray,
    x_b: np.ndarray,
    q2_b: np.ndarray,
    n_x: int,
    theory: Any,
    values_a: Mapping[str, float] | None,
    values_b: Mapping[str, float] | None,
    *,
    z_edges: np.ndarray | None = None,
    weights_a: np.ndarray | None = None,
    weights_b: np.ndarray | None = None,
) -> dict[str, Any]:
    """Reweight sample A (theory point ``values_a``) to B by q2 only and compare with B.

    ``x_*`` are fit-bin indices of *all* generated signal events (-1: not selected),
    ``q2_*`` their true q2. Both samples are normalised to unit total rate times
    their branching ratio (``theory.rate`` integrated), so the comparison tests
    the shapes *and* the q2-dependent efficiency. ``z_edges`` is the binning of the
    reweighting (default: the published 100 bins); a coarse binning is a negative
    control. Independent samples: chi2 follows chi2(ndf) when eps(x|q2) is
    theory-independent and the z binning resolves its q2 dependence.

    Returns
    -------
    dict
        ``chi2``, ``ndf``, ``pred`` (A reweighted), ``direct`` (B) and their variances.
    """
    from ..simulate import q2_sampler

    edges = published_z_edges() if z_edges is None else np.asarray(z_edges, float)
    br_a = q2_sampler(theory, values_a)[2]
    br_b = q2_sampler(theory, values_b)[2]
    wa = np.ones(len(q2_a)) if weights_a is None else np.asarray(weights_a, float)
    wb = np.ones(len(q2_b)) if weights_b is None else np.asarray(weights_b, float)
    n_a = joint_density(x_a, q2_a, n_x, weights=wa * br_a / wa.sum(), z_edges=edges)
    n_b = joint_density(x_b, q2_b, n_x, weights=wb * br_b / wb.sum(), z_edges=edges)
    pred, pvar = reweight(n_a, bin_rate_ratio(theory, values_a, values_b, z_edges=edges))
    direct, dvar = n_b.yields(), n_b.variances().sum(axis=1)
    chi2, ndf = closure_chi2(pred, pvar, direct, dvar)
    return {"chi2": chi2, "ndf": ndf, "pred": pred, "pred_var": pvar, "direct": direct, "direct_var": dvar}


@dataclass
class DensityResult:
    """n(x, z), epsilon(x|z) and their uncertainties for one channel."""

    density: JointDensity
    efficiency: JointDensity
    produced: np.ndarray
    replicas: np.ndarray | None = None
    ensemble_std: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: str | Path) -> Path:
        """Write ``density.json``, ``efficiency.json``, ``density.csv`` and ``uncertainties.npz``."""
        import json

        from ..io.atomic import atomic_path, atomic_write_text

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_text(d / "density.json", json.dumps({**self.density.to_dict(), "meta": self.meta}))
        atomic_write_text(d / "efficiency.json", json.dumps({**self.efficiency.to_dict(), "meta": self.meta}))
        np.savetxt(d / "density.csv", self.density.values(), delimiter=",")
        arrays: dict[str, np.ndarray] = {"produced": self.produced}
        if self.replicas is not None:
            arrays["replicas"] = self.replicas
        if self.ensemble_std is not None:
            arrays["ensemble_std"] = self.ensemble_std
        with atomic_path(d / "uncertainties.npz") as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **cast("dict[str, Any]", arrays))
        return d


def build(
    x: np.ndarray,
    q2_true: np.ndarray,
    n_x: int,
    *,
    scale: float = 1.0,
    weights: np.ndarray | None = None,
    z_edges: np.ndarray | None = None,
    n_replicas: int = 0,
    seed: int = 0,
    ensemble_x: Sequence[np.ndarray] = (),
    meta: dict[str, Any] | None = None,
) -> DensityResult:
    """All outputs for one signal sample.

    Parameters
    ----------
    x : ndarray of int
        Fit-bin index of every generated signal event (``-1`` = not selected).
    q2_true : ndarray
        True q2 of every generated event.
    n_x : int
        Number of fit bins.
    scale : float
        Per-event normalisation, e.g. ``N_B * BR / N_generated`` for expected yields.
    weights : ndarray, optional
        Per-event weights (e.g. theory/flat for q2-flat samples); multiplied by ``scale``.
    z_edges : ndarray, optional
        Defaults to :func:`published_z_edges`.
    n_replicas : int
        Poisson-bootstrap replicas of epsilon (0: none).
    seed : int
        Bootstrap seed.
    ensemble_x : sequence of ndarray
        Fit-bin indices from other ensemble members (seeds/folds) for the training systematic.
    meta : dict, optional
        Provenance stored with the outputs.
    """
    edges = published_z_edges() if z_edges is None else np.asarray(z_edges, float)
    w = (np.ones(len(x)) if weights is None else np.asarray(weights, float)) * scale
    dens = joint_density(x, q2_true, n_x, weights=w, z_edges=edges)
    eff = efficiency(x, q2_true, n_x, weights=w, z_edges=edges)
    prod, _ = produced(q2_true, edges, w)
    reps = (
        bootstrap_efficiency(x, q2_true, n_x, weights=w, z_edges=edges, n_replicas=n_replicas, seed=seed)
        if n_replicas > 0
        else None
    )
    ens = None
    if len(ensemble_x):
        maps = [eff.values()] + [
            efficiency(xe, q2_true, n_x, weights=w, z_edges=edges).values() for xe in ensemble_x
        ]
        ens = ensemble_systematic(maps)[1]
    return DensityResult(dens, eff, prod, reps, ens, dict(meta or {}))
