"""Reweighting numerics: kinematic-bin weights, fit-bin factors and per-event weights.

Pure numpy (or ``jax.numpy`` through ``xp``); nothing here knows pyhf.

* :class:`Reweighting` -- one theory reweighting (theory B, null theory A, kinematic
  binning, exposed parameters): its bin kernels and :meth:`Reweighting.weights`,
  w_z(theta) for every kinematic bin, the quantity the pyhf modifier, templates,
  patchsets and diagnostics all use.
* :func:`bin_weights` -- w_z = R_B(z) / R_A(z) for kinematic bins inside the
  cutoff, 1 outside.
* :func:`normalised_rows` -- migration fractions n(x, z) / sum_z n(x, z), the one
  row normalisation.
* :func:`fit_bin_factors` -- the per-fit-bin factor
  ``sum_z n(x, z) w_z / sum_z n(x, z)`` applied to the nominal template.
* :func:`event_weights` -- ``rate_B(z_i) / rate_A(z_i)`` per simulated event.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from .exceptions import FillError, ModelSpecError, TheoryError, UnknownParameter, ZeroNullRate
from .kernels import DEFAULT_ORDER, BinKernel
from .theory import Theory

if TYPE_CHECKING:
    from .density import JointDensity

__all__ = [
    "Reweighting",
    "bin_weights",
    "check_null_rates",
    "event_weights",
    "fit_bin_factors",
    "normalised_rows",
]


def __dir__() -> list[str]:
    return list(__all__)

def check_null_rates(null_rates: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, where: str) -> None:
    """Raise :class:`ZeroNullRate` if the null rate is not positive in a reweighted bin."""
    bad = np.flatnonzero(~(np.asarray(null_rates) > 0))
    if len(bad):
        i = int(bad[0])
        msg = (
            f"{where}: the null-theory rate is {null_rates[i]!r} in kinematic bin "
            f"[{', '.join(f'{a:g}' for a in lo[i])}] - [{', '.join(f'{b:g}' for b in hi[i])}], "
            "which is inside the cutoff; the weight would be undefined. "
            "Narrow the cutoff to exclude it or merge the bin with a neighbour."
        )
        raise ZeroNullRate(msg)


def bin_weights(alt_rates: Any, null_rates: Any, inside: np.ndarray, xp: ModuleType = np) -> Any:
    """Kinematic-bin weights: ratio inside the cutoff, 1 outside.

    Parameters
    ----------
    alt_rates : array
        Rates of theory B in the inside bins, shape ``(n_inside,)``.
    null_rates : array
        Rates of theory A in the same bins (positive).
    inside : numpy.ndarray of bool
        Mask over all z bins, ``n_inside`` true entries.
    xp : module
        ``numpy`` or ``jax.numpy``.

    Examples
    --------
    >>> bin_weights(np.array([2.0, 3.0]), np.array([1.0, 1.5]), np.array([False, True, True])).tolist()
    [1.0, 2.0, 2.0]
    """
    inside = np.asarray(inside, dtype=bool)
    ratio = alt_rates / xp.asarray(null_rates)
    if xp is np:
        out = np.ones(inside.size)
        out[inside] = ratio
        return out
    sel = np.zeros((inside.size, int(inside.sum())))
    sel[np.flatnonzero(inside), np.arange(int(inside.sum()))] = 1.0
    return xp.asarray((~inside).astype(float)) + xp.asarray(sel) @ ratio


def normalised_rows(density: np.ndarray) -> np.ndarray:
    """Rows of n(x, z) divided by their sums (the migration fractions).

    Examples
    --------
    >>> normalised_rows(np.array([[1.0, 3.0], [2.0, 2.0]])).tolist()
    [[0.25, 0.75], [0.5, 0.5]]
    """
    n = np.asarray(density, dtype=float)
    out: np.ndarray = n / n.sum(axis=1, keepdims=True)
    return out


def fit_bin_factors(density: np.ndarray, weights: Any, xp: ModuleType = np) -> Any:
    """``sum_z n(x, z) w_z / sum_z n(x, z)`` for every fit bin x.

    Parameters
    ----------
    density : numpy.ndarray
        Joint number density ``n(x, z)``, shape ``(n_x, n_z)``.
    weights : array
        Kinematic-bin weights ``w_z``, shape ``(n_z,)``.
    xp : module
        ``numpy`` or ``jax.numpy``.

    Examples
    --------
    >>> fit_bin_factors(np.array([[1.0, 3.0]]), np.array([1.0, 2.0])).tolist()
    [1.75]
    """
    return xp.asarray(normalised_rows(density)) @ weights


@dataclass
class Reweighting:
    """One theory reweighting: alternative theory B, null theory A, binning and exposure.

    Parameters
    ----------
    name : str
        Modifier name used in the workspace.
    theory : Theory
        Alternative theory B.
    z_edges : sequence of array_like
        Kinematic bin edges per axis (must match every density it is applied to).
    parameters : sequence of str
        Theory parameters that become (free) pyhf parameters.
    null : Theory, optional
        Theory A that produced the templates; default: ``theory`` at its defaults.
    null_values : mapping, optional
        Parameter point of theory A (default: its defaults, e.g. the SM).
    values : mapping, optional
        Fixed values of theory parameters that are not exposed.
    bounds, inits : mapping, optional
        Per-parameter overrides of the theory's bounds and defaults.
    nuisance_groups : bool
        Expose the theory's correlated groups as constrained nuisance parameters
        (otherwise they stay at their central values).
    cutoff : sequence of (float, float), optional
        Kinematic range that is reweighted; bins outside keep weight 1.
    order : int
        Gauss-Legendre order for the kernel precomputation.
    """

    name: str
    theory: Theory
    z_edges: Sequence[Any]
    parameters: Sequence[str] = ()
    null: Theory | None = None
    null_values: Mapping[str, float] | None = None
    values: Mapping[str, float] = field(default_factory=dict)
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    inits: Mapping[str, float] = field(default_factory=dict)
    nuisance_groups: bool = True
    cutoff: Sequence[tuple[float, float]] | None = None
    order: int = DEFAULT_ORDER

    def __post_init__(self) -> None:
        self.z_edges = [np.asarray(e, dtype=float) for e in self.z_edges]
        self.parameters = tuple(self.parameters)
        plain = {p.name: p for p in self.theory.parameters}
        where = f"reweighting {self.name!r}"
        for p in (*self.parameters, *self.values, *self.bounds, *self.inits):
            if p not in plain:
                msg = (
                    f"{where}: theory {self.theory.name!r} has no parameter {p!r}; "
                    f"valid: {', '.join(plain)}"
                )
                raise UnknownParameter(msg)
        for p in self.values:
            if p in self.parameters:
                msg = f"{where}: parameter {p!r} is both exposed and fixed"
                raise ModelSpecError(msg)
        for p, (lo, hi) in self.bounds.items():
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                msg = f"{where}: bounds of {p!r} must be finite with low < high, got [{lo:g}, {hi:g}]"
                raise ModelSpecError(msg)
            if p in self.inits and not lo <= self.inits[p] <= hi:
                v = self.inits[p]
                msg = f"{where}: initial value {v:g} of {p!r} is outside its bounds [{lo:g}, {hi:g}]"
                raise ModelSpecError(msg)
        if len(set(self.parameters)) != len(self.parameters):
            msg = f"{where}: duplicate exposed parameters {list(self.parameters)}"
            raise ModelSpecError(msg)
        null = self.null_theory
        null.resolve(self.null_values)  # validates names
        if [k.name for k in null.kinematics] != [k.name for k in self.theory.kinematics]:
            msg = f"{where}: null and alternative theories differ in kinematic variables"
            raise TheoryError(msg)

    # -- JSON form (model files and build configs) ---------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (theories by registry reference); inverse of :meth:`from_dict`."""
        return {
            "theory": self.theory.spec(),
            "null": None if self.null is None else self.null.spec(),
            "null_values": None
            if self.null_values is None
            else {k: float(v) for k, v in self.null_values.items()},
            "z_edges": [np.asarray(e).tolist() for e in self.z_edges],
            "cutoff": None if self.cutoff is None else [[float(a), float(b)] for a, b in self.cutoff],
            "parameters": list(self.parameters),
            "values": {k: float(v) for k, v in self.values.items()},
            "bounds": {k: [float(a), float(b)] for k, (a, b) in self.bounds.items()},
            "inits": {k: float(v) for k, v in self.inits.items()},
            "nuisance_groups": bool(self.nuisance_groups),
            "order": int(self.order),
        }

    @classmethod
    def from_dict(
        cls, name: str, doc: Mapping[str, Any], *, theory: Theory, null: Theory | None = None
    ) -> Reweighting:
        """Rebuild from :meth:`to_dict` output (or a build config) with already-built theories.

        Parameters
        ----------
        name : str
            Modifier name.
        doc : mapping
            Keys as written by :meth:`to_dict`; every key but ``z_edges`` is optional.
        theory, null : Theory
            Theories B and A (built from ``doc["theory"]`` / ``doc["null"]`` by the caller,
            which owns version checks and error context).
        """
        return cls(
            name=name,
            theory=theory,
            z_edges=doc["z_edges"],
            parameters=tuple(doc.get("parameters") or ()),
            null=null,
            null_values=doc.get("null_values"),
            values=dict(doc.get("values") or {}),
            bounds={k: (float(v[0]), float(v[1])) for k, v in (doc.get("bounds") or {}).items()},
            inits=dict(doc.get("inits") or {}),
            nuisance_groups=bool(doc.get("nuisance_groups", True)),
            cutoff=None if doc.get("cutoff") is None else [(float(a), float(b)) for a, b in doc["cutoff"]],
            order=int(doc.get("order", DEFAULT_ORDER)),
        )

    @property
    def null_theory(self) -> Theory:
        """Theory A."""
        return self.null if self.null is not None else self.theory

    @cached_property
    def kernel(self) -> BinKernel:
        """Bin integrals of theory B."""
        return BinKernel(self.theory, self.z_edges, self.cutoff, order=self.order)

    @cached_property
    def null_rates(self) -> np.ndarray:
        """Bin-integrated rates of theory A at its parameter point (checked positive)."""
        k = self.kernel
        null = self.null_theory
        if null is self.theory:
            nk = k
        else:
            nk = BinKernel(null, self.z_edges, self.cutoff, order=self.order)
            if not np.array_equal(nk.inside, k.inside):
                msg = f"reweighting {self.name!r}: null and alternative physical ranges differ"
                raise TheoryError(msg)
        rates = np.asarray(nk.rates(null.resolve(self.null_values)), dtype=float)
        check_null_rates(rates, k.lo, k.hi, where=f"reweighting {self.name!r}")
        return rates

    @cached_property
    def _fast(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(kernel / null rates with zero rows outside the cutoff, 1-outside template), numpy path."""
        k = self.kernel
        if k.kernel is None or k.n_nonlinear:
            return None
        full = np.zeros((k.inside.size, k.kernel.shape[1]))
        full[k.inside] = k.kernel / self.null_rates[:, None]
        return full, (~k.inside).astype(float)

    def weights(self, values: Mapping[str, Any], xp: ModuleType = np) -> Any:
        """Kinematic-bin weights w_z (all z bins) at a full theory parameter dict.

        ``values`` holds every theory-B parameter (see
        :meth:`redist.layout.ParameterLayout.theory_values`); traceable with
        ``xp`` = ``jax.numpy``.
        """
        fast = self._fast if xp is np else None
        if fast is not None:
            full, outside = fast
            return full @ self.theory.coefficients(values, np) + outside
        k = self.kernel
        return bin_weights(k.rates(values, xp), self.null_rates, k.inside, xp)

    def weights_at(self, point: Mapping[str, float] | None = None) -> np.ndarray:
        """Weights at a parameter point given by physical names (numpy)."""
        vals = self.theory.resolve({**self.values, **(point or {})})
        return np.asarray(self.weights(vals, np))

    def check_density(self, density: JointDensity, *, where: str) -> None:
        """Check that a density's kinematic binning matches this reweighting."""
        if len(density.z_edges) != len(self.z_edges) or not all(
            e.shape == f.shape and np.allclose(e, f, rtol=1e-12, atol=1e-12)
            for e, f in zip(density.z_edges, self.z_edges)
        ):
            msg = f"{where}: density kinematic binning does not match reweighting {self.name!r}"
            raise ModelSpecError(msg)


def event_weights(
    reweighting: Reweighting,
    z: Any,
    point: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Per-event reweighting factors ``w = rate_B(z) / rate_A(z)`` for users who keep their events.

    Uses the same theories, null point, fixed values and cutoff as the
    :class:`Reweighting`: events outside the cutoff or the theory's physical range
    get weight 1 (like the kinematic bins outside).

    Parameters
    ----------
    reweighting : redist.weights.Reweighting
        Theory B, theory A and the kinematic cutoff.
    z : array_like
        True kinematics of each event, shape ``(n,)`` or ``(n, d)``.
    point : mapping, optional
        Theory-B parameter values by name (others: the reweighting's fixed values,
        then the theory's defaults).

    Returns
    -------
    numpy.ndarray
        One weight per event.

    Raises
    ------
    FillError
        If ``z`` has the wrong shape or non-finite entries.
    ZeroNullRate
        If theory A's rate vanishes at an event that would be reweighted.

    Examples
    --------
    >>> from redist import get_theory
    >>> th = get_theory("wet", process="B+->K+nunu")
    >>> rw = Reweighting("wet", th, [[0.0, 10.0, 20.0]])
    >>> event_weights(rw, [1.0, 5.0], {"cVL": 2 * th.defaults()["cVL"]}).round(12).tolist()
    [4.0, 4.0]
    """
    theory = reweighting.theory
    null = reweighting.null_theory
    pts = np.asarray(z, dtype=float)
    d = len(theory.kinematics)
    if pts.ndim == 1 and d == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[1] != d:
        msg = f"z must have shape (n, {d}) for {[k.name for k in theory.kinematics]}, got {np.shape(z)}"
        raise FillError(msg)
    if not np.all(np.isfinite(pts)):
        k = int(np.flatnonzero(~np.all(np.isfinite(pts), axis=1))[0])
        msg = f"event {k} has non-finite kinematics {pts[k].tolist()}"
        raise FillError(msg)
    inside = np.ones(len(pts), dtype=bool)
    for i, kin in enumerate(theory.kinematics):
        inside &= (pts[:, i] >= kin.low) & (pts[:, i] <= kin.high)
    if reweighting.cutoff is not None:
        for i, (lo, hi) in enumerate(reweighting.cutoff):
            inside &= (pts[:, i] >= lo) & (pts[:, i] <= hi)
    w = np.ones(len(pts))
    if not inside.any():
        return w
    alt_vals = theory.resolve({**dict(reweighting.values), **dict(point or {})})
    null_vals = null.resolve(reweighting.null_values)
    num = theory.rate(pts[inside], alt_vals)
    den = null.rate(pts[inside], null_vals)
    bad = ~(den > 0)
    if bad.any():
        k = int(np.flatnonzero(inside)[np.flatnonzero(bad)[0]])
        msg = (
            f"the null-theory rate vanishes at event {k} (z = {pts[k].tolist()}), which is "
            "inside the cutoff; narrow the cutoff"
        )
        raise ZeroNullRate(msg)
    w[inside] = num / den
    return w
