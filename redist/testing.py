"""Conformance checks that every theory plug-in can run against itself.

A plug-in package tests its theory with one call::

    from redist.testing import check_theory

    def test_conformance():
        check_theory(MyTheory())

:func:`check_theory` exercises the contract of :class:`redist.theory.Theory`
that redist relies on, and raises :class:`ConformanceError` naming the theory
and the failed check:

* **declarations** -- parameters have finite defaults inside their bounds,
  names are unique across parameters and correlated groups, kinematic ranges
  are finite and ordered;
* **rate** -- vectorised, shape ``(n,)`` for ``(n,)`` or ``(n, d)`` input,
  finite and non-negative on the physical range (at the defaults and at random
  points inside the bounds), zero outside it, each point independent of the
  others;
* **names** -- omitted parameters take their defaults, unknown names raise
  :class:`redist.exceptions.UnknownParameter`;
* **basis structure** (if :attr:`~redist.theory.Theory.has_basis`) --
  ``basis(z) @ coefficients(values)`` equals ``_rate``, and
  :class:`redist.kernels.BinKernel` bin rates equal direct Gauss-Legendre
  integration of :meth:`~redist.theory.Theory.rate` at the same nodes;
* **jax** (if installed) -- the bin rates are traceable and ``jax.grad``
  matches central finite differences;
* **nonlinear** (theories with :attr:`~redist.theory.Theory.n_nonlinear_basis`;
  jax installed) -- analytic bin integrals of the non-linear basis are an
  antiderivative of it (``d/dhi`` by jax) and additive, and ``jax.grad`` of the
  bin rates with respect to every non-linear parameter (a mass, a width) equals
  Richardson-extrapolated finite differences to 1e-6 relative;
* **registry** (if the theory's name is registered) -- :meth:`spec` is JSON
  serialisable and rebuilds an equal theory;
* **groups** -- covariances are symmetric positive semi-definite and the
  eigen-transform reproduces them.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from ._optional import has_module, optional_import
from .exceptions import ConformanceError, UnknownParameter
from .kernels import BinKernel
from .theory import Theory, available_theories, theory_from_spec

__all__ = ["ConformanceError", "check_theory", "random_values"]


def _fail(theory: Theory, check: str, detail: str) -> ConformanceError:
    return ConformanceError(f"theory {theory.name!r} fails check {check!r}: {detail}")


def _finite_box(lo: float, hi: float, centre: float) -> tuple[float, float]:
    """Finite sampling range inside ``[lo, hi]``, at most 10 units either side of ``centre``."""
    return max(lo, centre - 10.0), min(hi, centre + 10.0)


def random_values(theory: Theory, rng: np.random.Generator) -> dict[str, float]:
    """A random parameter point: uniform inside the bounds, groups within ±2 sigma.

    Infinite bounds are replaced by ``default ± 10``.

    Parameters
    ----------
    theory : Theory
        The model.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    dict
        Values of every parameter, by name.

    Examples
    --------
    >>> from theories.wet import WET
    >>> v = random_values(WET(), np.random.default_rng(1))
    >>> sorted(v) == sorted(WET().parameter_names)
    True
    """
    out: dict[str, float] = {}
    for p in theory.parameters:
        lo, hi = _finite_box(*p.bounds, p.default)
        out[p.name] = float(rng.uniform(lo, hi))
    for g in theory.groups:
        eta = rng.uniform(-2.0, 2.0, len(g.parameters))
        out.update({k: float(v) for k, v in g.physical(eta).items()})
    return out


def _kinematic_points(theory: Theory, rng: np.random.Generator, n: int) -> np.ndarray:
    cols = []
    for k in theory.kinematics:
        inner = rng.uniform(k.low, k.high, n - 2)
        cols.append(np.concatenate([[k.low, k.high], inner]))
    return np.stack(cols, axis=-1)


def _close(a: Any, b: Any, rtol: float) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.max(np.abs(b), initial=0.0)), np.finfo(float).tiny)
    return bool(np.all(np.abs(a - b) <= rtol * np.maximum(np.abs(b), 1e-3 * scale)))


@contextlib.contextmanager
def _x64(jax: Any) -> Iterator[None]:
    if hasattr(jax, "enable_x64"):
        with jax.enable_x64(True):
            yield
    else:  # jax < 0.5
        experimental = optional_import("jax.experimental", purpose="jax checks")
        with experimental.enable_x64():
            yield


def _check_declarations(theory: Theory) -> None:
    names = list(theory.parameter_names)
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise _fail(theory, "declarations", f"duplicate parameter names {sorted(dup)}")
    for p in theory.parameters:
        lo, hi = p.bounds
        if not (math.isfinite(p.default) and lo <= p.default <= hi and lo < hi):
            raise _fail(theory, "declarations", f"parameter {p.name!r}: default {p.default} "
                        f"not strictly inside bounds {p.bounds}")  # fmt: skip
    if not theory.kinematics:
        raise _fail(theory, "declarations", "no kinematic variables")
    for k in theory.kinematics:
        if not (math.isfinite(k.low) and math.isfinite(k.high) and k.low < k.high):
            raise _fail(theory, "declarations", f"kinematic {k.name!r} range {k.low}..{k.high}")
    for g in theory.groups:
        cov = np.asarray(g.covariance, dtype=float)
        lam = np.linalg.eigvalsh(cov)
        if lam.min() < -1e-12 * max(lam.max(), 0.0):
            raise _fail(theory, "groups", f"group {g.name!r}: covariance not PSD ({lam.min():g})")
        t = g.transform
        if not np.allclose(t @ t.T, cov, rtol=1e-9, atol=1e-12 * float(np.max(np.abs(cov)))):
            raise _fail(theory, "groups", f"group {g.name!r}: transform does not reproduce cov")
        mean = g.physical(np.zeros(len(g.parameters)))
        if not _close([mean[k] for k in g.parameters], g.mean, 1e-12):
            raise _fail(theory, "groups", f"group {g.name!r}: physical(0) is not the mean")
    defaults = theory.defaults()
    if sorted(defaults) != sorted(names):
        raise _fail(theory, "declarations", "defaults() does not cover parameter_names")


def _check_rate(theory: Theory, z: np.ndarray, points: Sequence[Mapping[str, float]],
                rtol: float) -> None:  # fmt: skip
    n, d = z.shape
    for vals in points:
        r = np.asarray(theory.rate(z, vals))
        if r.shape != (n,):
            raise _fail(theory, "rate", f"shape {r.shape} for {n} points, expected ({n},)")
        if not np.all(np.isfinite(r)):
            raise _fail(theory, "rate", f"non-finite values at {z[~np.isfinite(r)][:3]}")
        if np.any(r < 0):
            raise _fail(theory, "rate", f"negative values at {z[r < 0][:3]} for {dict(vals)}")
        single = np.array([theory.rate(z[i : i + 1], vals)[0] for i in range(0, n, max(1, n // 5))])
        if not _close(single, r[:: max(1, n // 5)], rtol):
            raise _fail(theory, "rate", "rate of single points differs from the vectorised call")
    if d == 1:
        r2 = theory.rate(z[:, 0], points[0])
        if np.shape(r2) != (n,) or not _close(r2, theory.rate(z, points[0]), rtol):
            raise _fail(theory, "rate", "(n,) and (n, 1) inputs disagree")
    outside = []
    for i, k in enumerate(theory.kinematics):
        for x in (k.low - 1e-3 * (k.high - k.low) - 1e-9, k.high + 1e-3 * (k.high - k.low) + 1e-9):
            pt = z[0].copy()
            pt[i] = x
            outside.append(pt)
    r_out = theory.rate(np.array(outside), points[0])
    if np.any(np.asarray(r_out) != 0):
        raise _fail(theory, "rate", "rate is not zero outside the physical range")


def _check_names(theory: Theory, z: np.ndarray, rtol: float) -> None:
    if theory.resolve(None) != theory.defaults():
        raise _fail(theory, "names", "resolve(None) differs from defaults()")
    if not _close(theory.rate(z, {}), theory.rate(z, theory.defaults()), rtol):
        raise _fail(theory, "names", "omitted parameters do not take their defaults")
    bogus = "__no_such_parameter__"
    for call in (lambda: theory.resolve({bogus: 1.0}), lambda: theory.rate(z, {bogus: 1.0})):
        try:
            call()
        except UnknownParameter as err:
            if bogus not in str(err):
                raise _fail(theory, "names", f"UnknownParameter does not name {bogus!r}") from err
        else:
            raise _fail(theory, "names", f"unknown parameter {bogus!r} was accepted")


def _binning(theory: Theory, n_bins: int) -> list[np.ndarray]:
    return [np.linspace(k.low, k.high, n_bins + 1) for k in theory.kinematics]


def _check_antiderivative(theory: Theory, exact: Any, cols: np.ndarray, z: np.ndarray,
                          rtol: float) -> None:  # fmt: skip
    """``basis_integrals`` must be an antiderivative of ``basis`` and additive."""
    k = theory.kinematics[0]
    h = 1e-4 * (k.high - k.low)
    zs = np.clip(z[:, 0], k.low + 3 * h, k.high - 3 * h)
    lo = np.full_like(zs, k.low)

    def slope(step: float) -> np.ndarray:
        up = np.asarray(exact(lo, zs + step), dtype=float)[:, cols]
        down = np.asarray(exact(lo, zs - step), dtype=float)[:, cols]
        out: np.ndarray = (up - down) / (2 * step)
        return out

    deriv = (4 * slope(h / 2) - slope(h)) / 3  # Richardson: O(h^4)
    phi = np.asarray(theory.basis(zs[:, None]), dtype=float)[:, cols]
    scale = np.max(np.abs(phi), axis=0, keepdims=True)
    if np.any(np.abs(deriv - phi) > 1e-5 * np.maximum(np.abs(phi), 1e-6 * scale)):
        raise _fail(theory, "kernel", "basis_integrals is not an antiderivative of basis")
    a, b, c = k.low, zs, np.full_like(zs, k.high)
    whole = np.asarray(exact(np.full_like(zs, a), c), dtype=float)[:, cols]
    parts = (np.asarray(exact(np.full_like(zs, a), b), dtype=float)
             + np.asarray(exact(b, c), dtype=float))[:, cols]  # fmt: skip
    if not _close(parts, whole, max(rtol, 1e-12)):
        raise _fail(theory, "kernel", "basis_integrals is not additive over adjacent intervals")


def _check_basis(theory: Theory, z: np.ndarray, points: Sequence[Mapping[str, float]],
                 kernel: BinKernel, rtol: float) -> None:  # fmt: skip
    phi = np.asarray(theory.basis(z))
    n_nl = int(theory.n_nonlinear_basis)
    for vals in points:
        full = theory.resolve(vals)
        c = np.asarray(theory.coefficients(full, np))
        if phi.ndim != 2 or c.shape != (phi.shape[1] + n_nl,) or phi.shape[0] != len(z):
            raise _fail(theory, "basis", f"basis {phi.shape} and coefficients {c.shape} mismatch"
                        + (f" ({n_nl} non-linear basis functions)" if n_nl else ""))  # fmt: skip
        combined = phi @ c[: phi.shape[1]]
        if n_nl:
            nl = np.asarray(theory.nonlinear_basis(z, full, np), dtype=float)
            if nl.shape != (len(z), n_nl):
                raise _fail(theory, "basis", f"nonlinear_basis shape {nl.shape} != {(len(z), n_nl)}")
            combined = combined + nl @ c[phi.shape[1] :]
        direct = np.asarray(theory._rate(z, full, np), dtype=float)
        if not _close(combined, direct, rtol):
            err = np.max(np.abs(combined - direct) / np.maximum(np.abs(direct), 1e-300))
            raise _fail(theory, "basis", f"basis @ coefficients != _rate (max rel. dev. {err:.2e})")
    exact = getattr(theory, "basis_integrals", None)
    if n_nl:  # the fixed columns against quadrature; the non-linear ones in _check_nonlinear
        n, m, d = kernel.nodes.shape
        nodes_phi = np.asarray(theory.basis(kernel.nodes.reshape(-1, d)), dtype=float)
        gl = np.einsum("nm,nmk->nk", kernel.weights, nodes_phi.reshape(n, m, -1))
        analytic = np.zeros(gl.shape[1], dtype=bool)
        if exact is not None and d == 1:
            analytic = ~np.all(np.isnan(np.asarray(exact(kernel.lo[:, 0], kernel.hi[:, 0]))), axis=0)
        if not _close(np.asarray(kernel.kernel)[:, ~analytic], gl[:, ~analytic], rtol):
            raise _fail(theory, "kernel", "kernel columns != Gauss-Legendre of the basis")
        return
    if exact is None or len(theory.kinematics) != 1:
        for vals in points:
            full = theory.resolve(vals)
            k_rates = np.asarray(kernel.rates(full))
            q_rates = kernel.quadrature_rates(full)
            if not _close(k_rates, q_rates, rtol):
                err = np.max(np.abs(k_rates - q_rates) / np.maximum(np.abs(q_rates), 1e-300))
                raise _fail(theory, "kernel", f"kernel bin rates != Gauss-Legendre ({err:.2e})")
        return
    # Columns integrated analytically may hold features (narrow peaks) that fixed-order
    # quadrature cannot resolve: check them as antiderivatives, the others against quadrature.
    n, m, d = kernel.nodes.shape
    nodes_phi = np.asarray(theory.basis(kernel.nodes.reshape(-1, d)), dtype=float)
    gl = np.einsum("nm,nmk->nk", kernel.weights, nodes_phi.reshape(n, m, -1))
    analytic = ~np.all(np.isnan(np.asarray(exact(kernel.lo[:, 0], kernel.hi[:, 0]))), axis=0)
    if not _close(np.asarray(kernel.kernel)[:, ~analytic], gl[:, ~analytic], rtol):
        raise _fail(theory, "kernel", "kernel columns != Gauss-Legendre of the basis")
    if analytic.any():
        _check_antiderivative(theory, exact, analytic, z, rtol)


def _check_jax(theory: Theory, kernel: BinKernel, vals: Mapping[str, float]) -> bool:
    if not has_module("jax"):
        return False
    jax = optional_import("jax", purpose="the jax conformance check")
    jnp = optional_import("jax.numpy", purpose="the jax conformance check")
    full = theory.resolve(vals)
    names = theory.parameter_names
    rng = np.random.default_rng(7)
    proj = rng.uniform(0.5, 1.5, int(kernel.inside.sum()))

    def scalar(x: Any, xp: ModuleType) -> Any:
        v = {n: x[i] for i, n in enumerate(names)}
        rates = kernel.rates(v, xp)
        return xp.sum(xp.asarray(proj) * rates) / xp.sum(xp.asarray(proj) * ref)

    x0 = np.array([float(full[n]) for n in names])
    ref = np.asarray(kernel.rates(full))
    if not np.any(ref > 0):
        return True
    with _x64(jax):
        try:
            grad = np.asarray(jax.jit(jax.grad(lambda x: scalar(x, jnp)))(jnp.asarray(x0)))
        except Exception as err:  # any tracing failure is a conformance failure
            msg = f"coefficients are not traceable with jax.numpy: {type(err).__name__}: {err}"
            raise _fail(theory, "jax", msg.splitlines()[0]) from err
    if not np.all(np.isfinite(grad)):
        raise _fail(theory, "jax", "jax.grad of the bin rates is not finite")
    for i, n in enumerate(names):
        fd = _richardson(lambda t, i=i: scalar(_shifted(x0, i, t), np), 1e-4 * max(1.0, abs(x0[i])))
        if abs(grad[i] - fd) > 1e-5 * max(abs(fd), 1e-3 * float(np.max(np.abs(grad)))):
            raise _fail(theory, "jax", f"d/d{n}: jax.grad {grad[i]:.8g} != finite difference "
                        f"{fd:.8g}")  # fmt: skip
    return True


def _shifted(x: np.ndarray, i: int, t: float) -> np.ndarray:
    out: np.ndarray = x.copy()
    out[i] += t
    return out


def _richardson(f: Any, h: float) -> float:
    """Central difference of ``f`` at 0 with one Richardson step (error O(h^4))."""

    def central(step: float) -> float:
        return float((f(step) - f(-step)) / (2 * step))

    return (4 * central(h / 2) - central(h)) / 3


def _check_nonlinear(theory: Theory, kernel: BinKernel, points: Sequence[Mapping[str, float]],
                     rtol: float, *, use_jax: bool = True) -> bool:  # fmt: skip
    """Non-linear basis: shapes, finiteness, analytic integrals against the basis (jax), gradients.

    * ``nonlinear_integrals`` has shape ``(n_inside, K)`` and is finite at every point;
    * analytic :meth:`~redist.theory.Theory.nonlinear_basis_integrals` (if given) is an
      antiderivative of :meth:`~redist.theory.Theory.nonlinear_basis` (``d/dhi`` by jax,
      exact) and additive over adjacent intervals;
    * ``jax.grad`` of the bin integrals with respect to every non-linear parameter equals
      Richardson-extrapolated central differences (1e-6 relative).
    """
    n_nl = int(theory.n_nonlinear_basis)
    for vals in points:
        full = theory.resolve(vals)
        ints = np.asarray(kernel.nonlinear_integrals(full, np), dtype=float)
        if ints.shape != (int(kernel.inside.sum()), n_nl) or not np.all(np.isfinite(ints)):
            raise _fail(theory, "nonlinear", f"bin integrals of the non-linear basis: shape {ints.shape}, "
                        f"finite {bool(np.all(np.isfinite(ints)))}")  # fmt: skip
    if not use_jax or not has_module("jax") or len(theory.kinematics) != 1:
        return False
    jax = optional_import("jax", purpose="the non-linear conformance check")
    jnp = optional_import("jax.numpy", purpose="the non-linear conformance check")
    nl_names = theory.nonlinear_parameters
    k = theory.kinematics[0]
    with _x64(jax):
        for vals in points[-1:]:
            full = theory.resolve(vals)
            if theory.nonlinear_basis_integrals(kernel.lo[:, 0], kernel.hi[:, 0], full, np) is not None:
                lo = np.full(5, k.low)
                his = np.linspace(k.low, k.high, 7)[1:-1]
                jfull = {n: jnp.asarray(v) for n, v in full.items()}

                def upto(h: Any, jfull: Any = jfull, lo: Any = lo) -> Any:
                    out = theory.nonlinear_basis_integrals(lo[:1], jnp.reshape(h, (1,)), jfull, jnp)
                    return jnp.sum(out)

                deriv = np.asarray(jax.jit(jax.vmap(jax.grad(upto)))(jnp.asarray(his)))
                dens = np.sum(np.asarray(theory.nonlinear_basis(his[:, None], full, np)), axis=1)
                if not _close(deriv, dens, max(rtol, 1e-10)):
                    raise _fail(theory, "nonlinear", "nonlinear_basis_integrals is not an antiderivative "
                                "of nonlinear_basis")  # fmt: skip
                mid = his[2]
                whole = theory.nonlinear_basis_integrals(lo[:1], np.array([k.high]), full, np)
                parts = (theory.nonlinear_basis_integrals(lo[:1], np.array([mid]), full, np)
                         + theory.nonlinear_basis_integrals(np.array([mid]), np.array([k.high]), full, np))
                if not _close(parts, whole, max(rtol, 1e-12)):
                    raise _fail(theory, "nonlinear", "nonlinear_basis_integrals is not additive")
            x0 = np.array([float(full[n]) for n in nl_names])
            proj = np.random.default_rng(3).uniform(0.5, 1.5, int(kernel.inside.sum()))

            def total(x: Any, xp: ModuleType, full: Any = full, proj: Any = proj) -> Any:
                v = {**full, **{n: x[i] for i, n in enumerate(nl_names)}}
                return xp.sum(xp.asarray(proj) * kernel.rates(v, xp))

            grad = np.asarray(jax.jit(jax.grad(lambda x: total(x, jnp)))(jnp.asarray(x0)))
            for i, n in enumerate(nl_names):
                p = next(p for p in theory.parameters if p.name == n)
                h = 1e-3 * max(1e-3, min(abs(x0[i]), 1.0))
                if x0[i] - h < p.bounds[0] or x0[i] + h > p.bounds[1]:
                    continue  # one-sided at a boundary: covered by the tests of the theory
                fd = _richardson(lambda t, i=i, x0=x0: total(_shifted(x0, i, t), np), h)
                ref = float(np.sum(proj * np.asarray(kernel.rates(full))))
                if abs(grad[i] - fd) > 1e-6 * max(abs(fd), 1e-6 * abs(ref)):
                    raise _fail(theory, "nonlinear", f"d/d{n}: jax.grad {grad[i]:.10g} != finite "
                                f"difference {fd:.10g}")  # fmt: skip
    return True


def _check_registry(theory: Theory, z: np.ndarray, vals: Mapping[str, float],
                    rtol: float) -> bool:  # fmt: skip
    if theory.name not in available_theories():
        return False
    spec = theory.spec()
    try:
        text = json.dumps(spec)
    except TypeError as err:
        raise _fail(theory, "registry", f"spec() is not JSON serialisable: {err}") from err
    other = theory_from_spec(json.loads(text))
    if type(other) is not type(theory) or other.settings() != theory.settings():
        raise _fail(theory, "registry", f"spec {spec} does not rebuild the same theory")
    if other.parameter_names != theory.parameter_names:
        raise _fail(theory, "registry", "rebuilt theory declares other parameters")
    if not _close(other.rate(z, vals), theory.rate(z, vals), rtol):
        raise _fail(theory, "registry", "rebuilt theory gives another rate")
    return True


def check_theory(
    theory: Theory,
    *,
    rtol: float = 1e-12,
    n_points: int = 24,
    n_bins: int = 6,
    n_random: int = 3,
    seed: int = 0,
    jax: bool = True,
) -> tuple[str, ...]:
    """Run the conformance checks on ``theory``.

    Parameters
    ----------
    theory : Theory
        The plug-in under test.
    rtol : float
        Relative tolerance of the comparisons that should agree to rounding
        (vectorised vs single-point rate, basis vs ``_rate``, kernel vs
        quadrature, rebuilt vs original theory).
    n_points : int
        Kinematic points per check (the range ends are always included).
    n_bins : int
        Bins per kinematic axis for the kernel check.
    n_random : int
        Random parameter points in addition to the defaults.
    seed : int
        Seed of the random points.
    jax : bool
        Run the jax check when jax is installed.

    Returns
    -------
    tuple of str
        The checks that ran (``"jax"`` and ``"registry"`` only when applicable).

    Raises
    ------
    ConformanceError
        If a check fails; the message names the theory and the check.

    Examples
    --------
    >>> from theories.wet import WET
    >>> check_theory(WET("B0->K*0nunu"), jax=False)
    ('declarations', 'rate', 'names', 'kernel', 'basis', 'registry')
    """
    if n_points < 3:
        msg = f"n_points must be at least 3, got {n_points}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    done = ["declarations"]
    _check_declarations(theory)
    z = _kinematic_points(theory, rng, n_points)
    points = [theory.defaults()] + [random_values(theory, rng) for _ in range(n_random)]
    _check_rate(theory, z, points, rtol)
    done.append("rate")
    _check_names(theory, z, rtol)
    done.append("names")
    kernel = BinKernel(theory, _binning(theory, n_bins))
    if theory.has_basis:
        _check_basis(theory, z, points, kernel, rtol)
        done += ["kernel", "basis"]
    else:
        for vals in points:
            full = theory.resolve(vals)
            if not _close(kernel.rates(full), kernel.quadrature_rates(full), rtol):
                raise _fail(theory, "kernel", "kernel bin rates != Gauss-Legendre")
        done.append("kernel")
    if jax and theory.has_basis and _check_jax(theory, kernel, points[-1]):
        done.append("jax")
    if theory.has_basis and theory.n_nonlinear_basis and _check_nonlinear(
        theory, kernel, points, rtol, use_jax=jax
    ):
        done.append("nonlinear")
    if _check_registry(theory, z, points[-1], rtol):
        done.append("registry")
    return tuple(done)
