"""The fused HistFactory likelihood in jax: ln L, −2 ln L, gradient, HVP and Hessian.

:func:`make_logpdf` turns :class:`~redist.engine.ModelTensors` into one pure
jax function ``logpdf(pars, data)`` equal to pyhf's ``Model.logpdf`` (same
interpolation formulas, constraint terms and constants). The model tensors are
compile-time constants; the parameter vector and the data vector are
arguments, so one executable serves every dataset (toys, Asimov data) and
every parameter point. :class:`Likelihood` compiles value-and-gradient, the
exact Hessian (forward-over-reverse) and Hessian-vector products ahead of time,
once per model and batch size, and keeps them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ._redist import reweighting_factors
from ._tensors import ModelTensors

__all__ = ["Likelihood", "make_functions", "make_logpdf"]


#: histosys is evaluated as a dense (slots x parameters) product when that matrix has
#: at most this many entries, else as sparse entries summed per slot
DENSE_HISTOSYS_MAX = 1 << 18


def make_logpdf(t: ModelTensors, *, dense_histosys: bool | None = None) -> Callable[[Any, Any], Any]:
    """The pure jax function ``logpdf(pars, data)`` of a model.

    See :func:`make_functions` for the layout; this is its second element.

    Cells are laid out as a padded ``(n_main, width)`` grid of *slots* (``width``:
    the most samples in one bin), so bins are a row sum; histosys deltas are
    one ``(slots, k H) @ features(alpha)`` product when that matrix is small
    (:data:`DENSE_HISTOSYS_MAX`), else a segment sum of the sparse entries.

    Parameters
    ----------
    t : ModelTensors
        The model's tensors (:func:`~redist.engine.model_tensors`).
    dense_histosys : bool, optional
        Force the dense (``True``) or sparse (``False``) histosys evaluation.

    Returns
    -------
    callable
        ``logpdf(pars[P], data[n_main + n_aux]) -> scalar``; traceable, so it can be
        differentiated, vmapped and jitted.

    Examples
    --------
    >>> import numpy as np, pyhf
    >>> from redist.engine import model_tensors
    >>> m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
    >>> f = make_logpdf(model_tensors(m))
    >>> d = np.array([15.0, *m.config.auxdata])
    >>> p = np.array(m.config.suggested_init())
    >>> bool(np.isclose(float(f(p, d)), float(m.logpdf(p, d)[0]), rtol=1e-12))
    True
    """
    return make_functions(t, dense_histosys=dense_histosys)[1]


def make_functions(
    t: ModelTensors, *, dense_histosys: bool | None = None
) -> tuple[Callable[[Any], Any], Callable[[Any, Any], Any]]:
    """The pure jax functions ``expected(pars)`` (main-bin yields) and ``logpdf(pars, data)``.

    Parameters
    ----------
    t : ModelTensors
        The model's tensors.
    dense_histosys : bool, optional
        Force the dense (``True``) or sparse (``False``) histosys evaluation.

    Returns
    -------
    tuple of callable
        ``expected(pars[P]) -> (n_main,)`` and ``logpdf(pars, data) -> scalar``.
    """
    from ._cache import ensure_compile_cache

    ensure_compile_cache()  # float64 and the persistent cache, before anything is traced
    import jax.numpy as jnp
    from jax import ops
    from jax.scipy.special import gammaln, xlogy

    npars, n_main = t.npars, t.n_main
    # -- slot layout: cell -> (bin, position within the bin) --------------------------------
    counts = np.bincount(t.cell_bin, minlength=n_main)
    width = max(int(counts.max()) if counts.size else 1, 1)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(t.n_cells) - first[t.cell_bin]
    slot = t.cell_bin * width + pos
    n_slots = n_main * width
    one = npars + t.ns_par.size + t.n_rw  # index of the trailing 1 in v
    nominal_np = np.zeros(n_slots)
    nominal_np[slot] = t.nominal
    table_np = np.full((n_slots, t.table.shape[1]), one, dtype=np.int64)
    table_np[slot] = t.table
    nominal = np.asarray(nominal_np.reshape(n_main, width))
    table = np.asarray(table_np)

    n_hs = int(t.hs_par.size)
    has_hs = t.hs_cell.size > 0
    code4p = t.hs_code == "code4p"
    # per entry: code0 [up, down]; code4p [up, down, S, A] (pyhf's S and A), one column block
    # per feature of alpha, so that each entry's delta is exactly pyhf's (a zero variation
    # gives an exact zero, which matters for zero-yield bins)
    coef = [t.hs_up, t.hs_dn]
    if code4p:
        coef += [0.5 * (t.hs_up + t.hs_dn), 0.0625 * (t.hs_up - t.hs_dn)]
    n_feat = len(coef)
    if dense_histosys is None:
        dense_histosys = n_slots * n_feat * n_hs <= DENSE_HISTOSYS_MAX
    hs_par = np.asarray(t.hs_par)
    if dense_histosys:
        mat = np.zeros((n_slots, n_feat * n_hs))
        for k, c in enumerate(coef):
            np.add.at(mat, (slot[t.hs_cell], k * n_hs + t.hs_which), c)
        hs_mat = np.asarray(mat)
    else:
        hs_slot = np.asarray(slot[t.hs_cell])
        hs_which = np.asarray(t.hs_which)
        hs_coef = np.asarray(np.stack(coef, axis=1))

    has_ns = t.ns_par.size > 0
    ns_par = np.asarray(t.ns_par)
    ns_hi = np.asarray(t.ns_hi)
    ns_lo = np.asarray(t.ns_lo)
    ns_poly = np.asarray(t.ns_poly)
    code4 = t.ns_code == "code4"

    blocks = [reweighting_factors(b.reweighting, b.binding, b.migration) for b in t.reweightings]

    # -- constraints as per-parameter vectors (no gather/scatter of the parameters) ------------
    has_g = t.gauss_par.size > 0
    g_mask = np.zeros(npars, dtype=bool)
    g_mask[t.gauss_par] = True
    g_aux_np = np.zeros(npars, dtype=np.int64)
    g_aux_np[t.gauss_par] = n_main + t.gauss_aux
    g_inv_np = np.zeros(npars)
    g_inv_np[t.gauss_par] = 1.0 / (np.sqrt(2.0) * t.gauss_sigma)
    g_aux = np.asarray(g_aux_np)
    g_inv = np.asarray(g_inv_np)
    # pyhf: -log(sigma * sqrt(2 pi)) per constraint, summed once here
    g_const = float(np.sum(-np.log(t.gauss_sigma * np.sqrt(2 * np.pi)))) if has_g else 0.0

    has_p = t.pois_par.size > 0
    p_par = np.asarray(t.pois_par)
    p_aux = np.asarray(n_main + t.pois_aux)
    p_fac = np.asarray(t.pois_factor)

    def features(alpha: Any) -> Any:
        """Pyhf's piecewise pieces of the delta, shape (n_feat, H); exactly one is non-zero."""
        zero = jnp.zeros_like(alpha)
        if code4p:
            a2 = alpha * alpha
            tmp3 = a2 * (a2 * (a2 * 3.0 - 10.0) + 15.0)
            up = alpha > 1.0
            dn = alpha < -1.0
            mid = ~up & ~dn
            return jnp.stack(
                [jnp.where(up, alpha, zero), jnp.where(dn, alpha, zero),
                 jnp.where(mid, alpha, zero), jnp.where(mid, tmp3, zero)]
            )
        pos = alpha > 0.0  # pyhf's code0 takes the down branch at alpha = 0
        return jnp.stack([jnp.where(pos, alpha, zero), jnp.where(pos, zero, alpha)])

    def histosys(pars: Any) -> Any:
        feat = features(pars[hs_par])
        if dense_histosys:
            return (hs_mat @ feat.reshape(-1)).reshape(n_main, width)
        delta = jnp.sum(hs_coef * feat[:, hs_which].T, axis=1)
        return ops.segment_sum(delta, hs_slot, num_segments=n_slots).reshape(n_main, width)

    def normsys(pars: Any) -> Any:
        alpha = pars[ns_par]
        if code4:
            powers = jnp.stack([alpha**k for k in range(1, 7)], axis=1)
            poly = 1.0 + jnp.sum(ns_poly * powers, axis=1)
            return jnp.where(
                alpha >= 1.0, ns_hi**alpha, jnp.where(alpha > -1.0, poly, ns_lo ** (-alpha))
            )
        return jnp.where(alpha > 0.0, ns_hi, ns_lo) ** jnp.abs(alpha)

    def expected(pars: Any) -> Any:
        pars = jnp.asarray(pars)
        parts = [pars]
        if has_ns:
            parts.append(normsys(pars))
        for factors in blocks:
            parts.append(factors(pars, jnp))
        parts.append(jnp.ones(1, dtype=pars.dtype))
        v = jnp.concatenate(parts)
        fac = jnp.prod(v[table], axis=1).reshape(n_main, width)
        base = nominal + histosys(pars) if has_hs else nominal
        return jnp.sum(base * fac, axis=1)

    def logpdf(pars: Any, data: Any) -> Any:
        pars = jnp.asarray(pars)
        data = jnp.asarray(data)
        lam = expected(pars)
        n = data[:n_main]
        out = jnp.sum(xlogy(n, lam) - lam - gammaln(n + 1.0))
        if has_g:
            z = jnp.where(g_mask, (data[g_aux] - pars) * g_inv, 0.0)
            out = out + (g_const - jnp.sum(z * z))
        if has_p:
            a = data[p_aux]
            rate = pars[p_par] * p_fac
            out = out + jnp.sum(xlogy(a, rate) - rate - gammaln(a + 1.0))
        return out

    return expected, logpdf


