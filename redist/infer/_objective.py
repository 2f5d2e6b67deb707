"""The compiled objective: −2 ln L, its gradient and Hessian for one model.

:func:`objective` returns an :class:`Objective` for a pyhf model (a
:class:`~redist.reinterpret.ReinterpretedModel` or a plain :class:`pyhf.pdf.Model`).
On the ``"jax"`` backend the objective is :mod:`redist.engine`'s fused likelihood
(:func:`redist.engine.likelihood`): value-and-gradient and the exact Hessian are
compiled **once per model** (and kept in jax's persistent compilation cache across
processes), so that every later fit, scan point, toy or posterior step reuses the
same executables. A model the engine does not support (an interpolation code other
than normsys code1/code4 and histosys code0/code4p) falls back to compiling pyhf's
own jax graph. On the ``"numpy"`` backend the objective calls pyhf's numpy ``logpdf``
and gradients are left to Minuit's numerical differentiation (pyhf's own
behaviour); :func:`objective` with ``backend="auto"`` falls back to it, with one
:class:`JaxUnavailableWarning`, when jax cannot be imported.

Compilation does not depend on which parameters are fixed: the full parameter
vector is always passed and fixed components are simply not moved by the minimiser.
The observed data are an argument, so Asimov data and toys reuse the executables.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyhf

from .._optional import has_module
from ..exceptions import BackendError, JaxUnavailableWarning
from ..layout import ParameterLayout
from ..typing import ModelLike

__all__ = [
    "BackendError",
    "JaxUnavailableWarning",
    "Objective",
    "jax_available",
    "objective",
    "resolve_backend",
]


_WARNED = False
_LOCK = threading.RLock()  # pyhf's backend is global state: guard switching and tracing


def jax_available() -> bool:
    """Whether jax can be imported."""
    return has_module("jax")


def resolve_backend(backend: str) -> str:
    """Turn ``"auto"`` into ``"jax"`` or ``"numpy"`` (warning once if jax is missing).

    Parameters
    ----------
    backend : {"auto", "jax", "numpy"}

    Returns
    -------
    str
        ``"jax"`` or ``"numpy"``.
    """
    global _WARNED
    if backend not in ("auto", "jax", "numpy"):
        msg = f"unknown backend {backend!r}; use 'auto', 'jax' or 'numpy'"
        raise BackendError(msg)
    if backend == "numpy":
        return "numpy"
    if jax_available():
        return "jax"
    if backend == "jax":
        msg = "backend='jax' requested but jax is not installed (pip install 'redist[jax]')"
        raise BackendError(msg)
    if not _WARNED:
        _WARNED = True
        warnings.warn(
            "jax is not installed: redist.infer uses pyhf's numpy backend with numerical "
            "gradients (slower); pip install 'redist[jax]' for the compiled fast path",
            JaxUnavailableWarning,
            stacklevel=3,
        )
    return "numpy"


@contextlib.contextmanager
def pyhf_backend(name: str) -> Iterator[None]:
    """Temporarily switch pyhf's global tensor backend (64-bit), restoring it afterwards."""
    with _LOCK:
        old_t, old_o = pyhf.get_backend()
        if old_t.name == name and getattr(old_t, "precision", "64b") == "64b":
            yield
            return
        pyhf.set_backend(name, precision="64b")
        try:
            yield
        finally:
            pyhf.set_backend(old_t, old_o)


def _pyhf_model(model: ModelLike, backend: str) -> Any:
    """The pyhf model for a backend (a ReinterpretedModel builds one per backend)."""
    if isinstance(model, pyhf.pdf.Model):
        return model
    with pyhf_backend(backend):
        return model.model


def layout_of(model: ModelLike) -> ParameterLayout:
    """The parameter layout of a model (a plain pyhf model gets one from its config)."""
    if isinstance(model, pyhf.pdf.Model):
        return ParameterLayout.from_pyhf(model.config)
    return model.layout


