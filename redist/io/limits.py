"""The one table of input limits: bytes, nesting, bins, array sizes and grid points.

Every reader in redist checks its input against these limits *before* it
allocates anything sized by the input (a declared number of bins, the
uncompressed size of an archive member, the points of a grid), so that a small
hostile file cannot exhaust memory or time. A limit that is hit raises
:class:`~redist.exceptions.InputLimitError`, whose message names the limit.

==========================  ================  ===================================================
limit                       default           what it bounds
==========================  ================  ===================================================
``max_file_bytes``          512 MiB           a model file, workspace or edge file (JSON)
``max_config_bytes``        16 MiB            a build config (JSON or YAML)
``max_density_file_bytes``  256 MiB           a density file (CSV, UHI JSON, HEPData, ROOT)
``max_yaml_bytes``          16 MiB            any YAML document (parsed by pure-Python PyYAML)
``max_depth``               64                nesting of JSON/YAML containers
``max_axis_bins``           100 000           bins of one histogram axis (fit bins or one z axis)
``max_z_bins``              100 000           z bins of a density (product over its z axes)
``max_density_cells``       10 000 000        cells of one density, fit bins x z bins
``max_model_cells``         50 000 000        cells of one modifier's migration tensor
                                              (samples x fit bins of the model x z bins)
``max_array_bytes``         512 MiB           one array read from a file (e.g. an ``.npz`` member)
``max_grid_points``         100 000           points of one scan axis, or of a patchset grid
==========================  ================  ===================================================

For trusted large inputs, raise a limit for a block of code::

    with redist.io.limits.override(max_z_bins=10**6):
        rm = redist.load("huge.json")

or for a whole process with the environment variable ``REDIST_LIMITS``, a
comma-separated list of ``name=value`` (sizes in bytes accept ``K``, ``M``,
``G`` binary suffixes), e.g. ``REDIST_LIMITS="max_file_bytes=4G,max_z_bins=1e6"``.
:func:`override` wins over the environment.
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..exceptions import ConfigError, InputLimitError, RedistError

__all__ = ["ENV_VAR", "Limits", "check", "current", "defaults", "override", "table"]


def __dir__() -> list[str]:
    return list(__all__)


#: environment variable with process-wide overrides, ``"name=value,name=value"``
ENV_VAR = "REDIST_LIMITS"

_MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Input limits (see the module docstring for the table); all are positive integers."""

    max_file_bytes: int = 512 * _MiB
    max_config_bytes: int = 16 * _MiB
    max_density_file_bytes: int = 256 * _MiB
    max_yaml_bytes: int = 16 * _MiB
    max_depth: int = 64
    max_axis_bins: int = 100_000
    max_z_bins: int = 100_000
    max_density_cells: int = 10_000_000
    max_model_cells: int = 50_000_000
    max_array_bytes: int = 512 * _MiB
    max_grid_points: int = 100_000


#: one-line descriptions, for :func:`table` and error messages
DESCRIPTIONS: dict[str, str] = {
    "max_file_bytes": "bytes of a model file, workspace or edge file",
    "max_config_bytes": "bytes of a build config",
    "max_density_file_bytes": "bytes of a density file (CSV, UHI, HEPData, ROOT)",
    "max_yaml_bytes": "bytes of a YAML document",
    "max_depth": "nesting depth of JSON/YAML containers",
    "max_axis_bins": "bins of one histogram axis",
    "max_z_bins": "z bins of a density (product over z axes)",
    "max_density_cells": "cells of one density (fit bins x z bins)",
    "max_model_cells": "cells of a modifier's migration tensor (samples x bins x z bins)",
    "max_array_bytes": "bytes of one array read from a file",
    "max_grid_points": "points of a scan axis or of a patchset grid",
}

_FIELDS = tuple(f.name for f in dataclasses.fields(Limits))
_OVERRIDES: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar(
    "redist_limits", default=None
)
_SUFFIX = {"": 1, "K": 1024, "M": _MiB, "G": 1024 * _MiB, "T": 1024 * 1024 * _MiB}


