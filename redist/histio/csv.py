"""The published CSV layout: one row per fit bin, one column per flattened z bin.

Header lines starting with ``#`` (written by :func:`write_csv`, optional on
read: the published files have none) state the format version, the axis order,
the flattening and the z bin edges; each may appear once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..density import JointDensity
from ..exceptions import DensityFileError
from ..io import limits as _limits
from ..io.atomic import atomic_write_text
from ..io.reader import token
from ._common import (
    FLATTENING,
    FORMAT_TAG,
    FORMAT_VERSION,
    check_expected,
    check_format_version,
    density_from_array,
    edges_per_axis,
    floats,
    layout_string,
    read_density_bytes,
    short,
)

__all__ = ["read_csv", "write_csv"]


def __dir__() -> list[str]:
    return list(__all__)


def write_csv(path: str | Path, density: JointDensity) -> Path:
    """Write the published CSV layout (rows = fit bins, columns = flattened z bins), atomically.

    Header lines starting with ``#`` state the format, axis order, flattening and
    the z bin edges, so that :func:`read_csv` can check them.

    Examples
    --------
    >>> import tempfile, os
    >>> d = JointDensity.from_array([[1.0, 2.0]], [0.0, 1.0, 2.0])
    >>> p = write_csv(os.path.join(tempfile.mkdtemp(), "d.csv"), d)
    >>> read_csv(p).values().tolist()
    [[1.0, 2.0]]
    """
    path = Path(path)
    lines = [
        f"# {FORMAT_TAG} {FORMAT_VERSION}",
        f"# axis_order: {layout_string(density)}",
        f"# flattening: {FLATTENING}",
        "# rows: fit bins (pyhf order); columns: z bins flattened in C order (last z axis fastest)",
    ]
    for name, e in zip(density.z_names, density.z_edges):
        lines.append(f"# edges {name}: " + ",".join(repr(float(v)) for v in e))
    body = "\n".join(",".join(f"{v:.18e}" for v in row) for row in density.values())
    return atomic_write_text(path, "\n".join(lines) + "\n" + body + "\n")


def _number_list(text: str, where: str, what: str, limit: str, limit_what: str) -> list[float]:
    """Comma-separated numbers, counted against ``limit`` before splitting; no content in messages."""
    _limits.check(limit, text.count(",") + 1, what=limit_what, where=f"{where}: {what}")
    out = []
    for j, v in enumerate(text.split(",")):
        try:
            out.append(float(v))
        except ValueError:
            msg = f"{where}: {what}, column {j} is not a number"
            raise DensityFileError(msg) from None
    return out


def _parse_csv_header(lines: list[tuple[int, str]], where: str) -> dict[str, Any]:
    hdr: dict[str, Any] = {"edges": {}}
    for lineno, ln in lines:
        body = ln.lstrip().lstrip("#").strip()
        here = f"{where}: line {lineno}"
        key = None
        value: Any = None
        if body.startswith(FORMAT_TAG):
            key, value = "version", body
        elif body.startswith("axis_order:"):
            key, value = "axis_order", [a.strip() for a in body.split(":", 1)[1].split(",")]
        elif body.startswith("flattening:"):
            key, value = "flattening", body.split(":", 1)[1].strip()
        elif body.startswith("edges "):
            name, _, vals = body[6:].partition(":")
            name = name.strip()
            if name in hdr["edges"]:
                msg = f"{here}: second edge header for axis {token(name)}"
                raise DensityFileError(msg)
            edges = _number_list(vals, where, f"edge header of axis {token(name)}", "max_axis_bins", "edges")
            hdr["edges"][name] = np.array(edges)
        if key is not None:
            if key in hdr:
                msg = f"{here}: second {key} header"
                raise DensityFileError(msg)
            hdr[key] = value
    if "version" in hdr:
        check_format_version(hdr["version"], where, "the header")
    return hdr


def read_csv(
    path: str | Path,
    z_edges: Sequence[Any] | None = None,
    *,
    z_names: Sequence[str] | None = None,
    x_name: str = "x",
    flattening: str | None = None,
    n_x: int | None = None,
) -> JointDensity:
    """Read the published CSV layout: one row per fit bin, one column per flattened z bin.

    Parameters
    ----------
    path : str or Path
        The file. Lines starting with ``#`` are header lines (written by
        :func:`write_csv`); the published files have none.
    z_edges : array_like or sequence of array_like, optional
        z bin edges per axis. Required if the file has no edge header; if it
        has one, the two must agree.
    z_names : sequence of str, optional
        Kinematic axis names (default from the header, else ``("q2",)``).
    x_name : str
        Name of the fit-bin axis.
    flattening : {"C", "F"}, optional
        How several z axes are flattened into columns. If the file declares
        its flattening, the two must agree. Default ``"C"``.
    n_x : int, optional
        Expected number of fit bins (rows).

    Raises
    ------
    DensityFileError
        Unreadable numbers, ragged rows, a column count that does not match the
        z binning, a header given twice, or header/argument mismatches (naming
        file, line, row and column, never the content);
        :class:`~redist.exceptions.InputLimitError` for sizes above :mod:`redist.io.limits`.
    """
    path = Path(path)
    where = str(path)
    data = read_density_bytes(path, where)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        msg = f"{where}: not UTF-8 text (invalid byte at offset {err.start})"
        raise DensityFileError(msg) from err
    lines = text.splitlines()
    header = [(i + 1, ln) for i, ln in enumerate(lines) if ln.lstrip().startswith("#")]
    hdr = _parse_csv_header(header, where)
    rows = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not rows:
        msg = f"{where}: no data rows"
        raise DensityFileError(msg)
    _limits.check("max_axis_bins", len(rows), what="rows (fit bins)", where=where)
    ncol = rows[0].count(",") + 1
    _limits.check("max_z_bins", ncol, what="columns (z bins)", where=where)
    _limits.check("max_density_cells", ncol * len(rows), what="cells", where=where)
    table = []
    for i, ln in enumerate(rows):
        if ln.count(",") + 1 != ncol:
            msg = f"{where}: row {i} (fit bin {i}) has {ln.count(',') + 1} columns, row 0 has {ncol}"
            raise DensityFileError(msg)
        table.append(_number_list(ln, where, f"row {i} (fit bin {i})", "max_z_bins", "columns"))
    vals = floats(table, where, "table")
    declared_order = hdr.get("axis_order")
    if declared_order is not None:
        x_name = declared_order[0]
        if z_names is not None and list(z_names) != declared_order[1:]:
            msg = f"{where}: file declares axis order {declared_order}, expected {[x_name, *z_names]}"
            raise DensityFileError(msg)
        z_names = declared_order[1:]
    declared_flat = hdr.get("flattening")
    if declared_flat is not None and flattening is not None and declared_flat != flattening:
        msg = (
            f"{where}: file declares flattening {token(declared_flat)} of the z columns, "
            f"expected {flattening!r}"
        )
        raise DensityFileError(msg)
    flat = flattening or declared_flat or FLATTENING
    if flat not in ("C", "F"):
        msg = f"{where}: unknown flattening {token(flat)}; use 'C' (last z axis fastest) or 'F'"
        raise DensityFileError(msg)
    if z_edges is None:
        if not hdr["edges"]:
            msg = f"{where}: the file states no z bin edges; pass z_edges"
            raise DensityFileError(msg)
        names = list(z_names) if z_names is not None else list(hdr["edges"])
        missing = [n for n in names if n not in hdr["edges"]]
        if missing:
            msg = f"{where}: no edge header for axis {token(missing[0])}"
            raise DensityFileError(msg)
        edges = [hdr["edges"][n] for n in names]
        z_names = names
    else:
        edges = edges_per_axis(z_edges)
        if z_names is None:
            z_names = ("q2",) if len(edges) == 1 else tuple(f"z{i}" for i in range(len(edges)))
        for i, (n, e) in enumerate(zip(z_names, edges), start=1):
            if n in hdr["edges"]:
                got = hdr["edges"][n]
                if got.shape != e.shape or not np.allclose(got, e, rtol=1e-12, atol=1e-12):
                    msg = f"{where}: axis {i} ({n!r}) edges in the file {short(got)} differ from {short(e)}"
                    raise DensityFileError(msg)
    if len(edges) != len(tuple(z_names)):
        msg = f"{where}: {len(edges)} z axes but names {list(z_names)}"
        raise DensityFileError(msg)
    shape = tuple(len(e) - 1 for e in edges)
    if ncol != int(np.prod(shape)):
        msg = (
            f"{where}: {ncol} columns, but the z binning {dict(zip(z_names, shape))} has "
            f"{int(np.prod(shape))} bins (axis order x, {', '.join(z_names)}; flattening {flat})"
        )
        raise DensityFileError(msg)
    full = vals.reshape((vals.shape[0], *shape), order="F" if flat == "F" else "C")
    dens = density_from_array(full, edges, where, x_name=x_name, z_names=tuple(z_names))
    return check_expected(dens, where, n_x=n_x, z_names=None, z_edges=None)
