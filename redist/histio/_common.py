"""What every density format shares: the layout constants, expected-binning checks, number parsing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..density import JointDensity
from ..exceptions import DensityError, DensityFileError
from ..io.reader import read_bytes, token

__all__ = [
    "FLATTENING",
    "FORMAT_TAG",
    "FORMAT_VERSION",
    "LAYOUTS",
    "check_expected",
    "check_format_version",
    "density_from_array",
    "edges_per_axis",
    "floats",
    "layout_string",
    "read_density_bytes",
    "short",
]

#: flattening of several z axes into one table dimension: C order, last z axis fastest
FLATTENING = "C"
#: format tag written into every file
FORMAT_TAG = "redist-density"
#: version of the density layout written by redist (and the only one it reads)
FORMAT_VERSION = 1
#: layouts understood by :func:`redist.histio.read_density`
LAYOUTS = ("csv", "uhi", "hepdata", "root")


def read_density_bytes(path: str | Path, where: str | None = None) -> bytes:
    """Bytes of a density file through the safe reader (``max_density_file_bytes``)."""
    return read_bytes(path, where=where or str(path), error=DensityFileError, limit="max_density_file_bytes")


def check_format_version(declared: Any, where: str, what: str) -> None:
    """A version stated by a redist-written file must be the one this redist reads.

    ``declared`` may be the number itself or the text ``"redist-density N"``.
    """
    value = declared
    if isinstance(value, str):
        parts = value.split()
        value = parts[1] if len(parts) == 2 and parts[0] == FORMAT_TAG else value
        try:
            value = int(value)
        except ValueError:
            value = declared
    if isinstance(value, bool) or value != FORMAT_VERSION:
        msg = (
            f"{where}: {what} declares redist density format version {token(declared)}; "
            f"this redist reads version {FORMAT_VERSION}"
        )
        raise DensityFileError(msg)


def floats(obj: Any, where: str, what: str) -> np.ndarray:
    """Convert to a finite float array, with errors naming the file and item (never the content)."""
    try:
        arr = np.asarray(obj, dtype=float)
    except (TypeError, ValueError, OverflowError, RecursionError) as err:
        msg = f"{where}: {what} is not a numeric array ({type(err).__name__})"
        raise DensityFileError(msg) from err
    if not np.all(np.isfinite(arr)):
        msg = f"{where}: {what} contains non-finite numbers"
        raise DensityFileError(msg)
    return arr


def short(e: np.ndarray) -> str:
    """Bin edges for a message: all of them if few, else the first two, the last and the count."""
    if len(e) <= 6:
        return "[" + ", ".join(f"{v:g}" for v in e) + "]"
    return f"[{e[0]:g}, {e[1]:g}, ..., {e[-1]:g}] ({len(e) - 1} bins)"


def edges_per_axis(z_edges: Any) -> list[np.ndarray]:
    """Bin edges per z axis (one flat sequence means one axis)."""
    if len(z_edges) > 0 and np.ndim(z_edges[0]) == 0:
        z_edges = [z_edges]
    return [np.asarray(e, dtype=float) for e in z_edges]


def layout_string(dens: JointDensity) -> str:
    """Axis names in file order, comma-separated (``"x,q2"``)."""
    return ",".join((dens.x_name, *dens.z_names))


def density_from_array(values: Any, edges: Any, where: str, **kwargs: Any) -> JointDensity:
    """:meth:`JointDensity.from_array` with errors as :class:`DensityFileError`."""
    try:
        return JointDensity.from_array(values, edges, source=where, **kwargs)
    except DensityFileError:
        raise
    except DensityError as err:
        raise DensityFileError(str(err)) from err


def check_expected(
    dens: JointDensity,
    where: str,
    *,
    n_x: int | None,
    z_names: Sequence[str] | None,
    z_edges: Sequence[Any] | None,
) -> JointDensity:
    """Compare a density read from a file with what the caller expects, axis by axis."""
    if n_x is not None and dens.n_x != n_x:
        msg = f"{where}: axis 0 ({dens.x_name!r}, fit bins) has {dens.n_x} bins, expected {n_x}"
        raise DensityFileError(msg)
    if z_names is not None:
        z_names = tuple(z_names)
        if len(z_names) != len(dens.z_names):
            msg = (
                f"{where}: file has {len(dens.z_names)} kinematic axes {list(dens.z_names)}, "
                f"expected {len(z_names)} {list(z_names)}"
            )
            raise DensityFileError(msg)
        for i, (got, want) in enumerate(zip(dens.z_names, z_names), start=1):
            if got != want:
                msg = (
                    f"{where}: axis {i} is named {got!r}, expected {want!r} "
                    f"(axis order x, {', '.join(z_names)})"
                )
                raise DensityFileError(msg)
    if z_edges is not None:
        want_edges = edges_per_axis(z_edges)
        if len(want_edges) != len(dens.z_edges):
            msg = f"{where}: file has {len(dens.z_edges)} kinematic axes, expected {len(want_edges)}"
            raise DensityFileError(msg)
        for i, (got_e, want_e) in enumerate(zip(dens.z_edges, want_edges), start=1):
            if got_e.shape != want_e.shape or not np.allclose(got_e, want_e, rtol=1e-12, atol=1e-12):
                msg = (
                    f"{where}: axis {i} ({dens.z_names[i - 1]!r}) has bin edges "
                    f"{short(got_e)}, expected {short(want_e)}"
                )
                raise DensityFileError(msg)
    return dens
