"""UHI-serialised histograms (JSON), the format of ``hist``/``boost-histogram`` and uhi's schema.

Writing uses boost-histogram's UHI serialisation and uhi's JSON encoder; reading
validates against the schema shipped by ``uhi`` (``uhi.schema.histogram_file``),
checks every declared size (regular-axis ``bins``, edges, categories, sparse
storage) against :mod:`redist.io.limits` *before* a histogram is allocated,
accepts only ``int``, ``double`` and ``weighted`` storages (a ``mean`` storage
holds no number density), checks the redist format version stated in the
metadata, and expands sparse storage with :func:`uhi.io.from_sparse`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..density import JointDensity
from ..exceptions import DensityFileError
from ..io import limits as _limits
from ..io.atomic import atomic_write_text
from ..io.reader import check_tree, parse_json, token
from ..io.validate import schema_error, schema_skeleton
from ._common import (
    FLATTENING,
    FORMAT_TAG,
    FORMAT_VERSION,
    check_expected,
    check_format_version,
    density_from_array,
    layout_string,
    read_density_bytes,
)

__all__ = ["density_from_uhi", "read_uhi", "write_uhi"]


def __dir__() -> list[str]:
    return list(__all__)


#: storages holding a number density (sum of weights; with or without variances)
STORAGES = ("int", "double", "weighted")


@cache
def _uhi_validator() -> Any:
    """A jsonschema validator for uhi's histogram schema, resolved offline."""
    import referencing
    import uhi.schema
    from jsonschema import Draft7Validator

    one = json.loads(uhi.schema.histogram_file.read_text(encoding="utf-8"))
    resource = referencing.Resource.from_contents(one)
    registry = referencing.Registry().with_resource(one["$id"], resource)
    return Draft7Validator(one, registry=registry)


def write_uhi(path: str | Path, densities: JointDensity | Mapping[str, JointDensity]) -> Path:
    """Write one or several densities as a UHI-serialised histogram JSON file, atomically.

    The file follows uhi's ``histograms.schema.json`` (a mapping of names to
    histograms, readable by ``hist`` and ``boost-histogram`` without redist);
    each histogram's metadata records the axis order and flattening.

    Parameters
    ----------
    path : str or Path
        Output file.
    densities : JointDensity or mapping of str to JointDensity
        One density (stored under the name ``"density"``) or several by name
        (for instance ``"channel/sample"``).

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> import tempfile, os
    >>> d = JointDensity.from_array([[1.0, 2.0], [0.5, 3.0]], [0.0, 1.0, 2.0])
    >>> p = write_uhi(os.path.join(tempfile.mkdtemp(), "d.json"), d)
    >>> read_uhi(p).values().tolist()
    [[1.0, 2.0], [0.5, 3.0]]
    """
    from boost_histogram.serialization import to_uhi
    from uhi.io.json import default

    if isinstance(densities, JointDensity):
        densities = {"density": densities}
    doc: dict[str, Any] = {}
    for name, dens in densities.items():
        ir = to_uhi(dens.hist.copy())
        ir["metadata"] = {
            "name": str(name),
            "redist_format": FORMAT_TAG,
            "redist_version": FORMAT_VERSION,
            "redist_axis_order": layout_string(dens),
            "redist_x_axis": "flattened fit bins of the channel, in pyhf bin order",
            "redist_flattening": FLATTENING,
        }
        for ax in ir["axes"]:
            ax.setdefault("metadata", {})
        doc[str(name)] = ir
    return atomic_write_text(Path(path), json.dumps(doc, default=default, allow_nan=False))


def read_uhi(
    path: str | Path,
    key: str | None = None,
    *,
    n_x: int | None = None,
    z_names: Sequence[str] | None = None,
    z_edges: Sequence[Any] | None = None,
    axis_order: Sequence[str] | None = None,
) -> JointDensity:
    """Read a density from a UHI-serialised histogram JSON file.

    Parameters
    ----------
    path : str or Path
        The file (a single histogram or a mapping of named histograms).
    key : str, optional
        Name of the histogram; required if the file holds several.
    n_x, z_names, z_edges : optional
        Expected fit-bin count, kinematic axis names and bin edges; checked.
    axis_order : sequence of str, optional
        For files not written by redist: axis names in the order (x, z1, ...);
        the histogram is transposed accordingly. Files written by redist
        declare their order and must agree.

    Raises
    ------
    DensityFileError
        Not JSON, not a UHI histogram, missing key, a storage other than
        int/double/weighted, another redist format version, or a layout mismatch
        (the message names the file and the axis);
        :class:`~redist.exceptions.InputLimitError` for declared sizes above the limits.
    """
    path = Path(path)
    where = str(path)
    doc = parse_json(read_density_bytes(path, where), where=where, error=DensityFileError)
    return density_from_uhi(doc, key, where=where, n_x=n_x, z_names=z_names, z_edges=z_edges,
                            axis_order=axis_order)


