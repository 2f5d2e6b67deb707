"""Figure builders for results: each returns a :class:`matplotlib.figure.Figure` (no pyplot, no global state).

They create their figure inside :func:`redist.infer.plot.style` and draw with the
axes-level functions of :mod:`redist.infer.plot`. :func:`save_figure` writes a
figure atomically (PNG, SVG or PDF by the file suffix).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..infer.bayes import PosteriorResult
    from ..infer.impacts import ImpactResult
    from ..infer.limits import LimitResult
    from ..infer.mle import FitResult
    from ..infer.scan import ScanResult
    from ..typing import ModelLike

__all__ = [
    "contour_figure",
    "corner_figure",
    "correlation_figure",
    "figure_bytes",
    "impacts_figure",
    "limit_figure",
    "profile_figure",
    "pulls_figure",
    "save_figure",
    "scan_figure",
    "templates_figure",
]


def __dir__() -> list[str]:
    return list(__all__)


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = 120) -> bytes:
    """The figure rendered to bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def save_figure(fig: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Write a figure atomically; the format follows the suffix (``.png`` when there is none)."""
    from ..io.atomic import atomic_write_bytes

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    return atomic_write_bytes(path, figure_bytes(fig, fmt, dpi))


def _figure(**kw: Any) -> Figure:
    from matplotlib.figure import Figure

    return Figure(layout="constrained", **kw)


def profile_figure(res: ScanResult) -> Figure:
    """The 1D profile of a scan."""
    from ..infer.plot import plot_profile, style

    with style():
        fig = _figure(figsize=(5.5, 4.2))
        ax = fig.subplots()
        plot_profile(res, ax=ax)
        ax.legend(loc="upper center", fontsize="small")
    return fig


def contour_figure(res: ScanResult, sm: Sequence[float] | None = None) -> Figure:
    """The 2D confidence regions of a scan (with an SM or reference point if given)."""
    from ..infer.plot import plot_contour, style

    with style():
        fig = _figure(figsize=(5.5, 4.8))
        ax = fig.subplots()
        plot_contour(res, ax=ax, sm=sm)
    return fig


def _reference_point(res: ScanResult) -> list[float] | None:
    """The theory's reference point (e.g. the SM) of the scanned theory parameters, from the layout."""
    lay = res.bestfit.layout
    base: dict[str, float] = {}
    for b in lay.bindings:
        base.update(b.base)
    try:
        return [float(base[p]) for p in res.parameters]
    except KeyError:
        return None


def scan_figure(res: ScanResult) -> Figure:
    """Profile (1D) or contour (2D, with the theory's reference point when both are theory parameters)."""
    if len(res.parameters) == 1:
        return profile_figure(res)
    return contour_figure(res, sm=_reference_point(res))


def limit_figure(res: LimitResult) -> Figure:
    """CLs versus the tested values."""
    from ..infer.plot import plot_limit, style

    with style():
        fig = _figure(figsize=(5.5, 4.2))
        ax = fig.subplots()
        plot_limit(res, ax=ax)
        ax.legend(fontsize="small")
        method = getattr(res, "method", "asymptotic")
        if getattr(res, "in_range", True) and np.isfinite(res.observed):
            ax.axvline(res.observed, color="0.4", lw=0.8, ls=":")
            title = f"{method}: observed limit {res.observed:.3g} ({res.cl:.0%} CL)"
        else:
            title = f"{method}: no observed limit in the tested range"
        ax.set_title(title, loc="left", fontsize="small")
    return fig


def corner_figure(res: PosteriorResult, names: Sequence[str] | None = None) -> Figure:
    """Corner plot of the summarised parameters, with HPD shading."""
    from ..infer.plot import plot_corner, style

    names = list(names or res.summary or res.labels[:3])
    with style():
        fig = _figure(figsize=(2.7 * len(names) + 0.5, 2.7 * len(names) + 0.5))
        plot_corner(res, names, fig=fig)
    return fig


def pulls_figure(res: FitResult, top: int | None = 30) -> Figure:
    """Pulls of the constrained parameters (the ``top`` largest)."""
    from ..infer.plot import plot_pulls, style

    with style():
        n = len(res.layout.labels) if top is None else top
        fig = _figure(figsize=(6.0, 1.2 + 0.22 * min(n, 80)))
        ax = fig.subplots()
        art = plot_pulls(res, ax=ax, top=top)
        ax.set_title(f"pulls ({len(art.labels)} largest |pull|)" if top else "pulls", loc="left")
    return fig


def correlation_figure(res: FitResult, threshold: float = 0.2, max_parameters: int = 40) -> Figure:
    """Correlation matrix (theory parameters plus parameters with some ``|ρ| ≥ threshold``)."""
    from ..infer.plot import plot_correlation, style

    with style():
        fig = _figure(figsize=(7.5, 6.5))
        ax = fig.subplots()
        art = plot_correlation(res, ax=ax, threshold=threshold, max_parameters=max_parameters)
        ax.set_title(
            f"correlations ({len(art.labels)} parameters, |ρ| ≥ {threshold:g} with another)", loc="left"
        )
    return fig


def impacts_figure(res: ImpactResult) -> Figure:
    """Impact ranking on the POI."""
    from ..infer.plot import plot_impacts, style

    with style():
        fig = _figure(figsize=(6.5, 1.4 + 0.3 * max(len(res.labels), 3)))
        ax = fig.subplots()
        plot_impacts(res, ax=ax)
        ax.set_title(f"impacts on {res.poi}", loc="left")
    return fig


def templates_figure(
    model: ModelLike,
    channels: Sequence[str] | None = None,
    *,
    pars: Any = None,
    covariance: Any = None,
    title: str = "",
    xlabel: str = "bin index",
    signal: Sequence[str] | None = None,
) -> Figure:
    """Stacked templates with data, total-uncertainty band and ratio panel for several channels.

    One column per channel, one shared legend; every sample has the same colour in
    every channel. ``covariance``: post-fit covariance (with ``pars`` the best fit);
    ``None`` with ``pars=None`` gives the pre-fit band from the pre-fit widths.
    """
    from ..infer.mle import FitResult
    from ..infer.plot import (
        _pyhf_model,
        channel_labels,
        plot_templates,
        sample_colors,
        style,
        yield_uncertainty,
    )

    pm = _pyhf_model(model)
    cfg = pm.config
    chans = list(channels or cfg.channels)
    if signal is None:
        dens: Mapping[str, Any] = getattr(model, "densities", {})
        signal = sorted({k.split("/", 1)[1] for k in dens if "/" in k})
    colors = sample_colors(cfg.samples, signal)
    labels = channel_labels(chans)
    if isinstance(pars, FitResult):
        covariance = pars.covariance if covariance is None else covariance
        pars = pars.bestfit
    p = np.asarray(cfg.suggested_init() if pars is None else pars, dtype=float)
    if covariance is None and pars is None:
        from ..infer._objective import objective
        from ..infer.mle import prefit_widths

        w = prefit_widths(objective(model, "numpy"))
        covariance = np.diag(np.where(np.isfinite(w), w, 0.0) ** 2)
    unc = yield_uncertainty(model, p, covariance) if covariance is not None else None
    with style():
        fig = _figure(figsize=(3.6 * len(chans) + 1.8, 5.2))
        axes = fig.subplots(2, len(chans), squeeze=False, gridspec_kw={"height_ratios": [3, 1]}, sharex="col")
        arts = []
        for k, ch in enumerate(chans):
            arts.append(
                plot_templates(
                    model,
                    ch,
                    pars=p,
                    uncertainty=unc,
                    ax=axes[0, k],
                    ratio_ax=axes[1, k],
                    title=labels[ch],
                    colors=colors,
                    signal=signal,
                    xlabel=xlabel,
                )
            )
        handles: dict[str, Any] = {}
        for art in arts:
            for s in art.stacks:
                handles.setdefault(str(s.get_label()), s)
        for art in arts:
            if art.band is not None:
                handles.setdefault("total uncertainty", art.band)
            if art.data is not None:
                handles.setdefault("data", art.data)
        fig.legend(list(handles.values()), list(handles.keys()), loc="outside right center", fontsize="small")
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontsize="medium")
    return fig
