"""Validation of meaning for workspaces, densities and reweightings read from files.

Schemas check shapes and types; these functions check what a schema cannot:
that observations match their channel's bins, that a workspace version is one
pyhf knows (it is never used as a path), that bounds are ordered, that fixed
values and initial values lie inside their bounds, and that declared sizes stay
within :mod:`redist.io.limits` *before* anything of that size is built.
They run on plain documents (dicts from JSON/YAML), shared by the model-file
loader and the build config.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np

from ..exceptions import FileFormatError, RedistError
from . import limits as _limits
from .reader import token

__all__ = [
    "check_density_sizes",
    "check_migration_size",
    "check_reweighting",
    "check_workspace",
    "is_number_list",
    "known_workspace_versions",
    "schema_error",
    "schema_skeleton",
]


def __dir__() -> list[str]:
    return list(__all__)


def schema_error(err: Any) -> str:
    """A short message for a schema violation: JSON path and rule, never a long echo of the value.

    Examples
    --------
    >>> import jsonschema
    >>> try:
    ...     jsonschema.validate({"a": "x" * 100}, {"properties": {"a": {"type": "number"}}})
    ... except jsonschema.ValidationError as err:
    ...     schema_error(err)
    "at a: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... is not of type 'number'"
    """
    loc = "/".join(str(p) for p in err.absolute_path) or "<root>"
    shown = token(err.instance)
    message = err.message
    full = repr(err.instance)
    if full in message:
        message = message.replace(full, shown)
    return f"at {loc}: {message[:300]}"


def schema_skeleton(doc: Any) -> Any:
    """A copy of ``doc`` for fast JSON-Schema validation: long lists of numbers cut to two entries.

    A schema checks the *type* of every number of an array one Python call at a
    time (seconds for a 10 MB model). After :func:`~redist.io.reader.check_tree`
    has checked every number (finite, JSON types), cutting each list whose items
    are all numbers to its first two items keeps every schema verdict that does
    not depend on such a list's length beyond two (``minItems`` <= 2; the
    lengths themselves are checked explicitly against the limits); lists with
    any non-number keep all items, so a stray string is still reported at its
    own index.

    Examples
    --------
    >>> schema_skeleton({"a": [1.0, 2.0, 3.0], "b": [1, "x", 3]})
    {'a': [1.0, 2.0], 'b': [1, 'x', 3]}
    """
    if not isinstance(doc, (dict, list)):
        return doc
    root: Any = {} if isinstance(doc, dict) else []
    stack: list[tuple[Any, Any]] = [(doc, root)]
    while stack:
        src, dst = stack.pop()
        if isinstance(src, dict):
            for k, v in src.items():
                if isinstance(v, (dict, list)):
                    new: Any = {} if isinstance(v, dict) else []
                    dst[k] = new
                    stack.append((v, new))
                else:
                    dst[k] = v
            continue
        if len(src) > 2 and all(type(v) is float or type(v) is int for v in src):
            dst.extend(src[:2])
            continue
        for v in src:
            if isinstance(v, (dict, list)):
                new = {} if isinstance(v, dict) else []
                dst.append(new)
                stack.append((v, new))
            else:
                dst.append(v)
    return root


@cache
def known_workspace_versions() -> frozenset[str]:
    """Workspace schema versions shipped with the installed pyhf (e.g. ``{"1.0.0"}``).

    Examples
    --------
    >>> "1.0.0" in known_workspace_versions()
    True
    """
    root = files("pyhf").joinpath("schemas")
    return frozenset(
        p.name for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d+\.\d+\.\d+", p.name)
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_number_list(items: Any) -> bool:
    """Whether ``items`` is a list of finite numbers (bools and strings excluded), fast for long lists."""
    if not isinstance(items, list):
        return False
    if len(items) > 16:
        try:
            arr = np.array(items)
        except (ValueError, TypeError):
            return False
        return arr.ndim == 1 and arr.dtype.kind in "fiu" and bool(np.isfinite(arr).all())
    return all(_is_number(v) for v in items)


def check_workspace(ws: Any, *, where: str, error: type[RedistError] = FileFormatError) -> None:
    """Check a pyhf workspace document beyond its schema, before pyhf sees it.

    * ``version`` is a version string pyhf ships a schema for (never a path);
    * channel names are unique and every sample of a channel has the same number
      of bins, all finite;
    * every channel has exactly one observation, with one finite, non-negative
      count per bin.

    Raises
    ------
    FileFormatError
        (or ``error``) naming the channel, sample or observation.
    """
    if not isinstance(ws, Mapping):
        msg = f"{where}: a workspace must be a JSON object, got {type(ws).__name__}"
        raise error(msg)
    version = ws.get("version")
    known = known_workspace_versions()
    if not isinstance(version, str) or version not in known:
        msg = (
            f"{where}: workspace version {token(version)} is not a pyhf workspace schema version "
            f"(known: {', '.join(sorted(known))})"
        )
        raise error(msg)
    channels = ws.get("channels")
    if not isinstance(channels, list) or not channels:
        msg = f"{where}: workspace/channels must be a non-empty list"
        raise error(msg)
    nbins: dict[str, int] = {}
    for i, ch in enumerate(channels):
        here = f"{where}: workspace/channels/{i}"
        if not isinstance(ch, Mapping) or not isinstance(ch.get("name"), str):
            msg = f"{here}: a channel needs a name"
            raise error(msg)
        name = ch["name"]
        if name in nbins:
            msg = f"{here}: duplicate channel {token(name)}"
            raise error(msg)
        samples = ch.get("samples")
        if not isinstance(samples, list) or not samples:
            msg = f"{here} ({token(name)}): samples must be a non-empty list"
            raise error(msg)
        n = None
        for j, s in enumerate(samples):
            if not isinstance(s, Mapping) or not isinstance(s.get("name"), str):
                msg = f"{here} ({token(name)}), sample {j}: a sample needs a name"
                raise error(msg)
            data: Any = s.get("data")
            sname = s["name"]
            mods = s.get("modifiers", [])
            if not isinstance(mods, list) or not all(
                isinstance(m, Mapping) and isinstance(m.get("name"), str) and isinstance(m.get("type"), str)
                for m in mods
            ):
                msg = (
                    f"{here} ({token(name)}), sample {j} ({token(sname)}): "
                    "modifiers must be objects with a name and a type"
                )
                raise error(msg)
            if not is_number_list(data) or not data:
                msg = (
                    f"{here} ({token(name)}), sample {j} ({token(sname)}): "
                    "data must be a non-empty list of finite numbers"
                )
                raise error(msg)
            if n is None:
                n = len(data)
            elif len(data) != n:
                msg = (
                    f"{here} ({token(name)}), sample {j} ({token(sname)}): {len(data)} bins, "
                    f"but the channel's first sample has {n}"
                )
                raise error(msg)
        _limits.check("max_axis_bins", n or 0, what="bins", where=f"{here} ({token(name)})")
        nbins[name] = n or 0
    observations = ws.get("observations")
    if not isinstance(observations, list):
        msg = f"{where}: workspace/observations must be a list"
        raise error(msg)
    seen = set()
    for k, obs in enumerate(observations):
        here = f"{where}: workspace/observations/{k}"
        if not isinstance(obs, Mapping) or not isinstance(obs.get("name"), str):
            msg = f"{here}: an observation needs a channel name"
            raise error(msg)
        name = obs["name"]
        if name in seen:
            msg = f"{here}: second observation for channel {token(name)}"
            raise error(msg)
        seen.add(name)
        if name not in nbins:
            msg = f"{here}: observation for unknown channel {token(name)}"
            raise error(msg)
        data = obs.get("data")
        if not is_number_list(data):
            msg = f"{here} (channel {token(name)}): data must be a list of finite numbers"
            raise error(msg)
        if len(data) != nbins[name]:
            msg = (
                f"{here}: {len(data)} observed counts for channel {token(name)}, "
                f"which has {nbins[name]} bins"
            )
            raise error(msg)
        neg = [i for i, v in enumerate(data) if v < 0]
        if neg:
            msg = f"{here}: negative observed count in channel {token(name)}, bin {neg[0]}"
            raise error(msg)
    missing = [c for c in nbins if c not in seen]
    if missing:
        msg = f"{where}: workspace has no observation for channel {token(missing[0])}"
        raise error(msg)


def check_density_sizes(
    n_x: int, z_bins: Sequence[int], *, where: str, error: type[RedistError] = FileFormatError
) -> None:
    """Declared sizes of a density against ``max_axis_bins``, ``max_z_bins`` and ``max_density_cells``.

    Examples
    --------
    >>> check_density_sizes(9, [100], where="d")
    """
    del error  # limits raise InputLimitError
    _limits.check("max_axis_bins", n_x, what="fit bins", where=where)
    for i, n in enumerate(z_bins):
        _limits.check("max_axis_bins", n, what=f"bins on z axis {i}", where=where)
    nz = math.prod(z_bins)
    _limits.check("max_z_bins", nz, what="z bins", where=where)
    _limits.check("max_density_cells", n_x * nz, what="density cells (fit bins x z bins)", where=where)


def check_migration_size(ws: Mapping[str, Any], z_bins: int, *, where: str) -> None:
    """Cells of one modifier's migration tensor (samples x all bins x z bins) against ``max_model_cells``."""
    channels = ws.get("channels") or []
    samples = {s.get("name") for ch in channels for s in ch.get("samples", []) if isinstance(s, Mapping)}
    bins = sum(len((ch.get("samples") or [{}])[0].get("data") or []) for ch in channels)
    _limits.check(
        "max_model_cells",
        len(samples) * bins * z_bins,
        what="migration-tensor cells (samples x bins x z bins)",
        where=where,
    )


