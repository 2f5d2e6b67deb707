"""How fine must the kinematic binning be? Bin-averaged versus per-event reweighting.

redist reweights a joint density n(x, z) with one weight per kinematic bin,
``w_z = ∫_z σ_B / ∫_z σ_A``. That is exact if, inside each z bin, the events of
every fit bin x are distributed like σ_A(z); it is an approximation where the
efficiency ε(x | z) or the ratio σ_B/σ_A varies across a z bin. With simulated
events at hand, the exact answer is available: reweight every event by
``σ_B(z_i)/σ_A(z_i)`` (:func:`redist.fill.event_weights`) and sum per fit bin.

:func:`binning_error` compares both for a binning and one or several theory
points and reports, per fit bin, the relative deviation of the bin-averaged
template from the per-event one (and its maximum over the points);
:func:`compare_binnings` does so for several candidate binnings, so that a user
can pick the coarsest binning whose deviation is negligible against the
analysis' other uncertainties.

Examples
--------
>>> import numpy as np
>>> from redist import Reweighting, get_theory
>>> rng = np.random.default_rng(0)
>>> z = rng.uniform(0, 22, 20000); x = (z > 11).astype(int)
>>> rw = Reweighting("wet", get_theory("wet", process="B+->K+nunu"), [np.linspace(0, 22, 12)])
>>> rep = binning_error(rw, x, z, {"cTL": 5.0}, n_x=2)
>>> bool(rep.max_rel_deviation < 0.05)
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .exceptions import FillError
from .fill import fill
from .weights import Reweighting, event_weights

__all__ = ["BinningReport", "binning_error", "compare_binnings"]


def __dir__() -> list[str]:
    return list(__all__)


@dataclass(frozen=True)
class BinningReport:
    """Bin-averaged versus per-event reweighted templates for one binning.

    Attributes
    ----------
    z_edges : list of numpy.ndarray
        The kinematic binning tested.
    points : list of dict
        Theory points (physical parameter names).
    nominal : numpy.ndarray
        Un-reweighted yield per fit bin, shape ``(n_x,)``.
    exact : numpy.ndarray
        Per-event reweighted yield, shape ``(n_points, n_x)``.
    binned : numpy.ndarray
        Bin-averaged reweighted yield (what redist computes), same shape.
    """

    z_edges: list[np.ndarray]
    points: list[dict[str, float]]
    nominal: np.ndarray
    exact: np.ndarray
    binned: np.ndarray

    @property
    def rel_deviation(self) -> np.ndarray:
        """``binned / exact - 1`` per point and fit bin (0 where both vanish)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(self.exact != 0, self.binned / self.exact - 1.0, 0.0)
        return np.where((self.exact == 0) & (self.binned != 0), np.inf, rel)

    @property
    def max_per_fit_bin(self) -> np.ndarray:
        """Largest ``|relative deviation|`` over the points, per fit bin."""
        return np.asarray(np.max(np.abs(self.rel_deviation), axis=0), dtype=float)

    @property
    def max_rel_deviation(self) -> float:
        """Largest ``|relative deviation|`` over points and fit bins."""
        return float(np.max(self.max_per_fit_bin))

    @property
    def worst_fit_bin(self) -> int:
        """Fit bin with the largest deviation."""
        return int(np.argmax(self.max_per_fit_bin))

    def table(self) -> str:
        """Plain-text table: fit bin, nominal yield, max |deviation| and at which point."""
        rel = np.abs(self.rel_deviation)
        lines = [f"{'fit bin':>7} {'nominal':>12} {'max |rel. dev.|':>16}  at point"]
        for i in range(len(self.nominal)):
            k = int(np.argmax(rel[:, i]))
            pt = ", ".join(f"{n}={v:g}" for n, v in self.points[k].items()) or "defaults"
            lines.append(f"{i:>7d} {self.nominal[i]:>12.6g} {rel[k, i]:>16.3e}  {pt}")
        return "\n".join(lines)

    def __str__(self) -> str:
        n_bins = ", ".join(str(len(e) - 1) for e in self.z_edges)
        return (
            f"BinningReport: {n_bins} z bins, {len(self.points)} point(s); max |rel. deviation| "
            f"{self.max_rel_deviation:.3e} in fit bin {self.worst_fit_bin}\n{self.table()}"
        )


def _points(points: Mapping[str, float] | Sequence[Mapping[str, float]] | None) -> list[dict[str, float]]:
    if points is None:
        return [{}]
    if isinstance(points, Mapping):
        return [{k: float(v) for k, v in points.items()}]
    out = [{k: float(v) for k, v in p.items()} for p in points]
    if not out:
        msg = "no theory points given"
        raise FillError(msg)
    return out


def binning_error(
    reweighting: Reweighting,
    x: Any,
    z: Any,
    points: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
    *,
    n_x: int,
    weights: Any = None,
    z_edges: Sequence[Any] | None = None,
) -> BinningReport:
    """Error of bin-averaged reweighting against exact per-event reweighting.

    Parameters
    ----------
    reweighting : redist.weights.Reweighting
        Theories, null point, fixed values and cutoff (its binning is used
        unless ``z_edges`` is given).
    x : array_like of int
        Fit-bin index per event (outside ``[0, n_x)``: not selected).
    z : array_like
        True kinematics per event, ``(n,)`` or ``(n, d)``.
    points : mapping or sequence of mappings, optional
        Theory point(s) to test (default: the theory defaults).
    n_x : int
        Number of fit bins.
    weights : array_like, optional
        Per-event weights.
    z_edges : sequence of array_like, optional
        Binning to test instead of the reweighting's.

    Returns
    -------
    BinningReport
    """
    rw = reweighting
    if z_edges is not None:
        if len(z_edges) > 0 and np.ndim(z_edges[0]) == 0:
            z_edges = [z_edges]
        rw = dataclasses.replace(reweighting, z_edges=[np.asarray(e, dtype=float) for e in z_edges])
    edges = [np.asarray(e, dtype=float) for e in rw.z_edges]
    names = tuple(k.name for k in rw.theory.kinematics)
    dens = fill(x, z, n_x=n_x, z_edges=edges, weights=weights, z_names=names)
    xi = np.asarray(x).astype(np.int64)
    sel = (xi >= 0) & (xi < n_x)
    w_ev = np.ones(len(xi)) if weights is None else np.asarray(weights, dtype=float)
    zz = np.asarray(z, dtype=float)
    pts = _points(points)
    nominal = np.bincount(xi[sel], weights=w_ev[sel], minlength=n_x)
    exact = np.empty((len(pts), n_x))
    binned = np.empty((len(pts), n_x))
    n = dens.values()
    for k, p in enumerate(pts):
        r = event_weights(rw, zz[sel], p)
        exact[k] = np.bincount(xi[sel], weights=w_ev[sel] * r, minlength=n_x)
        binned[k] = n @ rw.weights_at(p)  # reweighted yields: sum_z n(x, z) w_z
    return BinningReport(z_edges=edges, points=pts, nominal=nominal, exact=exact, binned=binned)


def compare_binnings(
    reweighting: Reweighting,
    x: Any,
    z: Any,
    candidates: Mapping[str, Sequence[Any]],
    points: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
    *,
    n_x: int,
    weights: Any = None,
) -> dict[str, BinningReport]:
    """:func:`binning_error` for several candidate binnings, by label.

    ``candidates`` maps a label to the z edges (one array per axis, or one
    array for a single axis).
    """
    return {
        label: binning_error(reweighting, x, z, points, n_x=n_x, weights=weights, z_edges=edges)
        for label, edges in candidates.items()
    }