class Objective:
    """−2 ln L of a pyhf model, with gradient and Hessian, on one backend.

    Parameters
    ----------
    model : pyhf.pdf.Model
        Model built for ``backend`` (for jax: built while pyhf's backend was jax).
    backend : {"jax", "numpy"}
        Computation backend.
    data : array_like, optional
        The model's own data (main + auxiliary), if it has any.
    layout : ParameterLayout, optional
        The model's parameter layout (default: built from ``model.config``).

    Attributes
    ----------
    nfcn, ngrad, nhess : int
        Number of value, gradient (value-and-gradient) and Hessian evaluations so far.
    """

    def __init__(
        self,
        model: Any,
        backend: str,
        data: Any = None,
        layout: ParameterLayout | None = None,
        engine: Any = None,
    ) -> None:
        self.model = model
        self.backend = backend
        cfg = model.config
        self.npars: int = cfg.npars
        self.layout = layout if layout is not None else ParameterLayout.from_pyhf(cfg)
        self.data: np.ndarray | None = None if data is None else np.asarray(data, dtype=float)
        self.nfcn = 0
        self.ngrad = 0
        self.nhess = 0
        self._batched: dict[int, Any] = {}
        self._hess: Any = None
        self._compile_s = 0.0
        #: the engine's :class:`~redist.engine.Likelihood` (jax backend), ``None`` otherwise
        self.engine = engine
        if engine is not None:
            self._raw = engine.twice_nll_fn
        elif backend == "jax":
            self._compile()

    @property
    def compile_time_s(self) -> float:
        """Seconds spent compiling so far (persistent-cache loads included)."""
        if self.engine is not None:
            return float(self.engine.compile_time_s)
        return self._compile_s

    # -- compilation (pyhf's generic jax graph: only for models the engine does not support) --
    def _compile(self) -> None:
        import jax
        import jax.numpy as jnp

        model = self.model

        def twice_nll(p: Any, d: Any) -> Any:
            return -2.0 * model.logpdf(p, d)[0]

        grad = jax.grad(twice_nll)

        def hessian(p: Any, d: Any) -> Any:
            eye = jnp.eye(p.shape[0], dtype=p.dtype)
            return jax.vmap(lambda v: jax.jvp(lambda q: grad(q, d), (p,), (v,))[1])(eye)

        self._raw = twice_nll
        self._hessian_fn = hessian
        p0 = np.asarray(model.config.suggested_init(), dtype=float)
        d0 = np.zeros(self.ndata)
        t0 = time.perf_counter()
        with pyhf_backend("jax"):
            self._vg = jax.jit(jax.value_and_grad(twice_nll)).lower(p0, d0).compile()
        self._compile_s += time.perf_counter() - t0

    def _compile_hessian(self) -> Any:
        """Compile the exact Hessian on first use (scans never need it)."""
        if self._hess is None:
            import jax

            p0 = np.asarray(self.model.config.suggested_init(), dtype=float)
            d0 = np.zeros(self.ndata)
            t0 = time.perf_counter()
            with pyhf_backend("jax"):
                self._hess = jax.jit(self._hessian_fn).lower(p0, d0).compile()
            self._compile_s += time.perf_counter() - t0
        return self._hess

    @property
    def ndata(self) -> int:
        """Length of the data vector (main bins plus auxiliary data)."""
        cfg = self.model.config
        return int(cfg.nmaindata + cfg.nauxdata)

    def batched_value_and_grad(self, size: int) -> Any:
        """A compiled, vmapped value-and-gradient over ``size`` parameter vectors (jax only).

        Returns a function of ``(pars[size, npars], data)`` giving ``(values, gradients)``.
        """
        if self.backend != "jax":
            msg = "batched evaluation needs the jax backend"
            raise BackendError(msg)
        if self.engine is not None:
            lik = self.engine

            def call_vg(p: Any, d: Any) -> Any:
                return lik.batch("value_and_grad", np.asarray(p, dtype=float), d)

            return call_vg
        if size not in self._batched:
            import jax

            p0 = np.tile(np.asarray(self.model.config.suggested_init(), dtype=float), (size, 1))
            d0 = np.zeros(self.ndata)
            f = jax.vmap(jax.value_and_grad(self._raw), in_axes=(0, None))
            with pyhf_backend("jax"):
                self._batched[size] = jax.jit(f).lower(p0, d0).compile()
        return self._batched[size]

    def batched_value(self, size: int) -> Any:
        """A function of ``(pars[size, npars], data)`` returning ``size`` values of −2 ln L.

        jax: one compiled, vmapped executable per batch size; numpy: a loop.
        """
        if self.backend != "jax":

            def loop(p: Any, d: Any) -> np.ndarray:
                return np.array([self.value(q, d) for q in np.asarray(p)])

            return loop
        if self.engine is not None:
            lik = self.engine

            def call_engine(p: Any, d: Any) -> np.ndarray:
                self.nfcn += size
                out: np.ndarray = lik.batch("value", np.asarray(p, dtype=float), np.asarray(d, dtype=float))
                return out

            return call_engine
        key = -size  # negative keys: value-only executables
        if key not in self._batched:
            import jax

            p0 = np.tile(np.asarray(self.model.config.suggested_init(), dtype=float), (size, 1))
            d0 = np.zeros(self.ndata)
            f = jax.vmap(self._raw, in_axes=(0, None))
            with pyhf_backend("jax"):
                self._batched[key] = jax.jit(f).lower(p0, d0).compile()
        exe = self._batched[key]

        def call(p: Any, d: Any) -> np.ndarray:
            self.nfcn += size
            return np.asarray(exe(np.asarray(p, dtype=float), np.asarray(d, dtype=float)))

        return call

    # -- evaluation ----------------------------------------------------------------
    def value(self, pars: Any, data: Any) -> float:
        """−2 ln L at a full parameter vector."""
        self.nfcn += 1
        p = np.asarray(pars, dtype=float)
        if self.engine is not None:  # value-and-gradient: one executable fewer to compile
            return float(self.engine.value_and_grad(p, data)[0])
        if self.backend == "jax":
            return float(self._vg(p, np.asarray(data, dtype=float))[0])
        with pyhf_backend("numpy"):
            return float(-2.0 * self.model.logpdf(p, np.asarray(data, dtype=float))[0])

    def value_and_grad(self, pars: Any, data: Any) -> tuple[float, np.ndarray]:
        """−2 ln L and its exact gradient (jax backend only)."""
        if self.backend != "jax":
            msg = "exact gradients need the jax backend"
            raise BackendError(msg)
        self.ngrad += 1
        if self.engine is not None:
            return self.engine.value_and_grad(pars, data)  # type: ignore[no-any-return]
        v, g = self._vg(np.asarray(pars, dtype=float), np.asarray(data, dtype=float))
        return float(v), np.asarray(g)

    def hessian(self, pars: Any, data: Any) -> np.ndarray:
        """Exact Hessian of −2 ln L (jax), or a central finite-difference one (numpy)."""
        self.nhess += 1
        p = np.asarray(pars, dtype=float)
        d = np.asarray(data, dtype=float)
        if self.engine is not None:
            return self.engine.hessian(p, d)  # type: ignore[no-any-return]
        if self.backend == "jax":
            h = np.asarray(self._compile_hessian()(p, d), dtype=float)
            sym: np.ndarray = 0.5 * (h + h.T)
            return sym
        return self._fd_hessian(p, d)

    def _fd_hessian(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        n = p.size
        step = 1e-4 * np.maximum(1.0, np.abs(p))
        f0 = self.value(p, d)
        h = np.zeros((n, n))
        fp = np.empty(n)
        fm = np.empty(n)
        for i in range(n):
            e = np.zeros(n)
            e[i] = step[i]
            fp[i] = self.value(p + e, d)
            fm[i] = self.value(p - e, d)
            h[i, i] = (fp[i] - 2 * f0 + fm[i]) / step[i] ** 2
        return h

    def counters(self) -> tuple[int, int]:
        """(nfcn, ngrad) so far."""
        return self.nfcn, self.ngrad


# cache: id(model) -> backend -> Objective; entries die with the model (weakref.finalize)
_CACHE: dict[int, dict[str, Objective]] = {}


def _forget(key: int) -> None:
    _CACHE.pop(key, None)


def objective(model: ModelLike, backend: str = "auto") -> Objective:
    """The (cached) compiled objective of a model.

    Parameters
    ----------
    model : ModelLike
        The likelihood (:class:`~redist.reinterpret.ReinterpretedModel`, a combination,
        or a plain pyhf model, used with its own backend's arrays).
    backend : {"auto", "jax", "numpy"}
        ``"auto"`` uses jax when it is installed.

    Returns
    -------
    Objective
        Compiled once per (model, backend) and reused afterwards.
    """
    backend = resolve_backend(backend)
    with _LOCK:
        key = id(model)
        per = _CACHE.get(key)
        if per is None:
            per = _CACHE[key] = {}
            weakref.finalize(model, _forget, key)
        if backend not in per:
            data = None
            if not isinstance(model, pyhf.pdf.Model):
                with pyhf_backend("numpy"):
                    data = np.asarray(model.data, dtype=float)
            lik = _engine_likelihood(model) if backend == "jax" else None
            pyhf_model = _pyhf_model(model, "numpy" if lik is not None else backend)
            per[backend] = Objective(pyhf_model, backend, data, layout_of(model), engine=lik)
        return per[backend]


def _engine_likelihood(model: ModelLike) -> Any:
    """redist.engine's likelihood of a model, or ``None`` when the engine does not support it."""
    from .. import engine
    from ..exceptions import ModelSpecError

    try:
        with pyhf_backend("numpy"):  # the engine reads the spec and the numpy model's config
            return engine.likelihood(model)
    except ModelSpecError:
        return None
