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

import inspect
import math
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from .exceptions import TheoryError, UnknownParameter, UnknownTheory

__all__ = [
    "CorrelatedGroup",
    "Kinematic",
    "Parameter",
    "Setting",
    "Theory",
    "TheoryDescription",
    "TheoryLike",
    "available_theories",
    "find_theories",
    "get_theory",
    "register_theory",
    "theory_from_spec",
    "theory_processes",
    "theory_settings",
]


def __dir__() -> list[str]:
    return list(__all__)


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
        return np.asarray(vec * np.sqrt(np.clip(lam, 0.0, None)), dtype=float)

    @cached_property
    def _mean(self) -> np.ndarray:
        return np.asarray(self.mean, dtype=float)

    def physical(self, eta: Any, xp: ModuleType = np) -> dict[str, Any]:
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
        return np.asarray(np.linalg.lstsq(self.transform, x, rcond=None)[0], dtype=float)


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


_SETTING_TYPES: dict[str, type] = {"float": float, "int": int, "bool": bool, "str": str}


@dataclass(frozen=True)
class Setting:
    """One construction setting of a theory: a keyword argument of its factory.

    Parameters
    ----------
    name : str
        Keyword name.
    type : {"float", "int", "bool", "str", "any"}
        Value type; ``"any"`` settings (mappings, objects) cannot be given as text.
    default : object
        Default value (``None``: no default or ``None`` itself).
    choices : tuple, optional
        The allowed values.
    description : str
        One line for humans.
    process : bool
        This setting selects the physics process (the ``PROCESS`` argument of
        ``redist theory rate|br``).

    Examples
    --------
    >>> Setting("m_X", "float", 1.0).parse("1.5")
    1.5
    >>> Setting("ff", "str", "A", choices=("A", "B")).parse("C")
    Traceback (most recent call last):
    ...
    redist.exceptions.TheoryError: setting 'ff': 'C' is not one of A, B
    """

    name: str
    type: str = "str"
    default: Any = None
    choices: tuple[Any, ...] | None = None
    description: str = ""
    process: bool = False

    def __post_init__(self) -> None:
        if self.type not in (*_SETTING_TYPES, "any"):
            msg = f"setting {self.name!r}: unknown type {self.type!r}"
            raise TheoryError(msg)

    def parse(self, text: str) -> Any:
        """Turn a command-line value into the setting's type (and check the choices)."""
        where = f"setting {self.name!r}"
        if self.type == "any":
            msg = f"{where} cannot be given as text"
            raise TheoryError(msg)
        value: Any
        if self.type == "bool":
            low = text.strip().lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                msg = f"{where}: {text!r} is not a boolean (true or false)"
                raise TheoryError(msg)
            value = low in ("true", "1", "yes")
        elif self.type in ("float", "int"):
            try:
                value = _SETTING_TYPES[self.type](text)
            except ValueError:
                msg = f"{where}: {text!r} is not a{'n' if self.type == 'int' else ''} {self.type}"
                raise TheoryError(msg) from None
            if self.type == "float" and not math.isfinite(value):
                msg = f"{where}: {text!r} is not finite"
                raise TheoryError(msg)
        else:
            value = text
        if self.choices is not None and value not in self.choices:
            msg = f"{where}: {text!r} is not one of {', '.join(map(str, self.choices))}"
            raise TheoryError(msg)
        return value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default if self.type != "any" else None,
            "choices": None if self.choices is None else list(self.choices),
            "description": self.description,
            "process": self.process,
        }


