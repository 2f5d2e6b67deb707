"""Small dense linear algebra on one BLAS thread.

OpenBLAS' threaded ``eigh`` can be very slow on oversubscribed machines (a
239 x 239 matrix took seconds on a loaded 2-core machine); the matrices here are
at most a few hundred square, for which LAPACK's divide-and-conquer routine on
a single thread takes about 10 ms (XLA's ``eigh`` took 250 ms and a compilation).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

__all__ = ["eigh", "one_blas_thread"]


def one_blas_thread() -> Any:
    """Context manager limiting the BLAS/LAPACK thread pool to one thread (if threadpoolctl is there)."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn / the jax extra
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric float64 matrix.

    Examples
    --------
    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w.round(12).tolist()
    [1.0, 3.0]
    """
    from scipy.linalg import eigh as _eigh

    a = np.asarray(a, dtype=float)
    with one_blas_thread():
        w, v = _eigh(a, driver="evd", check_finite=False)
    return np.asarray(w), np.asarray(v)
