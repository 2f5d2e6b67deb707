"""Small dense linear algebra, through XLA when jax is present.

OpenBLAS' threaded ``eigh`` can be very slow on oversubscribed machines; the
matrices here are at most a few hundred square, for which XLA's routine is
fast and predictable.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["eigh"]


@lru_cache(maxsize=1)
def _jax_eigh() -> Any:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    return jax.jit(jnp.linalg.eigh)


def eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric float64 matrix."""
    a = np.asarray(a, dtype=float)
    f = _jax_eigh()
    if f is None or a.shape[0] < 8:
        return np.linalg.eigh(a)
    import jax

    if not jax.config.jax_enable_x64:  # only trust XLA in double precision
        return np.linalg.eigh(a)
    w, v = f(a)
    return np.asarray(w), np.asarray(v)
