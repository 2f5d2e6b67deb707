"""The theory-model contract, and the registry that finds theory plug-ins by name.

A *theory* gives the differential rate dσ/dz of a process as a function of one or
more true-kinematic variables ``z`` and of named parameters. redist only ever
talks to theories through :class:`Theory`:

* parameters are declared as data (:class:`Parameter`, :class:`CorrelatedGroup`)
  and bound **by name**, never by position;
* :meth:`Theory.rate` is vectorised over kinematic points;
* theories whose rate is linear in a set of z-dependent basis functions with
  parameter-dependent coefficients (every quadratic form such as the WET rates)
  declare that structure through :meth:`Theory.basis` and
  :meth:`Theory.coefficients`, so that bin integrals can be precomputed exactly
  (see :mod:`redist.kernels`).

Plug-ins are found through the ``redist.theories`` entry-point group: a package
declares ``[project.entry-points."redist.theories"] myname = "mypkg:MyTheory"``
and ``redist.get_theory("myname", **settings)`` constructs it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from .exceptions import TheoryError, UnknownParameter, UnknownTheory

__all__ = [
    "CorrelatedGroup",
    "Kinematic",
    "Parameter",
    "Theory",
    "TheoryLike",
    "available_theories",
    "get_theory",
    "register_theory",
    "theory_from_spec",
]


@dataclass(frozen=True)
class Parameter:
    """A named, real theory parameter.

    Parameters
    ----------
    name : str
        Name used everywhere (pyhf parameter name, CLI ``--set``, result files).
    default : float
        Value of the reference theory (for WET: the SM).
    bounds : tuple of float
        Range allowed in fits.
    description : str
        One line for humans.
    linear : bool
        Whether the parameter enters only through :meth:`Theory.coefficients` (the
        basis functions do not depend on it), so that bin integrals of the basis are
        computed once (:mod:`redist.kernels`). A *non-linear* parameter (for instance a
        mass or a width that moves a resonance) changes the basis itself.
    """

    name: str
    default: float = 0.0
    bounds: tuple[float, float] = (-30.0, 30.0)
    description: str = ""
    linear: bool = True

    def __post_init__(self) -> None:
        lo, hi = self.bounds
        if not (math.isfinite(self.default) and lo <= self.default <= hi):
            msg = f"parameter {self.name!r}: default {self.default} not inside bounds {self.bounds}"
            raise TheoryError(msg)


@dataclass(frozen=True)
class CorrelatedGroup:
    """Correlated nuisance parameters with a multivariate-normal constraint.

    In a pyhf model the group becomes **one** vector parameter named ``name``
    with ``len(parameters)`` unit-normal-constrained components ``eta``; the
    physical values are ``mean + transform @ eta`` with ``transform = U sqrt(L)``
    from the eigen-decomposition ``covariance = U L U^T``.

    Parameters
    ----------
    name : str
        Name of the vector pyhf parameter.
    parameters : tuple of str
        Physical parameter names, in covariance order.
    mean : tuple of float
        Central values.
    covariance : tuple of tuple of float
        Covariance matrix (symmetric, positive semi-definite).
    """

    name: str
    parameters: tuple[str, ...]
    mean: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...] = field(repr=False)

    def __post_init__(self) -> None:
        n = len(self.parameters)
        cov = np.asarray(self.covariance, dtype=float)
        if len(self.mean) != n or cov.shape != (n, n):
            msg = f"group {self.name!r}: mean/covariance shapes do not match {n} parameters"
            raise TheoryError(msg)
        if not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T, rtol=1e-10, atol=0):
            msg = f"group {self.name!r}: covariance must be finite and symmetric"
            raise TheoryError(msg)

    @cached_property
    def transform(self) -> np.ndarray:
        """Matrix ``T`` with ``physical = mean + T @ eta`` (eigen-decomposition)."""
        cov = np.asarray(self.covariance, dtype=float)
        lam, vec = np.linalg.eigh(cov)
        if lam.min() < -1e-12 * max(lam.max(), 0.0):
            msg = f"group {self.name!r}: covariance is not positive semi-definite"
            raise TheoryError(msg)
        return vec * np.sqrt(np.clip(lam, 0.0, None))

    @cached_property
    def _mean(self) -> np.ndarray:
        return np.asarray(self.mean, dtype=float)

    def physical(self, eta: Any, xp: Any = np) -> dict[str, Any]:
        """Map unit-normal ``eta`` to the physical parameters, by name.

        With ``xp`` = numpy the values are plain floats (cheapest for a theory's
        scalar arithmetic); with ``jax.numpy`` they are traceable array elements.

        Examples
        --------
        >>> g = CorrelatedGroup("ff", ("a", "b"), (1.0, 2.0), ((4.0, 0.0), (0.0, 1.0)))
        >>> sorted(g.physical(np.array([1.0, 0.0])).items())
        [('a', 1.0), ('b', 3.0)]
        """
        if xp is np:
            return dict(zip(self.parameters, (self._mean + self.transform @ eta).tolist()))
        vals = xp.asarray(self.mean) + xp.asarray(self.transform) @ eta
        return {p: vals[i] for i, p in enumerate(self.parameters)}

    def to_eta(self, physical: Mapping[str, float]) -> np.ndarray:
        """Inverse map (least squares for singular covariances)."""
        x = np.array([physical[p] for p in self.parameters]) - np.asarray(self.mean)
        return np.linalg.lstsq(self.transform, x, rcond=None)[0]


@dataclass(frozen=True)
class Kinematic:
    """A true-kinematic variable the rate is differential in.

    Parameters
    ----------
    name : str
        Axis name, for instance ``"q2"``.
    low, high : float
        Physical range. Bins outside it keep weight 1 when reweighting.
    unit : str
        Unit label.
    """

    name: str
    low: float
    high: float
    unit: str = ""


@runtime_checkable
class TheoryLike(Protocol):
    """Structural type of a theory as redist consumes it."""

    name: str
    version: str

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """Declared real parameters."""

    @property
    def groups(self) -> tuple[CorrelatedGroup, ...]:
        """Correlated nuisance groups."""

    @property
    def kinematics(self) -> tuple[Kinematic, ...]:
        """Kinematic variables."""

    def rate(self, z: Any, values: Mapping[str, Any] | None = None) -> np.ndarray:
        """Vectorised differential rate."""


class Theory(ABC):
    """Base class of theory models (template method).

    Subclasses set :attr:`name`, :attr:`version`, provide :attr:`parameters`,
    :attr:`kinematics` (and optionally :attr:`groups`) and implement
    :meth:`_rate`. The public :meth:`rate` validates names and shapes and fills
    defaults; ``_rate`` only computes.
    """

    name: ClassVar[str] = "unnamed"
    version: ClassVar[str] = "0"

    parameters: tuple[Parameter, ...] = ()
    groups: tuple[CorrelatedGroup, ...] = ()
    kinematics: tuple[Kinematic, ...] = ()
    metadata: Mapping[str, str] = {}

    # -- declared structure ---------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """JSON-serialisable keyword arguments that rebuild this theory from the registry."""
        return {}

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """All names accepted by :meth:`rate`: plain parameters, then group members."""
        names = [p.name for p in self.parameters]
        for g in self.groups:
            names.extend(g.parameters)
        return tuple(names)

    def defaults(self) -> dict[str, float]:
        """Reference values of every parameter (group members at their means)."""
        out = {p.name: float(p.default) for p in self.parameters}
        for g in self.groups:
            out.update({n: float(m) for n, m in zip(g.parameters, g.mean)})
        return out

    def resolve(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check names and fill defaults.

        Raises
        ------
        UnknownParameter
            If a name is not declared; the message lists the valid ones.
        """
        out: dict[str, Any] = self.defaults()
        for k, v in (values or {}).items():
            if k not in out:
                msg = (
                    f"theory {self.name!r} has no parameter {k!r}; "
                    f"valid parameters: {', '.join(self.parameter_names)}"
                )
                raise UnknownParameter(msg)
            out[k] = v
        return out

    def _as_points(self, z: Any) -> np.ndarray:
        arr = np.asarray(z, dtype=float)
        d = len(self.kinematics)
        if d == 1 and arr.ndim <= 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[1] != d:
            msg = (
                f"theory {self.name!r}: kinematic points must have shape (n, {d}) "
                f"for variables {[k.name for k in self.kinematics]}, got {np.shape(z)}"
            )
            raise TheoryError(msg)
        return arr

    # -- evaluation -----------------------------------------------------------
    def rate(self, z: Any, values: Mapping[str, Any] | None = None) -> np.ndarray:
        """Differential rate at kinematic points ``z``.

        Parameters
        ----------
        z : array_like
            Shape ``(n,)`` for one kinematic variable or ``(n, d)``.
        values : mapping, optional
            Parameter values by name; missing ones take their defaults.

        Returns
        -------
        numpy.ndarray
            Rate at each point, shape ``(n,)``; zero outside the physical range.
        """
        pts = self._as_points(z)
        vals = self.resolve(values)
        inside = np.ones(len(pts), dtype=bool)
        for i, k in enumerate(self.kinematics):
            inside &= (pts[:, i] >= k.low) & (pts[:, i] <= k.high)
        out = np.zeros(len(pts))
        if inside.any():
            out[inside] = np.asarray(self._rate(pts[inside], vals, np), dtype=float)
        return out

    @abstractmethod
    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: Any) -> Any:
        """Rate at points ``z`` (shape (n, d), inside the physical range)."""

    # Optional linear structure: rate(z) = basis(z) @ coefficients(values)
    has_basis: ClassVar[bool] = False

    def basis(self, z: np.ndarray) -> np.ndarray:
        """Basis functions at points ``z`` (shape (n, d)) -> (n, M). Only if :attr:`has_basis`."""
        msg = f"theory {self.name!r} declares no basis structure"
        raise NotImplementedError(msg)

    def coefficients(self, values: Mapping[str, Any], xp: Any = np) -> Any:
        """Coefficients (M,) of the basis functions; must be traceable with ``xp``."""
        msg = f"theory {self.name!r} declares no basis structure"
        raise NotImplementedError(msg)

    def spec(self) -> dict[str, Any]:
        """Registry reference ``{"name", "version", "settings"}`` stored in model files."""
        return {"name": self.name, "version": self.version, "settings": self.settings()}

    def __repr__(self) -> str:
        s = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"<{type(self).__name__} {self.name!r} v{self.version} ({s})>"


