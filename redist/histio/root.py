"""ROOT TH2/TH3 densities through uproot (the ``io`` extra).

The fit-bin axis is the histogram's first axis (bins ``[i, i+1)``); the
histogram title records ``"redist-density N; axis_order=...; flattening=C"``
and each axis title its name. Reading checks the title's format version, the
object's class, the uncompressed size of the object *before* uproot reads it,
and turns uproot's errors on corrupt files into :class:`DensityFileError`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..density import JointDensity
from ..exceptions import DensityFileError
from ..io import limits as _limits
from ..io.atomic import atomic_path
from ..io.reader import regular_file, token
from ._common import (
    FLATTENING,
    FORMAT_TAG,
    FORMAT_VERSION,
    check_expected,
    check_format_version,
    density_from_array,
    layout_string,
)

__all__ = ["read_root", "uproot_errors", "write_root"]


def __dir__() -> list[str]:
    return list(__all__)


def _uproot() -> Any:
    from .._optional import optional_import

    try:
        return optional_import("uproot", purpose="ROOT files")
    except ImportError as err:
        raise DensityFileError(str(err)) from err


@cache
def uproot_errors() -> tuple[type[BaseException], ...]:
    """What uproot raises on a corrupt or truncated file (its own errors and the codecs' ones)."""
    uproot = _uproot()
    errors: list[type[BaseException]] = [
        uproot.deserialization.DeserializationError,
        uproot.KeyInFileError,
        OSError,
        ValueError,
        EOFError,
        OverflowError,
        IndexError,
        KeyError,
        TypeError,
        AttributeError,
        AssertionError,
        NotImplementedError,
        RecursionError,
        zlib.error,
        struct.error,
        UnicodeDecodeError,
        MemoryError,
    ]
    return tuple(errors)


def write_root(path: str | Path, densities: JointDensity | Mapping[str, JointDensity]) -> Path:
    """Write densities as ROOT TH2D (one z axis) or TH3D (two z axes) with uproot, atomically.

    The fit-bin axis becomes the histogram's first axis (bins ``[i, i+1)``);
    the histogram title records the layout and each axis title its name.
    """
    import hist

    uproot = _uproot()
    if isinstance(densities, JointDensity):
        densities = {"density": densities}
    for key, dens in densities.items():
        if len(dens.z_names) > 2:
            msg = f"{key!r}: ROOT histograms hold at most 3 axes (x + 2 z), got {1 + len(dens.z_names)}"
            raise DensityFileError(msg)
    path = Path(path)
    with atomic_path(path) as tmp, uproot.recreate(tmp) as f:
        for key, dens in densities.items():
            title = (
                f"{FORMAT_TAG} {FORMAT_VERSION}; axis_order={layout_string(dens)}; "
                f"flattening={FLATTENING}"
            )
            axes: list[Any] = [hist.axis.Regular(dens.n_x, 0, dens.n_x, name=dens.x_name, label=dens.x_name)]
            axes += [hist.axis.Variable(e, name=n, label=n) for n, e in zip(dens.z_names, dens.z_edges)]
            h = hist.Hist(*axes, storage=hist.storage.Weight(), name=title)
            view = h.view()
            view["value"] = dens.values(flat=False)
            view["variance"] = dens.variances(flat=False)
            f[str(key)] = h
    return path


def _read_object(f: Any, path: Path, key: str, where: str) -> Any:
    uproot = _uproot()
    if key not in f:
        msg = f"{path}: no object {token(key)}; file has {[str(k)[:40] for k in f][:10]}"
        raise DensityFileError(msg)
    try:
        rkey = f.key(key)
        declared = int(rkey.data_uncompressed_bytes)
    except uproot_errors() as err:  # e.g. a path into a TTree has no key of its own
        msg = f"{where}: not a histogram stored under its own key ({type(err).__name__})"
        raise DensityFileError(msg) from err
    _limits.check("max_array_bytes", declared, what="uncompressed bytes", where=where)
    obj = f[key]
    if not isinstance(obj, (uproot.behaviors.TH2.TH2, uproot.behaviors.TH3.TH3)):
        msg = f"{where}: object of class {type(obj).__name__} is not a TH2 or TH3"
        raise DensityFileError(msg)
    return obj


def read_root(
    path: str | Path,
    key: str,
    *,
    n_x: int | None = None,
    z_names: Sequence[str] | None = None,
    z_edges: Sequence[Any] | None = None,
) -> JointDensity:
    """Read a density from a ROOT TH2/TH3 (first axis: fit bins) with uproot.

    Axis names come from the axis titles (``z`` axes default to ``q2``/``z1``...
    if untitled). Entries in under/overflow bins are an error.

    Raises
    ------
    DensityFileError
        Not a regular file, not a ROOT file, corrupt, no such key, not a TH2/TH3,
        another redist format version, or a layout mismatch;
        :class:`~redist.exceptions.InputLimitError` for sizes above :mod:`redist.io.limits`.
    """
    uproot = _uproot()
    where = f"{path}:{key}"
    real = regular_file(path, error=DensityFileError, limit="max_density_file_bytes")
    path = Path(path)
    errors = uproot_errors()
    try:
        f = uproot.open(real)
    except errors as err:
        msg = f"{path}: cannot open as a ROOT file ({type(err).__name__})"
        raise DensityFileError(msg) from err
    try:
        with f:
            obj = _read_object(f, path, key, where)
            title = str(obj.member("fTitle")) if obj.has_member("fTitle") else ""
            names = []
            for i, ax in enumerate(obj.axes):
                t = str(ax.member("fTitle")) if ax.has_member("fTitle") else ""
                names.append(t or ("x" if i == 0 else ("q2" if len(obj.axes) == 2 else f"z{i}")))
            if title.startswith(FORMAT_TAG):
                head, *rest = title.split(";")
                check_format_version(head.strip(), where, "the title")
                parts = dict(p.strip().split("=", 1) for p in rest if "=" in p)
                declared = parts.get("axis_order", "").split(",")
                if declared != names:
                    msg = (
                        f"{where}: title declares axes {[d[:40] for d in declared[:10]]} "
                        f"but the axis titles are {[n[:40] for n in names]}"
                    )
                    raise DensityFileError(msg)
                if parts.get("flattening", FLATTENING) != FLATTENING:
                    msg = f"{where}: flattening {token(parts['flattening'])} is not supported"
                    raise DensityFileError(msg)
            values = np.asarray(obj.values(flow=True), dtype=float)
            var = np.asarray(obj.variances(flow=True), dtype=float)
            edges = [np.asarray(ax.edges(), dtype=float) for ax in obj.axes]
    except DensityFileError:
        raise
    except errors as err:
        msg = f"{where}: corrupt ROOT file ({type(err).__name__})"
        raise DensityFileError(msg) from err
    inner = tuple(slice(1, -1) for _ in range(values.ndim))
    flow_ok = np.isclose(values.sum(), values[inner].sum(), rtol=1e-12, atol=0.0)
    if not np.all(np.isfinite(values)) or not flow_ok:
        msg = f"{where}: under/overflow bins hold entries (or values are not finite); extend the binning"
        raise DensityFileError(msg)
    dens = density_from_array(
        values[inner], edges[1:], where, variances=var[inner], x_name=names[0], z_names=tuple(names[1:])
    )
    return check_expected(dens, where, n_x=n_x, z_names=z_names, z_edges=z_edges)
