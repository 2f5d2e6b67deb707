"""Reading and writing joint number densities n(x, z) in the formats analyses publish.

Every writer states the layout in the file and every reader checks it:

* **axis order** -- the first axis is always ``x``, the flattened fit bins of one
  channel in pyhf bin order; then the kinematic axes ``z1, z2, ...``;
* **flattening** -- where several z axes share one dimension of a table (the
  CSV layout), the z bins are flattened in C order (last z axis fastest).

=================  ============================  ==================================
format             reader / writer               layout stated as
=================  ============================  ==================================
UHI JSON           :func:`read_uhi` /            histogram ``metadata``:
                   :func:`write_uhi`             ``redist_axis_order``, ``redist_flattening``
published CSV      :func:`read_csv` /            ``#`` header lines (optional on read:
                   :func:`write_csv`             the published files have none)
HEPData table      :func:`read_hepdata` /        one point per (x, z) bin with its
(YAML or JSON)     :func:`write_hepdata`         coordinates; axis names in the headers
ROOT TH2/TH3       :func:`read_root` /           histogram title and axis titles
                   :func:`write_root`            (needs the ``io`` extra: uproot)
=================  ============================  ==================================

:func:`read_density` dispatches on a ``layout`` name and is what
:mod:`redist.config` uses. Errors derive from :class:`~redist.exceptions.RedistError`
and name the file and the offending axis.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .density import JointDensity
from .exceptions import DensityError, DensityFileError
from .io import parse_json, read_text

__all__ = [
    "FLATTENING",
    "LAYOUTS",
    "DensityFileError",
    "read_csv",
    "read_density",
    "read_hepdata",
    "read_root",
    "read_uhi",
    "write_csv",
    "write_hepdata",
    "write_root",
    "write_uhi",
]


def __dir__() -> list[str]:
    return list(__all__)


#: flattening of several z axes into one table dimension: C order, last z axis fastest
FLATTENING = "C"
#: format tag written into every file
FORMAT_TAG = "redist-density"
FORMAT_VERSION = 1
#: layouts understood by :func:`read_density`
LAYOUTS = ("csv", "uhi", "hepdata", "root")
#: refuse density files larger than this many bytes
MAX_FILE_SIZE = 256 * 1024 * 1024


# ----------------------------------------------------------------------------- helpers
def _read_text(path: Path) -> str:
    return read_text(path, error=DensityFileError, limit=MAX_FILE_SIZE)


def _parse_json(text: str, where: str) -> Any:
    return parse_json(text, where=where, error=DensityFileError)


def _floats(obj: Any, where: str, what: str) -> np.ndarray:
    """Convert to a finite float array, with errors naming the file and item."""
    try:
        arr = np.asarray(obj, dtype=float)
    except (TypeError, ValueError, OverflowError, RecursionError) as err:
        msg = f"{where}: {what} is not a numeric array ({str(err)[:120]})"
        raise DensityFileError(msg) from err
    if not np.all(np.isfinite(arr)):
        msg = f"{where}: {what} contains non-finite numbers"
        raise DensityFileError(msg)
    return arr


def _check_expected(
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
        want_edges = _edges_per_axis(z_edges)
        if len(want_edges) != len(dens.z_edges):
            msg = f"{where}: file has {len(dens.z_edges)} kinematic axes, expected {len(want_edges)}"
            raise DensityFileError(msg)
        for i, (got, want) in enumerate(zip(dens.z_edges, want_edges), start=1):
            if got.shape != want.shape or not np.allclose(got, want, rtol=1e-12, atol=1e-12):
                msg = (
                    f"{where}: axis {i} ({dens.z_names[i - 1]!r}) has bin edges "
                    f"{_short(got)}, expected {_short(want)}"
                )
                raise DensityFileError(msg)
    return dens


def _short(e: np.ndarray) -> str:
    if len(e) <= 6:
        return "[" + ", ".join(f"{v:g}" for v in e) + "]"
    return f"[{e[0]:g}, {e[1]:g}, ..., {e[-1]:g}] ({len(e) - 1} bins)"


def _edges_per_axis(z_edges: Any) -> list[np.ndarray]:
    if len(z_edges) > 0 and np.ndim(z_edges[0]) == 0:
        z_edges = [z_edges]
    return [np.asarray(e, dtype=float) for e in z_edges]


def _layout_string(dens: JointDensity) -> str:
    return ",".join((dens.x_name, *dens.z_names))


# ----------------------------------------------------------------------------- UHI JSON
@cache
def _uhi_validator() -> Any:
    """A jsonschema validator for uhi's histogram schema, resolved offline (or None)."""
    try:
        from importlib.resources import files

        import referencing
        from jsonschema import Draft7Validator
    except ImportError:  # pragma: no cover - jsonschema always brings referencing
        return None
    try:
        res = files("uhi") / "resources"
        one = json.loads((res / "histogram.schema.json").read_text(encoding="utf-8"))
    except (ModuleNotFoundError, OSError):  # pragma: no cover - uhi comes with hist
        return None
    resource = referencing.Resource.from_contents(one)
    registry = referencing.Registry().with_resource(one["$id"], resource)
    return Draft7Validator(one, registry=registry)


