"""Plots of results: profiles, contours, limits, posteriors, templates, pulls, correlations, impacts.

Every function takes a keyword-only ``ax`` (a new figure is made when it is
``None``), draws only on the axes it is given, changes no global style, and
returns a small dataclass of the artists it created. The HEP look (mplhep's
ROOT-like style: inward ticks on all sides, minor ticks) is applied only inside
:func:`style`, a context manager; the figure builders of :mod:`redist.report.figures`
create their figures inside it. matplotlib and mplhep are imported on first use.

Colours: :func:`sample_colors` gives every sample one fixed colour, the same in
every channel (sorted names map to a colour-blind-safe palette; signal samples
are red and drawn on top). :func:`channel_labels` shortens long channel names
to the tokens that tell them apart, keeping a ``X__`` prefix (Belle II's A/B/C/D).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from ..typing import ModelLike
from .scan import ScanResult, delta_level

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import PolyCollection
    from matplotlib.container import BarContainer, ErrorbarContainer
    from matplotlib.contour import QuadContourSet
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon, Rectangle, StepPatch
    from matplotlib.text import Text

    from .bayes import PosteriorResult
    from .impacts import ImpactResult
    from .limits import LimitResult
    from .mle import FitResult

__all__ = [
    "ContourArtists",
    "CorrelationArtists",
    "ImpactArtists",
    "LimitArtists",
    "PosteriorArtists",
    "ProfileArtists",
    "PullArtists",
    "TemplateArtists",
    "channel_labels",
    "plot_contour",
    "plot_corner",
    "plot_correlation",
    "plot_impacts",
    "plot_limit",
    "plot_posterior",
    "plot_profile",
    "plot_pulls",
    "plot_templates",
    "sample_colors",
    "style",
    "yield_uncertainty",
]

#: colour-blind-safe palette (Petroff 2021, 10 colours) without its red, which marks signal
BACKGROUND_COLORS = (
    "#3f90da",
    "#ffa90e",
    "#94a4a2",
    "#832db6",
    "#a96b59",
    "#e76300",
    "#b9ac70",
    "#717581",
    "#92dadd",
    "#5a9e3a",
    "#c8b2e0",
    "#f5d28a",
)
SIGNAL_COLOR = "#bd1f01"
#: Δ(−2 ln L) colours of the 68 % and 95 % regions
CL_COLORS = ("#3f90da", "#a6cbee")


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure().subplots()
    return ax


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The HEP plotting style (mplhep's ROOT style plus redist's sizes), for the block only.

    Examples
    --------
    >>> import matplotlib
    >>> before = dict(matplotlib.rcParams)
    >>> with style():
    ...     matplotlib.rcParams["xtick.direction"]
    'in'
    >>> dict(matplotlib.rcParams) == before
    True
    """
    import matplotlib

    try:
        import mplhep

        base: Any = mplhep.style.ROOT
    except ImportError:  # pragma: no cover - mplhep is a dependency; style degrades gracefully
        base = {}
    extra: dict[str, Any] = {
        "xtick.direction": "in",
        "ytick.direction": "in",
        "xtick.top": True,
        "ytick.right": True,
        "xtick.minor.visible": True,
        "ytick.minor.visible": True,
        "legend.frameon": False,
        "font.size": 11,
        "axes.labelsize": 12,
        "axes.titlesize": 11,
        "legend.fontsize": 9,
        "figure.dpi": 100,
        "savefig.bbox": "tight",
        "axes.unicode_minus": False,
        # mplhep's TeX Gyre Heros when mplhep-data provides it, else DejaVu Sans; math in DejaVu
        # (mplhep's custom math fonts make matplotlib search for a 'cursive' family and warn)
        "font.sans-serif": ["TeX Gyre Heros", "Helvetica", "Arial", "DejaVu Sans"],
        "mathtext.fontset": "dejavusans",
    }
    with matplotlib.rc_context(), matplotlib.style.context(base):
        cast(Any, matplotlib.rcParams).update(extra)
        yield


