"""Reweighting arithmetic as pure functions (numpy or jax.numpy via ``xp``).

* :func:`bin_weights` -- w_z = R_B(z) / R_A(z) for kinematic bins inside the
  cutoff, 1 outside.
* :func:`fit_bin_factors` -- the per-fit-bin factor
  ``sum_z n(x, z) w_z / sum_z n(x, z)`` applied to the nominal template.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .exceptions import ZeroNullRate

__all__ = ["bin_weights", "check_null_rates", "fit_bin_factors", "normalised_rows"]


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


def bin_weights(alt_rates: Any, null_rates: Any, inside: np.ndarray, xp: Any = np) -> Any:
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
    """Rows of n(x, z) divided by their sums (the migration fractions)."""
    n = np.asarray(density, dtype=float)
    return n / n.sum(axis=1, keepdims=True)


def fit_bin_factors(density: np.ndarray, weights: Any, xp: Any = np) -> Any:
    """``sum_z n(x, z) w_z / sum_z n(x, z)`` for every fit bin x.

    Examples
    --------
    >>> fit_bin_factors(np.array([[1.0, 3.0]]), np.array([1.0, 2.0])).tolist()
    [1.75]
    """
    return xp.asarray(normalised_rows(density)) @ weights
