"""Glue between simulated samples and the models: tokens, scores, fit bins (used by the CLI and tests)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..simulate import ENGINEERED_FEATURES, EventSample
from .heads import EtaTransform, EventModel, predict
from .tokens import Standardizer, make_tokens

__all__ = ["fm_fit_bins", "sample_tokens", "score_sample"]


def sample_tokens(sample: EventSample, std: Standardizer) -> tuple[np.ndarray, np.ndarray]:
    """Standardised tokens and padding mask (True = pad) of every event of ``sample``."""
    return std(make_tokens(sample.particles, sample.mask), sample.mask), ~sample.mask


def score_sample(
    model: EventModel, std: Standardizer, sample: EventSample, *, device: str = "cpu", batch_size: int = 2048
) -> dict[str, np.ndarray]:
    """Model outputs for the preselected events; NaN for the others."""
    out = {k: np.full(len(sample), np.nan) for k in ("logit", "q2_mu", "q2_sigma")}
    sel = np.flatnonzero(sample.presel)
    if len(sel):
        x, pad = sample_tokens(sample.select(sel), std)
        pr = predict(model, x, pad, device=device, batch_size=batch_size)
        for k in out:
            out[k][sel] = pr[k]
    return out


def fm_fit_bins(
    sample: EventSample,
    logit: np.ndarray,
    eta: EtaTransform,
    *,
    eta_edges: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
    q2rec_edges: Sequence[float] = (-np.inf, 4.0, 8.0, np.inf),
    q2_var: np.ndarray | None = None,
) -> np.ndarray:
    """Fit-bin index of every event: eta(score) outer, q2_rec (or ``q2_var``) inner; -1 outside."""
    from .densities import fit_bins

    q2 = sample.features[:, ENGINEERED_FEATURES.index("q2_rec")] if q2_var is None else q2_var
    e = np.where(np.isfinite(logit), eta(np.nan_to_num(logit, nan=-1e9)), -1.0)
    return fit_bins(e, q2, sample.presel & np.isfinite(logit), eta_edges, q2rec_edges)