def _bounds_of(theory: Any) -> dict[str, tuple[float, float]]:
    return {p.name: (float(p.bounds[0]), float(p.bounds[1])) for p in theory.parameters}


def check_reweighting(
    doc: Mapping[str, Any],
    *,
    theory: Any,
    null: Any = None,
    where: str,
    error: type[RedistError] = FileFormatError,
) -> None:
    """Numbers of a reweighting document that a schema cannot check.

    * ``z_edges``: finite, strictly increasing, within the size limits;
    * ``bounds``: ``[low, high]`` with finite ends and ``low < high``;
    * ``values`` (fixed theory parameters), ``null_values`` and ``inits``: finite and
      inside the parameter's bounds (the override, else the theory's);
    * ``cutoff``: one ``[low, high]`` per z axis with ``low < high``.

    Parameter names are checked by :class:`~redist.modifier.Reweighting` itself.

    Raises
    ------
    FileFormatError
        (or ``error``) naming the parameter or axis.
    """
    edges = doc.get("z_edges")
    if not isinstance(edges, Sequence) or not edges:
        msg = f"{where}: z_edges must be a non-empty list of edge lists"
        raise error(msg)
    z_bins = []
    for i, e in enumerate(edges):
        if not is_number_list(e) or len(e) < 2:
            msg = f"{where}: z_edges/{i} must be a list of at least 2 finite numbers"
            raise error(msg)
        _limits.check("max_axis_bins", len(e) - 1, what=f"bins on z axis {i}", where=where)
        if not np.all(np.diff(np.asarray(e, dtype=float)) > 0):
            msg = f"{where}: z_edges/{i} must be strictly increasing"
            raise error(msg)
        z_bins.append(len(e) - 1)
    _limits.check("max_z_bins", math.prod(z_bins), what="z bins", where=where)
    own = _bounds_of(theory)
    bounds = dict(own)
    for name, b in (doc.get("bounds") or {}).items():
        if not isinstance(b, Sequence) or len(b) != 2 or not all(_is_number(v) for v in b):
            msg = f"{where}: bounds of {token(name)} must be [low, high] with finite numbers"
            raise error(msg)
        lo, hi = float(b[0]), float(b[1])
        if not lo < hi:
            msg = f"{where}: bounds of {token(name)} are [{lo:g}, {hi:g}]; need low < high"
            raise error(msg)
        bounds[str(name)] = (lo, hi)
    checks: list[tuple[str, Any, dict[str, tuple[float, float]]]] = [
        ("values", doc.get("values") or {}, bounds),
        ("inits", doc.get("inits") or {}, bounds),
        ("null_values", doc.get("null_values") or {}, _bounds_of(null) if null is not None else own),
    ]
    for what, values, within in checks:
        if not isinstance(values, Mapping):
            msg = f"{where}: {what} must be a mapping of parameter names to numbers"
            raise error(msg)
        for name, v in values.items():
            if not _is_number(v):
                msg = f"{where}: {what} of {token(name)} must be a finite number, got {token(v)}"
                raise error(msg)
            if name in within:
                lo, hi = within[name]
                if not lo <= float(v) <= hi:
                    msg = (
                        f"{where}: {what} of {token(name)} = {float(v):g} is outside its bounds "
                        f"[{lo:g}, {hi:g}]"
                    )
                    raise error(msg)
    cutoff = doc.get("cutoff")
    if cutoff is not None:
        if not isinstance(cutoff, Sequence) or len(cutoff) != len(z_bins):
            msg = f"{where}: cutoff needs one [low, high] per z axis ({len(z_bins)})"
            raise error(msg)
        for i, c in enumerate(cutoff):
            ok = isinstance(c, Sequence) and len(c) == 2 and all(_is_number(v) for v in c)
            if not ok or not c[0] < c[1]:
                msg = f"{where}: cutoff/{i} must be [low, high] with finite low < high"
                raise error(msg)