# ----------------------------------------------------------------------------- names and colours
def sample_colors(samples: Sequence[str], signal: Sequence[str] = ()) -> dict[str, str]:
    """One fixed colour per sample: signal samples red, the others from the palette by sorted name.

    Examples
    --------
    >>> c = sample_colors(["qcd", "ttbar", "sig"], signal=["sig"])
    >>> c["sig"], c["qcd"] == sample_colors(["ttbar", "qcd"])["qcd"]
    ('#bd1f01', True)
    """
    sig = set(signal)
    out = {}
    k = 0
    for s in sorted(set(samples)):
        if s in sig:
            out[s] = SIGNAL_COLOR
        else:
            out[s] = BACKGROUND_COLORS[k % len(BACKGROUND_COLORS)]
            k += 1
    return out


def channel_labels(channels: Sequence[str], width: int = 24) -> dict[str, str]:
    """Readable channel labels: long names keep their ``X__`` prefix and the tokens that differ.

    Examples
    --------
    >>> names = ["A__Bsig_reco_q2_zoomSR_Y4S", "B__Bsig_reco_q2_zoomCR_Y4S", "sgn1_had"]
    >>> list(channel_labels(names, width=12).values())
    ['A: zoomSR', 'B: zoomCR', 'sgn1_had']
    """
    long = [c for c in channels if len(c) > width]

    def split(c: str) -> tuple[str, list[str]]:
        prefix, sep, rest = c.partition("__")
        if not sep or len(prefix) > 4:
            return "", [t for t in c.split("_") if t]
        return prefix, [t for t in rest.split("_") if t]

    common: set[str] = set()
    if len(long) > 1:
        sets = [set(split(c)[1]) for c in long]
        common = set.intersection(*sets)
    out = {}
    for c in channels:
        if c not in long:
            out[c] = c
            continue
        prefix, tokens = split(c)
        keep = [t for t in tokens if t not in common] or tokens[-2:]
        text = " ".join(keep)
        out[c] = f"{prefix}: {text}" if prefix else text
    return out


# ----------------------------------------------------------------------------- profiles and contours
@dataclass
class ProfileArtists:
    """Artists of :func:`plot_profile`."""

    curve: Line2D
    levels: list[Line2D] = field(default_factory=list)
    level_labels: list[Text] = field(default_factory=list)
    intervals: list[Line2D] = field(default_factory=list)
    bestfit: Line2D | None = None
    failed: Line2D | None = None


def plot_profile(
    result: ScanResult,
    *,
    ax: Axes | None = None,
    cls: Sequence[float] = (0.6827, 0.95),
    label: str | None = None,
    color: str | None = None,
) -> ProfileArtists:
    """Δ(−2 ln L) of a 1D scan: labelled 1-dof thresholds, intervals marked, best fit, failed points."""
    ax = _axes(ax)
    x = result.grid[0]
    y = result.delta
    (curve,) = ax.plot(x, y, "-", color=color or "k", lw=1.8, label=label or "profile likelihood")
    lv, texts, ivs = [], [], []
    xr = (float(np.min(x)), float(np.max(x)))
    for k, cl in enumerate(sorted(cls)):
        level = delta_level(cl, 1)
        lv.append(ax.axhline(level, color="0.45", ls=":", lw=1))
        texts.append(
            # right of the axes, where the curve cannot cover it
            ax.text(
                1.01,
                level,
                f"{cl * 100:.4g} % CL",
                transform=ax.get_yaxis_transform(),
                va="center",
                ha="left",
                fontsize="small",
                color="0.3",
                clip_on=False,
            )
        )
        c = CL_COLORS[min(k, len(CL_COLORS) - 1)]
        for j, (lo, hi) in enumerate(result.interval(cl)):
            (seg,) = ax.plot(
                [lo, hi],
                [level, level],
                "-",
                color=c,
                lw=5,
                alpha=0.9,
                solid_capstyle="butt",
                label=f"{cl * 100:.4g} % CL interval" if j == 0 else None,
            )
            ivs.append(seg)
    i = result.indices[0]
    bx = float(result.bestfit.bestfit[i])
    (best,) = ax.plot(
        [bx],
        [max(float(result.bestfit.twice_nll - result.twice_nll_min), 0.0)],
        "k|",
        ms=14,
        mew=2,
        label="best fit",
        clip_on=False,
    )
    failed = None
    if not np.all(result.converged):
        bad = ~result.converged
        failed = ax.plot(x[bad], y[bad], "x", color="red", label="fit not converged")[0]
    ax.set_xlabel(result.parameters[0])
    ax.set_ylabel(r"$-2\Delta\ln L$")
    top = max(delta_level(max(cls), 1) * 1.6, 1.0)
    ymax = np.nanmax(y) if np.any(np.isfinite(y)) else top
    ax.set_ylim(0, min(float(ymax) * 1.05, top) if math.isfinite(float(ymax)) else top)
    ax.set_xlim(*xr)
    return ProfileArtists(
        curve=curve, levels=lv, level_labels=texts, intervals=ivs, bestfit=best, failed=failed
    )