def write_uhi(
    path: str | Path, densities: JointDensity | Mapping[str, JointDensity]
) -> Path:
    """Write one or several densities as a UHI-serialised histogram JSON file.

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

    if isinstance(densities, JointDensity):
        densities = {"density": densities}
    doc: dict[str, Any] = {}
    for name, dens in densities.items():
        h = dens.hist.copy()
        ir = to_uhi(h)
        ir["metadata"] = {
            "name": str(name),
            "redist_format": FORMAT_TAG,
            "redist_version": FORMAT_VERSION,
            "redist_axis_order": _layout_string(dens),
            "redist_x_axis": "flattened fit bins of the channel, in pyhf bin order",
            "redist_flattening": FLATTENING,
        }
        for ax in ir["axes"]:
            ax.setdefault("metadata", {})
        doc[str(name)] = ir
    path = Path(path)
    text = json.dumps(doc, default=_json_default, allow_nan=False)
    path.write_text(text, encoding="utf-8")
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    msg = f"object of type {type(obj).__name__} is not JSON serialisable"
    raise TypeError(msg)


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
        Not JSON, not a UHI histogram, missing key, or a layout mismatch (the
        message names the file and the axis).
    """
    path = Path(path)
    where = str(path)
    doc = _parse_json(_read_text(path), where)
    return density_from_uhi(doc, key, where=where, n_x=n_x, z_names=z_names, z_edges=z_edges,
                            axis_order=axis_order)


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
    if not isinstance(doc, dict):
        msg = f"{where}: a UHI file must hold a JSON object, got {type(doc).__name__}"
        raise DensityFileError(msg)
    if "uhi_schema" in doc:
        ir = doc
        name = "<single histogram>"
    else:
        names = list(doc)
        if key is None:
            if len(names) != 1:
                msg = f"{where}: file holds {len(names)} histograms {names[:10]}; pass key="
                raise DensityFileError(msg)
            key = names[0]
        if key not in doc:
            msg = f"{where}: no histogram {key!r}; file has {names[:10]}"
            raise DensityFileError(msg)
        ir = doc[key]
        name = key
    here = f"{where}, histogram {name!r}"
    validator = _uhi_validator()
    if validator is not None:
        try:
            err = next(iter(validator.iter_errors(ir)), None)
        except RecursionError as exc:
            msg = f"{here}: structure nested too deeply"
            raise DensityFileError(msg) from exc
        if err is not None:
            loc = "/".join(str(p) for p in err.absolute_path) or "<root>"
            msg = f"{here}: not a UHI histogram (at {loc}: {err.message[:200]})"
            raise DensityFileError(msg)
    try:
        h = _hist_from_uhi(ir)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError, RecursionError) as err:
        msg = f"{here}: cannot build the histogram ({type(err).__name__}: {str(err)[:200]})"
        raise DensityFileError(msg) from err
    meta = ir.get("metadata", {}) or {}
    names_in_file = [str(ax.name) for ax in h.axes]
    declared = meta.get("redist_axis_order")
    if declared is not None:
        declared_names = str(declared).split(",")
        if meta.get("redist_flattening", FLATTENING) != FLATTENING:
            msg = (
                f"{here}: flattening {meta.get('redist_flattening')!r} is not supported; "
                f"redist writes and reads {FLATTENING!r} (last z axis fastest)"
            )
            raise DensityFileError(msg)
        if declared_names != names_in_file:
            i = next(
                (i for i, (a, b) in enumerate(zip(declared_names, names_in_file)) if a != b),
                min(len(declared_names), len(names_in_file)),
            )
            msg = (
                f"{here}: the layout declares axes {declared_names} but the histogram has "
                f"{names_in_file} (first mismatch at axis {i})"
            )
            raise DensityFileError(msg)
        if axis_order is not None and list(axis_order) != declared_names:
            msg = f"{here}: file declares axis order {declared_names}, expected {list(axis_order)}"
            raise DensityFileError(msg)
    elif axis_order is not None:
        order = list(axis_order)
        missing = [a for a in order if a not in names_in_file]
        if missing or len(order) != len(names_in_file):
            msg = (
                f"{here}: histogram axes are {names_in_file}; cannot arrange them as {order}"
                + (f" (missing axis {missing[0]!r})" if missing else "")
            )
            raise DensityFileError(msg)
        if order != names_in_file:
            h = h.project(*order)
    if h.ndim < 2:
        msg = f"{here}: a joint density needs an x axis and at least one z axis, got {h.ndim} axes"
        raise DensityFileError(msg)
    for i, ax in enumerate(h.axes):
        if i > 0 and ax.traits.discrete:
            msg = (
                f"{here}: axis {i} ({ax.name!r}) must be a continuous (regular/variable) z axis; "
                "the fit-bin axis comes first (pass axis_order=[x, z...] for other orders)"
            )
            raise DensityFileError(msg)
    flow = np.asarray(h.values(flow=True))
    inner = np.asarray(h.values())
    if not np.isclose(np.sum(flow), np.sum(inner), rtol=1e-12, atol=0.0):
        msg = f"{here}: under/overflow bins hold entries; extend the binning so that nothing is outside"
        raise DensityFileError(msg)
    try:
        dens = JointDensity.from_hist(h, source=here)
    except DensityError as err:
        raise DensityFileError(str(err)) from err
    return _check_expected(dens, here, n_x=n_x, z_names=z_names, z_edges=z_edges)


