"""Exact bin integrals of theory rates: precomputed kernels and Gauss-Legendre.

For a binning of the kinematic variables, :class:`BinKernel` computes the rate
integrated over each bin, ``R_j(theta) = int_bin_j rate(z; theta) dz``.

* Theories with a linear structure ``rate = basis(z) @ coefficients(theta)``
  (:attr:`redist.theory.Theory.has_basis`) get the bin integrals of their basis
  functions once, with high-order Gauss-Legendre per bin (or the theory's own
  analytic ``basis_integrals``). A new parameter point is then one
  ``(n_bins, M) @ (M,)`` product: no quadrature per call, and the same numbers
  as direct quadrature at the same nodes up to rounding.
* Theories whose basis also holds functions of *non-linear* parameters (a
  resonance of mass ``m_X`` and width ``width_X``:
  :attr:`~redist.theory.Theory.n_nonlinear_basis`) keep the precomputed kernel
  for the fixed columns; the other columns are integrated at every call,
  analytically when the theory provides
  :meth:`~redist.theory.Theory.nonlinear_basis_integrals`, otherwise with
  Gauss-Legendre at fixed nodes. Both are traceable by jax, so masses and
  widths are ordinary fit parameters with exact gradients.
* Other theories are integrated with vectorised Gauss-Legendre at every call.

Bins are intersected with the kinematic cutoff and the theory's physical
range; bins with nothing left are *outside* and are not reweighted.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from .exceptions import TheoryError
from .theory import Theory

__all__ = ["DEFAULT_ORDER", "BinKernel", "gauss_legendre"]

#: Gauss-Legendre points per bin and axis. 24 points integrate the WET basis
#: functions (smooth on every bin that ends below the kinematic end point) to
#: ~1e-15 relative; the end-point bin is handled by the theory's range clip.
DEFAULT_ORDER = 24


def gauss_legendre(lo: np.ndarray, hi: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``order``-point Gauss-Legendre on each interval ``[lo, hi]``.

    Returns arrays of shape ``(n_intervals, order)``.
    """
    t, w = np.polynomial.legendre.leggauss(order)
    lo, hi = np.asarray(lo, float)[:, None], np.asarray(hi, float)[:, None]
    half = 0.5 * (hi - lo)
    return half * t + 0.5 * (hi + lo), half * w


