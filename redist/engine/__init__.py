"""A fused, compiled HistFactory likelihood and a batched minimiser (the fast path).

``redist.engine`` turns a pyhf model (plain, or reinterpreted by redist) into one
jax function for ln L with its gradient, Hessian-vector products and exact
Hessian, compiled once per model and kept in jax's persistent compilation cache
across processes; and fits many datasets or fixed-parameter points at once with
a bounded Newton minimiser compiled as a single executable. Parameter and data
vectors are pyhf's, so results are interchangeable with pyhf.

Importing this package does not import jax; compiling does.

Examples
--------
>>> import pyhf
>>> from redist import engine
>>> m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
>>> lik = engine.likelihood(m)
>>> res = engine.minimize(lik, data=[15.0, 25.0])
>>> round(float(res.x[0, 0]), 4)
1.0
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from typing import Any

from ._cache import ENV_VAR, compile_cache_dir, configure_compile_cache
from ._likelihood import Likelihood, make_functions, make_logpdf
from ._minimize import BatchFit, minimize, minimize_batch
from ._redist import reweighting_factors
from ._tensors import ModelTensors, ReweightingBlock, model_tensors

__all__ = [
    "ENV_VAR",
    "BatchFit",
    "Likelihood",
    "ModelTensors",
    "ReweightingBlock",
    "compile_cache_dir",
    "configure_compile_cache",
    "likelihood",
    "make_functions",
    "make_logpdf",
    "minimize",
    "minimize_batch",
    "model_tensors",
    "reweighting_factors",
]


def __dir__() -> list[str]:
    return list(__all__)


_LOCK = threading.Lock()
_CACHE: dict[int, Likelihood] = {}


def _forget(key: int) -> None:
    _CACHE.pop(key, None)


def likelihood(model: Any) -> Likelihood:
    """The compiled likelihood of a model, built once per model object and kept.

    Parameters
    ----------
    model : pyhf.pdf.Model, pyhf.Workspace, redist.ReinterpretedModel or ModelTensors
        The model (tensors are built with :func:`model_tensors`).

    Returns
    -------
    Likelihood
        Cached for as long as ``model`` lives.

    Examples
    --------
    >>> import pyhf
    >>> m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
    >>> likelihood(m) is likelihood(m)
    True
    """
    with _LOCK:
        key = id(model)
        lik = _CACHE.get(key)
        if lik is None:
            tensors = model if isinstance(model, ModelTensors) else model_tensors(model)
            lik = Likelihood(tensors)
            _CACHE[key] = lik
            with contextlib.suppress(TypeError):  # not weak-referenceable: kept for the process
                weakref.finalize(model, _forget, key)
        return lik