def _hist_from_uhi(ir: dict[str, Any]) -> Any:
    import hist

    h = hist.Hist._from_uhi_(ir)
    for i, ax in enumerate(h.axes):
        if not getattr(ax, "name", ""):
            ax.name = f"axis{i}"
    return h


# ----------------------------------------------------------------------------- CSV
def write_csv(path: str | Path, density: JointDensity) -> Path:
    """Write the published CSV layout (rows = fit bins, columns = flattened z bins).

    Header lines starting with ``#`` state the format, axis order, flattening and
    the z bin edges, so that :func:`read_csv` can check them.
    """
    path = Path(path)
    lines = [
        f"# {FORMAT_TAG} {FORMAT_VERSION}",
        f"# axis_order: {_layout_string(density)}",
        f"# flattening: {FLATTENING}",
        "# rows: fit bins (pyhf order); columns: z bins flattened in C order (last z axis fastest)",
    ]
    for name, e in zip(density.z_names, density.z_edges):
        lines.append(f"# edges {name}: " + ",".join(repr(float(v)) for v in e))
    body = "\n".join(",".join(f"{v:.18e}" for v in row) for row in density.values())
    path.write_text("\n".join(lines) + "\n" + body + "\n", encoding="utf-8")
    return path


def _parse_csv_header(lines: list[str], where: str) -> dict[str, Any]:
    hdr: dict[str, Any] = {"edges": {}}
    for ln in lines:
        body = ln.lstrip("#").strip()
        if body.startswith("axis_order:"):
            hdr["axis_order"] = [a.strip() for a in body.split(":", 1)[1].split(",")]
        elif body.startswith("flattening:"):
            hdr["flattening"] = body.split(":", 1)[1].strip()
        elif body.startswith("edges "):
            name, _, vals = body[6:].partition(":")
            try:
                hdr["edges"][name.strip()] = np.array([float(v) for v in vals.split(",")])
            except ValueError as err:
                msg = f"{where}: malformed edge header for axis {name.strip()!r}"
                raise DensityFileError(msg) from err
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
        z binning, or header/argument mismatches (naming file and axis).
    """
    path = Path(path)
    where = str(path)
    text = _read_text(path)
    lines = text.splitlines()
    hdr = _parse_csv_header([ln for ln in lines if ln.lstrip().startswith("#")], where)
    rows = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not rows:
        msg = f"{where}: no data rows"
        raise DensityFileError(msg)
    table = []
    for i, ln in enumerate(rows):
        try:
            table.append([float(v) for v in ln.split(",")])
        except ValueError as err:
            msg = f"{where}: row {i} (fit bin {i}) is not a comma-separated list of numbers ({err})"
            raise DensityFileError(msg) from err
    ncol = len(table[0])
    for i, row in enumerate(table):
        if len(row) != ncol:
            msg = f"{where}: row {i} (fit bin {i}) has {len(row)} columns, row 0 has {ncol}"
            raise DensityFileError(msg)
    vals = _floats(table, where, "table")
    declared_order = hdr.get("axis_order")
    if declared_order is not None:
        x_name = declared_order[0]
        if z_names is not None and list(z_names) != declared_order[1:]:
            msg = f"{where}: file declares axis order {declared_order}, expected {[x_name, *z_names]}"
            raise DensityFileError(msg)
        z_names = declared_order[1:]
    declared_flat = hdr.get("flattening")
    if declared_flat is not None and flattening is not None and declared_flat != flattening:
        msg = f"{where}: file declares flattening {declared_flat!r} of the z columns, expected {flattening!r}"
        raise DensityFileError(msg)
    flat = flattening or declared_flat or FLATTENING
    if flat not in ("C", "F"):
        msg = f"{where}: unknown flattening {flat!r}; use 'C' (last z axis fastest) or 'F'"
        raise DensityFileError(msg)
    if z_edges is None:
        if not hdr["edges"]:
            msg = f"{where}: the file states no z bin edges; pass z_edges"
            raise DensityFileError(msg)
        names = list(z_names) if z_names is not None else list(hdr["edges"])
        missing = [n for n in names if n not in hdr["edges"]]
        if missing:
            msg = f"{where}: no edge header for axis {missing[0]!r}"
            raise DensityFileError(msg)
        edges = [hdr["edges"][n] for n in names]
        z_names = names
    else:
        edges = _edges_per_axis(z_edges)
        if z_names is None:
            z_names = ("q2",) if len(edges) == 1 else tuple(f"z{i}" for i in range(len(edges)))
        for i, (n, e) in enumerate(zip(z_names, edges), start=1):
            if n in hdr["edges"]:
                got = hdr["edges"][n]
                if got.shape != e.shape or not np.allclose(got, e, rtol=1e-12, atol=1e-12):
                    msg = f"{where}: axis {i} ({n!r}) edges in the file {_short(got)} differ from {_short(e)}"
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
    full = vals.reshape((vals.shape[0], *shape), order=flat)
    try:
        dens = JointDensity.from_array(full, edges, x_name=x_name, z_names=tuple(z_names), source=where)
    except DensityError as err:
        raise DensityFileError(str(err)) from err
    return _check_expected(dens, where, n_x=n_x, z_names=None, z_edges=None)


# ----------------------------------------------------------------------------- HEPData
def write_hepdata(
    path: str | Path,
    density: JointDensity,
    *,
    name: str = "joint number density",
    units: Mapping[str, str] | None = None,
) -> Path:
    """Write a HEPData table (YAML if the suffix is ``.yaml``/``.yml``, else JSON).

    One point per (fit bin, z bin): the independent variables are the fit-bin
    index (``x`` axis name) and one ``low``/``high`` column per z axis; the
    dependent variable carries the value and its statistical error.
    """
    path = Path(path)
    units = dict(units or {})
    vals = density.values(flat=False)
    errs = np.sqrt(density.variances(flat=False))
    idx = np.indices(vals.shape).reshape(vals.ndim, -1).T
    indep = [
        {"header": {"name": density.x_name}, "values": [{"value": int(i)} for i in idx[:, 0]]}
    ]
    for a, (zn, e) in enumerate(zip(density.z_names, density.z_edges), start=1):
        hdr = {"name": zn, **({"units": units[zn]} if zn in units else {})}
        indep.append(
            {"header": hdr, "values": [{"low": float(e[j]), "high": float(e[j + 1])} for j in idx[:, a]]}
        )
    dep_vals = []
    for k in range(len(idx)):
        t = tuple(idx[k])
        entry: dict[str, Any] = {"value": float(vals[t])}
        if errs[t] > 0:
            entry["errors"] = [{"symerror": float(errs[t]), "label": "stat"}]
        dep_vals.append(entry)
    table = {
        "independent_variables": indep,
        "dependent_variables": [
            {
                "header": {"name": name},
                "qualifiers": [
                    {"name": "redist_format", "value": f"{FORMAT_TAG} {FORMAT_VERSION}"},
                    {"name": "axis_order", "value": _layout_string(density)},
                    {"name": "x", "value": "flattened fit bins of the channel, in pyhf bin order"},
                ],
                "values": dep_vals,
            }
        ],
    }
    if path.suffix.lower() in (".yaml", ".yml"):
        yaml = _yaml()
        path.write_text(yaml.safe_dump(table, sort_keys=False), encoding="utf-8")
    else:
        path.write_text(json.dumps(table, allow_nan=False), encoding="utf-8")
    return path


def _yaml() -> Any:
    try:
        import yaml
    except ImportError as err:  # pragma: no cover - pyyaml is in the io extra
        msg = "reading/writing HEPData YAML needs PyYAML: pip install 'redist[io]'"
        raise DensityFileError(msg) from err
    return yaml


def read_hepdata(
    path: str | Path,
    *,
    x: str | Sequence[str] | None = None,
    z: Sequence[str] | None = None,
    dependent: int | str = 0,
    n_x: int | None = None,
    z_edges: Sequence[Any] | None = None,
) -> JointDensity:
    """Read a density from a HEPData table (YAML or JSON).

    Every point carries its coordinates, so the row order of the table does not
    matter; the fit bin index and the z bins are found by column name.

    Parameters
    ----------
    path : str or Path
        The table file (``.yaml``/``.yml`` parsed with ``yaml.safe_load``, else JSON).
    x : str or sequence of str, optional
        Name(s) of the independent variable(s) that identify the fit bin
        (default: the first independent variable). A single column with
        ``value`` entries is the flattened fit-bin index; one or several columns
        with ``low``/``high`` ranges are combined into a fit-bin index in C order
        of their sorted bins.
    z : sequence of str, optional
        Names of the kinematic columns, each with ``low``/``high`` (default: the
        remaining independent variables).
    dependent : int or str
        Which dependent variable holds n(x, z) (index or header name).
    n_x : int, optional
        Expected number of fit bins.
    z_edges : optional
        Expected z bin edges per axis.

    Raises
    ------
    DensityFileError
        Missing columns, columns of unequal length, gaps or overlaps in a z
        binning, duplicate or missing (x, z) points.
    """
    path = Path(path)
    where = str(path)
    text = _read_text(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        yaml = _yaml()
        try:
            doc = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError, ValueError) as err:
            msg = f"{where}: not valid YAML ({str(err)[:200]})"
            raise DensityFileError(msg) from err
    else:
        doc = _parse_json(text, where)
    return density_from_hepdata(doc, where=where, x=x, z=z, dependent=dependent, n_x=n_x,
                                z_edges=z_edges)


def _column_name(col: Any, where: str, i: int) -> str:
    if not isinstance(col, dict) or not isinstance(col.get("header"), dict) or "name" not in col["header"]:
        msg = f"{where}: independent variable {i} has no header name"
        raise DensityFileError(msg)
    if not isinstance(col.get("values"), list):
        msg = f"{where}: column {col['header']['name']!r} has no list of values"
        raise DensityFileError(msg)
    return str(col["header"]["name"])


def _bin_coords(col: dict[str, Any], where: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    vals = col["values"]
    if not all(isinstance(v, dict) and "low" in v and "high" in v for v in vals):
        msg = f"{where}: column {name!r} must give low/high for every point"
        raise DensityFileError(msg)
    lo = _floats([v["low"] for v in vals], where, f"column {name!r} low")
    hi = _floats([v["high"] for v in vals], where, f"column {name!r} high")
    if np.any(hi <= lo):
        k = int(np.flatnonzero(hi <= lo)[0])
        msg = f"{where}: column {name!r}, point {k}: high {hi[k]} <= low {lo[k]}"
        raise DensityFileError(msg)
    return lo, hi


def _edges_from_bins(lo: np.ndarray, hi: np.ndarray, where: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a contiguous binning from per-point (low, high) and each point's bin index."""
    pairs = sorted(set(zip(lo.tolist(), hi.tolist())))
    for (a0, b0), (a1, b1) in itertools.pairwise(pairs):
        if not math.isclose(b0, a1, rel_tol=1e-9, abs_tol=1e-12):
            kind = "gap" if a1 > b0 else "overlap"
            msg = f"{where}: axis {name!r} has a {kind} between bins [{a0:g}, {b0:g}] and [{a1:g}, {b1:g}]"
            raise DensityFileError(msg)
    edges = np.array([pairs[0][0]] + [p[1] for p in pairs])
    index = {p: i for i, p in enumerate(pairs)}
    idx = np.array([index[p] for p in zip(lo.tolist(), hi.tolist())])
    return edges, idx


