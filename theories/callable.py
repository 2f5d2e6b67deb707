"""Wrap a user's numpy function as a redist theory."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from redist.theory import CorrelatedGroup, Kinematic, Parameter, Theory

__all__ = ["CallableTheory"]


class CallableTheory(Theory):
    """A theory defined by a vectorised Python function.

    Parameters
    ----------
    function : callable
        ``function(z, **params) -> rate``, with ``z`` of shape ``(n, d)`` (the
        columns in the order of ``kinematics``) and parameters passed **by name**.
    parameters : sequence of Parameter
        Declared parameters.
    kinematics : sequence of Kinematic
        Kinematic variables (one or more).
    groups : sequence of CorrelatedGroup, optional
        Correlated nuisance groups; their members are passed by name too.
    name : str
        Label used in messages.

    Examples
    --------
    >>> import numpy as np
    >>> from redist.theory import Kinematic, Parameter
    >>> th = CallableTheory(lambda z, a: 1 + a * z[:, 0], [Parameter("a", 0.0)],
    ...                     [Kinematic("q2", 0.0, 10.0)])
    >>> th.rate([1.0, 2.0], {"a": 2.0}).tolist()
    [3.0, 5.0]
    """

    version: ClassVar[str] = "1.0"

    def __init__(
        self,
        function: Callable[..., Any],
        parameters: Sequence[Parameter],
        kinematics: Sequence[Kinematic],
        groups: Sequence[CorrelatedGroup] = (),
        *,
        name: str = "callable",
    ) -> None:
        self.function = function
        self.parameters = tuple(parameters)
        self.kinematics = tuple(kinematics)
        self.groups = tuple(groups)
        self.name = name  # type: ignore[misc]
        self.metadata = {"process": name, "basis": "user function"}

    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: ModuleType) -> Any:
        return self.function(z, **values)
