"""Results a person can read: summary tables, figures and a self-contained HTML report.

* :mod:`redist.report.tables` -- :class:`Table` (plain strings, rendered by the
  terminal and by HTML) and the table builders of every result kind;
* :mod:`redist.report.registry` -- result kinds: how ``redist show``, ``redist plot``
  and ``redist report`` read, tabulate and draw a saved result, by its ``"kind"`` tag;
* :mod:`redist.report.figures` -- figure builders (matplotlib ``Figure`` objects, no pyplot);
* :mod:`redist.report.html` -- the self-contained HTML page;
* :mod:`redist.report.inspect` -- what a model holds (``redist inspect``);
* :mod:`redist.report.provenance` -- command, input hashes and versions of a result.

Examples
--------
>>> from redist.report import get_kind, Table
>>> get_kind("scan").title
'Profile-likelihood scan'
"""

from __future__ import annotations

from .registry import ResultKind, get, kind_of, register
from .tables import Table

__all__ = ["ResultKind", "Table", "get_kind", "kind_of", "register"]


def __dir__() -> list[str]:
    return list(__all__)


def get_kind(name: str) -> ResultKind:
    """The :class:`ResultKind` registered under a ``"kind"`` tag (:func:`redist.report.registry.get`)."""
    return get(name)