class BinKernel:
    """Bin-integrated rates of one theory on one binning.

    Parameters
    ----------
    theory : Theory
        The model.
    edges : sequence of array_like
        Bin edges per kinematic axis, in the order of ``theory.kinematics``.
        Bins are flattened in C order (last axis fastest).
    cutoff : sequence of (float, float), optional
        Per-axis range outside of which nothing is reweighted.
    order : int
        Gauss-Legendre points per bin and axis.
    """

    def __init__(
        self,
        theory: Theory,
        edges: Sequence[Any],
        cutoff: Sequence[tuple[float, float]] | None = None,
        *,
        order: int = DEFAULT_ORDER,
    ) -> None:
        self.theory = theory
        self.edges = [np.asarray(e, dtype=float) for e in edges]
        kin = theory.kinematics
        if len(self.edges) != len(kin):
            msg = (
                f"theory {theory.name!r} is differential in {[k.name for k in kin]} "
                f"but {len(self.edges)} axes of bin edges were given"
            )
            raise TheoryError(msg)
        for k, e in zip(kin, self.edges):
            if e.ndim != 1 or len(e) < 2 or not np.all(np.diff(e) > 0) or not np.all(np.isfinite(e)):
                msg = f"bin edges of axis {k.name!r} must be finite and strictly increasing"
                raise TheoryError(msg)
        cut = list(cutoff) if cutoff is not None else [(-np.inf, np.inf)] * len(kin)
        if len(cut) != len(kin):
            msg = f"cutoff needs one (low, high) pair per axis {[k.name for k in kin]}"
            raise TheoryError(msg)
        lows, highs = [], []
        for k, e, (clo, chi) in zip(kin, self.edges, cut):
            lows.append(np.clip(e[:-1], max(clo, k.low), None))
            highs.append(np.clip(e[1:], None, min(chi, k.high)))
        shape = tuple(len(e) - 1 for e in self.edges)
        self.shape = shape
        grids_lo = np.meshgrid(*lows, indexing="ij")
        grids_hi = np.meshgrid(*highs, indexing="ij")
        lo = np.stack([g.reshape(-1) for g in grids_lo], axis=-1)
        hi = np.stack([g.reshape(-1) for g in grids_hi], axis=-1)
        self.inside = np.all(hi > lo, axis=-1)
        self.lo, self.hi = lo[self.inside], hi[self.inside]
        self.order = order
        self.nodes, self.weights = self._nodes()
        self.kernel = self._precompute() if theory.has_basis else None

    @property
    def n_bins(self) -> int:
        """Total number of (flattened) bins."""
        return int(np.prod(self.shape))

    def _nodes(self) -> tuple[np.ndarray, np.ndarray]:
        d = self.lo.shape[1]
        per_axis = [gauss_legendre(self.lo[:, i], self.hi[:, i], self.order) for i in range(d)]
        if d == 1:
            return per_axis[0][0][..., None], per_axis[0][1]
        n = len(self.lo)
        nodes, weights = [], []
        for idx in itertools.product(range(self.order), repeat=d):
            nodes.append(np.stack([per_axis[a][0][:, i] for a, i in enumerate(idx)], axis=-1))
            weights.append(np.prod([per_axis[a][1][:, i] for a, i in enumerate(idx)], axis=0))
        return np.stack(nodes, axis=1).reshape(n, -1, d), np.stack(weights, axis=1)

    def _precompute(self) -> np.ndarray:
        n, m, d = self.nodes.shape
        phi = np.asarray(self.theory.basis(self.nodes.reshape(-1, d)), dtype=float)
        kern = np.einsum("nm,nmk->nk", self.weights, phi.reshape(n, m, -1))
        exact = getattr(self.theory, "basis_integrals", None)
        if exact is not None and d == 1:
            ex = np.asarray(exact(self.lo[:, 0], self.hi[:, 0]), dtype=float)
            kern = np.where(np.isnan(ex), kern, ex)
        return np.asarray(kern, dtype=float)

    @property
    def n_nonlinear(self) -> int:
        """Number of basis functions that depend on non-linear parameters (0: all precomputed)."""
        return int(self.theory.n_nonlinear_basis) if self.kernel is not None else 0

    def nonlinear_integrals(self, values: Mapping[str, Any], xp: ModuleType = np) -> Any:
        """Bin integrals of the non-linear basis functions at ``values``, shape ``(n_inside, K)``.

        Analytic when the theory provides
        :meth:`~redist.theory.Theory.nonlinear_basis_integrals`, otherwise
        Gauss-Legendre at the kernel's fixed nodes; differentiable in the
        parameter values when ``xp`` is ``jax.numpy``.
        """
        th = self.theory
        if self.lo.shape[1] == 1:
            exact = th.nonlinear_basis_integrals(self.lo[:, 0], self.hi[:, 0], values, xp)
            if exact is not None:
                return exact
        n, m, d = self.nodes.shape
        phi = th.nonlinear_basis(self.nodes.reshape(-1, d), values, xp)
        phi = xp.reshape(phi, (n, m, -1))
        return xp.sum(phi * xp.asarray(self.weights)[:, :, None], axis=1)

    def rates(self, values: Mapping[str, Any], xp: ModuleType = np) -> Any:
        """Rates integrated over the inside bins, shape ``(n_inside,)``.

        ``values`` must hold every parameter of the theory (see
        :meth:`redist.theory.Theory.resolve`); the computation is traceable
        when ``xp`` is ``jax.numpy``.
        """
        if self.kernel is not None:
            c = self.theory.coefficients(values, xp)
            k = self.n_nonlinear
            if k == 0:
                return xp.asarray(self.kernel) @ c
            m = self.kernel.shape[1]
            return xp.asarray(self.kernel) @ c[:m] + self.nonlinear_integrals(values, xp) @ c[m:]
        n, m, d = self.nodes.shape
        r = self.theory._rate(self.nodes.reshape(-1, d), values, xp)
        return xp.sum(xp.reshape(r, (n, m)) * xp.asarray(self.weights), axis=1)

    def quadrature_rates(self, values: Mapping[str, Any]) -> np.ndarray:
        """Direct Gauss-Legendre integration of :meth:`Theory.rate` (reference path, numpy)."""
        n, m, d = self.nodes.shape
        r = self.theory.rate(self.nodes.reshape(-1, d), values)
        return np.asarray(np.sum(r.reshape(n, m) * self.weights, axis=1), dtype=float)
