"""Plots of inference results: profiles, contours, posteriors, pre/post-fit templates.

Every function takes a keyword-only ``ax`` (a new figure is made when it is
``None``), draws nothing else, changes no global style, and returns a small
dataclass of the artists it created. matplotlib is imported on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..typing import ModelLike
from .scan import ScanResult, delta_level

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import PolyCollection
    from matplotlib.container import ErrorbarContainer
    from matplotlib.contour import QuadContourSet
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon, Rectangle, StepPatch

    from .bayes import PosteriorResult
    from .limits import LimitResult

__all__ = [
    "ContourArtists",
    "LimitArtists",
    "PosteriorArtists",
    "ProfileArtists",
    "TemplateArtists",
    "plot_contour",
    "plot_corner",
    "plot_limit",
    "plot_posterior",
    "plot_profile",
    "plot_templates",
]


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


@dataclass
class ProfileArtists:
    """Artists of :func:`plot_profile`."""

    curve: Line2D
    levels: list[Line2D] = field(default_factory=list)
    failed: Line2D | None = None


def plot_profile(
    result: ScanResult,
    *,
    ax: Axes | None = None,
    cls: Sequence[float] = (0.6827, 0.95),
    label: str | None = None,
    color: str | None = None,
) -> ProfileArtists:
    """Δ(−2 ln L) of a 1D scan with 1-dof confidence levels; non-converged points marked."""
    ax = _axes(ax)
    x = result.grid[0]
    y = result.delta
    (curve,) = ax.plot(x, y, "-", color=color, label=label or "profile likelihood")
    lv = []
    for cl in cls:
        lv.append(ax.axhline(delta_level(cl, 1), color="0.5", ls=":", lw=1))
    failed = None
    if not np.all(result.converged):
        bad = ~result.converged
        failed = ax.plot(x[bad], y[bad], "x", color="red", label="fit not converged")[0]
    ax.set_xlabel(result.parameters[0])
    ax.set_ylabel(r"$-2\Delta\ln L$")
    top = max(delta_level(max(cls), 1) * 2, 1.0)
    ax.set_ylim(0, min(np.nanmax(y) * 1.05, top) if np.isfinite(np.nanmax(y)) else top)
    return ProfileArtists(curve=curve, levels=lv, failed=failed)


@dataclass
class ContourArtists:
    """Artists of :func:`plot_contour`."""

    filled: QuadContourSet | None
    lines: QuadContourSet
    bestfit: Line2D
    sm: Line2D | None = None


def plot_contour(
    result: ScanResult,
    *,
    ax: Axes | None = None,
    cls: Sequence[float] = (0.6827, 0.95),
    dof: int = 2,
    sm: Sequence[float] | None = None,
    filled: bool = True,
    cmap: str = "Blues_r",
) -> ContourArtists:
    """Confidence regions of a 2D scan (filled), best fit and an optional SM point."""
    ax = _axes(ax)
    x, y = result.grid[0], result.grid[1]
    z = result.delta.T  # rows: second parameter
    levels = [delta_level(cl, dof) for cl in sorted(cls)]
    fill = None
    if filled:
        fill = ax.contourf(x, y, z, levels=[0.0, *levels], cmap=cmap, alpha=0.8)
    lines = ax.contour(x, y, z, levels=levels, colors="k", linewidths=1)
    bx, by = (float(result.bestfit.bestfit[i]) for i in result.indices)  # the unconditional fit
    (best,) = ax.plot([bx], [by], "k+", ms=10, label="best fit")
    smp = None
    if sm is not None:
        (smp,) = ax.plot([sm[0]], [sm[1]], "r*", ms=12, label="SM")
    ax.set_xlabel(result.parameters[0])
    ax.set_ylabel(result.parameters[1])
    return ContourArtists(filled=fill, lines=lines, bestfit=best, sm=smp)


@dataclass
class PosteriorArtists:
    """Artists of :func:`plot_posterior`."""

    hist: tuple[Any, ...]
    hpd: Polygon | Rectangle | None = None
    mode: Line2D | None = None


def plot_posterior(
    result: PosteriorResult,
    name: str,
    *,
    ax: Axes | None = None,
    bins: int = 60,
    cl: float = 0.95,
    color: str = "C0",
) -> PosteriorArtists:
    """Marginal posterior of one parameter with its HPD interval and mode."""
    from .bayes import hpd_interval

    ax = _axes(ax)
    col = result.column(name)
    h = ax.hist(col, bins=bins, density=True, histtype="step", color=color, label="posterior")
    lo, hi = hpd_interval(col, cl)
    span = ax.axvspan(lo, hi, color=color, alpha=0.15, label=f"{cl:.0%} HPD")
    mode = None
    if name in result.summary:
        mode = ax.axvline(result.summary[name]["mode"], color=color, ls="--", label="mode")
    ax.set_xlabel(name)
    ax.set_ylabel("posterior density")
    return PosteriorArtists(hist=h, hpd=span, mode=mode)


def plot_corner(
    result: PosteriorResult, names: Sequence[str], *, fig: Figure | None = None, bins: int = 40
) -> np.ndarray:
    """Corner plot (1D marginals on the diagonal, 2D histograms below); returns the axes."""
    import matplotlib.pyplot as plt

    n = len(names)
    if fig is None:
        fig = plt.figure(figsize=(2.4 * n, 2.4 * n))
    axes = fig.subplots(n, n, squeeze=False)
    cols = [result.column(k) for k in names]
    for i in range(n):
        for j in range(n):
            a = axes[i, j]
            if j > i:
                a.set_visible(False)
                continue
            if i == j:
                a.hist(cols[i], bins=bins, histtype="step", color="k", density=True)
                a.set_yticks([])
            else:
                a.hist2d(cols[j], cols[i], bins=bins, cmap="Greys")
            if i == n - 1:
                a.set_xlabel(names[j])
            if j == 0 and i > 0:
                a.set_ylabel(names[i])
    return axes


@dataclass
class LimitArtists:
    """Artists of :func:`plot_limit`."""

    observed: Line2D
    expected: Line2D
    band1: PolyCollection
    band2: PolyCollection
    level: Line2D


def plot_limit(result: LimitResult, *, ax: Axes | None = None) -> LimitArtists:
    """CLs versus the tested values: observed, expected median with ±1σ/±2σ bands, the CL line."""
    ax = _axes(ax)
    e = result.cls_expected
    band2 = ax.fill_between(result.scan, e[0], e[4], color="yellow", label=r"expected $\pm 2\sigma$")
    band1 = ax.fill_between(result.scan, e[1], e[3], color="limegreen", label=r"expected $\pm 1\sigma$")
    (expected,) = ax.plot(result.scan, e[2], "k--", label="expected")
    (observed,) = ax.plot(result.scan, result.cls_observed, "k-", label="observed")
    level = ax.axhline(1 - result.cl, color="red")
    ax.set_xlabel(result.parameter)
    ax.set_ylabel("CLs")
    return LimitArtists(observed=observed, expected=expected, band1=band1, band2=band2, level=level)


@dataclass
class TemplateArtists:
    """Artists of :func:`plot_templates`."""

    stacks: list[StepPatch]
    data: ErrorbarContainer | None


def plot_templates(
    model: ModelLike,
    channel: str,
    *,
    pars: npt.ArrayLike | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> TemplateArtists:
    """Stacked expected yields per sample in one channel, with the observed data.

    ``pars``: a full parameter vector or a :class:`~redist.infer.FitResult`'s
    ``bestfit`` (post-fit); ``None`` gives the pre-fit templates (suggested init).
    """
    import pyhf

    from ._objective import pyhf_backend

    ax = _axes(ax)
    with pyhf_backend("numpy"):
        pm = model if isinstance(model, pyhf.pdf.Model) else model.model
        cfg = pm.config
        if channel not in cfg.channels:
            from ..exceptions import ModelSpecError

            msg = f"model has no channel {channel!r}; channels: {cfg.channels}"
            raise ModelSpecError(msg)
        p = np.asarray(cfg.suggested_init() if pars is None else pars, dtype=float)
        by_sample = np.asarray(pm.main_model.expected_data(p, return_by_sample=True))
        data = np.asarray(model.data)[: cfg.nmaindata] if hasattr(model, "data") else None
    sl = cfg.channel_slices[channel]
    edges = np.arange(sl.stop - sl.start + 1)
    bottom = np.zeros(len(edges) - 1)
    stacks = []
    for k, sample in enumerate(cfg.samples):
        y = by_sample[k, sl]
        if not np.any(y):
            continue
        stacks.append(ax.stairs(bottom + y, edges, baseline=bottom, fill=True, label=sample,
                                color=f"C{k % 10}"))
        bottom = bottom + y
    dat = None
    if data is not None:
        centers = 0.5 * (edges[1:] + edges[:-1])
        d = data[sl]
        dat = ax.errorbar(centers, d, yerr=np.sqrt(d), fmt="ko", label="data")
    ax.set_xlabel("bin")
    ax.set_ylabel("events")
    ax.set_title(title if title is not None else channel, fontsize="small")
    return TemplateArtists(stacks=stacks, data=dat)
