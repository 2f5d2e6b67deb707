"""Result kinds: how ``redist show``, ``redist plot`` and ``redist report`` treat a saved result.

Every result file carries a ``"kind"`` tag (``FitResult.to_dict()["kind"] == "fit"``).
A :class:`ResultKind` says, for one tag, how to rebuild the result object from
its JSON form, which :class:`~redist.report.tables.Table` objects summarise it
and which figures show it. The three commands look the tag up here and know
nothing else about the result.

Adding a kind (e.g. a posterior, a toy study or an evidence result) takes one
:class:`ResultKind` object next to the result class and **one line** in
:data:`BUILTIN` below (``"kind": "module:attribute"``), imported only when a
file of that kind is read. A package outside redist registers through the
entry-point group ``redist.results`` (``name = "module:attribute"``) or calls
:func:`register`.

Examples
--------
>>> kind = get("fit")
>>> kind.name, kind.title
('fit', 'Maximum-likelihood fit')
>>> "scan" in kinds()
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..exceptions import FileFormatError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .tables import Table

__all__ = ["BUILTIN", "ResultKind", "get", "kind_of", "kinds", "register"]


def __dir__() -> list[str]:
    return list(__all__)


@dataclass(frozen=True)
class ResultKind:
    """How to read, tabulate and draw one kind of result.

    Attributes
    ----------
    name : str
        The ``"kind"`` tag of the JSON form.
    title : str
        Section title in reports.
    from_dict : callable
        ``doc -> result object`` (e.g. :meth:`redist.infer.FitResult.from_dict`).
    tables : callable
        ``result -> list[Table]``.
    figures : callable, optional
        ``result -> list[(name, Figure)]`` (``name`` is a file stem such as ``"pulls"``).
        Figures must be built without pyplot (:class:`matplotlib.figure.Figure`).
    """

    name: str
    title: str
    from_dict: Callable[[Mapping[str, Any]], Any]
    tables: Callable[[Any], list[Table]]
    figures: Callable[[Any], list[tuple[str, Figure]]] | None = None


#: kind tag -> "module:attribute" of its :class:`ResultKind`, imported on first use.
#: Add a kind with one line here.
BUILTIN: dict[str, str] = {
    "fit": "redist.report.kinds:FIT",
    "scan": "redist.report.kinds:SCAN",
    "limit": "redist.report.kinds:LIMIT",
    "posterior": "redist.report.kinds:POSTERIOR",
    "demo": "redist.report.kinds:DEMO",
    "impacts": "redist.report.kinds:IMPACTS",
    "model": "redist.report.kinds:MODEL",
    "evidence": "redist.report.kinds:EVIDENCE",
}

_REGISTERED: dict[str, ResultKind] = {}


def register(kind: ResultKind, *, replace: bool = False) -> ResultKind:
    """Register a result kind (``replace=True`` to override one registered before).

    Raises
    ------
    FileFormatError
        If another kind was registered under the same tag and ``replace`` is false.
    """
    old = _REGISTERED.get(kind.name)
    if old is not None and old is not kind and not replace:
        msg = f"result kind {kind.name!r} is already registered"
        raise FileFormatError(msg)
    _REGISTERED[kind.name] = kind
    return kind


def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group="redist.results")}


def _load(name: str) -> ResultKind | None:
    target = BUILTIN.get(name) or _entry_points().get(name)
    if target is None:
        return None
    mod, _, attr = target.partition(":")
    obj = getattr(importlib.import_module(mod), attr)
    if not isinstance(obj, ResultKind):
        msg = f"result kind {name!r}: {target} is not a ResultKind"
        raise FileFormatError(msg)
    return obj


def kinds() -> list[str]:
    """Every known kind tag (built-in, registered, entry points)."""
    return sorted({*BUILTIN, *_REGISTERED, *_entry_points()})


def get(name: str) -> ResultKind:
    """The :class:`ResultKind` of a tag.

    Raises
    ------
    FileFormatError
        For an unknown tag, listing the known ones.
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    kind = _load(name)
    if kind is None:
        msg = f"unknown result kind {name!r}; known kinds: {', '.join(kinds())}"
        raise FileFormatError(msg)
    _REGISTERED[name] = kind
    return kind


def kind_of(doc: Any, where: str = "result") -> str:
    """The kind tag of a result document (results written before tags existed are recognised).

    Raises
    ------
    FileFormatError
        If the document is not a recognisable redist result.
    """
    if not isinstance(doc, Mapping):
        msg = f"{where}: not a redist result (a JSON object is expected)"
        raise FileFormatError(msg)
    tag = doc.get("kind")
    if isinstance(tag, str):
        return tag
    # untagged files of earlier versions
    if "best_fit" in doc and "sm_point" in doc:
        return "demo"
    if "grid" in doc and "twice_nll" in doc and "bestfit" in doc:
        return "scan"
    if "cls_observed" in doc:
        return "limit"
    if "summary" in doc and "sampler" in doc:
        return "posterior"
    if "bestfit" in doc and "covariance" in doc and "layout" in doc:
        return "fit"
    if "workspace" in doc and "reweightings" in doc:
        msg = f"{where}: a redist model file, not a result; use `redist inspect` for models"
        raise FileFormatError(msg)
    msg = f"{where}: not a redist result (no 'kind' tag); `redist fit|scan|limit|sample -o FILE` write them"
    raise FileFormatError(msg)
