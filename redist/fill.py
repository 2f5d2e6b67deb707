"""Filling joint number densities n(x, z) from simulated events, and per-event weights.

What to use when:

* events in memory (numpy arrays): :func:`fill`;
* a Parquet file: :func:`fill_parquet` (streams row groups through pyarrow,
  so the file may be larger than memory; ``io`` extra);
* a ROOT TTree: :func:`fill_root` (streams with ``uproot.iterate``; ``io`` extra);
* dask arrays, or any of the above on a Dask cluster: :func:`fill_dask`
  (``dask`` extra, through dask-histogram); it gives the same histogram as the
  in-memory path;
* you keep your events and want the reweighting per event: :func:`event_weights`
  returns ``w(z) = rate_B(z) / rate_A(z)`` for each event.

Every fill uses Weight storage (sum of weights and sum of squared weights), so
the statistical uncertainty of the density travels with it. Events whose fit-bin
index is outside ``[0, n_x)`` (e.g. ``-1`` for "not selected") are dropped; events
whose ``z`` lies outside the z binning are an error, because dropping them would
bias the reweighting silently.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import hist
import numpy as np

from .density import JointDensity, _edges_list, _empty_hist
from .exceptions import FillError

__all__ = [
    "FillError",
    "event_weights",
    "fill",
    "fill_dask",
    "fill_parquet",
    "fill_root",
    "parquet_to_dask",
]


def __dir__() -> list[str]:
    return list(__all__)


def _edges(z_edges: Any) -> list[np.ndarray]:
    return _edges_list(z_edges, FillError)


def _empty(n_x: int, edges: list[np.ndarray], x_name: str, z_names: Sequence[str]) -> hist.Hist[Any]:
    return _empty_hist(n_x, edges, x_name, z_names, FillError)


def _prepare(
    x: Any,
    z: Any,
    weights: Any,
    edges: list[np.ndarray],
    z_names: Sequence[str],
    where: str,
    offset: int = 0,
    n_x: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate one chunk; returns (x, z (n, d), w) restricted to the selected events.

    The one event policy of redist: events whose fit-bin index is outside
    ``[0, n_x)`` are not selected and dropped (their z and weight are not
    looked at); a selected event needs a finite weight whose square is finite
    and a z inside the binning, otherwise the whole fill is refused with the
    number of offending events and the binning range.
    """
    xi = np.asarray(x)
    if xi.ndim != 1:
        msg = f"{where}: fit-bin indices must be one-dimensional, got shape {xi.shape}"
        raise FillError(msg)
    if xi.dtype.kind == "f":
        if not np.all(np.isfinite(xi)) or np.any(xi != np.round(xi)):
            msg = f"{where}: fit-bin indices must be integers"
            raise FillError(msg)
    elif xi.dtype.kind not in "iu":
        msg = f"{where}: fit-bin indices must be integers, got dtype {xi.dtype}"
        raise FillError(msg)
    try:
        zz = np.asarray(z, dtype=float)
        w = np.ones(len(xi)) if weights is None else np.asarray(weights, dtype=float)
    except (TypeError, ValueError, OverflowError) as err:
        msg = f"{where}: z values and weights must be numbers ({type(err).__name__})"
        raise FillError(msg) from err
    if zz.ndim == 1:
        zz = zz[:, None]
    if zz.shape != (len(xi), len(edges)):
        msg = (
            f"{where}: z must have shape ({len(xi)}, {len(edges)}) for axes {list(z_names)}, "
            f"got {np.shape(z)}"
        )
        raise FillError(msg)
    if w.shape != xi.shape:
        msg = f"{where}: {w.shape[0] if w.ndim else 0} weights for {len(xi)} events"
        raise FillError(msg)
    sel = (xi >= 0) if n_x is None else (xi >= 0) & (xi < n_x)
    index = np.flatnonzero(sel)
    xi = xi[sel].astype(np.int64)
    zz = zz[sel]
    w = w[sel]
    with np.errstate(over="ignore", invalid="ignore"):
        bad_w = ~np.isfinite(w * w)
    if bad_w.any():
        k = int(np.flatnonzero(bad_w)[0])
        what = "is" if not np.isfinite(w[k]) else "is too large (its square, the variance, overflows):"
        msg = f"{where}: weight of event {offset + int(index[k])} {what} {float(w[k])}"
        raise FillError(msg)
    for a, (e, n) in enumerate(zip(edges, z_names)):
        col = zz[:, a]
        bad = ~np.isfinite(col) | (col < e[0]) | (col > e[-1])
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            msg = (
                f"{where}: event {offset + int(index[k])} has {n} = {float(col[k])!r}, outside the z binning "
                f"[{e[0]:g}, {e[-1]:g}] ({int(bad.sum())} of {len(col)} selected events are outside); "
                "extend the binning (an underflow/overflow bin of weight 1) or drop such events explicitly"
            )
            raise FillError(msg)
    return xi, zz, w


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        msg = f"{what} must be a positive integer, got {str(value)[:40]}"
        raise FillError(msg)
    return int(value)


