"""redist: reinterpretation of binned results by kinematic reweighting.

A published measurement fits templates built under theory A. Given the joint
number density n_A(x, z) of reconstructed fit bins x and true kinematics z,
redist reweights every template bin by w_z = sigma_B(z) / sigma_A(z) for any
theory B and returns a pyhf model whose parameters are those of theory B.
"""

from __future__ import annotations

from .density import JointDensity
from .io import load, save
from .modifier import Reweighting
from .reinterpret import ReinterpretedModel, reinterpret
from .theory import get_theory

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