@dataclass
class ContourArtists:
    """Artists of :func:`plot_contour` (``legend`` holds the 68 %/95 % proxy patches first)."""

    filled: QuadContourSet | None
    lines: QuadContourSet
    bestfit: Line2D
    sm: Line2D | None = None
    legend_handles: list[Any] = field(default_factory=list)


def plot_contour(
    result: ScanResult,
    *,
    ax: Axes | None = None,
    cls: Sequence[float] = (0.6827, 0.95),
    dof: int = 2,
    sm: Sequence[float] | None = None,
    sm_label: str = "SM",
    filled: bool = True,
    legend: bool = True,
) -> ContourArtists:
    """Confidence regions of a 2D scan with a legend, the best fit and an optional SM point.

    Markers are drawn unclipped and the axis limits include them with a margin, so a
    point on the edge of the grid (the SM at cTL = 0) is fully visible.
    """
    from matplotlib.patches import Patch

    ax = _axes(ax)
    x, y = result.grid[0], result.grid[1]
    z = result.delta.T  # rows: second parameter
    cl_sorted = sorted(cls)
    levels = [delta_level(cl, dof) for cl in cl_sorted]
    colors = [CL_COLORS[min(k, len(CL_COLORS) - 1)] for k in range(len(levels))]
    fill = None
    if filled:
        fill = ax.contourf(x, y, z, levels=[0.0, *levels], colors=colors, alpha=0.85)
    lines = ax.contour(
        x,
        y,
        z,
        levels=levels,
        colors="k",
        linewidths=1.0,
        linestyles=["solid", "dashed", "dotted"][: len(levels)],
    )
    handles: list[Any] = [
        Patch(facecolor=c, edgecolor="k", ls=ls, label=f"{cl * 100:.4g} % CL")
        for c, cl, ls in zip(colors, cl_sorted, ["solid", "dashed", "dotted"])
    ]
    bx, by = (float(result.bestfit.bestfit[i]) for i in result.indices)  # the unconditional fit
    (best,) = ax.plot([bx], [by], "P", color="k", ms=9, label="best fit", clip_on=False, zorder=5)
    handles.append(best)
    smp = None
    pts_x, pts_y = [bx, float(x[0]), float(x[-1])], [by, float(y[0]), float(y[-1])]
    if sm is not None:
        (smp,) = ax.plot(
            [sm[0]],
            [sm[1]],
            "*",
            color=SIGNAL_COLOR,
            mec="k",
            mew=0.6,
            ms=15,
            label=sm_label,
            clip_on=False,
            zorder=6,
        )
        handles.append(smp)
        pts_x.append(float(sm[0]))
        pts_y.append(float(sm[1]))
    for lim, pts in ((ax.set_xlim, pts_x), (ax.set_ylim, pts_y)):
        lo, hi = min(pts), max(pts)
        pad = 0.04 * (hi - lo if hi > lo else 1.0)
        lim(lo - pad, hi + pad)
    ax.set_xlabel(result.parameters[0])
    ax.set_ylabel(result.parameters[1])
    if legend:
        ax.legend(handles=handles, loc="best", frameon=True, framealpha=0.85)
    return ContourArtists(filled=fill, lines=lines, bestfit=best, sm=smp, legend_handles=handles)