def _chunks(n: int, chunk_size: int | None) -> Iterator[slice]:
    step = n if chunk_size is None else _positive_int(chunk_size, "chunk_size")
    for start in range(0, max(n, 1), max(step, 1)):
        yield slice(start, min(start + step, n))


def _guarded(items: Iterable[Any], where: str, errors: tuple[type[BaseException], ...]) -> Iterator[Any]:
    """Iterate a reader's batches, turning the reader's own errors into :class:`FillError`."""
    it = iter(items)
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except errors as err:
            msg = f"{where}: cannot read ({type(err).__name__}: {str(err)[:200]})"
            raise FillError(msg) from err
        yield item


def _check_sums(h: hist.Hist[Any], where: str) -> None:
    """The filled sums (values and variances) are finite: large weights can overflow when added."""
    view: Any = h.view()
    for field in ("value", "variance"):
        arr = np.asarray(view[field])
        if not np.all(np.isfinite(arr)):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            msg = (
                f"{where}: the sum of {field}s overflows at fit bin {idx[0]}, z bin {idx[1:]}; "
                "rescale the weights"
            )
            raise FillError(msg)


def _progress(it: Iterable[Any], progress: bool, total: int | None, desc: str) -> Iterable[Any]:
    if not progress:
        return it
    from tqdm.auto import tqdm

    bar: Iterable[Any] = tqdm(it, total=total, desc=desc, unit="chunk")
    return bar


def fill(
    x: Any,
    z: Any,
    *,
    n_x: int,
    z_edges: Any,
    weights: Any = None,
    x_name: str = "x",
    z_names: Sequence[str] = ("q2",),
    chunk_size: int | None = None,
    progress: bool = False,
) -> JointDensity:
    """Fill n(x, z) from events held in memory.

    Parameters
    ----------
    x : array_like of int
        Flattened fit-bin index of each event (pyhf bin order of the channel);
        indices outside ``[0, n_x)`` mean "not selected" and are dropped.
    z : array_like
        True kinematics, shape ``(n,)`` or ``(n, d)``; must lie inside the binning.
    n_x : int
        Number of fit bins of the channel.
    z_edges : array_like or sequence of array_like
        Bin edges per kinematic axis.
    weights : array_like, optional
        Per-event weights (luminosity scaling, corrections).
    x_name, z_names : str, sequence of str
        Axis names.
    chunk_size : int, optional
        Fill in chunks of this many events (with ``progress``, for long fills).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    JointDensity
        With Weight storage: values = sum of weights, variances = sum of squares.

    Examples
    --------
    >>> d = fill([0, 0, 1], [0.5, 1.5, 1.5], n_x=2, z_edges=[0.0, 1.0, 2.0], weights=[1.0, 2.0, 3.0])
    >>> d.values().tolist(), d.variances().tolist()
    ([[1.0, 2.0], [0.0, 3.0]], [[1.0, 4.0], [0.0, 9.0]])
    """
    edges = _edges(z_edges)
    h = _empty(n_x, edges, x_name, z_names)
    xi_all = np.asarray(x)
    n = len(xi_all) if xi_all.ndim else 0
    z_all = np.asarray(z)
    w_all = None if weights is None else np.asarray(weights)
    for arr, what in ((z_all, "z values"), (w_all, "weights")):
        if arr is not None and (arr.ndim == 0 or len(arr) != n):
            msg = f"{len(arr) if arr.ndim else 0} {what} for {n} events"
            raise FillError(msg)
    chunks = list(_chunks(n, chunk_size))
    for sl in _progress(chunks, progress, len(chunks), "filling"):
        xi, zz, w = _prepare(
            xi_all[sl] if xi_all.ndim else xi_all,
            z_all[sl],
            None if w_all is None else w_all[sl],
            edges,
            z_names,
            f"events {sl.start}-{sl.stop}",
            sl.start,
            n_x=int(n_x),
        )
        _fill_hist(h, xi, zz, w, x_name, z_names)
    _check_sums(h, "events")
    return JointDensity(h, source="<events>")