# --------------------------------------------------------------------------- registry
_REGISTRY: dict[str, Callable[..., Theory]] = {}
_ENTRY_POINTS_LOADED = False


def register_theory(name: str, factory: Callable[..., Theory], *, overwrite: bool = False) -> None:
    """Register a theory factory under ``name`` (for plug-ins not installed as packages).

    Parameters
    ----------
    name : str
        Registry key.
    factory : callable
        Called with the theory settings as keyword arguments.
    overwrite : bool
        Replace an existing registration.
    """
    if name in _REGISTRY and not overwrite and _REGISTRY[name] is not factory:
        msg = f"a theory named {name!r} is already registered"
        raise TheoryError(msg)
    _REGISTRY[name] = factory


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    for ep in entry_points(group="redist.theories"):
        if ep.name not in _REGISTRY:
            try:
                _REGISTRY[ep.name] = ep.load()
            except Exception as err:  # a broken plug-in must not break redist
                import warnings

                from .exceptions import RedistWarning

                warnings.warn(
                    f"theory plug-in {ep.name!r} ({ep.value}) failed to load: {err}",
                    RedistWarning,
                    stacklevel=2,
                )
    _ENTRY_POINTS_LOADED = True


def available_theories() -> list[str]:
    """Names of all registered theories, including entry-point plug-ins."""
    _load_entry_points()
    return sorted(_REGISTRY)


def get_theory(name: str, **settings: Any) -> Theory:
    """Construct the theory registered as ``name`` with ``settings``.

    Examples
    --------
    >>> import redist
    >>> th = redist.get_theory("wet", process="B+->K+nunu")
    >>> round(th.branching_ratio() * 1e6, 4)
    4.5974
    """
    _load_entry_points()
    if name not in _REGISTRY:
        msg = f"no theory named {name!r}; available: {', '.join(sorted(_REGISTRY))}"
        raise UnknownTheory(msg)
    return _REGISTRY[name](**settings)


def theory_from_spec(spec: Mapping[str, Any], *, where: str = "theory") -> Theory:
    """Rebuild a theory from its :meth:`Theory.spec` (checks the version)."""
    th = get_theory(spec["name"], **dict(spec.get("settings", {})))
    if str(spec.get("version", th.version)) != th.version:
        msg = (
            f"{where}: file was written with theory {spec['name']!r} version "
            f"{spec['version']}, installed version is {th.version}"
        )
        raise TheoryError(msg)
    return th