def grad_and_hessian_fn(t: ModelTensors, grad: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``(p, d) -> (gradient, exact symmetric Hessian)`` of a gradient function of the model.

    Forward-over-reverse: one Hessian-vector product per tangent. With the
    structural sparsity of the model (:func:`~redist.engine._tensors.hessian_seed`)
    parameters that never share a main bin share a tangent, so the Belle II model
    (239 parameters, 180 of them in one bin each) needs 65 products instead of 239;
    the entries are read back exactly. Otherwise every unit vector is a tangent.
    """
    import jax
    import jax.numpy as jnp

    from ._tensors import hessian_seed

    seed = hessian_seed(t)
    if seed is None:

        def dense(p: Any, d: Any) -> Any:
            def g_aux(q: Any) -> tuple[Any, Any]:
                g = grad(q, d)
                return g, g

            h, g = jax.jacfwd(g_aux, has_aux=True)(p)
            return g, 0.5 * (h + h.T)

        return dense
    seeds_np, src_np, comp_np, mask_np = seed
    seeds = np.asarray(seeds_np)
    src = np.asarray(src_np)
    comp = np.asarray(comp_np)
    mask = np.asarray(mask_np)

    def compressed(p: Any, d: Any) -> Any:
        def hv(v: Any) -> Any:
            return jax.jvp(lambda q: grad(q, d), (p,), (v,))

        gs, hs = jax.vmap(hv)(seeds)  # (T, P): row k is H @ seeds[k]
        h = jnp.where(mask, hs[src, comp], 0.0)
        return gs[0], 0.5 * (h + h.T)

    return compressed


class Likelihood:
    """−2 ln L of one model with compiled value, gradient, Hessian and HVP.

    Build it with :func:`redist.engine.likelihood` (cached per model). Every
    method takes the full parameter vector (pyhf order) and the full data
    vector (main bins then auxdata); executables are compiled on first use and
    kept, one per function and batch size.

    Parameters
    ----------
    tensors : ModelTensors
        The model.

    Attributes
    ----------
    tensors : ModelTensors
        The model's tensors (names, labels, bounds, inits, fixed, data).
    compile_time_s : float
        Seconds spent lowering and compiling so far (persistent-cache hits included).
    """

    def __init__(self, tensors: ModelTensors) -> None:
        from ._cache import ensure_compile_cache

        ensure_compile_cache()
        import jax

        self.tensors = tensors
        expected, self._logpdf = make_functions(tensors)
        self._lock = threading.RLock()
        self._exe: dict[tuple[str, int], Any] = {}
        self._call: dict[str, Any] = {}  # unbatched executables by kind (the evaluation fast path)
        self.compile_time_s = 0.0
        logpdf = self._logpdf

        def twice_nll(p: Any, d: Any) -> Any:
            return -2.0 * logpdf(p, d)

        grad = jax.grad(twice_nll)

        def hvp(p: Any, d: Any, v: Any) -> Any:
            return jax.jvp(lambda q: grad(q, d), (p,), (v,))[1]

        self.grad_and_hessian_fn = grad_and_hessian_fn(tensors, grad)

        def hessian(p: Any, d: Any) -> Any:
            return self.grad_and_hessian_fn(p, d)[1]

        vg = jax.value_and_grad(twice_nll)

        def vg_flat(p: Any, d: Any) -> Any:
            # one output array: a single device-to-host transfer per call
            v, g = vg(p, d)
            return jax.numpy.concatenate([v[None], g])

        self.twice_nll_fn: Callable[[Any, Any], Any] = twice_nll
        self.logpdf_fn: Callable[[Any, Any], Any] = logpdf
        self._fingerprint: str | bool | None = False  # computed on first compilation
        self._fns: dict[str, Callable[..., Any]] = {
            "value": twice_nll,
            "value_and_grad": vg,
            "vg_flat": vg_flat,
            "hessian": hessian,
            "hvp": hvp,
            "logpdf": logpdf,
            "expected": lambda p, d: expected(p),
        }

    # -- shapes --------------------------------------------------------------------------
    @property
    def npars(self) -> int:
        """Length of the parameter vector."""
        return self.tensors.npars

    @property
    def ndata(self) -> int:
        """Length of the data vector."""
        return self.tensors.ndata

    @property
    def data(self) -> np.ndarray | None:
        """The model's observed data and auxdata (``None`` for a bare pyhf model)."""
        return self.tensors.data

    # -- compilation -------------------------------------------------------------------------
    def executable(self, kind: str, batch: int = 0) -> Any:
        """The compiled executable of ``kind`` for a batch size (0: unbatched).

        Parameters
        ----------
        kind : {"value", "value_and_grad", "vg_flat", "hessian", "hvp", "logpdf", "expected"}
            Function to compile.
        batch : int
            0 for single vectors, otherwise the leading batch size of
            ``pars`` and ``data`` (both batched).

        Returns
        -------
        jax.stages.Compiled
        """
        key = (kind, int(batch))
        exe = self._exe.get(key)
        if exe is not None:
            return exe
        with self._lock:
            exe = self._exe.get(key)
            if exe is None:
                import jax

                fn = self._fns[kind]
                p = np.zeros(self.npars)
                d = np.zeros(self.ndata)
                args: list[Any] = [p, d] if kind != "hvp" else [p, d, p]
                if batch:
                    fn = jax.vmap(fn)
                    args = [np.broadcast_to(a, (batch, a.size)).copy() for a in args]
                t0 = time.perf_counter()
                exe = self.compile(fn, args, f"{kind}|{batch}")
                self.compile_time_s += time.perf_counter() - t0
                self._exe[key] = exe
        return exe

    def fingerprint(self) -> str | None:
        """Digest of the model (:func:`~redist.engine._tensors.fingerprint`), ``None`` if unknown."""
        if self._fingerprint is False:
            from ._tensors import fingerprint

            self._fingerprint = fingerprint(self.tensors)
        return self._fingerprint  # type: ignore[return-value]

    def compile(self, fn: Callable[..., Any], args: Any, what: str) -> Any:
        """Compile a function of this model: traced once and kept (``jax.export``) across processes.

        ``what`` names the function completely (kind, batch size, options); with the
        model's fingerprint it keys the traced function in the cache directory, and
        jax's persistent cache keys the compiled executable by its program.
        """
        import jax

        from ._cache import exported

        fp = self.fingerprint()
        shapes = ",".join(f"{np.shape(a)}{np.asarray(a).dtype}" for a in args)
        exp = exported(None if fp is None else f"{fp}|{what}|{shapes}", fn, args)
        return jax.jit(exp.call).lower(*args).compile()

    # -- evaluation -------------------------------------------------------------------------
    # The per-call cost of these wrappers is part of every Minuit step: the executable is
    # looked up once per kind and kept in ``_call``, float64 numpy arrays go to it
    # unconverted, and results come back as numpy views of the single output buffer.
    def _load(self, kind: str) -> Any:
        exe = self._call[kind] = self.executable(kind)
        return exe

    def _run(self, kind: str, *args: Any) -> np.ndarray:
        exe = self._call.get(kind) or self._load(kind)
        return np.asarray(exe(*[_f64(a) for a in args]))

    def logpdf(self, pars: Any, data: Any) -> float:
        """Ln L (pyhf's ``Model.logpdf``) at one parameter vector."""
        return float(self._run("logpdf", pars, data))

    def value(self, pars: Any, data: Any) -> float:
        """−2 ln L at one parameter vector."""
        exe = self._call.get("value") or self._load("value")
        return float(np.asarray(exe(_f64(pars), _f64(data))))

    def value_and_grad(self, pars: Any, data: Any) -> tuple[float, np.ndarray]:
        """−2 ln L and its gradient (a read-only view of the executable's output)."""
        exe = self._call.get("vg_flat") or self._load("vg_flat")
        out = np.asarray(exe(_f64(pars), _f64(data)))
        return float(out[0]), out[1:]

    def hessian(self, pars: Any, data: Any) -> np.ndarray:
        """Exact Hessian of −2 ln L (symmetrised)."""
        return self._run("hessian", pars, data)

    def hvp(self, pars: Any, data: Any, vector: Any) -> np.ndarray:
        """Hessian-vector product of −2 ln L."""
        return self._run("hvp", pars, data, vector)

    def expected_main(self, pars: Any) -> np.ndarray:
        """Expected yields of the main bins (pyhf's ``expected_actualdata``)."""
        return self._run("expected", pars, np.zeros(self.ndata))

    def batch(self, kind: str, pars: Any, data: Any) -> Any:
        """Evaluate ``kind`` on a batch: ``pars[B, P]`` and ``data[B, D]``.

        Returns numpy arrays (a tuple for ``"value_and_grad"``).
        """
        p = _f64(pars)
        d = _f64(data)
        if d.ndim == 1:
            d = np.broadcast_to(d, (p.shape[0], d.size))
        out = self.executable(kind, p.shape[0])(p, d)
        if isinstance(out, tuple):
            return tuple(np.asarray(o) for o in out)
        return np.asarray(out)


_F64 = np.dtype(np.float64)


def _f64(x: Any) -> np.ndarray:
    if type(x) is np.ndarray and x.dtype is _F64:  # the common case: no conversion at all
        return x
    return np.asarray(x, dtype=np.float64)
