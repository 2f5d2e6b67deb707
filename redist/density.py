"""Joint number densities n(x, z) of reconstructed fit bins x and true kinematics z.

A :class:`JointDensity` holds the expected yield of one sample in one channel,
split by reconstruction bin ``x`` (the channel's fit bins, flattened in the
pyhf bin order) and by true-kinematic bin ``z`` (one or more axes such as
``q2``), as a :class:`hist.Hist` with Weight storage so that statistical
uncertainties travel with it.

Constructors cover the usual sources: events (:meth:`JointDensity.from_events`),
a dense array (:meth:`~JointDensity.from_array`), the published CSV layout
(:meth:`~JointDensity.from_csv`: rows = fit bins, columns = z bins) and any UHI
``PlottableHistogram`` (:meth:`~JointDensity.from_hist`: first axis x).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import hist
import numpy as np

from .exceptions import DensityError

__all__ = ["JointDensity"]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _edges_list(z_edges: Any, error: type[DensityError] = DensityError) -> list[np.ndarray]:
    """Bin edges per z axis (one flat sequence means one axis), checked finite and increasing."""
    try:
        if len(z_edges) > 0 and np.ndim(z_edges[0]) == 0:
            z_edges = [z_edges]
        out = [np.asarray(e, dtype=float) for e in z_edges]
    except (TypeError, ValueError, OverflowError) as err:
        msg = f"z bin edges must be one list of numbers per z axis ({type(err).__name__})"
        raise error(msg) from err
    if not out:
        msg = "z bin edges: need at least one z axis"
        raise error(msg)
    for i, e in enumerate(out):
        if e.ndim != 1 or len(e) < 2 or not np.all(np.isfinite(e)) or not np.all(np.diff(e) > 0):
            msg = f"z axis {i}: bin edges must be finite and strictly increasing (got {e!r:.80})"
            raise error(msg)
    return out


def _empty_hist(
    n_x: int,
    z_edges: list[np.ndarray],
    x_name: str,
    z_names: Sequence[str],
    error: type[DensityError] = DensityError,
    where: str = "density",
) -> hist.Hist[Any]:
    """Empty n(x, z) histogram with Weight storage (x: Integer axis, z: Variable axes)."""
    if len(z_names) != len(z_edges):
        msg = f"{len(z_edges)} z axes but {len(z_names)} names {list(z_names)}"
        raise error(msg)
    if (
        isinstance(n_x, (bool, np.bool_))
        or not isinstance(n_x, (int, float, np.integer, np.floating))
        or not float(n_x).is_integer()
        or n_x < 1
    ):
        msg = f"n_x must be a positive whole number of fit bins, got {str(n_x)[:40]}"
        raise error(msg)
    from .io.validate import check_density_sizes

    check_density_sizes(int(n_x), [len(e) - 1 for e in z_edges], where=where)
    axes: list[Any] = [
        hist.axis.Integer(0, int(n_x), name=x_name, label="fit bin", underflow=False, overflow=False)
    ]
    axes += [
        hist.axis.Variable(e, name=n, label=n, underflow=False, overflow=False)
        for e, n in zip(z_edges, z_names)
    ]
    return hist.Hist(*axes, storage=hist.storage.Weight())


class JointDensity:
    """n(x, z) for one sample of one channel.

    Parameters
    ----------
    histogram : hist.Hist
        First axis: the flattened fit bins (``Integer`` axis named ``x_name``);
        further axes: the true-kinematic variables. Weight storage.
    source : str
        Where it came from (file name or description), quoted in error messages.

    Examples
    --------
    >>> d = JointDensity.from_array([[1.0, 2.0], [0.0, 3.0]], [0.0, 1.0, 2.0])
    >>> d.values().sum(axis=1).tolist()
    [3.0, 3.0]
    >>> d.z_names
    ('q2',)
    """

    def __init__(self, histogram: hist.Hist[Any], *, source: str = "<memory>") -> None:
        if histogram.ndim < 2:
            msg = f"{source}: a joint density needs an x axis and at least one z axis"
            raise DensityError(msg)
        self.hist = histogram
        self.source = source
        self.check()

    # -- constructors -----------------------------------------------------------
    @classmethod
    def from_array(
        cls,
        values: Any,
        z_edges: Any,
        *,
        variances: Any = None,
        x_name: str = "x",
        z_names: Sequence[str] = ("q2",),
        source: str = "<array>",
    ) -> JointDensity:
        """Build from a dense array of shape ``(n_x, n_z1[, n_z2, ...])`` and z bin edges."""
        edges = _edges_list(z_edges)
        try:
            vals = np.asarray(values, dtype=float)
            var = None if variances is None else np.asarray(variances, dtype=float)
        except (TypeError, ValueError, OverflowError) as err:
            msg = (
                f"{source}: values and variances must be rectangular arrays of numbers "
                f"({type(err).__name__})"
            )
            raise DensityError(msg) from err
        shape = tuple(len(e) - 1 for e in edges)
        if vals.ndim == 2 and len(edges) > 1 and vals.shape[1] == int(np.prod(shape)):
            vals = vals.reshape((vals.shape[0], *shape))
        if vals.ndim != 1 + len(edges) or vals.shape[1:] != shape:
            msg = f"{source}: values of shape {vals.shape} do not match z binning {shape} (+ x axis)"
            raise DensityError(msg)
        if var is not None and var.size != vals.size:
            msg = f"{source}: variances of shape {var.shape} do not match values of shape {vals.shape}"
            raise DensityError(msg)
        h = _empty_hist(vals.shape[0], edges, x_name, z_names, where=source)
        view: Any = h.view()
        view["value"] = vals
        view["variance"] = np.zeros_like(vals) if var is None else var.reshape(vals.shape)
        return cls(h, source=source)

    @classmethod
    def from_events(
        cls,
        x: Any,
        z: Any,
        *,
        n_x: int,
        z_edges: Any,
        weights: Any = None,
        x_name: str = "x",
        z_names: Sequence[str] = ("q2",),
    ) -> JointDensity:
        """Fill from events: integer fit-bin index ``x`` (``-1`` = not selected), true ``z``.

        The same filler as :func:`redist.fill.fill` (one policy everywhere):
        events with ``x`` outside ``[0, n_x)`` are not selected and dropped;
        selected events with ``z`` outside the binning are an error.

        Parameters
        ----------
        x : array_like of int
            Flattened fit-bin index of each event; events outside ``[0, n_x)`` are dropped.
        z : array_like
            True kinematics, shape ``(n,)`` or ``(n, d)``.
        n_x : int
            Number of fit bins of the channel.
        z_edges : array_like or sequence of array_like
            z bin edges per axis.
        weights : array_like, optional
            Per-event weights (e.g. luminosity scaling).

        Raises
        ------
        FillError
            Bad shapes, non-integer fit-bin indices, non-finite weights or z, or a
            selected event with z outside the binning (the message gives the count
            and the range).
        """
        from .fill import fill

        return fill(x, z, n_x=n_x, z_edges=z_edges, weights=weights, x_name=x_name, z_names=z_names)

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        z_edges: Any,
        *,
        x_name: str = "x",
        z_names: Sequence[str] = ("q2",),
    ) -> JointDensity:
        """Read the published layout: one row per fit bin, one column per (flattened) z bin.

        Same as :func:`redist.histio.read_csv` (the bounded safe reader).
        """
        from .histio import read_csv

        return read_csv(path, z_edges, x_name=x_name, z_names=z_names)

    @classmethod
    def from_hist(cls, h: Any, *, source: str = "<histogram>") -> JointDensity:
        """Build from any UHI ``PlottableHistogram`` whose first axis is the fit-bin axis."""
        if not hasattr(h, "axes") or not hasattr(h, "values"):
            msg = f"{source}: object of type {type(h).__name__} is not a PlottableHistogram"
            raise DensityError(msg)
        axes = list(h.axes)
        if len(axes) < 2:
            msg = f"{source}: need at least 2 axes (x, z...), got {len(axes)}"
            raise DensityError(msg)
        z_edges = []
        for ax in axes[1:]:
            e = np.asarray(ax.edges if hasattr(ax, "edges") else [ax[i] for i in range(len(ax))])
            if e.ndim == 2:  # UHI: list of (lo, hi)
                e = np.append(e[:, 0], e[-1, 1])
            z_edges.append(e)
        names = [getattr(ax, "name", "") or f"z{i}" for i, ax in enumerate(axes[1:])]
        x_name = getattr(axes[0], "name", "") or "x"
        var = h.variances() if callable(getattr(h, "variances", None)) else None
        return cls.from_array(h.values(), z_edges, variances=var, x_name=x_name, z_names=names, source=source)

    # -- views --------------------------------------------------------------------
    @property
    def x_name(self) -> str:
        """Name of the fit-bin axis."""
        return str(self.hist.axes[0].name)

    @property
    def z_names(self) -> tuple[str, ...]:
        """Names of the kinematic axes."""
        return tuple(str(a.name) for a in self.hist.axes[1:])

    @property
    def z_edges(self) -> list[np.ndarray]:
        """Bin edges of each kinematic axis."""
        return [np.asarray(a.edges) for a in self.hist.axes[1:]]

    @property
    def n_x(self) -> int:
        """Number of fit bins."""
        return int(self.hist.axes[0].size)

    @property
    def z_shape(self) -> tuple[int, ...]:
        """Shape of the kinematic binning."""
        return tuple(int(a.size) for a in self.hist.axes[1:])

    def values(self, *, flat: bool = True) -> np.ndarray:
        """n(x, z); with ``flat`` the z axes are flattened (C order) to shape ``(n_x, n_z)``."""
        v = np.asarray(self.hist.values(), dtype=float)
        return v.reshape(self.n_x, -1) if flat else v

    def variances(self, *, flat: bool = True) -> np.ndarray:
        """Variances of n(x, z) (sum of squared weights)."""
        v = np.asarray(self.hist.variances(), dtype=float)
        return v.reshape(self.n_x, -1) if flat else v

    def yields(self) -> np.ndarray:
        """Total yield per fit bin, sum over z."""
        out: np.ndarray = self.values().sum(axis=1)
        return out

    def efficiency(self, produced: Any) -> np.ndarray:
        """epsilon(x|z) = n(x, z) / N(z) with ``produced`` = N(z), the produced yield per z bin.

        z bins with nothing produced get efficiency 0.
        """
        n = np.asarray(produced, dtype=float).reshape(-1)
        if n.shape[0] != self.values().shape[1] or np.any(n < 0) or not np.all(np.isfinite(n)):
            msg = f"{self.source}: produced yields need {self.values().shape[1]} finite non-negative entries"
            raise DensityError(msg)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: np.ndarray = np.where(n > 0, self.values() / np.where(n > 0, n, 1.0), 0.0)
        return out

    # -- validation --------------------------------------------------------------
    def check(self, *, n_bins: int | None = None, where: str | None = None) -> None:
        """Validate contents: finite, non-negative, no empty fit bin, optional bin count.

        Raises
        ------
        DensityError
            With the source, channel (``where``) and offending bin in the message.
        """
        loc = where or self.source
        v = self.values()
        if n_bins is not None and v.shape[0] != n_bins:
            msg = f"{loc}: density has {v.shape[0]} fit-bin rows but the channel has {n_bins} bins"
            raise DensityError(msg)
        bad = np.argwhere(~np.isfinite(v))
        if len(bad):
            i, j = bad[0]
            msg = f"{loc}: non-finite entry {v[i, j]} at fit bin {i}, z bin {j}"
            raise DensityError(msg)
        neg = np.argwhere(v < 0)
        if len(neg):
            i, j = neg[0]
            msg = f"{loc}: negative entry {v[i, j]} at fit bin {i}, z bin {j}"
            raise DensityError(msg)
        var = self.variances()
        bad = np.argwhere(~np.isfinite(var) | (var < 0))
        if len(bad):
            i, j = bad[0]
            msg = f"{loc}: variance {var[i, j]} at fit bin {i}, z bin {j} (must be finite and >= 0)"
            raise DensityError(msg)
        empty = np.flatnonzero(v.sum(axis=1) == 0)
        if len(empty):
            msg = f"{loc}: fit bin {int(empty[0])} has no entries in any z bin; cannot reweight it"
            raise DensityError(msg)

    # -- serialisation ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (used inside redist model files)."""
        return {
            "x_name": self.x_name,
            "n_x": self.n_x,
            "z_axes": [{"name": n, "edges": e.tolist()} for n, e in zip(self.z_names, self.z_edges)],
            "layout": "rows = fit bins (pyhf order); columns = z bins flattened in C order",
            "values": self.values().tolist(),
            "variances": self.variances().tolist(),
        }

    @classmethod
    def from_dict(cls, d: Any, *, source: str = "<dict>") -> JointDensity:
        """Inverse of :meth:`to_dict`, with every field checked before anything is built.

        Raises
        ------
        DensityError
            A missing or mistyped field, ragged or mis-sized value rows, variances of
            another shape, or ``n_x`` not matching the rows (naming ``source``);
            :class:`~redist.exceptions.InputLimitError` for sizes above
            :mod:`redist.io.limits`.
        """
        from .io.validate import check_density_sizes, is_number_list

        if not isinstance(d, Mapping):
            msg = f"{source}: a density entry must be an object, got {type(d).__name__}"
            raise DensityError(msg)
        axes = d.get("z_axes")
        if not isinstance(axes, list) or not axes:
            msg = f"{source}: z_axes must be a non-empty list"
            raise DensityError(msg)
        names, edges = [], []
        for i, ax in enumerate(axes):
            if (
                not isinstance(ax, Mapping)
                or not isinstance(ax.get("name"), str)
                or not isinstance(ax.get("edges"), list)
                or len(ax["edges"]) < 2
                or not is_number_list(ax["edges"])
            ):
                msg = f"{source}: z_axes/{i} needs a name and a list of at least 2 numeric edges"
                raise DensityError(msg)
            names.append(ax["name"])
            edges.append(ax["edges"])
        x_name = d.get("x_name", "x")
        if not isinstance(x_name, str):
            msg = f"{source}: x_name must be a string"
            raise DensityError(msg)
        z_bins = [len(e) - 1 for e in edges]
        values = d.get("values")
        rows = len(values) if isinstance(values, list) else 0
        check_density_sizes(rows, z_bins, where=source)
        n_z = math.prod(z_bins)
        for what in ("values", "variances"):
            table = d.get(what)
            if what == "variances" and table is None:
                continue
            if not isinstance(table, list) or not table or len(table) != rows:
                msg = f"{source}: {what} must be a list of {max(rows, 1)} rows (one per fit bin)"
                raise DensityError(msg)
            try:
                arr = np.array(table)
            except (ValueError, TypeError):
                arr = np.array([])
            if arr.shape != (rows, n_z) or arr.dtype.kind not in "fiu" or not np.isfinite(arr).all():
                msg = (
                    f"{source}: {what} must be {rows} rows of {n_z} finite numbers "
                    f"(one per fit bin and z bin)"
                )
                raise DensityError(msg)
        n_x = d.get("n_x", rows)
        if not isinstance(n_x, int) or isinstance(n_x, bool) or n_x != rows:
            msg = f"{source}: n_x = {str(n_x)[:20]} but {rows} rows of values"
            raise DensityError(msg)
        return cls.from_array(
            d["values"], edges, variances=d.get("variances"), x_name=x_name, z_names=names, source=source
        )

    def __repr__(self) -> str:
        return f"<JointDensity {self.n_x} fit bins x {self.z_shape} {self.z_names} from {self.source}>"