def _parse_value(name: str, raw: Any, where: str) -> int:
    """A positive integer limit from an int, float or string like ``"4G"``/``"1e6"``."""
    if isinstance(raw, bool):
        msg = f"{where}: limit {name} must be a positive number, got {raw!r}"
        raise ConfigError(msg)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        if not math.isfinite(raw) or raw != int(raw):
            msg = f"{where}: limit {name} must be a positive whole number, got {raw!r}"
            raise ConfigError(msg)
        value = int(raw)
    elif isinstance(raw, str):
        m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([KMGT]?)i?B?\s*", raw)
        try:
            number = float(m.group(1)) if m else math.nan
        except ValueError:
            number = math.nan
        if m is None or not math.isfinite(number) or number != int(number):
            msg = f"{where}: limit {name} = {raw[:40]!r} is not a positive whole number (suffix K, M, G)"
            raise ConfigError(msg)
        value = int(number) * _SUFFIX[m.group(2)]
    else:
        msg = f"{where}: limit {name} must be a number, got {type(raw).__name__}"
        raise ConfigError(msg)
    if value < 1:
        msg = f"{where}: limit {name} must be positive, got {value}"
        raise ConfigError(msg)
    return value


def _check_names(names: Any, where: str) -> None:
    for name in names:
        if name not in _FIELDS:
            msg = f"{where}: unknown limit {str(name)[:40]!r}; known limits: {', '.join(_FIELDS)}"
            raise ConfigError(msg)


def _from_env() -> dict[str, int]:
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return {}
    out = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            msg = f"{ENV_VAR}: {item.strip()[:40]!r} must look like name=value"
            raise ConfigError(msg)
        _check_names([name], ENV_VAR)
        out[name] = _parse_value(name, value, ENV_VAR)
    return out


def defaults() -> Limits:
    """The built-in limits (ignoring overrides).

    Examples
    --------
    >>> defaults().max_depth
    64
    """
    return Limits()


def current() -> Limits:
    """The limits in force here: defaults, then ``REDIST_LIMITS``, then :func:`override` blocks.

    Examples
    --------
    >>> with override(max_depth=10):
    ...     current().max_depth
    10
    """
    values = _from_env()
    values.update(_OVERRIDES.get() or {})
    return dataclasses.replace(Limits(), **values) if values else Limits()


@contextmanager
def override(**limits: Any) -> Iterator[Limits]:
    """Raise (or lower) limits inside a ``with`` block, for trusted inputs.

    Parameters
    ----------
    **limits
        ``name=value`` for any field of :class:`Limits`; values are positive
        integers (or strings with a ``K``/``M``/``G`` suffix).

    Yields
    ------
    Limits
        The limits in force inside the block.

    Examples
    --------
    >>> with override(max_z_bins="1M") as lim:
    ...     lim.max_z_bins
    1048576
    >>> current().max_z_bins
    100000
    """
    _check_names(limits, "override")
    parsed = {k: _parse_value(k, v, "override") for k, v in limits.items()}
    merged = {**(_OVERRIDES.get() or {}), **parsed}
    token = _OVERRIDES.set(merged)
    try:
        yield current()
    finally:
        _OVERRIDES.reset(token)


def table() -> list[tuple[str, int, int, str]]:
    """Rows ``(name, default, current, description)`` of every limit.

    Examples
    --------
    >>> [row[0] for row in table()][:2]
    ['max_file_bytes', 'max_config_bytes']
    """
    d, c = defaults(), current()
    return [(n, getattr(d, n), getattr(c, n), DESCRIPTIONS[n]) for n in _FIELDS]


def check(
    name: str,
    value: int | float,
    *,
    what: str,
    where: str,
    error: type[RedistError] = InputLimitError,
) -> None:
    """Raise if ``value`` exceeds the limit ``name`` (before anything of that size is allocated).

    Parameters
    ----------
    name : str
        A field of :class:`Limits`.
    value : int or float
        The declared size (bytes, bins, points).
    what : str
        What the value counts, for the message (e.g. ``"z bins"``).
    where : str
        File, JSON path or option the value comes from.
    error : type
        Exception class (default :class:`~redist.exceptions.InputLimitError`).

    Examples
    --------
    >>> check("max_grid_points", 10, what="grid points", where="--par cVL")
    >>> check("max_grid_points", 10**10, what="grid points", where="--par cVL")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    redist.exceptions.InputLimitError: --par cVL: 10000000000 grid points exceed the limit ...
    """
    limit = getattr(current(), name)
    if not value <= limit:  # also catches NaN
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        msg = (
            f"{where}: {shown} {what} exceed the limit {name} = {limit}; for a trusted input raise it "
            f"with redist.io.limits.override({name}=...) or {ENV_VAR}='{name}=...'"
        )
        raise error(msg)