# ----------------------------------------------------------------------------- posteriors
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


def _hpd_levels(h: np.ndarray, fractions: Sequence[float]) -> list[float]:
    """Density thresholds of a 2D histogram enclosing the given probability fractions (HPD regions)."""
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat)
    total = cum[-1] if cum.size and cum[-1] > 0 else 1.0
    out = []
    for f in fractions:
        k = int(np.searchsorted(cum, f * total))
        out.append(float(flat[min(k, flat.size - 1)]))
    return out


def plot_corner(
    result: PosteriorResult,
    names: Sequence[str],
    *,
    fig: Figure | None = None,
    bins: int = 40,
    cls: Sequence[float] = (0.6827, 0.95),
) -> np.ndarray:
    """Corner plot with HPD shading; returns the axes.

    1D marginals with their 68 %/95 % HPD intervals shaded (cut exactly at the interval
    ends), 2D marginals with the 68 %/95 % highest-density regions filled.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from scipy.ndimage import gaussian_filter

    from .bayes import hpd_interval

    n = len(names)
    if fig is None:
        fig = Figure(figsize=(2.6 * n, 2.6 * n))
    axes = fig.subplots(n, n, squeeze=False)
    cols = [result.column(k) for k in names]
    cl_sorted = sorted(cls, reverse=True)  # widest first
    shades = {cl: CL_COLORS[min(k, 1)] for k, cl in enumerate(sorted(cls))}
    for i in range(n):
        for j in range(n):
            a = axes[i, j]
            if j > i:
                a.set_visible(False)
                continue
            if i == j:
                hist, edges = np.histogram(cols[i], bins=bins, density=True)
                a.stairs(hist, edges, color="k", lw=1.2)
                for cl in cl_sorted:
                    # the histogram between the HPD ends, cut exactly at them
                    lo, hi = hpd_interval(cols[i], cl)
                    xs = np.concatenate([[lo], edges[(edges > lo) & (edges < hi)], [hi]])
                    k = np.clip(np.searchsorted(edges, 0.5 * (xs[1:] + xs[:-1])) - 1, 0, hist.size - 1)
                    a.stairs(
                        hist[k],
                        xs,
                        fill=True,
                        color=shades[cl],
                        alpha=0.9,
                        lw=0,
                        label=f"{cl * 100:.4g} % HPD",
                    )
                a.set_yticks([])
                a.set_ylim(bottom=0)
            else:
                # coarser bins and a one-bin Gaussian smoothing, so that the HPD regions of
                # a few thousand samples are regions, not islands
                h, xe, ye = np.histogram2d(cols[j], cols[i], bins=max(bins // 2, 10))
                h = gaussian_filter(h, 1.0)
                levels = _hpd_levels(h, cl_sorted)
                xc, yc = 0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1])
                top = float(h.max()) * 1.0001 + 1e-12
                bounds = [*levels, top]
                if all(b2 > b1 for b1, b2 in itertools.pairwise(bounds)):
                    a.contourf(xc, yc, h.T, levels=bounds, colors=[shades[cl] for cl in cl_sorted], alpha=0.9)
                    a.contour(xc, yc, h.T, levels=levels, colors="k", linewidths=0.8)
            if i == n - 1:
                a.set_xlabel(names[j])
            if j == 0 and i > 0:
                a.set_ylabel(names[i])
    handles = [Patch(color=shades[cl], label=f"{cl * 100:.4g} % HPD") for cl in sorted(cls)]
    if n > 1:
        fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.95, 0.95), frameon=False)
    else:
        axes[0, 0].legend(handles=handles, fontsize="x-small", loc="upper right")
    return axes


# ----------------------------------------------------------------------------- limits
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
    band2 = ax.fill_between(result.scan, e[0], e[4], color="#ffdf00", label=r"expected $\pm 2\sigma$")
    band1 = ax.fill_between(result.scan, e[1], e[3], color="#00c800", label=r"expected $\pm 1\sigma$")
    (expected,) = ax.plot(result.scan, e[2], "k--", label="expected")
    (observed,) = ax.plot(result.scan, result.cls_observed, "k-", marker=".", label="observed")
    level = ax.axhline(1 - result.cl, color="red", label=f"CLs = {1 - result.cl:.2g}")
    ax.set_xlabel(result.parameter)
    ax.set_ylabel("CLs")
    return LimitArtists(observed=observed, expected=expected, band1=band1, band2=band2, level=level)


# ----------------------------------------------------------------------------- templates
def _pyhf_model(model: ModelLike) -> Any:
    import pyhf

    return model if isinstance(model, pyhf.pdf.Model) else model.model


def yield_uncertainty(model: ModelLike, pars: npt.ArrayLike, covariance: npt.ArrayLike) -> np.ndarray:
    """Total uncertainty of the expected yield of every main bin, from ±1σ variations.

    For every parameter with a non-zero variance the expected data are evaluated at
    ``pars ± σ_i`` (σ from the diagonal of ``covariance``); the symmetrised shifts
    ``J_i = (up - down) / 2`` are combined with the correlations,
    ``σ²_bin = Σ_ij J_i ρ_ij J_j`` (cabinetry's method). Pre-fit: pass a diagonal
    covariance of the pre-fit widths.
    """
    from ._objective import pyhf_backend

    p = np.asarray(pars, dtype=float)
    cov = np.asarray(covariance, dtype=float)
    sig = np.sqrt(np.clip(np.diag(cov), 0, None))
    idx = np.flatnonzero(sig > 0)
    with pyhf_backend("numpy"):
        pm = _pyhf_model(model)
        cfg = pm.config
        lo_b, hi_b = np.asarray(cfg.suggested_bounds(), dtype=float).T
        jac = np.zeros((idx.size, cfg.nmaindata))
        for r, i in enumerate(idx):
            up, dn = p.copy(), p.copy()
            up[i] = min(p[i] + sig[i], hi_b[i])
            dn[i] = max(p[i] - sig[i], lo_b[i])
            width = up[i] - dn[i]
            if width <= 0:
                continue
            diff = np.asarray(pm.expected_actualdata(up)) - np.asarray(pm.expected_actualdata(dn))
            jac[r] = diff * (2 * sig[i] / width) / 2  # scaled to a full ±1σ step when clipped at a bound
    if idx.size == 0:
        return np.zeros(cfg.nmaindata)
    s = sig[idx]
    corr = cov[np.ix_(idx, idx)] / np.outer(s, s)
    var = np.einsum("ib,ij,jb->b", jac, corr, jac)
    out: np.ndarray = np.sqrt(np.clip(var, 0, None))
    return out


@dataclass
class TemplateArtists:
    """Artists of :func:`plot_templates`."""

    stacks: list[StepPatch]
    data: ErrorbarContainer | None
    band: Any = None
    ratio_data: ErrorbarContainer | None = None
    ratio_band: Any = None
    colors: dict[str, str] = field(default_factory=dict)


def plot_templates(
    model: ModelLike,
    channel: str,
    *,
    pars: npt.ArrayLike | None = None,
    covariance: npt.ArrayLike | None = None,
    uncertainty: npt.ArrayLike | None = None,
    ax: Axes | None = None,
    ratio_ax: Axes | None = None,
    title: str | None = None,
    colors: Mapping[str, str] | None = None,
    signal: Sequence[str] | None = None,
    data: npt.ArrayLike | None = None,
    xlabel: str = "bin index",
    legend: bool = False,
) -> TemplateArtists:
    """Stacked expected yields per sample in one channel, the observed data, the uncertainty band and ratio.

    Parameters
    ----------
    model : ModelLike
        The model (its own data are drawn when it has them).
    channel : str
        Channel name.
    pars : array_like, optional
        Full parameter vector (e.g. ``FitResult.bestfit``); ``None``: the pre-fit
        (suggested initial) point.
    covariance : array_like, optional
        Covariance for the total-uncertainty band (see :func:`yield_uncertainty`), or
        ``uncertainty``: the per-bin uncertainty of all main bins, if already computed.
    ax, ratio_ax : Axes, optional
        Main axes and the axes of the data / expected ratio (no ratio panel without it).
    colors : mapping, optional
        Sample -> colour (default: :func:`sample_colors`, the same in every channel).
    signal : sequence of str, optional
        Signal samples (red, drawn on top; default: the reweighted samples of a
        reinterpreted model).
    data : array_like, optional
        Observed main data of all channels (default: the model's own, if it has any).
    """
    from matplotlib.ticker import MaxNLocator

    from ._objective import pyhf_backend

    ax = _axes(ax)
    with pyhf_backend("numpy"):
        pm = _pyhf_model(model)
        cfg = pm.config
        if channel not in cfg.channels:
            from ..exceptions import ModelSpecError

            msg = f"model has no channel {channel!r}; channels: {', '.join(cfg.channels)}"
            raise ModelSpecError(msg)
        p = np.asarray(cfg.suggested_init() if pars is None else pars, dtype=float)
        by_sample = np.asarray(pm.main_model.expected_data(p, return_by_sample=True))
        if data is not None:
            data = np.asarray(data, dtype=float)[: cfg.nmaindata]
        elif hasattr(model, "data"):
            data = np.asarray(model.data, dtype=float)[: cfg.nmaindata]
    if signal is None:
        dens = getattr(model, "densities", {})
        signal = sorted({k.split("/", 1)[1] for k in dens if "/" in k})
    sig = set(signal)
    colors = dict(colors) if colors is not None else sample_colors(cfg.samples, signal)
    sl = cfg.channel_slices[channel]
    nb = sl.stop - sl.start
    edges = np.arange(nb + 1)
    bottom = np.zeros(nb)
    stacks = []
    order = sorted(
        range(len(cfg.samples)), key=lambda k: (cfg.samples[k] in sig, -float(np.sum(by_sample[k, sl])))
    )
    for k in order:
        sample = cfg.samples[k]
        y = by_sample[k, sl]
        if not np.any(y):
            continue
        is_sig = sample in sig
        stacks.append(
            ax.stairs(
                bottom + y,
                edges,
                baseline=bottom,
                fill=True,
                label=sample,
                color=colors.get(sample, "0.6"),
                alpha=0.95 if is_sig else 0.85,
                zorder=2 if is_sig else 1,
            )
        )
        if is_sig:
            ax.stairs(bottom + y, edges, baseline=bottom, fill=False, color="k", lw=0.8, zorder=3)
        bottom = bottom + y
    total = bottom
    band = None
    unc = None
    if uncertainty is not None:
        unc = np.asarray(uncertainty, dtype=float)[sl]
    elif covariance is not None:
        unc = yield_uncertainty(model, p, covariance)[sl]
    if unc is not None:
        band = ax.stairs(
            total + unc,
            edges,
            baseline=total - unc,
            fill=True,
            facecolor="none",
            edgecolor="0.25",
            hatch="////",
            lw=0,
            label="total uncertainty",
            zorder=4,
        )
    dat = None
    centers = 0.5 * (edges[1:] + edges[:-1])
    if data is not None:
        d = data[sl]
        dat = ax.errorbar(centers, d, yerr=np.sqrt(d), fmt="o", color="k", ms=4, label="data", zorder=5)
    ax.set_ylabel("events / bin")
    ax.set_xlim(0, nb)
    ymax = max(
        float(np.max(total + (unc if unc is not None else 0))),
        float(np.max(data[sl])) if data is not None else 0.0,
    )
    ax.set_ylim(0, 1.3 * ymax if ymax > 0 else 1.0)
    ax.set_title(title if title is not None else channel, fontsize="medium", loc="left")
    rdat = rband = None
    if ratio_ax is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            if unc is not None:
                rband = ratio_ax.stairs(
                    1 + unc / total,
                    edges,
                    baseline=1 - unc / total,
                    fill=True,
                    facecolor="none",
                    edgecolor="0.25",
                    hatch="////",
                    lw=0,
                )
            if data is not None:
                d = data[sl]
                rdat = ratio_ax.errorbar(
                    centers, d / total, yerr=np.sqrt(d) / total, fmt="o", color="k", ms=4
                )
        ratio_ax.axhline(1.0, color="0.4", lw=0.8)
        ratio_ax.set_ylabel("data / exp.")
        ratio_ax.set_xlabel(xlabel)
        ratio_ax.set_xlim(0, nb)
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = [0.05]
            if data is not None:
                dev.append(float(np.nanmax(np.abs(data[sl] / total - 1) + np.sqrt(data[sl]) / total)))
            if unc is not None:
                dev.append(float(np.nanmax(unc / total)))
        half = min(max(1.15 * max(d for d in dev if math.isfinite(d)), 0.1), 1.0)
        ratio_ax.set_ylim(1 - half, 1 + half)
        ratio_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelbottom=False)
    else:
        ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if legend:
        ax.legend(ncols=2, loc="upper right", fontsize="small")
    return TemplateArtists(
        stacks=stacks, data=dat, band=band, ratio_data=rdat, ratio_band=rband, colors=colors
    )


# ----------------------------------------------------------------------------- fit diagnostics
@dataclass
class PullArtists:
    """Artists of :func:`plot_pulls`."""

    points: ErrorbarContainer
    labels: list[str]
    bands: list[Any] = field(default_factory=list)


def _constrained(fit: FitResult) -> list[int]:
    if fit.prefit_sigma is None:
        from ..exceptions import ModelSpecError

        msg = "the fit result has no pre-fit widths (written by an older redist); re-run the fit"
        raise ModelSpecError(msg)
    fixed = set(fit.fixed)
    return [
        i
        for i in range(fit.layout.size)
        if math.isfinite(fit.prefit_sigma[i]) and fit.layout.labels[i] not in fixed
    ]


def plot_pulls(
    fit: FitResult, *, ax: Axes | None = None, top: int | None = 30, names: Sequence[str] | None = None
) -> PullArtists:
    """Pulls (θ̂ − θ₀)/Δθ of the constrained parameters with their post-fit errors / Δθ.

    ``top`` keeps the parameters with the largest ``|pull|`` (all with ``None``); ``names``
    selects labels explicitly. Parameters are listed top to bottom in model order.
    """
    ax = _axes(ax)
    idx = _constrained(fit)
    assert fit.prefit_sigma is not None
    x = np.asarray(fit.bestfit)
    err = np.sqrt(np.clip(np.diag(fit.covariance), 0, None))
    pull = (x - fit.layout.inits) / fit.prefit_sigma
    if names is not None:
        want = set(names)
        idx = [i for i in idx if fit.layout.labels[i] in want]
    elif top is not None and len(idx) > top:
        keep = set(sorted(idx, key=lambda i: -abs(pull[i]))[:top])
        idx = [i for i in idx if i in keep]
    labels = [fit.layout.labels[i] for i in idx]
    ypos = np.arange(len(idx))[::-1]
    bands = [
        ax.axvspan(-2, 2, color="#ffdf00", alpha=0.6, lw=0),
        ax.axvspan(-1, 1, color="#00c800", alpha=0.6, lw=0),
    ]
    ax.axvline(0, color="0.3", lw=0.8)
    pts = ax.errorbar(pull[idx], ypos, xerr=err[idx] / fit.prefit_sigma[idx], fmt="o", color="k", ms=4)
    ax.set_yticks(ypos)
    ax.set_yticklabels(labels, fontsize="x-small")
    ax.tick_params(axis="y", which="minor", left=False, right=False)
    ax.set_ylim(-0.7, len(idx) - 0.3)
    ax.set_xlim(-3, 3)
    ax.set_xlabel(r"$(\hat{\theta} - \theta_0) / \Delta\theta$")
    return PullArtists(points=pts, labels=labels, bands=bands)


@dataclass
class CorrelationArtists:
    """Artists of :func:`plot_correlation`."""

    image: AxesImage
    labels: list[str]
    matrix: np.ndarray


def plot_correlation(
    fit: FitResult,
    *,
    ax: Axes | None = None,
    threshold: float = 0.2,
    names: Sequence[str] | None = None,
    max_parameters: int = 40,
) -> CorrelationArtists:
    """Correlation matrix of the fit (cabinetry's pruning: parameters with some ``|ρ| ≥ threshold``).

    Theory parameters and groups are always shown; the others only if correlated with
    another parameter above the threshold, at most ``max_parameters`` in all (the most
    correlated first).
    """
    from ..layout import ParameterKind

    ax = _axes(ax)
    corr = fit.correlation()
    lay = fit.layout
    free = [i for i in range(lay.size) if corr[i, i] > 0]
    if names is not None:
        want = set(names)
        idx = [i for i in free if lay.labels[i] in want]
    else:
        theory = set(np.flatnonzero(lay.mask(lay.names_of(ParameterKind.THEORY, ParameterKind.THEORY_GROUP))))
        off = np.abs(corr - np.eye(lay.size))
        strength = off.max(axis=1)
        cand = [i for i in free if i in theory or strength[i] >= threshold]
        cand.sort(key=lambda i: (i not in theory, -strength[i]))
        chosen = set(cand[:max_parameters])
        idx = [i for i in free if i in chosen]
    m = corr[np.ix_(idx, idx)]
    labels = [lay.labels[i] for i in idx]
    im = ax.imshow(m, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks(range(len(idx)))
    ax.set_yticks(range(len(idx)))
    ax.set_xticklabels(labels, rotation=90, fontsize="xx-small")
    ax.set_yticklabels(labels, fontsize="xx-small")
    ax.tick_params(which="both", length=0)
    ax.minorticks_off()
    if len(idx) <= 15:
        for a in range(len(idx)):
            for b in range(len(idx)):
                ax.text(
                    b,
                    a,
                    f"{m[a, b]:.2f}",
                    ha="center",
                    va="center",
                    fontsize="xx-small",
                    color="w" if abs(m[a, b]) > 0.6 else "k",
                )
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="correlation")
    return CorrelationArtists(image=im, labels=labels, matrix=m)


@dataclass
class ImpactArtists:
    """Artists of :func:`plot_impacts`."""

    up: BarContainer
    down: BarContainer
    labels: list[str]
    estimate: Line2D | None = None


def plot_impacts(result: ImpactResult, *, ax: Axes | None = None, top: int | None = None) -> ImpactArtists:
    """Impact ranking, the largest first.

    Bars: shift of the POI when each nuisance is fixed at ±1 post-fit σ (refits);
    markers: the covariance-based estimate.
    """
    ax = _axes(ax)
    n = len(result.labels) if top is None else min(top, len(result.labels))
    ypos = np.arange(n)[::-1]
    up = np.asarray(result.impact_up[:n])
    dn = np.asarray(result.impact_down[:n])
    bu = ax.barh(
        ypos, up, height=0.7, color="#3f90da", alpha=0.85, label=r"$\theta = \hat{\theta} + \sigma_\theta$"
    )
    bd = ax.barh(
        ypos, dn, height=0.7, color="#ffa90e", alpha=0.85, label=r"$\theta = \hat{\theta} - \sigma_\theta$"
    )
    (est,) = ax.plot(
        np.abs(result.estimate[:n]), ypos, "k|", ms=10, mew=1.5, label="linear estimate (|cov| / σ)"
    )
    ax.plot(-np.abs(result.estimate[:n]), ypos, "k|", ms=10, mew=1.5)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(ypos)
    ax.set_yticklabels(result.labels[:n], fontsize="x-small")
    ax.tick_params(axis="y", which="minor", left=False, right=False)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(rf"$\Delta${result.poi}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=3, fontsize="x-small", frameon=False)
    return ImpactArtists(up=bu, down=bd, labels=list(result.labels[:n]), estimate=est)