def _schema_from_signature(factory: Callable[..., Any]) -> tuple[Setting, ...]:
    """Settings of a factory without a declared schema: its keyword parameters and defaults."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins and some C callables have no signature
        return ()
    try:
        target = factory.__init__ if isinstance(factory, type) else factory  # type: ignore[misc]
        hints = typing.get_type_hints(target)
    except (NameError, TypeError):  # unresolvable annotations: fall back to the defaults' types
        hints = {}
    out = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name == "self":
            continue
        default = None if p.default is p.empty else p.default
        typ = hints[p.name] if p.name in hints else type(default)
        kind = next((k for k, t in _SETTING_TYPES.items() if typ is t), "any")
        out.append(Setting(p.name, kind, default))
    return tuple(out)


@dataclass(frozen=True)
class TheoryDescription:
    """What a theory declares about itself (:meth:`Theory.describe`).

    Attributes
    ----------
    name, version : str
        Registry name and version.
    settings : dict
        The settings this instance was built with.
    settings_schema : tuple of Setting
        Every construction setting with type, default and choices.
    processes : tuple of str
        Physics processes the theory describes.
    parameters : tuple of Parameter
        Declared real parameters (defaults, bounds, descriptions, linearity).
    groups : tuple of CorrelatedGroup
        Correlated nuisance groups.
    kinematics : tuple of Kinematic
        Kinematic variables the rate is differential in.
    reference_point : dict
        Values of every parameter at the reference theory (for WET: the SM).
    metadata : dict
        Free-form strings (process, basis, references).
    """

    name: str
    version: str
    settings: dict[str, Any]
    settings_schema: tuple[Setting, ...]
    processes: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    groups: tuple[CorrelatedGroup, ...]
    kinematics: tuple[Kinematic, ...]
    reference_point: dict[str, float]
    metadata: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (group covariances summarised by their standard deviations)."""
        return {
            "name": self.name,
            "version": self.version,
            "settings": dict(self.settings),
            "settings_schema": [s.to_dict() for s in self.settings_schema],
            "processes": list(self.processes),
            "parameters": [
                {
                    "name": p.name,
                    "default": p.default,
                    "bounds": list(p.bounds),
                    "description": p.description,
                    "linear": p.linear,
                }
                for p in self.parameters
            ],
            "groups": [
                {
                    "name": g.name,
                    "parameters": list(g.parameters),
                    "mean": list(g.mean),
                    "sigma": np.sqrt(np.diag(np.asarray(g.covariance, dtype=float))).tolist(),
                }
                for g in self.groups
            ],
            "kinematics": [
                {"name": k.name, "low": k.low, "high": k.high, "unit": k.unit} for k in self.kinematics
            ],
            "reference_point": dict(self.reference_point),
            "metadata": dict(self.metadata),
        }


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
    #: processes described by a theory without a process setting (e.g. ``("B+->K+X",)``)
    processes: ClassVar[tuple[str, ...]] = ()
    #: whether ``redist theory --theory auto`` may pick this theory for its processes
    #: (alternative implementations of another theory's processes set it to False)
    auto_select: ClassVar[bool] = True

    parameters: tuple[Parameter, ...] = ()
    groups: tuple[CorrelatedGroup, ...] = ()
    kinematics: tuple[Kinematic, ...] = ()
    metadata: Mapping[str, str] = {}

    # -- declared structure ---------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """JSON-serialisable keyword arguments that rebuild this theory from the registry."""
        return {}

    @classmethod
    def settings_schema(cls) -> tuple[Setting, ...]:
        """Construction settings with types, defaults and choices.

        The default reads the constructor's keyword parameters (types from the
        annotations or the defaults); theories override it to add choices and
        descriptions.
        """
        return _schema_from_signature(cls)

    @classmethod
    def supported_processes(cls) -> tuple[str, ...]:
        """Processes the theory describes: the choices of its process setting, else :attr:`processes`."""
        for st in cls.settings_schema():
            if st.process:
                return tuple(st.choices or ())
        return tuple(cls.processes)

    def reference_point(self) -> dict[str, float]:
        """Every parameter at the reference theory (for WET: the SM); the declared defaults."""
        return self.defaults()

    def assign(self, name: str, value: complex) -> dict[str, float]:
        """Parameter values set by one user assignment ``name = value``.

        The default accepts real values of declared parameters only; a theory with
        complex parameters stored as two real ones overrides it (WET: ``cX = a+bj``
        sets ``cX`` and ``cX_im``).

        Raises
        ------
        UnknownParameter
            If ``name`` is not a parameter.
        TheoryError
            If the value is complex but the parameter is real.
        """
        self.resolve({name: 0.0})  # checks the name
        if complex(value).imag != 0:
            msg = f"parameter {name!r} of theory {self.name!r} is real, got the complex value {value}"
            raise TheoryError(msg)
        return {name: complex(value).real}

    def describe(self) -> TheoryDescription:
        """Everything the theory declares: settings, processes, parameters, groups, kinematics.

        Examples
        --------
        >>> import redist
        >>> d = redist.get_theory("bkx", background="none").describe()
        >>> d.processes, [s.name for s in d.settings_schema]
        (('B+->K+X', 'B0->K0X', 'B0->KSX'), ['process', 'form_factors', 'background'])
        >>> d.reference_point
        {'m_X': 1.0, 'width_X': 0.0, 'BR_X': 0.0}
        """
        return TheoryDescription(
            name=self.name,
            version=self.version,
            settings=self.settings(),
            settings_schema=type(self).settings_schema(),
            processes=type(self).supported_processes(),
            parameters=tuple(self.parameters),
            groups=tuple(self.groups),
            kinematics=tuple(self.kinematics),
            reference_point=self.reference_point(),
            metadata=dict(self.metadata),
        )

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
    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: ModuleType) -> Any:
        """Rate at points ``z`` (shape (n, d), inside the physical range)."""

    # Optional linear structure:
    #   rate(z) = basis(z) @ c[:M] + nonlinear_basis(z, values) @ c[M:],  c = coefficients(values)
    has_basis: ClassVar[bool] = False
    #: number of basis functions that depend on non-linear parameters (the last
    #: ``n_nonlinear_basis`` coefficients multiply :meth:`nonlinear_basis`)
    n_nonlinear_basis: int = 0

    @property
    def nonlinear_parameters(self) -> tuple[str, ...]:
        """Names of the parameters declared with ``linear=False`` (masses, widths, shapes)."""
        return tuple(p.name for p in self.parameters if not p.linear)

    def basis(self, z: np.ndarray) -> np.ndarray:
        """Basis functions at points ``z`` (shape (n, d)) -> (n, M). Only if :attr:`has_basis`.

        These columns must not depend on any parameter: their bin integrals are
        computed once (:class:`redist.kernels.BinKernel`).
        """
        msg = f"theory {self.name!r} declares no basis structure"
        raise NotImplementedError(msg)

    def coefficients(self, values: Mapping[str, Any], xp: ModuleType = np) -> Any:
        """Coefficients (M + K,) of :meth:`basis` then :meth:`nonlinear_basis`; traceable with ``xp``.

        They may depend on linear parameters only (``K`` = :attr:`n_nonlinear_basis`).
        """
        msg = f"theory {self.name!r} declares no basis structure"
        raise NotImplementedError(msg)

    def nonlinear_basis(self, z: Any, values: Mapping[str, Any], xp: ModuleType = np) -> Any:
        """Basis functions that depend on the non-linear parameters: ``(n, d)`` -> ``(n, K)``.

        Only for theories with :attr:`n_nonlinear_basis` > 0. Must be traceable
        with ``xp`` = ``jax.numpy`` (the parameter values may be jax tracers, the
        points ``z`` are fixed Gauss-Legendre nodes), so that bin integrals and
        their gradients with respect to masses and widths are exact at fixed nodes.
        """
        msg = f"theory {self.name!r} declares no non-linear basis functions"
        raise NotImplementedError(msg)

    def nonlinear_basis_integrals(
        self, lo: np.ndarray, hi: np.ndarray, values: Mapping[str, Any], xp: ModuleType = np
    ) -> Any:
        """Exact integrals of :meth:`nonlinear_basis` over ``[lo, hi]`` -> ``(n, K)``, or ``None``.

        ``None`` (the default) means: integrate :meth:`nonlinear_basis` with fixed-node
        Gauss-Legendre (traced by jax). A theory whose functions have closed-form
        integrals (a Breit-Wigner: arctangents) returns them here; they must be
        traceable with ``xp`` in the parameter values. One kinematic variable only.
        """
        return None

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
    return _factory(name)(**settings)