def _fill_hist(
    h: hist.Hist[Any], xi: np.ndarray, zz: np.ndarray, w: np.ndarray, x_name: str, z_names: Sequence[str]
) -> None:
    args: dict[str, Any] = {x_name: xi, **{n: zz[:, i] for i, n in enumerate(z_names)}}
    h.fill(**args, weight=w)


def _columns_check(available: Sequence[str], wanted: Sequence[str], where: str) -> None:
    missing = [c for c in wanted if c not in available]
    if missing:
        msg = f"{where}: missing column {missing[0]!r}; available columns: {list(available)[:20]}"
        raise FillError(msg)


def fill_parquet(
    path: str | Path,
    *,
    x: str,
    z: Sequence[str],
    n_x: int,
    z_edges: Any,
    weight: str | None = None,
    z_names: Sequence[str] | None = None,
    batch_size: int = 1_000_000,
    progress: bool = False,
) -> JointDensity:
    """Fill n(x, z) from a Parquet file, streaming record batches (larger-than-memory safe).

    Parameters
    ----------
    path : str or Path
        The Parquet file.
    x : str
        Column with the flattened fit-bin index.
    z : sequence of str
        Columns with the true kinematics, one per z axis.
    n_x, z_edges : int, array_like
        Fit-bin count and z binning.
    weight : str, optional
        Column with per-event weights.
    z_names : sequence of str, optional
        Axis names (default: the column names ``z``).
    batch_size : int
        Rows read per batch.
    progress : bool
        Show a tqdm progress bar over batches.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        msg = "Parquet input needs pyarrow: pip install 'redist[io]'"
        raise FillError(msg) from err
    from .io.reader import regular_file

    z = [z] if isinstance(z, str) else list(z)
    names = tuple(z_names or z)
    edges = _edges(z_edges)
    batch_size = _positive_int(batch_size, "batch_size")
    h = _empty(n_x, edges, "x", names)
    path = regular_file(path, error=FillError)
    try:
        pf = pq.ParquetFile(path)
    except (OSError, ValueError) as err:
        msg = f"{path}: cannot open as Parquet ({str(err)[:200]})"
        raise FillError(msg) from err
    cols = [x, *z, *([weight] if weight else [])]
    _columns_check(pf.schema_arrow.names, cols, str(path))
    n_batches = -(-pf.metadata.num_rows // batch_size) if pf.metadata.num_rows else 0
    start = 0
    batches = _guarded(pf.iter_batches(batch_size=batch_size, columns=cols), str(path), (OSError, ValueError))

    def column(batch: Any, name: str) -> np.ndarray:
        col = batch.column(name)
        kind = str(col.type)
        if not (kind.startswith(("int", "uint", "float", "double", "halffloat")) or kind == "bool"):
            msg = f"{path}: column {name!r} has type {kind[:40]}, not a number type"
            raise FillError(msg)
        out: np.ndarray = col.to_numpy(zero_copy_only=False)
        return out

    for batch in _progress(batches, progress, n_batches, str(path)):
        n = batch.num_rows
        xi, zz, w = _prepare(
            column(batch, x),
            np.column_stack([column(batch, c) for c in z]),
            None if weight is None else column(batch, weight),
            edges,
            names,
            f"{path}, rows {start}-{start + n}",
            start,
            n_x=int(n_x),
        )
        _fill_hist(h, xi, zz, w, "x", names)
        start += n
    _check_sums(h, str(path))
    return JointDensity(h, source=str(path))


def fill_root(
    path: str | Path,
    tree: str,
    *,
    x: str,
    z: Sequence[str],
    n_x: int,
    z_edges: Any,
    weight: str | None = None,
    z_names: Sequence[str] | None = None,
    step_size: str | int = "100 MB",
    progress: bool = False,
) -> JointDensity:
    """Fill n(x, z) from a ROOT TTree, streaming with ``uproot.iterate``.

    Parameters are as in :func:`fill_parquet`; ``tree`` names the TTree and
    ``step_size`` the chunk size passed to uproot.
    """
    try:
        import uproot
    except ImportError as err:
        msg = "ROOT input needs uproot: pip install 'redist[io]'"
        raise FillError(msg) from err
    from .histio.root import uproot_errors
    from .io.reader import regular_file

    z = [z] if isinstance(z, str) else list(z)
    names = tuple(z_names or z)
    edges = _edges(z_edges)
    h = _empty(n_x, edges, "x", names)
    where = f"{path}:{tree}"
    path = regular_file(path, error=FillError)
    errors = uproot_errors()
    try:
        with uproot.open(path) as f:
            if tree not in f:
                msg = f"{path}: no TTree {tree!r}; file has {[str(k)[:40] for k in f][:10]}"
                raise FillError(msg)
            obj = f[tree]
            if not isinstance(obj, (uproot.behaviors.TTree.TTree, uproot.behaviors.RNTuple.RNTuple)):
                msg = f"{where}: object of class {type(obj).__name__} is not a TTree or RNTuple"
                raise FillError(msg)
            branches = list(obj.keys())
            n_entries = int(obj.num_entries)
    except FillError:
        raise
    except errors as err:
        msg = f"{path}: cannot read as a ROOT file ({type(err).__name__})"
        raise FillError(msg) from err
    cols = [x, *z, *([weight] if weight else [])]
    _columns_check(branches, cols, where)
    it = _guarded(
        uproot.iterate({str(path): tree}, cols, library="np", step_size=step_size, report=True),
        where,
        errors,
    )
    for arrays, report in _progress(it, progress, None, where):
        xi, zz, w = _prepare(
            arrays[x],
            np.column_stack([arrays[c] for c in z]),
            None if weight is None else arrays[weight],
            edges,
            names,
            f"{where}, entries {report.start}-{report.stop} of {n_entries}",
            report.start,
            n_x=int(n_x),
        )
        _fill_hist(h, xi, zz, w, "x", names)
    _check_sums(h, where)
    return JointDensity(h, source=where)


def fill_dask(
    x: Any,
    z: Any,
    *,
    n_x: int,
    z_edges: Any,
    weights: Any = None,
    x_name: str = "x",
    z_names: Sequence[str] = ("q2",),
    compute: bool = True,
) -> Any:
    """Fill n(x, z) from dask arrays through dask-histogram (``dask`` extra).

    Each partition is histogrammed where it lives and the partial histograms are
    summed, so inputs larger than memory (or than one machine) work. The result
    equals :func:`fill` on the same events.

    Parameters
    ----------
    x : dask.array.Array
        Fit-bin index per event (1-d).
    z : dask.array.Array or sequence of dask.array.Array
        One 1-d array per z axis, or a 2-d array ``(n, d)``.
    weights : dask.array.Array, optional
        Per-event weights.
    compute : bool
        Return the computed :class:`JointDensity` (default); otherwise the lazy
        dask-histogram object (call ``.compute()`` and wrap with ``JointDensity``).

    Notes
    -----
    The z range check (events outside the binning are an error) and the weight
    check run in the same pass over the data as the histogram.
    """
    try:
        dask: Any = importlib.import_module("dask")
        da: Any = importlib.import_module("dask.array")
        dh: Any = importlib.import_module("dask_histogram")
    except ImportError as err:
        msg = "dask fills need dask and dask-histogram: pip install 'redist[dask]'"
        raise FillError(msg) from err
    edges = _edges(z_edges)
    template = _empty(n_x, edges, x_name, z_names)
    if isinstance(z, (list, tuple)):
        zs = list(z)
    elif getattr(z, "ndim", 1) == 2:
        zs = [z[:, i] for i in range(z.shape[1])]
    else:
        zs = [z]
    if len(zs) != len(edges):
        msg = f"{len(zs)} z arrays for {len(edges)} z axes {list(z_names)}"
        raise FillError(msg)
    arrays = [x, *zs] + ([] if weights is None else [weights])
    if not all(isinstance(a, da.Array) and a.ndim == 1 for a in arrays):
        msg = "fill_dask needs one-dimensional dask arrays for x, each z axis and the weights"
        raise FillError(msg)
    if len({a.chunks for a in arrays}) != 1:
        msg = "x, z and weights must be dask arrays with identical chunking"
        raise FillError(msg)
    lazy = dh.factory(x, *zs, histref=template, weights=weights)
    if not compute:
        return lazy
    checks = [(zi.min(), zi.max(), da.isfinite(zi).all()) for zi in zs]
    wfinite = da.isfinite(weights).all() if weights is not None else True
    h, checks, wfinite = dask.compute(lazy, checks, wfinite)
    for (lo, hi, finite), e, n in zip(checks, edges, z_names):
        if not finite or lo < e[0] or hi > e[-1]:
            msg = (
                f"dask fill: {n} ranges over [{lo!r}, {hi!r}] (or is non-finite), outside the z "
                f"binning [{e[0]:g}, {e[-1]:g}]; extend the binning or drop such events explicitly"
            )
            raise FillError(msg)
    if not wfinite:
        msg = "dask fill: non-finite event weights"
        raise FillError(msg)
    out = _empty(n_x, edges, x_name, z_names)
    out.view()[...] = h.view()
    return JointDensity(out, source="<dask>")


def parquet_to_dask(path: str | Path, columns: Sequence[str]) -> dict[str, Any]:
    """Lazy dask arrays of Parquet columns, one chunk per row group (``dask`` + ``io`` extras).

    Nothing is read until the arrays are computed; each row group is read by the
    worker that histograms it.
    """
    try:
        dask: Any = importlib.import_module("dask")
        da: Any = importlib.import_module("dask.array")
        import pyarrow.parquet as pq
    except ImportError as err:
        msg = "lazy Parquet input needs dask and pyarrow: pip install 'redist[dask,io]'"
        raise FillError(msg) from err
    path = Path(path)
    try:
        pf = pq.ParquetFile(path)
    except (OSError, ValueError) as err:
        msg = f"{path}: cannot open as Parquet ({str(err)[:200]})"
        raise FillError(msg) from err
    _columns_check(pf.schema_arrow.names, columns, str(path))
    schema = pf.schema_arrow

    def _read(rg: int, col: str) -> np.ndarray:
        table = pq.ParquetFile(path).read_row_group(rg, columns=[col])
        arr: np.ndarray = table.column(col).to_numpy()
        return arr

    out = {}
    for col in columns:
        dtype = schema.field(col).type.to_pandas_dtype()
        parts = [
            da.from_delayed(
                dask.delayed(_read)(rg, col),
                shape=(pf.metadata.row_group(rg).num_rows,),
                dtype=dtype,
            )
            for rg in range(pf.metadata.num_row_groups)
        ]
        out[col] = da.concatenate(parts) if parts else da.zeros((0,), dtype=dtype)
    return out


def event_weights(
    reweighting: Any,
    z: Any,
    point: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Per-event reweighting factors ``w = rate_B(z) / rate_A(z)`` for users who keep their events.

    Uses the same theories, null point, fixed values and cutoff as a
    :class:`~redist.modifier.Reweighting`: events outside the cutoff or the
    theory's physical range get weight 1 (like the kinematic bins outside).

    Parameters
    ----------
    reweighting : Reweighting
        Theory B, theory A and the kinematic cutoff.
    z : array_like
        True kinematics of each event, shape ``(n,)`` or ``(n, d)``.
    point : mapping, optional
        Theory-B parameter values by name (others: the reweighting's fixed values,
        then the theory's defaults).

    Returns
    -------
    numpy.ndarray
        One weight per event.

    Raises
    ------
    ZeroNullRate
        If theory A's rate vanishes at an event that would be reweighted.

    Examples
    --------
    >>> from redist import Reweighting, get_theory
    >>> th = get_theory("wet", process="B+->K+nunu")
    >>> rw = Reweighting("wet", th, [[0.0, 10.0, 20.0]])
    >>> event_weights(rw, [1.0, 5.0], {"cVL": 2 * th.defaults()["cVL"]}).round(12).tolist()
    [4.0, 4.0]
    """
    from .weights import event_weights as _event_weights  # the one implementation

    return _event_weights(reweighting, z, point)
