r"""Exact basis theories from codes that evaluate one point at a time.

Physics codes such as EOS or flavio evaluate a differential rate for **one**
kinematic point and **one** parameter point per call. Integrating such a code
over the bins of an analysis at every step of a fit costs thousands of calls per
parameter point. When the rate is a quadratic form in (real) Wilson
coefficients :math:`x_a`,

.. math::  \frac{d\Gamma}{dz}(z; x) = \sum_{a \le b} x_a x_b\, K_{ab}(z),

it is enough to learn the :math:`n(n+1)/2` functions :math:`K_{ab}` once at the
quadrature nodes: :class:`PointwiseTheory` evaluates the code at the unit
points :math:`e_a` (giving :math:`K_{aa}`) and at :math:`e_a + e_b` (giving
:math:`K_{ab} = f(e_a+e_b) - f(e_a) - f(e_b)` for :math:`a < b`) and declares
the result as a basis theory (:attr:`redist.theory.Theory.has_basis`).
:class:`redist.kernels.BinKernel` then integrates the basis once per binning,
and any later parameter point costs one matrix-vector product, exactly as for
the analytic WET model. Complex coefficients enter as two real parameters
(``cX`` and ``cX_im``); the quadratic form is then still exact.

Inputs of the code that the rate is *not* quadratic in (form-factor
parameters, masses) are held fixed at their declared defaults and are not
parameters of the wrapped theory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from ._optional import has_module
from .exceptions import MissingExternalCode, TheoryError, UnknownParameter
from .theory import Kinematic, Parameter, Theory

__all__ = ["MissingExternalCode", "PointwiseTheory", "import_external"]

#: Relative size of f(0) (compared with the largest probe value at the same
#: node) above which the wrapped code is not a homogeneous quadratic form.
_ZERO_TOLERANCE = 1e-12


def import_external(module: str, *, package: str, extra: str | None = None, note: str = "") -> ModuleType:
    """Import an optional physics code or raise :class:`MissingExternalCode` with an install hint.

    Parameters
    ----------
    module : str
        Import name, e.g. ``"eos"``.
    package : str
        Distribution name on PyPI, e.g. ``"eoshep"``.
    extra : str, optional
        The redist extra that installs it.
    note : str
        Appended to the message (known version constraints, for instance).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingExternalCode
        If the module is not installed or fails to import.

    Examples
    --------
    >>> import_external("math", package="python").sqrt(4.0)
    2.0
    """
    hint = f"pip install 'redist[{extra}]'" if extra else f"pip install {package}"
    suffix = f"; {note}" if note else ""
    if not has_module(module):
        msg = f"the {module!r} module (PyPI package {package!r}) is required here: {hint}{suffix}"
        raise MissingExternalCode(msg)
    try:
        return importlib.import_module(module)
    except Exception as err:  # installed but broken (e.g. an incompatible dependency)
        msg = (
            f"the {module!r} module (PyPI package {package!r}) is installed but fails to import"
            f"{suffix} ({type(err).__name__}: {err})"
        )
        raise MissingExternalCode(msg) from err


class PointwiseTheory(Theory):
    """A theory quadratic in its parameters, evaluated by a point-by-point code.

    Parameters
    ----------
    function : callable
        ``function(*z, **values) -> float``: the rate at **one** kinematic point
        (one positional argument per kinematic variable, in the order of
        ``kinematics``) and one parameter point (all of ``parameters`` by name).
    parameters : sequence of Parameter
        Every input of ``function``.
    kinematics : sequence of Kinematic
        Kinematic variables.
    quadratic_in : sequence of str, optional
        Names of the parameters the rate is a homogeneous quadratic form in
        (default: all). These are the parameters of the resulting theory; the
        others are passed to ``function`` at their defaults (see :attr:`fixed`).
    name : str
        Label used in messages.

    Notes
    -----
    :meth:`basis` calls ``function`` :math:`n(n+1)/2 + 1` times per kinematic
    point for :math:`n` quadratic parameters (the extra call checks that the
    rate vanishes at zero coefficients). :meth:`rate` calls it once per point
    with the actual parameter values, so comparing both (as
    :func:`redist.testing.check_theory` does) checks the quadratic assumption.

    Examples
    --------
    >>> from redist.theory import Kinematic, Parameter
    >>> f = lambda q2, a, b: (a + b) ** 2 * q2 + b**2
    >>> th = PointwiseTheory(f, [Parameter("a", 1.0), Parameter("b", 0.0)],
    ...                      [Kinematic("q2", 0.0, 10.0)])
    >>> th.basis([2.0]).tolist()  # monomials a², ab, b²
    [[2.0, 4.0, 3.0]]
    >>> th.rate([2.0], {"a": 1.0, "b": 2.0}).tolist()  # direct call
    [22.0]
    >>> (th.basis([2.0]) @ th.coefficients({"a": 1.0, "b": 2.0})).tolist()
    [22.0]
    """

    version: ClassVar[str] = "1.0"
    has_basis: ClassVar[bool] = True

    def __init__(
        self,
        function: Callable[..., Any],
        parameters: Sequence[Parameter],
        kinematics: Sequence[Kinematic],
        quadratic_in: Sequence[str] | None = None,
        *,
        name: str = "pointwise",
    ) -> None:
        params = tuple(parameters)
        by_name = {p.name: p for p in params}
        if len(by_name) != len(params):
            msg = f"theory {name!r}: duplicate parameter names in {[p.name for p in params]}"
            raise TheoryError(msg)
        quad = tuple(by_name) if quadratic_in is None else tuple(quadratic_in)
        for q in quad:
            if q not in by_name:
                msg = (
                    f"theory {name!r}: quadratic_in names {q!r}, which is not a parameter; "
                    f"parameters: {', '.join(by_name)}"
                )
                raise UnknownParameter(msg)
        if len(set(quad)) != len(quad) or not quad:
            msg = f"theory {name!r}: quadratic_in must name distinct parameters, got {quad}"
            raise TheoryError(msg)
        if not kinematics:
            msg = f"theory {name!r}: at least one kinematic variable is needed"
            raise TheoryError(msg)
        self.function = function
        self.name = name  # type: ignore[misc]
        self.parameters = tuple(by_name[q] for q in quad)
        self.kinematics = tuple(kinematics)
        self.fixed: dict[str, float] = {p.name: float(p.default) for p in params if p.name not in quad}
        n = len(quad)
        self.pairs: tuple[tuple[int, int], ...] = tuple((a, b) for a in range(n) for b in range(a, n))
        self.metadata = {"process": name, "basis": f"quadratic form in {', '.join(quad)}"}

    # -- helpers ------------------------------------------------------------------
    @property
    def quadratic_in(self) -> tuple[str, ...]:
        """Names of the parameters the rate is quadratic in (= :attr:`parameter_names`)."""
        return tuple(p.name for p in self.parameters)

    def _call(self, point: np.ndarray, values: Mapping[str, float]) -> float:
        out = float(self.function(*(float(x) for x in point), **self.fixed, **values))
        if not np.isfinite(out):
            where = ", ".join(f"{k.name}={x:g}" for k, x in zip(self.kinematics, point))
            msg = f"theory {self.name!r}: the wrapped code returned {out} at {where}, {values}"
            raise TheoryError(msg)
        return out

    def _probe(self, point: np.ndarray) -> np.ndarray:
        names = self.quadratic_in
        zero = dict.fromkeys(names, 0.0)
        diag = [self._call(point, {**zero, n: 1.0}) for n in names]
        row = []
        for a, b in self.pairs:
            if a == b:
                row.append(diag[a])
            else:
                both = self._call(point, {**zero, names[a]: 1.0, names[b]: 1.0})
                row.append(both - diag[a] - diag[b])
        at_zero = self._call(point, zero)
        scale = max(abs(v) for v in diag) if diag else 0.0
        if abs(at_zero) > _ZERO_TOLERANCE * scale:
            where = ", ".join(f"{k.name}={x:g}" for k, x in zip(self.kinematics, point))
            msg = (
                f"theory {self.name!r}: the rate is {at_zero!r} (not 0) at {where} with all of "
                f"{', '.join(names)} set to 0, so it is not a homogeneous quadratic form in them; "
                "move the parameters it is not quadratic in out of quadratic_in"
            )
            raise TheoryError(msg)
        return np.asarray(row)

    # -- Theory interface --------------------------------------------------------
    def basis(self, z: np.ndarray) -> np.ndarray:
        """The :math:`K_{ab}(z)` for ``a <= b`` (column order :attr:`pairs`), shape ``(n, M)``."""
        pts = self._as_points(z)
        out = np.empty((len(pts), len(self.pairs)))
        for i, point in enumerate(pts):
            out[i] = self._probe(point)
        return out

    def coefficients(self, values: Mapping[str, Any], xp: ModuleType = np) -> Any:
        """Monomials :math:`x_a x_b` (``a <= b``); traceable with ``xp`` = numpy or jax.numpy."""
        x = [values[n] for n in self.quadratic_in]
        return xp.stack([xp.asarray(x[a] * x[b]) for a, b in self.pairs])

    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: ModuleType) -> Any:
        vals = {n: float(values[n]) for n in self.quadratic_in}
        return np.array([self._call(point, vals) for point in z])