def density_from_hepdata(
    doc: Any,
    *,
    where: str = "<hepdata>",
    x: str | Sequence[str] | None = None,
    z: Sequence[str] | None = None,
    dependent: int | str = 0,
    n_x: int | None = None,
    z_edges: Sequence[Any] | None = None,
) -> JointDensity:
    """Like :func:`read_hepdata` for an already parsed table."""
    if not isinstance(doc, dict):
        msg = f"{where}: a HEPData table must be a mapping, got {type(doc).__name__}"
        raise DensityFileError(msg)
    indep, dep = doc.get("independent_variables"), doc.get("dependent_variables")
    if not isinstance(indep, list) or not indep:
        msg = f"{where}: missing 'independent_variables'"
        raise DensityFileError(msg)
    if not isinstance(dep, list) or not dep:
        msg = f"{where}: missing 'dependent_variables'"
        raise DensityFileError(msg)
    cols = {_column_name(c, where, i): c for i, c in enumerate(indep)}
    names = list(cols)
    x_cols = [names[0]] if x is None else ([x] if isinstance(x, str) else list(x))
    z_cols = list(z) if z is not None else [n for n in names if n not in x_cols]
    for n in (*x_cols, *z_cols):
        if n not in cols:
            msg = f"{where}: missing column {n!r}; independent variables are {names}"
            raise DensityFileError(msg)
    if not z_cols:
        msg = f"{where}: no kinematic (z) column; independent variables are {names}"
        raise DensityFileError(msg)
    if isinstance(dependent, str):
        dnames = [str((d.get("header") or {}).get("name")) if isinstance(d, dict) else "" for d in dep]
        if dependent not in dnames:
            msg = f"{where}: missing dependent variable {dependent!r}; have {dnames}"
            raise DensityFileError(msg)
        dcol = dep[dnames.index(dependent)]
    else:
        if not 0 <= dependent < len(dep):
            msg = f"{where}: dependent variable {dependent} out of range ({len(dep)} present)"
            raise DensityFileError(msg)
        dcol = dep[dependent]
    if not isinstance(dcol, dict) or not isinstance(dcol.get("values"), list):
        msg = f"{where}: dependent variable has no list of values"
        raise DensityFileError(msg)
    n_pts = len(dcol["values"])
    for n in (*x_cols, *z_cols):
        if len(cols[n]["values"]) != n_pts:
            msg = f"{where}: column {n!r} has {len(cols[n]['values'])} points, the dependent variable {n_pts}"
            raise DensityFileError(msg)
    dv = dcol["values"]
    if not all(isinstance(v, dict) and "value" in v for v in dv):
        msg = f"{where}: every dependent value needs a 'value'"
        raise DensityFileError(msg)
    values = _floats([v["value"] for v in dv], where, "dependent values")
    var = np.zeros(n_pts)
    for k, v in enumerate(dv):
        errs = v.get("errors", [])
        if not isinstance(errs, list):
            msg = f"{where}: point {k}: 'errors' must be a list"
            raise DensityFileError(msg)
        for e in errs:
            if isinstance(e, dict) and "symerror" in e:
                s = _floats(e["symerror"], where, f"point {k} symerror")
                if s.ndim != 0:
                    msg = f"{where}: point {k}: symerror must be a number"
                    raise DensityFileError(msg)
                var[k] += float(s) ** 2
    # fit-bin index
    if len(x_cols) == 1 and all(isinstance(v, dict) and "value" in v for v in cols[x_cols[0]]["values"]):
        xi_f = _floats([v["value"] for v in cols[x_cols[0]]["values"]], where, f"column {x_cols[0]!r}")
        if np.any(xi_f != np.round(xi_f)) or np.any(xi_f < 0) or np.any(xi_f > 1e7):
            msg = f"{where}: column {x_cols[0]!r} must hold fit-bin indices 0, 1, ..."
            raise DensityFileError(msg)
        xi = xi_f.astype(int)
        nx = int(xi.max()) + 1
    else:
        sub_idx, sub_n = [], []
        for n in x_cols:
            lo, hi = _bin_coords(cols[n], where, n)
            pairs = sorted(set(zip(lo.tolist(), hi.tolist())))
            index = {p: i for i, p in enumerate(pairs)}
            sub_idx.append(np.array([index[p] for p in zip(lo.tolist(), hi.tolist())]))
            sub_n.append(len(pairs))
        xi = np.ravel_multi_index(tuple(sub_idx), tuple(sub_n)) if len(sub_n) > 1 else sub_idx[0]
        nx = int(np.prod(sub_n))
    edges, zi = [], []
    for n in z_cols:
        lo, hi = _bin_coords(cols[n], where, n)
        e, i = _edges_from_bins(lo, hi, where, n)
        edges.append(e)
        zi.append(i)
    shape = (nx, *(len(e) - 1 for e in edges))
    if int(np.prod(shape)) > 10**8:
        msg = f"{where}: binning {shape} too large"
        raise DensityFileError(msg)
    flat = np.ravel_multi_index((xi, *zi), shape)
    counts = np.bincount(flat, minlength=int(np.prod(shape)))
    if np.any(counts > 1):
        k = int(np.flatnonzero(counts > 1)[0])
        coords = np.unravel_index(k, shape)
        msg = f"{where}: duplicate point for fit bin {coords[0]}, z bin {tuple(int(c) for c in coords[1:])}"
        raise DensityFileError(msg)
    if np.any(counts == 0):
        k = int(np.flatnonzero(counts == 0)[0])
        coords = np.unravel_index(k, shape)
        msg = f"{where}: missing point for fit bin {coords[0]}, z bin {tuple(int(c) for c in coords[1:])}"
        raise DensityFileError(msg)
    full = np.zeros(int(np.prod(shape)))
    full_var = np.zeros_like(full)
    full[flat] = values
    full_var[flat] = var
    try:
        dens = JointDensity.from_array(
            full.reshape(shape),
            edges,
            variances=full_var.reshape(shape),
            x_name="x" if len(x_cols) > 1 else x_cols[0],
            z_names=tuple(z_cols),
            source=where,
        )
    except DensityError as err:
        raise DensityFileError(str(err)) from err
    return _check_expected(dens, where, n_x=n_x, z_names=None, z_edges=z_edges)


