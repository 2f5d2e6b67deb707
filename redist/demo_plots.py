"""Figures of the Belle II demo: weights vs q², pre/post-fit templates per channel, pulls, correlations.

The figure builders return :class:`matplotlib.figure.Figure` objects (no pyplot, no
global state; the HEP style is applied inside :func:`redist.infer.plot.style`);
:func:`write_demo_plots` saves them atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .infer.mle import FitResult
from .reinterpret import ReinterpretedModel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["templates_figure", "weights_figure", "write_demo_plots"]


def __dir__() -> list[str]:
    return list(__all__)


#: x axis of the Belle II fit bins: the flattened (reconstructed q², classifier) grid of a channel
BELLE2_XLABEL = r"fit bin (reconstructed $q^2$ $\times$ classifier output)"


def weights_figure(rm: ReinterpretedModel, pars: np.ndarray) -> Figure:
    """Kinematic weights w(q²) at the parameter vector ``pars`` and at three reference points.

    The first reweighting's z bins from the second on are drawn (the first is the
    sentinel column of the Belle II densities, never reweighted).
    """
    from matplotlib.figure import Figure

    from .infer.plot import style

    rw = next(iter(rm.reweightings.values()))
    edges = rw.z_edges[0]
    phys = rm.physical_values(pars)
    sm_cvl = rw.theory.reference_point()["cVL"]
    points = {
        "best fit": {k: phys[k] for k in ("cVL", "cSL", "cTL")},
        "cSL = 10": {"cSL": 10.0},
        "cTL = 8": {"cTL": 8.0},
        "cVL = 2 x SM": {"cVL": 2 * sm_cvl},
    }
    with style():
        fig = Figure(figsize=(6, 4.2), layout="constrained")
        ax = fig.subplots()
        for label, point in points.items():
            w = rw.weights_at(point)
            ax.stairs(w[1:], edges[1:], label=label, lw=1.6)
        ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_xlabel(r"$q^2_\mathrm{true}$ [GeV$^2$]")
        ax.set_ylabel(r"weight $w(q^2) = \sigma_B / \sigma_\mathrm{SM}$")
        ax.set_yscale("log")
        ax.legend(frameon=False)
        ax.set_title(r"$B^+\to K^+\nu\bar\nu$ kinematic weights", loc="left")
    return fig


def templates_figure(rm: ReinterpretedModel, channel: str, best: FitResult | np.ndarray) -> Figure:
    """One channel, pre-fit (SM, pre-fit uncertainties) and post-fit (fit covariance), with ratio panels.

    Every sample has the same colour in every channel and panel; the reweighted
    signal samples are red and on top; the hatched band is the total uncertainty.
    """
    from matplotlib.figure import Figure

    from .infer._objective import objective
    from .infer.mle import prefit_widths
    from .infer.plot import channel_labels, plot_templates, sample_colors, style, yield_uncertainty

    cfg = rm.model.config
    signal = sorted({k.split("/", 1)[1] for k in rm.densities})
    colors = sample_colors(cfg.samples, signal)
    label = channel_labels(cfg.channels)[channel]
    w = prefit_widths(objective(rm, "numpy"))
    pre_cov = np.diag(np.where(np.isfinite(w), w, 0.0) ** 2)
    pre = np.asarray(rm.layout.inits, dtype=float)
    if isinstance(best, FitResult):
        post, post_unc = best.bestfit, yield_uncertainty(rm, best.bestfit, best.covariance)
    else:
        post, post_unc = np.asarray(best, dtype=float), None
    with style():
        fig = Figure(figsize=(11, 5.2), layout="constrained")
        axes = fig.subplots(2, 2, sharex="col", sharey="row", gridspec_kw={"height_ratios": [3, 1]})
        arts = []
        for k, (title, p, unc) in enumerate(
            (("pre-fit (SM)", pre, yield_uncertainty(rm, pre, pre_cov)), ("post-fit", post, post_unc))
        ):
            arts.append(
                plot_templates(
                    rm,
                    channel,
                    pars=p,
                    uncertainty=unc,
                    ax=axes[0, k],
                    ratio_ax=axes[1, k],
                    title=title,
                    colors=colors,
                    signal=signal,
                    xlabel="fit bin",
                )
            )
        handles: dict[str, Any] = {}
        for art in arts:
            for s in art.stacks:
                handles.setdefault(str(s.get_label()), s)
            if art.band is not None:
                handles.setdefault("total uncertainty", art.band)
            if art.data is not None:
                handles.setdefault("data", art.data)
        fig.legend(handles=list(handles.values()), labels=list(handles), loc="outside right center",
                   fontsize="small")
        fig.suptitle(f"channel {label}", x=0.01, ha="left", fontsize="medium")
    return fig


def write_demo_plots(rm: ReinterpretedModel, best: FitResult, out: Path) -> list[str]:
    """Write the weights, per-channel templates, pulls and correlation figures; return the file names."""
    from .infer.plot import channel_labels
    from .report.figures import correlation_figure, pulls_figure, save_figure

    written = []
    save_figure(weights_figure(rm, best.bestfit), out / "weights_q2.png", dpi=110)
    written.append("weights_q2.png")
    labels = channel_labels(rm.model.config.channels)
    for ch in rm.model.config.channels:
        name = f"templates_{labels[ch].split(':')[0] if ':' in labels[ch] else ch.split('_')[0]}.png"
        save_figure(templates_figure(rm, ch, best), out / name, dpi=100)
        written.append(name)
    if best.prefit_sigma is not None:
        save_figure(pulls_figure(best), out / "pulls.png", dpi=100)
        written.append("pulls.png")
    save_figure(correlation_figure(best), out / "correlation.png", dpi=100)
    written.append("correlation.png")
    return written
