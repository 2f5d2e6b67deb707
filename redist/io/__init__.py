"""Everything redist reads and writes goes through here.

* :mod:`redist.io.limits` -- the one table of input limits (bytes, nesting,
  bins, array sizes, grid points) with documented defaults and overrides for
  trusted large inputs;
* :mod:`redist.io.reader` -- the one safe reader: regular files only, bounded
  reads, strict JSON, YAML without aliases, checked ``.npz`` archives;
* :mod:`redist.io.atomic` -- atomic writes (temporary file, fsync, rename) and
  the output checks commands run before they compute;
* :mod:`redist.io.validate` -- checks of meaning shared by loaders (workspace
  versions and observations, bounds, declared sizes);
* :mod:`redist.io.model` -- the redist model file: :func:`save`, :func:`load`,
  its JSON Schema.

The names below are the stable entry points (``redist.io.load`` and
``redist.load`` are the same function).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import limits

if TYPE_CHECKING:
    from .atomic import atomic_path, atomic_write_bytes, atomic_write_text, check_output
    from .model import FORMAT_VERSION, from_dict, load, save, schema, to_dict
    from .reader import (
        parse_json,
        parse_yaml,
        read_bytes,
        read_json,
        read_npz,
        read_structured,
        read_text,
        read_yaml,
    )

# the model functions need pyhf: imported on first use (the readers and writers do not)
_LAZY = {
    **dict.fromkeys(("atomic_path", "atomic_write_bytes", "atomic_write_text", "check_output"), ".atomic"),
    **dict.fromkeys(("FORMAT_VERSION", "from_dict", "load", "save", "schema", "to_dict"), ".model"),
    **dict.fromkeys(("parse_json", "parse_yaml", "read_bytes", "read_json", "read_npz", "read_structured",
                     "read_text", "read_yaml"), ".reader"),
}  # fmt: skip

__all__ = [
    "FORMAT_VERSION",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output",
    "from_dict",
    "limits",
    "load",
    "parse_json",
    "parse_yaml",
    "read_bytes",
    "read_json",
    "read_npz",
    "read_structured",
    "read_text",
    "read_yaml",
    "save",
    "schema",
    "to_dict",
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