def _axis_length(ax: Mapping[str, Any], i: int, here: str) -> int:
    """Declared bins of one axis including flow bins, checked against ``max_axis_bins``."""
    kind = ax["type"]
    if kind == "regular":
        n = int(ax["bins"])
        flow = int(bool(ax["underflow"])) + int(bool(ax["overflow"]))
        if n < 1 or not ax["lower"] < ax["upper"]:
            msg = f"{here}: axis {i} (regular) needs bins >= 1 and lower < upper"
            raise DensityFileError(msg)
    elif kind == "variable":
        n = len(ax["edges"]) - 1 if isinstance(ax["edges"], list) else -1
        flow = int(bool(ax["underflow"])) + int(bool(ax["overflow"]))
    elif kind in ("category_str", "category_int"):
        n = len(ax["categories"])
        flow = int(bool(ax.get("flow", False)))
    else:  # boolean
        n, flow = 2, 0
    if n < 0:
        msg = f"{here}: axis {i}: edges must be given inline"
        raise DensityFileError(msg)
    _limits.check("max_axis_bins", n, what=f"bins on axis {i}", where=here)
    return n + flow


def _check_storage(ir: Mapping[str, Any], here: str) -> tuple[int, ...]:
    """Storage type and declared shape (flow bins included) within the limits; returns the shape."""
    axes = ir["axes"]
    storage = ir["storage"]
    kind = storage["type"]
    if kind not in STORAGES:
        msg = (
            f"{here}: storage {token(kind)} holds no number density; "
            f"use one of {', '.join(STORAGES)} (weighted keeps the variances)"
        )
        raise DensityFileError(msg)
    shape = tuple(_axis_length(ax, i, here) for i, ax in enumerate(axes))
    _limits.check("max_density_cells", math.prod(shape), what="cells (flow bins included)", where=here)
    for field, arr in storage.items():
        if field == "type":
            continue
        if isinstance(arr, str):
            msg = f"{here}: storage {field} refers to external data; redist reads inline arrays only"
            raise DensityFileError(msg)
        if "index" in storage:
            continue  # sparse: lengths checked below
        got = np.shape(arr) if isinstance(arr, list) else ()
        if got != shape:
            msg = f"{here}: storage {field} has shape {got}, the axes declare {shape} (flow bins included)"
            raise DensityFileError(msg)
    if "index" in storage:
        index = storage["index"]
        if not isinstance(index, list) or len(index) != len(shape) or len({len(r) for r in index}) > 1:
            msg = f"{here}: sparse storage index must hold one row per axis ({len(shape)})"
            raise DensityFileError(msg)
        n = len(index[0]) if index else 0
        for i, (row, size) in enumerate(zip(index, shape)):
            if any(not 0 <= v < size for v in row):
                msg = f"{here}: sparse storage index row {i} points outside axis {i} ({size} bins)"
                raise DensityFileError(msg)
        for field, arr in storage.items():
            if field not in ("type", "index") and (not isinstance(arr, list) or len(arr) != n):
                msg = f"{here}: sparse storage {field} must list {n} entries"
                raise DensityFileError(msg)
    return shape


def _select(doc: Any, key: str | None, where: str) -> tuple[dict[str, Any], str]:
    if not isinstance(doc, dict):
        msg = f"{where}: a UHI file must hold a JSON object, got {type(doc).__name__}"
        raise DensityFileError(msg)
    if "uhi_schema" in doc:
        return doc, "<single histogram>"
    names = list(doc)
    if key is None:
        if len(names) != 1:
            shown = [str(n)[:40] for n in names[:10]]
            msg = f"{where}: file holds {len(names)} histograms {shown}; pass key="
            raise DensityFileError(msg)
        key = names[0]
    if key not in doc:
        msg = f"{where}: no histogram {token(key)}; file has {[str(n)[:40] for n in names[:10]]}"
        raise DensityFileError(msg)
    ir = doc[key]
    if not isinstance(ir, dict):
        msg = f"{where}: histogram {token(key)} is not a JSON object"
        raise DensityFileError(msg)
    return ir, key


