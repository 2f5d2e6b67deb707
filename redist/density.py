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

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hist
import numpy as np

from .exceptions import DensityError

__all__ = ["JointDensity"]


def _edges_list(z_edges: Any, error: type[DensityError] = DensityError) -> list[np.ndarray]:
    """Bin edges per z axis (one flat sequence means one axis), checked finite and increasing."""
    if len(z_edges) > 0 and np.ndim(z_edges[0]) == 0:
        z_edges = [z_edges]
    out = [np.asarray(e, dtype=float) for e in z_edges]
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
) -> hist.Hist:
    """Empty n(x, z) histogram with Weight storage (x: Integer axis, z: Variable axes)."""
    if len(z_names) != len(z_edges):
        msg = f"{len(z_edges)} z axes but {len(z_names)} names {list(z_names)}"
        raise error(msg)
    if int(n_x) < 1:
        msg = f"n_x must be a positive number of fit bins, got {n_x}"
        raise error(msg)
    axes = [hist.axis.Integer(0, int(n_x), name=x_name, label="fit bin", underflow=False, overflow=False)]
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

    def __init__(self, histogram: hist.Hist, *, source: str = "<memory>") -> None:
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
        vals = np.asarray(values, dtype=float)
        shape = tuple(len(e) - 1 for e in edges)
        if vals.ndim == 2 and len(edges) > 1 and vals.shape[1] == int(np.prod(shape)):
            vals = vals.reshape((vals.shape[0], *shape))
        if vals.ndim != 1 + len(edges) or vals.shape[1:] != shape:
            msg = f"{source}: values of shape {vals.shape} do not match z binning {shape} (+ x axis)"
            raise DensityError(msg)
        h = _empty_hist(vals.shape[0], edges, x_name, z_names)
        view = h.view()
        view["value"] = vals
        var = np.zeros_like(vals) if variances is None else np.asarray(variances, float)
        view["variance"] = var.reshape(vals.shape)
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
        """
        edges = _edges_list(z_edges)
        xi = np.asarray(x)
        zz = np.asarray(z, dtype=float)
        if zz.ndim == 1:
            zz = zz[:, None]
        if zz.shape != (len(xi), len(edges)):
            msg = f"z must have shape ({len(xi)}, {len(edges)}), got {np.shape(z)}"
            raise DensityError(msg)
        w = np.ones(len(xi)) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != xi.shape or not np.all(np.isfinite(w)):
            msg = "weights must be finite with one entry per event"
            raise DensityError(msg)
        if not np.all(np.isfinite(zz)):
            msg = "z contains non-finite values"
            raise DensityError(msg)
        h = _empty_hist(n_x, edges, x_name, z_names)
        fill = {x_name: xi}
        fill.update({n: zz[:, i] for i, n in enumerate(z_names)})
        h.fill(**fill, weight=w)
        return cls(h, source="<events>")

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        z_edges: Any,
        *,
        x_name: str = "x",
        z_names: Sequence[str] = ("q2",),
    ) -> JointDensity:
        """Read the published layout: one row per fit bin, one column per (flattened) z bin."""
        path = Path(path)
        try:
            vals = np.loadtxt(path, delimiter=",", ndmin=2)
        except (ValueError, OSError) as err:
            msg = f"{path}: cannot read as a comma-separated number table ({err})"
            raise DensityError(msg) from err
        return cls.from_array(vals, z_edges, x_name=x_name, z_names=z_names, source=str(path))

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
        return self.values().sum(axis=1)

    def efficiency(self, produced: Any) -> np.ndarray:
        """epsilon(x|z) = n(x, z) / N(z) with ``produced`` = N(z), the produced yield per z bin.

        z bins with nothing produced get efficiency 0.
        """
        n = np.asarray(produced, dtype=float).reshape(-1)
        if n.shape[0] != self.values().shape[1] or np.any(n < 0) or not np.all(np.isfinite(n)):
            msg = f"{self.source}: produced yields need {self.values().shape[1]} finite non-negative entries"
            raise DensityError(msg)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 0, self.values() / np.where(n > 0, n, 1.0), 0.0)

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
    def from_dict(cls, d: dict[str, Any], *, source: str = "<dict>") -> JointDensity:
        """Inverse of :meth:`to_dict`."""
        try:
            edges = [ax["edges"] for ax in d["z_axes"]]
            names = [ax["name"] for ax in d["z_axes"]]
            out = cls.from_array(
                d["values"], edges, variances=d.get("variances"), x_name=d.get("x_name", "x"),
                z_names=names, source=source,
            )
        except (KeyError, TypeError) as err:
            msg = f"{source}: malformed density entry ({err!r})"
            raise DensityError(msg) from err
        if out.n_x != d.get("n_x", out.n_x):
            msg = f"{source}: n_x = {d['n_x']} but {out.n_x} rows of values"
            raise DensityError(msg)
        return out

    def __repr__(self) -> str:
        return f"<JointDensity {self.n_x} fit bins x {self.z_shape} {self.z_names} from {self.source}>"