def _factory(name: str) -> Callable[..., Theory]:
    _load_entry_points()
    if name not in _REGISTRY:
        msg = f"no theory named {name!r}; available: {', '.join(sorted(_REGISTRY))}"
        raise UnknownTheory(msg)
    return _REGISTRY[name]


def theory_settings(name: str) -> tuple[Setting, ...]:
    """The settings schema of a registered theory, without constructing it.

    Examples
    --------
    >>> [(s.name, s.type, s.default) for s in theory_settings("two-body")]  # deprecated theory
    [('m_X', 'float', 1.0), ('width', 'float', 0.0001), ('include_sm', 'bool', True)]
    """
    factory = _factory(name)
    if isinstance(factory, type) and issubclass(factory, Theory):
        return factory.settings_schema()
    return _schema_from_signature(factory)


def theory_processes(name: str) -> tuple[str, ...]:
    """Processes a registered theory describes (empty: it does not say)."""
    factory = _factory(name)
    if isinstance(factory, type) and issubclass(factory, Theory):
        return factory.supported_processes()
    for st in _schema_from_signature(factory):
        if st.process:
            return tuple(st.choices or ())
    return ()


def find_theories(process: str) -> list[str]:
    """Registered theories that describe ``process`` and may be picked automatically.

    Theories that set :attr:`Theory.auto_select` to ``False`` (alternative
    implementations, such as the EOS and flavio adapters of the WET processes) are
    left out.

    Examples
    --------
    >>> find_theories("B+->K+X")
    ['bkx']
    """
    out = []
    for name in available_theories():
        factory = _REGISTRY[name]
        if isinstance(factory, type) and issubclass(factory, Theory) and not factory.auto_select:
            continue
        if process in theory_processes(name):
            out.append(name)
    return out


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


