"""Small dense linear algebra, through XLA when jax is present.

OpenBLAS' threaded ``eigh`` can be very slow on oversubscribed machines; the
matrices here are at most a few hundred square, for which XLA's routine is
fast and predictable.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .._optional import has_module, optional_import

__all__ = ["eigh"]


@lru_cache(maxsize=1)
def _jax_eigh() -> Any:
    if not has_module("jax"):
        return None
    jax = optional_import("jax", purpose="eigh")
    return jax.jit(optional_import("jax.numpy", purpose="eigh").linalg.eigh)


def eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric float64 matrix."""
    a = np.asarray(a, dtype=float)
    f = _jax_eigh()
    if f is None or a.shape[0] < 8:
        return np.linalg.eigh(a)
    jax = optional_import("jax", purpose="eigh")
    if not jax.config.read("jax_enable_x64"):  # only trust XLA in double precision
        return np.linalg.eigh(a)
    w, v = f(a)
    return np.asarray(w), np.asarray(v)
