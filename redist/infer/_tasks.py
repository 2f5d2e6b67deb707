"""Helpers shared by the inference modules: JSON-ready results and Dask task plumbing."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._optional import optional_import
from ..exceptions import BackendError
from ..typing import ModelLike
from ._objective import Objective, objective

__all__ = ["ObjectiveHandle", "dask_client", "json_dict", "json_ready"]


def json_ready(x: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, arrays become lists."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "iub" or (x.dtype.kind == "f" and bool(np.isfinite(x).all())):
            return x.tolist()  # already JSON-safe (a covariance matrix: no per-element walk)
        return json_ready(x.tolist())
    if isinstance(x, dict):
        return {k: json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def json_dict(d: dict[str, Any]) -> dict[str, Any]:
    """:func:`json_ready` for a dictionary."""
    out: dict[str, Any] = json_ready(d)
    return out


_LOCAL: dict[str, tuple[Objective, Any]] = {}  # handle key -> (objective, model) living in this process


class ObjectiveHandle:
    """A picklable reference to a compiled objective, for Dask tasks.

    In the process that created it (and in threaded workers) it resolves to the
    same :class:`Objective`; in another process it rebuilds the model from its
    redist model document (or pyhf spec) and compiles it once per worker.
    """

    def __init__(self, model: ModelLike, obj: Objective) -> None:
        import uuid

        import pyhf

        self.key = uuid.uuid4().hex
        self.backend = obj.backend
        _LOCAL[self.key] = (obj, model)
        from ..reinterpret import ReinterpretedModel

        self.doc: Any = None  # other models resolve only in this process (threaded workers)
        if isinstance(model, pyhf.pdf.Model):
            self.doc = ("pyhf", model.spec, model.config.poi_name)
        elif isinstance(model, ReinterpretedModel):
            from ..io import to_dict

            self.doc = ("redist", to_dict(model), None)

    def resolve(self) -> Objective:
        """The objective in this process (rebuilt and compiled once per worker process)."""
        hit = _LOCAL.get(self.key)
        if hit is not None:
            return hit[0]
        import pyhf

        if self.doc is None:
            msg = "this model can only be used by threaded Dask workers (it has no file form)"
            raise BackendError(msg)
        kind, doc, poi = self.doc
        if kind == "pyhf":
            model: Any = pyhf.Model(doc, poi_name=poi)
        else:
            from ..io import from_dict

            model = from_dict(doc)
        obj = objective(model, self.backend)
        _LOCAL[self.key] = (obj, model)
        return obj

    def release(self) -> None:
        """Forget the objective in this process."""
        _LOCAL.pop(self.key, None)


def _configure_worker() -> None:
    """Switch a Dask worker to float64 (and the compile cache) where jax is installed."""
    try:
        import jax  # noqa: F401
    except ImportError:  # numpy-only worker: nothing to configure
        return
    from ..engine._cache import ensure_compile_cache

    ensure_compile_cache()


def dask_client(dask: Any) -> tuple[Any, Callable[[], None]]:
    """A distributed Client from an address, a Client, or ``True`` (local cluster).

    Every worker gets jax's float64 mode before a task arrives: tasks that carry jax arrays
    (NUTS chain functions) are unpickled before they run, and an array unpickled with
    float64 off becomes float32 (a process worker's chain then differs from the serial one).
    """
    distributed = optional_import("distributed", purpose="Dask scale-out", extra="dask")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster
    if isinstance(dask, Client):
        dask.run(_configure_worker)
        return dask, lambda: None
    if isinstance(dask, str):
        client = Client(dask)
        client.run(_configure_worker)
        return client, client.close
    cluster = LocalCluster(processes=False, dashboard_address=":0")
    client = Client(cluster)

    def close() -> None:
        client.close()
        cluster.close()

    return client, close