# ----------------------------------------------------------------------------- ROOT
def _uproot() -> Any:
    try:
        import uproot
    except ImportError as err:
        msg = "ROOT files need uproot: pip install 'redist[io]'"
        raise DensityFileError(msg) from err
    return uproot


def write_root(path: str | Path, densities: JointDensity | Mapping[str, JointDensity]) -> Path:
    """Write densities as ROOT TH2D (one z axis) or TH3D (two z axes) with uproot.

    The fit-bin axis becomes the histogram's first axis (bins ``[i, i+1)``);
    the histogram title records the layout and each axis title its name.
    """
    import hist

    uproot = _uproot()
    if isinstance(densities, JointDensity):
        densities = {"density": densities}
    path = Path(path)
    with uproot.recreate(path) as f:
        for key, dens in densities.items():
            if len(dens.z_names) > 2:
                msg = f"{key!r}: ROOT histograms hold at most 3 axes (x + 2 z), got {1 + len(dens.z_names)}"
                raise DensityFileError(msg)
            title = (
                f"{FORMAT_TAG} {FORMAT_VERSION}; axis_order={_layout_string(dens)}; "
                f"flattening={FLATTENING}"
            )
            axes = [hist.axis.Regular(dens.n_x, 0, dens.n_x, name=dens.x_name, label=dens.x_name)]
            axes += [hist.axis.Variable(e, name=n, label=n) for n, e in zip(dens.z_names, dens.z_edges)]
            h = hist.Hist(*axes, storage=hist.storage.Weight(), name=title)
            view = h.view()
            view["value"] = dens.values(flat=False)
            view["variance"] = dens.variances(flat=False)
            f[str(key)] = h
    return path


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
    """
    uproot = _uproot()
    path = Path(path)
    where = f"{path}:{key}"
    try:
        f = uproot.open(path)
    except (OSError, ValueError) as err:
        msg = f"{path}: cannot open as a ROOT file ({str(err)[:200]})"
        raise DensityFileError(msg) from err
    with f:
        if key not in f:
            msg = f"{path}: no object {key!r}; file has {list(f.keys())[:10]}"
            raise DensityFileError(msg)
        obj = f[key]
        cls = type(obj).__name__
        if not hasattr(obj, "axes") or not hasattr(obj, "values") or len(obj.axes) not in (2, 3):
            msg = f"{where}: object of class {cls} is not a TH2 or TH3"
            raise DensityFileError(msg)
        title = str(obj.member("fTitle")) if obj.has_member("fTitle") else ""
        names = []
        for i, ax in enumerate(obj.axes):
            t = str(ax.member("fTitle")) if ax.has_member("fTitle") else ""
            names.append(t or ("x" if i == 0 else ("q2" if len(obj.axes) == 2 else f"z{i}")))
        if title.startswith(FORMAT_TAG):
            parts = dict(p.strip().split("=", 1) for p in title.split(";")[1:] if "=" in p)
            declared = parts.get("axis_order", "").split(",")
            if declared != names:
                msg = f"{where}: title declares axes {declared} but the axis titles are {names}"
                raise DensityFileError(msg)
        values = np.asarray(obj.values(flow=True), dtype=float)
        var = np.asarray(obj.variances(flow=True), dtype=float)
        inner = tuple(slice(1, -1) for _ in range(values.ndim))
        if not np.isclose(values.sum(), values[inner].sum(), rtol=1e-12, atol=0.0):
            msg = f"{where}: under/overflow bins hold entries; extend the binning so that nothing is outside"
            raise DensityFileError(msg)
        edges = [np.asarray(ax.edges(), dtype=float) for ax in obj.axes]
    try:
        dens = JointDensity.from_array(
            values[inner], edges[1:], variances=var[inner], x_name=names[0], z_names=tuple(names[1:]),
            source=where,
        )
    except DensityError as err:
        raise DensityFileError(str(err)) from err
    return _check_expected(dens, where, n_x=n_x, z_names=z_names, z_edges=z_edges)


# ----------------------------------------------------------------------------- dispatch
def read_density(
    path: str | Path,
    layout: str,
    *,
    key: str | None = None,
    z_edges: Sequence[Any] | None = None,
    z_names: Sequence[str] | None = None,
    n_x: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> JointDensity:
    """Read a density in any supported layout (``"csv"``, ``"uhi"``, ``"hepdata"``, ``"root"``).

    ``z_edges``/``z_names``/``n_x`` are the binning the caller expects and are
    checked against the file; ``options`` are passed to the specific reader.
    """
    opts = dict(options or {})
    if layout == "csv":
        return read_csv(path, z_edges, z_names=z_names, n_x=n_x, **opts)
    if layout == "uhi":
        return read_uhi(path, key, n_x=n_x, z_names=z_names, z_edges=z_edges, **opts)
    if layout == "hepdata":
        dens = read_hepdata(path, n_x=n_x, z_edges=z_edges, **opts)
        return _check_expected(dens, str(path), n_x=None, z_names=z_names, z_edges=None)
    if layout == "root":
        if key is None:
            msg = f"{path}: a ROOT density needs the histogram key"
            raise DensityFileError(msg)
        return read_root(path, key, n_x=n_x, z_names=z_names, z_edges=z_edges)
    msg = f"{path}: unknown density layout {layout!r}; use one of {', '.join(LAYOUTS)}"
    raise DensityFileError(msg)
