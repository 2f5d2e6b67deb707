"""HEPData tables (YAML or JSON): one point per (fit bin, z bin) with its coordinates.

Every point carries its coordinates, so the row order of a table does not
matter. Statistical errors are read from ``symerror`` and ``asymerror``
entries (an asymmetric error ``{plus, minus}`` counts as the symmetric error
``(|plus| + |minus|) / 2``; several errors of a point add in quadrature).
A ``redist_format`` qualifier, written by :func:`write_hepdata`, must state the
format version this redist reads.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..density import JointDensity
from ..exceptions import DensityFileError
from ..io import limits as _limits
from ..io.atomic import atomic_write_text
from ..io.reader import check_tree, parse_json, parse_yaml, token
from ._common import (
    FORMAT_TAG,
    FORMAT_VERSION,
    check_expected,
    check_format_version,
    density_from_array,
    floats,
    layout_string,
    read_density_bytes,
)

__all__ = ["density_from_hepdata", "read_hepdata", "write_hepdata"]


def __dir__() -> list[str]:
    return list(__all__)


def write_hepdata(
    path: str | Path,
    density: JointDensity,
    *,
    name: str = "joint number density",
    units: Mapping[str, str] | None = None,
) -> Path:
    """Write a HEPData table (YAML if the suffix is ``.yaml``/``.yml``, else JSON), atomically.

    One point per (fit bin, z bin): the independent variables are the fit-bin
    index (``x`` axis name) and one ``low``/``high`` column per z axis; the
    dependent variable carries the value and its statistical error.

    Examples
    --------
    >>> import tempfile, os
    >>> d = JointDensity.from_array([[1.0, 2.0]], [0.0, 1.0, 2.0], variances=[[1.0, 4.0]])
    >>> p = write_hepdata(os.path.join(tempfile.mkdtemp(), "d.json"), d)
    >>> read_hepdata(p).variances().tolist()
    [[1.0, 4.0]]
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
                    {"name": "axis_order", "value": layout_string(density)},
                    {"name": "x", "value": "flattened fit bins of the channel, in pyhf bin order"},
                ],
                "values": dep_vals,
            }
        ],
    }
    if path.suffix.lower() in (".yaml", ".yml"):
        from .._optional import optional_import

        yaml = optional_import("yaml", purpose="writing HEPData YAML")
        return atomic_write_text(path, yaml.safe_dump(table, sort_keys=False))
    return atomic_write_text(path, json.dumps(table, allow_nan=False))


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

    Parameters
    ----------
    path : str or Path
        The table file (``.yaml``/``.yml`` parsed by the safe YAML reader:
        no aliases, no duplicate keys; else strict JSON).
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
        binning, duplicate or missing (x, z) points, errors whose square
        overflows, or another redist format version;
        :class:`~redist.exceptions.InputLimitError` for sizes above :mod:`redist.io.limits`.
    """
    path = Path(path)
    where = str(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        data = read_density_bytes(path, where)
        doc = parse_yaml(data, where=where, error=DensityFileError)
    else:
        doc = parse_json(read_density_bytes(path, where), where=where, error=DensityFileError)
    return density_from_hepdata(doc, where=where, x=x, z=z, dependent=dependent, n_x=n_x,
                                z_edges=z_edges)


def _column_name(col: Any, where: str, i: int) -> str:
    if not isinstance(col, dict) or not isinstance(col.get("header"), dict) or "name" not in col["header"]:
        msg = f"{where}: independent variable {i} has no header name"
        raise DensityFileError(msg)
    if not isinstance(col.get("values"), list):
        msg = f"{where}: column {token(col['header']['name'])} has no list of values"
        raise DensityFileError(msg)
    return str(col["header"]["name"])


def _bin_coords(col: dict[str, Any], where: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    vals = col["values"]
    if not all(isinstance(v, dict) and "low" in v and "high" in v for v in vals):
        msg = f"{where}: column {token(name)} must give low/high for every point"
        raise DensityFileError(msg)
    lo = floats([v["low"] for v in vals], where, f"column {token(name)} low")
    hi = floats([v["high"] for v in vals], where, f"column {token(name)} high")
    if np.any(hi <= lo):
        k = int(np.flatnonzero(hi <= lo)[0])
        msg = f"{where}: column {token(name)}, point {k}: high {hi[k]} <= low {lo[k]}"
        raise DensityFileError(msg)
    return lo, hi


def _edges_from_bins(lo: np.ndarray, hi: np.ndarray, where: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a contiguous binning from per-point (low, high) and each point's bin index."""
    pairs = sorted(set(zip(lo.tolist(), hi.tolist())))
    _limits.check("max_axis_bins", len(pairs), what=f"bins on axis {token(name)}", where=where)
    for (a0, b0), (a1, b1) in itertools.pairwise(pairs):
        if not math.isclose(b0, a1, rel_tol=1e-9, abs_tol=1e-12):
            kind = "gap" if a1 > b0 else "overlap"
            msg = (
                f"{where}: axis {token(name)} has a {kind} between bins "
                f"[{a0:g}, {b0:g}] and [{a1:g}, {b1:g}]"
            )
            raise DensityFileError(msg)
    edges = np.array([pairs[0][0]] + [p[1] for p in pairs])
    index = {p: i for i, p in enumerate(pairs)}
    idx = np.array([index[p] for p in zip(lo.tolist(), hi.tolist())])
    return edges, idx


