"""A toy theory plug-in for redist's test suite.

The rate on ``0 <= q2 <= q2_max`` is the quadratic form

    rate(q2) = a**2 (1 - t)**2 + 2 a b t (1 - t) + b**2 t,   t = q2 / q2_max,

which is non-negative for all real ``a`` and ``b`` (its discriminant in a/b is negative for
0 < t < 1), declared as a basis theory so that redist precomputes its bin integrals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from redist.theory import Kinematic, Parameter, Theory

__all__ = ["ToyTheory"]


class ToyTheory(Theory):
    """Toy quadratic-form theory with parameters ``a`` and ``b``.

    Parameters
    ----------
    q2_max : float
        Upper end of the kinematic range.
    """

    name: ClassVar[str] = "toy-plugin"
    version: ClassVar[str] = "0.1"
    has_basis: ClassVar[bool] = True

    def __init__(self, q2_max: float = 10.0) -> None:
        self.q2_max = float(q2_max)
        self.parameters = (
            Parameter("a", 1.0, (-10.0, 10.0), "amplitude of the falling term"),
            Parameter("b", 0.0, (-10.0, 10.0), "amplitude of the rising term"),
        )
        self.kinematics = (Kinematic("q2", 0.0, self.q2_max, "GeV^2"),)
        self.metadata = {"process": "toy", "basis": "quadratic form in a, b"}

    def settings(self) -> dict[str, Any]:
        """Settings that rebuild this theory."""
        return {"q2_max": self.q2_max}

    def basis(self, z: np.ndarray) -> np.ndarray:
        """Columns multiplying a**2, a*b, b**2."""
        t = np.asarray(z, dtype=float).reshape(-1) / self.q2_max
        return np.stack([(1 - t) ** 2, 2 * t * (1 - t), t], axis=-1)

    def coefficients(self, values: Mapping[str, Any], xp: Any = np) -> Any:
        """Monomials a**2, a*b, b**2."""
        a, b = values["a"], values["b"]
        return xp.stack([xp.asarray(a * a), xp.asarray(a * b), xp.asarray(b * b)])

    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: Any) -> Any:
        return self.basis(z) @ self.coefficients(values, xp)
