"""Structural types shared across redist: what the inference layer accepts.

:data:`ModelLike` is what :func:`redist.infer.fit`, :func:`~redist.infer.scan`,
:func:`~redist.infer.upper_limit` and :func:`~redist.infer.sample` take: either a
plain :class:`pyhf.pdf.Model` (with ``data=`` given explicitly) or any object that
satisfies :class:`LayoutModel` -- a :class:`~redist.reinterpret.ReinterpretedModel`,
a combination of several (:func:`redist.infer.combine`), or a user's own wrapper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Union, runtime_checkable

import numpy.typing as npt

if TYPE_CHECKING:
    import pyhf

    from .layout import ParameterLayout

__all__ = ["FixedValues", "LayoutModel", "ModelLike", "ParameterValues"]


def __dir__() -> list[str]:
    return list(__all__)


@runtime_checkable
class LayoutModel(Protocol):
    """A likelihood that owns its parameter layout and its data.

    ``model`` must return a :class:`pyhf.pdf.Model` built for pyhf's *current*
    backend (the inference layer switches backends around the access).
    """

    @property
    def layout(self) -> ParameterLayout:
        """Parameter names, slots, bounds, inits, kinds and theory bindings."""

    @property
    def model(self) -> pyhf.pdf.Model:
        """The pyhf model on the current backend."""

    @property
    def data(self) -> Any:
        """Observed main data followed by the auxiliary data."""

    def with_poi(self, poi: str) -> LayoutModel:
        """The same likelihood with another parameter of interest."""


#: What the inference functions accept.
ModelLike = Union[LayoutModel, "pyhf.pdf.Model"]

#: Values by parameter name: a number for a scalar, a sequence (or one number for every
#: component) for a vector parameter; ``None`` keeps the current value.
ParameterValues = Mapping[str, npt.ArrayLike | None]

#: Parameters to fix: values by name, or bare names (fixed at their initial values).
FixedValues = ParameterValues | Sequence[str]