def _point_variance(v: dict[str, Any], k: int, where: str) -> float:
    """Sum of squared errors of one point (symerror, and asymerror as the mean of |plus| and |minus|)."""
    errs = v.get("errors", [])
    if not isinstance(errs, list):
        msg = f"{where}: point {k}: 'errors' must be a list"
        raise DensityFileError(msg)
    var = 0.0
    for e in errs:
        if not isinstance(e, dict):
            msg = f"{where}: point {k}: every error must be an object"
            raise DensityFileError(msg)
        if "symerror" in e:
            s = floats(e["symerror"], where, f"point {k} symerror")
            if s.ndim != 0:
                msg = f"{where}: point {k}: symerror must be a number"
                raise DensityFileError(msg)
            sigma = abs(float(s))
        elif "asymerror" in e:
            a = e["asymerror"]
            if not isinstance(a, dict) or "plus" not in a or "minus" not in a:
                msg = f"{where}: point {k}: asymerror needs 'plus' and 'minus'"
                raise DensityFileError(msg)
            pm = floats([a["plus"], a["minus"]], where, f"point {k} asymerror")
            if pm.ndim != 1:
                msg = f"{where}: point {k}: asymerror plus/minus must be numbers"
                raise DensityFileError(msg)
            sigma = (abs(float(pm[0])) + abs(float(pm[1]))) / 2
        else:
            continue
        with np.errstate(over="ignore"):
            var = float(np.float64(var) + np.float64(sigma) ** 2)
        if not math.isfinite(var):
            msg = f"{where}: point {k}: the squared error overflows (error {sigma:g})"
            raise DensityFileError(msg)
    return var