def density_from_uhi(
    doc: Any,
    key: str | None = None,
    *,
    where: str = "<uhi>",
    n_x: int | None = None,
    z_names: Sequence[str] | None = None,
    z_edges: Sequence[Any] | None = None,
    axis_order: Sequence[str] | None = None,
) -> JointDensity:
    """Like :func:`read_uhi` for an already parsed document."""
    from hist.serialization import from_uhi
    from uhi.io import from_sparse

    check_tree(doc, where=where, error=DensityFileError)
    ir, name = _select(doc, key, where)
    here = f"{where}, histogram {name!r}"
    err = next(iter(_uhi_validator().iter_errors(schema_skeleton(ir))), None)
    if err is not None:
        msg = f"{here}: not a UHI histogram ({schema_error(err)})"
        raise DensityFileError(msg)
    _check_storage(ir, here)
    meta = ir.get("metadata") or {}
    if "redist_format" in meta or "redist_version" in meta:
        if meta.get("redist_format") != FORMAT_TAG:
            msg = f"{here}: metadata redist_format is {token(meta.get('redist_format'))}, not {FORMAT_TAG!r}"
            raise DensityFileError(msg)
        check_format_version(meta.get("redist_version"), here, "the metadata")
    dense = from_sparse(ir) if "index" in ir["storage"] else ir
    h = from_uhi(dense)
    names_in_file = [str(getattr(ax, "name", "") or f"axis{i}") for i, ax in enumerate(h.axes)]
    order = names_in_file
    declared = meta.get("redist_axis_order")
    if declared is not None:
        declared_names = str(declared).split(",")
        if meta.get("redist_flattening", FLATTENING) != FLATTENING:
            msg = (
                f"{here}: flattening {token(meta.get('redist_flattening'))} is not supported; "
                f"redist writes and reads {FLATTENING!r} (last z axis fastest)"
            )
            raise DensityFileError(msg)
        if declared_names != names_in_file:
            i = next(
                (i for i, (a, b) in enumerate(zip(declared_names, names_in_file)) if a != b),
                min(len(declared_names), len(names_in_file)),
            )
            msg = (
                f"{here}: the layout declares axes {[n[:40] for n in declared_names[:10]]} but the "
                f"histogram has {names_in_file[:10]} (first mismatch at axis {i})"
            )
            raise DensityFileError(msg)
        if axis_order is not None and list(axis_order) != declared_names:
            msg = f"{here}: file declares axis order {declared_names}, expected {list(axis_order)}"
            raise DensityFileError(msg)
    elif axis_order is not None:
        order = [str(a) for a in axis_order]
        missing = [a for a in order if a not in names_in_file]
        if missing or len(order) != len(names_in_file) or len(set(order)) != len(order):
            msg = (
                f"{here}: histogram axes are {names_in_file}; cannot arrange them as {order}"
                + (f" (missing axis {missing[0]!r})" if missing else "")
            )
            raise DensityFileError(msg)
    if h.ndim < 2:
        msg = f"{here}: a joint density needs an x axis and at least one z axis, got {h.ndim} axes"
        raise DensityFileError(msg)
    perm = [names_in_file.index(a) for a in order]
    axes = [h.axes[p] for p in perm]
    for i, ax in enumerate(axes):
        if i > 0 and ax.traits.discrete:
            msg = (
                f"{here}: axis {i} ({order[i]!r}) must be a continuous (regular/variable) z axis; "
                "the fit-bin axis comes first (pass axis_order=[x, z...] for other orders)"
            )
            raise DensityFileError(msg)
    flow = np.asarray(h.values(flow=True))
    inner = np.asarray(h.values())
    if not np.isclose(np.sum(flow), np.sum(inner), rtol=1e-12, atol=0.0):
        msg = f"{here}: under/overflow bins hold entries; extend the binning so that nothing is outside"
        raise DensityFileError(msg)
    variances = h.variances()
    dens = density_from_array(
        np.transpose(inner, perm),
        [np.asarray(ax.edges) for ax in axes[1:]],
        here,
        variances=None if variances is None else np.transpose(np.asarray(variances), perm),
        x_name=order[0],
        z_names=tuple(order[1:]),
    )
    return check_expected(dens, here, n_x=n_x, z_names=z_names, z_edges=z_edges)
