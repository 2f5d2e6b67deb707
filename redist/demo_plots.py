"""Figures of the Belle II demo: weights vs q² and pre/post-fit templates per channel."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .infer.mle import FitResult
from .reinterpret import ReinterpretedModel

__all__ = ["write_demo_plots"]


def write_demo_plots(rm: ReinterpretedModel, best: FitResult, out: Path) -> list[str]:
    """Write ``weights_q2.png`` and ``templates_<channel>.png``; return the file names."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    written = []
    rw = next(iter(rm.reweightings.values()))
    edges = rw.z_edges[0]
    phys = rm.physical_values(best.bestfit)
    fig, ax = plt.subplots(figsize=(6, 4))
    points = {
        "best fit": {k: phys[k] for k in ("cVL", "cSL", "cTL")},
        "cSL = 10": {"cSL": 10.0},
        "cTL = 8": {"cTL": 8.0},
        "cVL = 2 x SM": {"cVL": 2 * rw.theory.reference_point()["cVL"]},
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
    fig.savefig(out / "weights_q2.png", dpi=110)
    plt.close(fig)
    written.append("weights_q2.png")

    model = rm.model
    cfg = model.config
    pre = rm.layout.inits
    post = best.bestfit
    obs = {o["name"]: np.asarray(o["data"]) for o in rm.spec["observations"]}
    by_sample = {
        "pre-fit (SM)": np.asarray(model.main_model.expected_data(pre, return_by_sample=True)),
        "post-fit": np.asarray(model.main_model.expected_data(post, return_by_sample=True)),
    }
    signal = {s for (_, s) in (k.split("/", 1) for k in rm.densities)}
    for ch in cfg.channels:
        sl = cfg.channel_slices[ch]
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for ax, (label, yields) in zip(axes, by_sample.items()):
            x = np.arange(cfg.channel_nbins[ch] + 1)
            bottom = np.zeros(cfg.channel_nbins[ch])
            order = sorted(range(len(cfg.samples)), key=lambda i: cfg.samples[i] in signal)
            for i in order:
                y = yields[i][sl]
                if not np.any(y):
                    continue
                ax.stairs(bottom + y, x, baseline=bottom, fill=True, alpha=0.8, label=cfg.samples[i])
                bottom = bottom + y
            ax.errorbar(0.5 * (x[1:] + x[:-1]), obs[ch], yerr=np.sqrt(obs[ch]), fmt="ko", ms=3, label="data")
            ax.set_title(f"{label}")
            ax.set_xlabel("fit bin")
        axes[0].set_ylabel("events")
        axes[1].legend(fontsize=6, frameon=False, ncol=2)
        fig.suptitle(ch[:60], fontsize=8)
        fig.tight_layout()
        name = f"templates_{ch.split('_')[0]}.png"
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        written.append(name)
    return written
