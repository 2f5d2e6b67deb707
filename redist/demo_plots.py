"""Figures of the Belle II demo: weights vs q² and pre/post-fit templates per channel.

The figure builders return :class:`matplotlib.figure.Figure` objects (no pyplot, no
global state); :func:`write_demo_plots` saves them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .infer.mle import FitResult
from .reinterpret import ReinterpretedModel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["templates_figure", "weights_figure", "write_demo_plots"]


def __dir__() -> list[str]:
    return list(__all__)


def weights_figure(rm: ReinterpretedModel, pars: np.ndarray) -> Figure:
    """Kinematic weights w(q²) at the parameter vector ``pars`` and at three reference points.

    The first reweighting's z bins from the second on are drawn (the first is the
    sentinel column of the Belle II densities, never reweighted).
    """
    from matplotlib.figure import Figure

    rw = next(iter(rm.reweightings.values()))
    edges = rw.z_edges[0]
    phys = rm.physical_values(pars)
    sm_cvl = rw.theory.reference_point()["cVL"]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    points = {
        "best fit": {k: phys[k] for k in ("cVL", "cSL", "cTL")},
        "cSL = 10": {"cSL": 10.0},
        "cTL = 8": {"cTL": 8.0},
        "cVL = 2 x SM": {"cVL": 2 * sm_cvl},
    }
    for label, point in points.items():
        w = rw.weights_at(point)
        ax.stairs(w[1:], edges[1:], label=label)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(r"$q^2_\mathrm{true}$ [GeV$^2$]")
    ax.set_ylabel(r"weight $w(q^2) = \sigma_B / \sigma_\mathrm{SM}$")
    ax.set_yscale("log")
    ax.legend(frameon=False)
    ax.set_title(r"$B^+\to K^+\nu\bar\nu$ kinematic weights")
    fig.tight_layout()
    return fig


def templates_figure(rm: ReinterpretedModel, channel: str, pars: np.ndarray) -> Figure:
    """Stacked expected yields per sample in ``channel``: pre-fit (suggested init) and at ``pars``."""
    from matplotlib.figure import Figure

    model = rm.model
    cfg = model.config
    obs = {o["name"]: np.asarray(o["data"]) for o in rm.spec["observations"]}
    by_sample = {
        "pre-fit (SM)": np.asarray(model.main_model.expected_data(rm.layout.inits, return_by_sample=True)),
        "post-fit": np.asarray(model.main_model.expected_data(pars, return_by_sample=True)),
    }
    signal = {s for (_, s) in (k.split("/", 1) for k in rm.densities)}
    sl = cfg.channel_slices[channel]
    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (label, yields) in zip(axes, by_sample.items()):
        x = np.arange(cfg.channel_nbins[channel] + 1)
        bottom = np.zeros(cfg.channel_nbins[channel])
        order = sorted(range(len(cfg.samples)), key=lambda i: cfg.samples[i] in signal)
        for i in order:
            y = yields[i][sl]
            if not np.any(y):
                continue
            ax.stairs(bottom + y, x, baseline=bottom, fill=True, alpha=0.8, label=cfg.samples[i])
            bottom = bottom + y
        d = obs[channel]
        ax.errorbar(0.5 * (x[1:] + x[:-1]), d, yerr=np.sqrt(d), fmt="ko", ms=3, label="data")
        ax.set_title(label)
        ax.set_xlabel("fit bin")
    axes[0].set_ylabel("events")
    axes[1].legend(fontsize=6, frameon=False, ncol=2)
    fig.suptitle(channel[:60], fontsize=8)
    fig.tight_layout()
    return fig


def write_demo_plots(rm: ReinterpretedModel, best: FitResult, out: Path) -> list[str]:
    """Write ``weights_q2.png`` and ``templates_<channel>.png``; return the file names."""
    written = []
    weights_figure(rm, best.bestfit).savefig(out / "weights_q2.png", dpi=110)
    written.append("weights_q2.png")
    for ch in rm.model.config.channels:
        name = f"templates_{ch.split('_')[0]}.png"
        templates_figure(rm, ch, best.bestfit).savefig(out / name, dpi=100)
        written.append(name)
    return written
