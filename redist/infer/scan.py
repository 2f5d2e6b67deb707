"""Profile-likelihood scans in one or two parameters, with intervals and contours.

:func:`scan` fixes the scanned parameters on a grid and profiles all others.
On the jax backend every grid point is an independent fit by
:mod:`redist.engine`'s batched Newton minimiser (exact Hessian), started from the
global best fit, in blocks of :data:`BLOCK` points through one compiled executable;
a point whose Newton fit does not converge is refitted with Minuit. On the numpy
backend the grid is cut into *chains* — for a 1D scan the two runs outward from the
grid point nearest the best fit, for a 2D scan the same for every row — and every
Minuit fit in a chain starts from the previous fit's minimum (warm start), every
chain from the global best fit. Blocks and chains are independent, so they run either
serially or as Dask tasks (one task per block or chain) with identical results
(same starting points, same compiled executables, loaded from jax's persistent
compilation cache by worker processes).

Levels: Δ(−2 ln L) thresholds for a confidence level and a number of degrees of
freedom come from the χ² quantile (:func:`delta_level`), e.g. 1.0 and 3.84 for
68.27 % and 95 % at 1 dof, 2.30 and 5.99 at 2 dof.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from ..exceptions import ModelSpecError
from ..progress import Progress, resolve
from ..typing import FixedValues, ModelLike, ParameterValues
from ._objective import Objective, objective
from ._tasks import ObjectiveHandle, dask_client, json_dict
from .mle import FitResult, fit, minimize, resolve_data, start_and_mask

__all__ = ["ScanResult", "delta_level", "parse_range", "scan"]


def delta_level(cl: float = 0.6827, dof: int = 1) -> float:
    """Δ(−2 ln L) threshold for a confidence level with ``dof`` degrees of freedom.

    Examples
    --------
    >>> round(delta_level(0.95, 1), 3), round(delta_level(0.95, 2), 3)
    (3.841, 5.991)
    """
    if not 0 < cl < 1:
        msg = f"confidence level must be in (0, 1), got {cl}"
        raise ModelSpecError(msg)
    return float(chi2.ppf(cl, dof))


def parse_range(text: str) -> tuple[str, np.ndarray]:
    """Parse ``"name:lo:hi:n"`` into a name and ``numpy.linspace(lo, hi, n)``.

    ``n`` is capped by ``max_grid_points`` of :mod:`redist.io.limits` before the
    grid is allocated.

    Examples
    --------
    >>> name, grid = parse_range("cVL:0:20:5")
    >>> name, grid.tolist()
    ('cVL', [0.0, 5.0, 10.0, 15.0, 20.0])
    """
    from ..io.limits import check

    parts = text.rsplit(":", 3)
    if len(parts) != 4:
        msg = f"scan range {text!r} must look like NAME:LOW:HIGH:POINTS (e.g. cVL:0:20:41)"
        raise ModelSpecError(msg)
    name, lo, hi, n = parts
    try:
        low, high, points = float(lo), float(hi), int(n)
    except ValueError as err:
        msg = f"scan range {text!r}: LOW, HIGH must be numbers and POINTS an integer"
        raise ModelSpecError(msg) from err
    if points < 2:
        msg = f"scan range {text!r}: need at least 2 points"
        raise ModelSpecError(msg)
    check("max_grid_points", points, what="grid points", where=f"scan range {text!r}", error=ModelSpecError)
    return name, np.linspace(low, high, points)


@dataclass(frozen=True)
class ScanResult:
    """Profile-likelihood scan on a 1D or 2D grid.

    Attributes
    ----------
    parameters : list of str
        Display labels of the scanned components (one or two).
    indices : list of int
        Their positions in the parameter vector (see ``bestfit.layout``).
    grid : list of numpy.ndarray
        Grid values per scanned parameter.
    twice_nll : numpy.ndarray
        Profiled −2 ln L, shape ``(n0,)`` or ``(n0, n1)``.
    converged : numpy.ndarray
        Whether each profiled fit converged (non-converged points are kept, not dropped).
    twice_nll_min : float
        Smallest −2 ln L seen (global fit or any grid point).
    bestfit : FitResult
        The unconditional fit.
    profiled : dict
        Profiled values of the free *scalar* parameters at every grid point.
    messages : dict
        ``"i"`` or ``"i,j"`` -> message for every grid point whose fit did not converge.
    nfcn, ngrad : int
        Total likelihood / gradient evaluations of all grid fits.
    time_s : float
        Wall time of the scan (without compilation of the objective).

    The JSON form carries ``"kind": "scan"`` (see :mod:`redist.report`).
    """

    kind: ClassVar[str] = "scan"

    parameters: list[str]
    indices: list[int]
    grid: list[np.ndarray]
    twice_nll: np.ndarray
    converged: np.ndarray
    twice_nll_min: float
    bestfit: FitResult = field(repr=False)
    profiled: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    nfcn: int = 0
    ngrad: int = 0
    time_s: float = 0.0

    @property
    def delta(self) -> np.ndarray:
        """Δ(−2 ln L) relative to the minimum."""
        return self.twice_nll - self.twice_nll_min

    def interval(self, cl: float = 0.6827, dof: int = 1) -> list[tuple[float, float]]:
        """Intervals of a 1D scan where Δ(−2 ln L) is below the level (linear interpolation).

        Returns a list of ``(low, high)``; an end that reaches the grid edge is the edge.
        """
        if len(self.parameters) != 1:
            msg = "interval() needs a 1D scan; use contour() for 2D scans"
            raise ModelSpecError(msg)
        level = delta_level(cl, dof)
        x = self.grid[0]
        y = self.delta
        inside = y <= level
        out = []
        i = 0
        n = len(x)
        while i < n:
            if not inside[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and inside[j + 1]:
                j += 1
            lo = x[0] if i == 0 else _cross(x[i - 1], x[i], y[i - 1], y[i], level)
            hi = x[-1] if j == n - 1 else _cross(x[j], x[j + 1], y[j], y[j + 1], level)
            out.append((float(lo), float(hi)))
            i = j + 1
        return out

    def minimum(self) -> dict[str, float]:
        """Grid point with the smallest profiled −2 ln L."""
        k = np.unravel_index(int(np.nanargmin(self.twice_nll)), self.twice_nll.shape)
        return {p: float(g[i]) for p, g, i in zip(self.parameters, self.grid, k)}

    def contour(self, cl: float = 0.6827, dof: int = 2) -> list[np.ndarray]:
        """Contour lines of a 2D scan at a confidence level (list of ``(n, 2)`` arrays)."""
        if len(self.parameters) != 2:
            msg = "contour() needs a 2D scan"
            raise ModelSpecError(msg)
        import contourpy

        gen = contourpy.contour_generator(
            self.grid[1], self.grid[0], self.delta, name="serial", corner_mask=False
        )
        lines = gen.lines(delta_level(cl, dof))
        return [np.asarray(seg)[:, ::-1] for seg in lines]  # columns: (par0, par1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (non-finite numbers become ``None``)."""
        d = {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}
        d["bestfit"] = self.bestfit.to_dict()
        d["intervals"] = (
            {f"{cl:g}": self.interval(cl) for cl in (0.6827, 0.9545, 0.95)}
            if len(self.parameters) == 1
            else {}
        )
        return json_dict(d)

    def to_json(self, **kwargs: Any) -> str:
        """JSON string of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScanResult:
        """Inverse of :meth:`to_dict`."""

        def arr(v: Any, dtype: Any = float) -> np.ndarray:
            a = np.asarray(v, dtype=object)
            return np.where(a == None, np.nan, a).astype(dtype)  # noqa: E711

        return cls(
            parameters=list(d["parameters"]),
            indices=[int(i) for i in d["indices"]],
            grid=[np.asarray(g, float) for g in d["grid"]],
            twice_nll=arr(d["twice_nll"]),
            converged=np.asarray(d["converged"], bool),
            twice_nll_min=float(d["twice_nll_min"]),
            bestfit=FitResult.from_dict(d["bestfit"]),
            profiled={k: arr(v) for k, v in d.get("profiled", {}).items()},
            messages=dict(d.get("messages", {})),
            nfcn=int(d.get("nfcn", 0)),
            ngrad=int(d.get("ngrad", 0)),
            time_s=float(d.get("time_s", 0.0)),
        )


def _cross(x0: float, x1: float, y0: float, y1: float, level: float) -> float:
    if y1 == y0:
        return 0.5 * (x0 + x1)
    return x0 + (level - y0) * (x1 - x0) / (y1 - y0)


def _chains(shape: tuple[int, ...], start: tuple[int, ...]) -> list[list[tuple[int, ...]]]:
    """Warm-start chains: outward from the start index along the last axis, per row."""
    n_last = shape[-1]
    s = start[-1]
    rows: Iterable[tuple[int, ...]] = [()] if len(shape) == 1 else [(i,) for i in range(shape[0])]
    chains: list[list[tuple[int, ...]]] = []
    for r in rows:
        up = [(*r, j) for j in range(s, n_last)]
        down = [(*r, j) for j in range(s - 1, -1, -1)]
        chains.extend(c for c in (up, down) if c)
    return chains


def _run_chain(
    obj: Objective | ObjectiveHandle,
    data: np.ndarray,
    x_start: np.ndarray,
    mask: np.ndarray,
    indices: Sequence[int],
    points: Sequence[Sequence[float]],
    keys: Sequence[tuple[int, ...]],
    options: Mapping[str, Any],
) -> list[tuple[tuple[int, ...], float, bool, np.ndarray, str, int, int]]:
    """Fit every point of one chain, each warm-started from the previous minimum."""
    if isinstance(obj, ObjectiveHandle):
        obj = obj.resolve()
    x = np.asarray(x_start, dtype=float).copy()
    out = []
    curvature = None
    for key, pt in zip(keys, points):
        x[list(indices)] = pt
        if curvature is None and obj.backend == "jax":
            # one exact Hessian per chain seeds Migrad at every point of the chain
            curvature = np.diag(obj.hessian(x, data))
        r = minimize(obj, data, x, mask, errors=False, seed_curvature=curvature, **options)
        out.append((key, r.twice_nll, r.converged, r.bestfit, r.message, r.nfcn, r.ngrad))
        if r.converged and math.isfinite(r.twice_nll):
            x = r.bestfit.copy()
    return out


#: grid points per batched-minimiser call and per Dask task (one compiled executable for every scan)
BLOCK = 16


def _run_block(
    obj: Objective | ObjectiveHandle,
    data: np.ndarray,
    x_start: np.ndarray,
    mask: np.ndarray,
    indices: Sequence[int],
    points: Sequence[Sequence[float]],
    keys: Sequence[tuple[int, ...]],
    options: Mapping[str, Any],
) -> list[tuple[tuple[int, ...], float, bool, np.ndarray, str, int, int]]:
    """Fit a block of grid points at once with redist.engine's batched Newton minimiser.

    Every point starts from ``x_start`` (the best fit) with the scanned components
    set; points are independent, so the result of a point does not depend on the
    block it is in. A point whose Newton fit does not converge is refitted with
    Minuit (:func:`~redist.infer.mle.minimize`, with retries) from the same start.
    """
    from .. import engine

    if isinstance(obj, ObjectiveHandle):
        obj = obj.resolve()
    x0 = np.tile(np.asarray(x_start, dtype=float), (len(points), 1))
    x0[:, list(indices)] = np.asarray(points, dtype=float)
    fixed = np.tile(mask, (len(points), 1))
    res = engine.minimize_batch(obj.engine, data=data, init=x0, fixed=fixed, chunk=BLOCK)
    out = []
    for r, key in enumerate(keys):
        it = int(res.iterations[r])
        if res.converged[r] and math.isfinite(res.twice_nll[r]):
            out.append((key, float(res.twice_nll[r]), True, res.x[r], "converged", it, it))
            continue
        m = minimize(obj, data, x0[r], mask, errors=False, **options)
        msg = f"batched Newton did not converge; Minuit: {m.message}"
        out.append((key, m.twice_nll, m.converged, m.bestfit, msg, it + m.nfcn, it + m.ngrad))
    return out


ScanKey = str | tuple[str, int]


def scan(
    model: ModelLike,
    pars: Mapping[ScanKey, npt.ArrayLike] | Sequence[str],
    *,
    fixed: FixedValues | None = None,
    fix_groups: bool = False,
    init: ParameterValues | None = None,
    backend: str = "auto",
    data: npt.ArrayLike | None = None,
    tolerance: float = 1e-3,
    retries: int = 1,
    dask: Any = None,
    progress: Progress | bool | None = None,
) -> ScanResult:
    """Profile −2 ln L on a grid of one or two parameters, all others profiled.

    Parameters
    ----------
    model : ModelLike
        The likelihood.
    pars : mapping or sequence of str
        ``{"cVL": grid}`` (one or two entries) or ``["cVL:0:20:41", "cTL:0:15:31"]``;
        a component of a vector parameter is the key ``(name, component)``.
    fixed, fix_groups, init, backend, data, tolerance, retries
        As for :func:`~redist.infer.fit`.
    dask : str, distributed.Client or True, optional
        Run the chains as Dask tasks: a scheduler address, a client, or ``True``
        for a local (threaded) cluster. Results equal the serial run.
    progress : Progress or bool, optional
        Reporter of the phases and of the grid points (one bar, counting fits);
        ``None``: the reporter installed with :func:`redist.progress.use` (silent by
        default), ``True``: plain lines on standard error.

    Returns
    -------
    ScanResult
    """
    grid_of: dict[ScanKey, npt.ArrayLike] = (
        dict(pars) if isinstance(pars, Mapping) else dict(parse_range(p) for p in pars)
    )
    if not 1 <= len(grid_of) <= 2:
        msg = f"scan one or two parameters, got {list(grid_of)}"
        raise ModelSpecError(msg)
    rep = resolve(progress)
    with rep.phase("compile"):
        obj = objective(model, backend)
    layout = obj.layout
    d = resolve_data(obj, data)
    idx = [layout.index(k) if isinstance(k, str) else layout.index(*k) for k in grid_of]
    grids = [np.asarray(g, dtype=float) for g in grid_of.values()]
    best = fit(model, fixed=fixed, fix_groups=fix_groups, init=init, backend=obj.backend,
               data=d, errors=False, tolerance=tolerance, retries=max(retries, 1), progress=rep)
    x0, mask = start_and_mask(layout, init, fixed, fix_groups)
    for i in idx:
        if mask[i]:
            msg = f"scanned parameter {layout.labels[i]!r} is fixed (by fixed= or the measurement)"
            raise ModelSpecError(msg)
        mask[i] = True
    start_vec = np.where(mask, x0, best.bestfit)
    shape = tuple(len(g) for g in grids)
    nearest = tuple(int(np.argmin(np.abs(g - best.bestfit[i]))) for g, i in zip(grids, idx))
    options = {"tolerance": tolerance, "retries": retries}
    jobs = []
    batched = getattr(obj, "engine", None) is not None
    if batched:
        # every point an independent batched Newton fit from the best fit, in blocks of BLOCK
        flat = [tuple(int(i) for i in k) for k in np.ndindex(*shape)]
        for s in range(0, len(flat), BLOCK):
            block = flat[s : s + BLOCK]
            jobs.append((idx, [[grids[a][k[a]] for a in range(len(grids))] for k in block], block))
    else:
        for ch in _chains(shape, nearest):
            pts = [[grids[a][k[a]] for a in range(len(grids))] for k in ch]
            jobs.append((idx, pts, ch))
    task = _run_block if batched else _run_chain
    t0 = time.perf_counter()
    results: list[Any] = []
    desc = "scan " + " x ".join(layout.labels[i] for i in idx)
    bar = rep.bar(int(np.prod(shape)), desc, unit="fit")
    try:
        if dask is None or dask is False:
            for ind, pts, keys in jobs:
                r = task(obj, d, start_vec, mask, ind, pts, keys, options)
                results.extend(r)
                bar.advance(len(r))
        else:
            from distributed import as_completed

            client, close = dask_client(dask)
            handle = ObjectiveHandle(model, obj)
            try:
                futs = [client.submit(task, handle, d, start_vec, mask, ind, pts, keys, options,
                                      pure=False) for ind, pts, keys in jobs]
                for f in as_completed(futs):
                    r = f.result()
                    results.extend(r)
                    bar.advance(len(r))
            finally:
                handle.release()
                close()
    finally:
        bar.close()
    twice = np.full(shape, np.nan)
    conv = np.zeros(shape, dtype=bool)
    scalar = [e for e in layout.entries if e.scalar]
    prof = {e.name: np.full(shape, np.nan) for e in scalar if e.start not in idx}
    where = {e.name: e.start for e in scalar}
    messages = {}
    nfcn = ngrad = 0
    for key, v, ok, xb, message, nf, ng in results:
        twice[key] = v
        conv[key] = ok
        nfcn += nf
        ngrad += ng
        for n in prof:
            prof[n][key] = xb[where[n]]
        if not ok:
            messages[",".join(map(str, key))] = message
    tmin = float(min(best.twice_nll, np.nanmin(twice)))
    return ScanResult(
        parameters=[layout.labels[i] for i in idx],
        indices=idx,
        grid=grids,
        twice_nll=twice,
        converged=conv,
        twice_nll_min=tmin,
        bestfit=best,
        profiled=prof,
        messages=messages,
        nfcn=nfcn,
        ngrad=ngrad,
        time_s=time.perf_counter() - t0,
    )
