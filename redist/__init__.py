"""redist: reinterpretation of binned results by kinematic reweighting.

A published measurement fits templates built under theory A. Given the joint
number density n_A(x, z) of reconstructed fit bins x and true kinematics z,
redist reweights every template bin by w_z = sigma_B(z) / sigma_A(z) for any
theory B and returns a pyhf model whose parameters are those of theory B.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .density import JointDensity
    from .io import load, save
    from .modifier import Reweighting
    from .reinterpret import ReinterpretedModel, reinterpret
    from .theory import get_theory

# imported on first use, so that `import redist.cli` (and `redist --help`, and the command
# line's checks of names before any work) does not pay for pyhf, scipy and hist
_LAZY = {
    "JointDensity": ".density",
    "load": ".io",
    "save": ".io",
    "Reweighting": ".modifier",
    "ReinterpretedModel": ".reinterpret",
    "reinterpret": ".reinterpret",
    "get_theory": ".theory",
}

__version__ = "0.1.0"
__all__ = [
    "JointDensity",
    "ReinterpretedModel",
    "Reweighting",
    "__version__",
    "get_theory",
    "load",
    "reinterpret",
    "save",
]


def __dir__() -> list[str]:
    return list(__all__)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


class _Package(types.ModuleType):
    """The package's module type: a lazy name that is also a submodule stays the function.

    Importing the submodule ``redist.reinterpret`` makes the import system set the
    package attribute ``reinterpret`` to the module; here it becomes the function
    of the same name, as the eager ``from .reinterpret import reinterpret`` did.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType) and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
