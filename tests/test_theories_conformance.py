"""The conformance kit (redist.testing) on every shipped theory, and on broken ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pytest

from redist.exceptions import UnknownParameter
from redist.pointwise import PointwiseTheory
from redist.testing import ConformanceError, check_theory
from redist.theory import CorrelatedGroup, Kinematic, Parameter, Theory
from theories.callable import CallableTheory
from theories.twobody import TwoBodyInvisible
from theories.wet import PROCESSES, WET

# the deprecated two-body theory is still tested here (superseded by bkx, tests/test_bkx.py)
pytestmark = pytest.mark.filterwarnings("ignore:theory 'two-body':DeprecationWarning")

HAS_JAX = True
try:
    import jax  # noqa: F401
except ImportError:  # pragma: no cover - jax is in the test environment
    HAS_JAX = False

BASIS_CHECKS = {"declarations", "rate", "names", "kernel", "basis", "registry"}


@pytest.mark.parametrize("process", list(PROCESSES))
def test_wet_conforms(process: str) -> None:
    done = check_theory(WET(process))
    assert set(done) >= BASIS_CHECKS
    assert ("jax" in done) == HAS_JAX


def test_wet_hpqcd_conforms() -> None:
    assert "registry" in check_theory(WET("B0->K0nunu", form_factors="HPQCD2022"), jax=False)


@pytest.mark.parametrize(
    "settings",
    [
        {"m_X": 1.5},
        {"m_X": 1.5, "width": 0.3, "include_sm": False},
        {"m_X": 4.0, "width": 1e-3},
    ],
)
def test_two_body_conforms(settings: dict[str, Any]) -> None:
    assert set(check_theory(TwoBodyInvisible(**settings))) >= BASIS_CHECKS


def test_callable_conforms_1d_and_2d() -> None:
    one = CallableTheory(
        lambda z, a, b: (1 + a * z[:, 0]) ** 2 + b**2,
        [Parameter("a", 0.1, (-1.0, 1.0)), Parameter("b", 0.0, (-2.0, 2.0))],
        [Kinematic("q2", 0.0, 10.0)],
    )
    group = CorrelatedGroup("g", ("c0", "c1"), (1.0, 0.5), ((0.04, 0.01), (0.01, 0.09)))
    two = CallableTheory(
        lambda z, c0, c1: np.exp(-z[:, 0] / 5) * (c0**2 + c1**2 * z[:, 1] ** 2),
        [],
        [Kinematic("q2", 0.0, 10.0), Kinematic("cos_theta", -1.0, 1.0)],
        groups=[group],
    )
    for th in (one, two):
        done = check_theory(th)
        assert done == ("declarations", "rate", "names", "kernel")  # not registered, no basis


def test_pointwise_wet_conforms() -> None:
    wet = WET("B0->K*0nunu")

    def point(q2: float, **values: float) -> float:
        return float(wet.dbr_dq2_direct(np.array([q2]), values)[0])

    th = PointwiseTheory(point, wet.parameters, wet.kinematics)
    done = check_theory(th, n_points=8, n_bins=2, n_random=2)
    assert {"basis", "kernel"} <= set(done)


def test_toy_plugin_conforms() -> None:
    toy = pytest.importorskip("redist_toy_plugin", reason="pip install ./tests/plugin_pkg")
    assert "registry" in check_theory(toy.ToyTheory(q2_max=7.0))


# --- the kit catches broken theories -------------------------------------------------------
class _Quadratic(Theory):
    """A correct basis theory that the broken variants below modify."""

    name: ClassVar[str] = "broken-test"
    has_basis: ClassVar[bool] = True

    def __init__(self) -> None:
        self.parameters = (Parameter("a", 1.0, (-3.0, 3.0)),)
        self.kinematics = (Kinematic("x", 0.0, 2.0),)

    def basis(self, z: np.ndarray) -> np.ndarray:
        x = np.asarray(z, dtype=float).reshape(-1)
        return np.stack([1 + x**2], axis=-1)

    def coefficients(self, values: Mapping[str, Any], xp: Any = np) -> Any:
        return xp.stack([xp.asarray(values["a"] ** 2)])

    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: Any) -> Any:
        return self.basis(z) @ self.coefficients(values, xp)


def test_correct_reference_theory_passes() -> None:
    assert "jax" in check_theory(_Quadratic()) or not HAS_JAX


class _WrongBasis(_Quadratic):
    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: Any) -> Any:
        return (1 + z[:, 0] ** 2.01) * values["a"] ** 2


class _Negative(_Quadratic):
    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: Any) -> Any:
        return (z[:, 0] - 1) * values["a"] ** 2


class _Coupled(_Quadratic):
    """Each point's rate depends on the other points (not vectorised correctly)."""

    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: Any) -> Any:
        return np.full(len(z), np.mean(1 + z[:, 0] ** 2)) * values["a"] ** 2


class _BadDefault(_Quadratic):
    def __init__(self) -> None:
        super().__init__()
        self.parameters = (Parameter("a", 1.0, (1.0, 1.0)),)


class _AcceptsAnything(_Quadratic):
    def resolve(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**self.defaults(), **{k: v for k, v in (values or {}).items() if k == "a"}}


class _NotTraceable(_Quadratic):
    def coefficients(self, values: Mapping[str, Any], xp: Any = np) -> Any:
        return np.array([float(values["a"]) ** 2])


class _WrongAntiderivative(_Quadratic):
    def basis_integrals(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return np.stack([hi - lo + (hi**3 - lo**3) / 3.01], axis=-1)


class _BadGroup(_Quadratic):
    def __init__(self) -> None:
        super().__init__()
        # symmetric but indefinite: passes the dataclass checks, not the PSD one
        self.groups = (CorrelatedGroup.__new__(CorrelatedGroup),)
        object.__setattr__(self.groups[0], "name", "g")
        object.__setattr__(self.groups[0], "parameters", ("p", "q"))
        object.__setattr__(self.groups[0], "mean", (0.0, 0.0))
        object.__setattr__(self.groups[0], "covariance", ((1.0, 2.0), (2.0, 1.0)))


@pytest.mark.parametrize(
    ("cls", "check"),
    [
        (_WrongBasis, "basis"),
        (_Negative, "rate"),
        (_Coupled, "rate"),
        (_BadDefault, "declarations"),
        (_AcceptsAnything, "names"),
        (_WrongAntiderivative, "kernel"),
        (_BadGroup, "groups"),
    ],
)
def test_kit_detects(cls: type[Theory], check: str) -> None:
    with pytest.raises(ConformanceError, match=rf"broken-test.*{check!r}"):
        check_theory(cls())


@pytest.mark.jax
def test_kit_detects_untraceable_coefficients(jax: Any) -> None:
    with pytest.raises(ConformanceError, match="'jax'"):
        check_theory(_NotTraceable())


def test_conformance_error_is_assertion_and_redist_error() -> None:
    from redist.exceptions import RedistError

    assert issubclass(ConformanceError, AssertionError)
    assert issubclass(ConformanceError, RedistError)
    with pytest.raises(UnknownParameter):
        _Quadratic().resolve({"b": 1.0})
