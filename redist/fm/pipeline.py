r"""Glue between simulated samples and the models, and the one owner of the FM conventions.

Conventions (every caller -- CLI, examples, tests, studies -- goes through these):

* **Standardiser**: tokens are standardised with the statistics of the
  *unlabelled pre-training sample* (:func:`fit_standardizer`), which travel with
  the backbone in its model card. A from-scratch or frozen-backbone arm uses the
  *same* standardiser as the pre-trained arm it is compared with, so the arms
  differ only in their initial weights.
* **eta**: the learned fit variable is :math:`\eta = F_{sig}(\text{score})`, the CDF of
  the score on *held-out, preselected signal weighted to the SM*
  (:func:`redist.fm.eta.fit_eta`, re-exported here);
  with q2-flat signal the per-event weight is the SM/flat density ratio that the
  simulator stores, so SM signal is flat in eta (the published eta(BDT2) convention).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..simulate import ENGINEERED_FEATURES, EventSample
from .eta import EtaTransform, fit_eta
from .heads import EventModel, predict
from .tokens import Standardizer, make_tokens, particle_kind

__all__ = [
    "fit_eta",
    "fit_standardizer",
    "fm_fit_bins",
    "pretrain_inputs",
    "sample_tokens",
    "score_sample",
]


def fit_standardizer(unlabelled: EventSample) -> Standardizer:
    """The token standardiser: statistics of the preselected events of the unlabelled sample."""
    s = unlabelled.select(unlabelled.presel)
    return Standardizer.fit(make_tokens(s.particles, s.mask), s.mask)


def sample_tokens(sample: EventSample, std: Standardizer) -> tuple[np.ndarray, np.ndarray]:
    """Standardised tokens and padding mask (True = pad) of every event of ``sample``."""
    return std(make_tokens(sample.particles, sample.mask), sample.mask), ~sample.mask


def pretrain_inputs(unlabelled: EventSample, std: Standardizer) -> dict[str, np.ndarray]:
    """``tokens``, ``pad`` and ``kinds`` of the preselected unlabelled events (labels are not read)."""
    s = unlabelled.select(unlabelled.presel)
    x, pad = sample_tokens(s, std)
    return {"tokens": x, "pad": pad, "kinds": particle_kind(s.particles, s.mask)}


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