def _check_qualifiers(dcol: dict[str, Any], where: str) -> None:
    quals = dcol.get("qualifiers") or []
    if not isinstance(quals, list):
        msg = f"{where}: qualifiers must be a list"
        raise DensityFileError(msg)
    for q in quals:
        if isinstance(q, dict) and q.get("name") == "redist_format":
            value = q.get("value")
            if not isinstance(value, str) or not value.startswith(FORMAT_TAG):
                msg = f"{where}: qualifier redist_format is {token(value)}, not '{FORMAT_TAG} N'"
                raise DensityFileError(msg)
            check_format_version(value, where, "the redist_format qualifier")


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
    check_tree(doc, where=where, error=DensityFileError)
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
    cols = {}
    for i, c in enumerate(indep):
        name = _column_name(c, where, i)
        if name in cols:
            msg = f"{where}: two independent variables named {token(name)}"
            raise DensityFileError(msg)
        cols[name] = c
    names = list(cols)
    x_cols = [names[0]] if x is None else ([x] if isinstance(x, str) else list(x))
    z_cols = list(z) if z is not None else [n for n in names if n not in x_cols]
    for n in (*x_cols, *z_cols):
        if n not in cols:
            have = [c[:40] for c in names[:20]]
            msg = f"{where}: missing column {token(n)}; independent variables are {have}"
            raise DensityFileError(msg)
    if not z_cols:
        msg = f"{where}: no kinematic (z) column; independent variables are {[c[:40] for c in names[:20]]}"
        raise DensityFileError(msg)
    if isinstance(dependent, str):
        dnames = [str((d.get("header") or {}).get("name")) if isinstance(d, dict) else "" for d in dep]
        if dependent not in dnames:
            have = [d[:40] for d in dnames[:20]]
            msg = f"{where}: missing dependent variable {token(dependent)}; have {have}"
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
    _check_qualifiers(dcol, where)
    n_pts = len(dcol["values"])
    _limits.check("max_density_cells", n_pts, what="points", where=where)
    for n in (*x_cols, *z_cols):
        if len(cols[n]["values"]) != n_pts:
            msg = (
                f"{where}: column {token(n)} has {len(cols[n]['values'])} points, "
                f"the dependent variable {n_pts}"
            )
            raise DensityFileError(msg)
    dv = dcol["values"]
    if not all(isinstance(v, dict) and "value" in v for v in dv):
        msg = f"{where}: every dependent value needs a 'value'"
        raise DensityFileError(msg)
    values = floats([v["value"] for v in dv], where, "dependent values")
    if values.ndim != 1:
        msg = f"{where}: every dependent value must be a number"
        raise DensityFileError(msg)
    var = np.array([_point_variance(v, k, where) for k, v in enumerate(dv)], dtype=float)
    # fit-bin index
    if len(x_cols) == 1 and all(isinstance(v, dict) and "value" in v for v in cols[x_cols[0]]["values"]):
        xi_f = floats([v["value"] for v in cols[x_cols[0]]["values"]], where, f"column {token(x_cols[0])}")
        if xi_f.ndim != 1 or np.any(xi_f != np.round(xi_f)) or np.any(xi_f < 0):
            msg = f"{where}: column {token(x_cols[0])} must hold fit-bin indices 0, 1, ..."
            raise DensityFileError(msg)
        nx = int(xi_f.max()) + 1 if len(xi_f) else 0
        _limits.check("max_axis_bins", nx, what="fit bins", where=where)
        xi = xi_f.astype(int)
    else:
        sub_idx, sub_n = [], []
        for n in x_cols:
            lo, hi = _bin_coords(cols[n], where, n)
            pairs = sorted(set(zip(lo.tolist(), hi.tolist())))
            index = {p: i for i, p in enumerate(pairs)}
            sub_idx.append(np.array([index[p] for p in zip(lo.tolist(), hi.tolist())]))
            sub_n.append(len(pairs))
        nx = math.prod(sub_n)
        _limits.check("max_axis_bins", nx, what="fit bins", where=where)
        xi = np.ravel_multi_index(tuple(sub_idx), tuple(sub_n)) if len(sub_n) > 1 else sub_idx[0]
    edges, zi = [], []
    for n in z_cols:
        lo, hi = _bin_coords(cols[n], where, n)
        e, idx = _edges_from_bins(lo, hi, where, n)
        edges.append(e)
        zi.append(idx)
    shape = (nx, *(len(e) - 1 for e in edges))
    size = math.prod(shape)
    _limits.check("max_z_bins", size // max(nx, 1), what="z bins", where=where)
    _limits.check("max_density_cells", size, what="cells (fit bins x z bins)", where=where)
    flat = np.ravel_multi_index((xi, *zi), shape)
    counts = np.bincount(flat, minlength=size)
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
    full = np.zeros(size)
    full_var = np.zeros_like(full)
    full[flat] = values
    full_var[flat] = var
    dens = density_from_array(
        full.reshape(shape),
        edges,
        where,
        variances=full_var.reshape(shape),
        x_name="x" if len(x_cols) > 1 else x_cols[0],
        z_names=tuple(z_cols),
    )
    return check_expected(dens, where, n_x=n_x, z_names=None, z_edges=z_edges)
