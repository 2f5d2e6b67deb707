"""The learned fit variable's monotone transform eta and the AUC (numpy only).

The one eta rule of the FM module (:func:`fit_eta`): eta is the CDF of the score on
*held-out, preselected signal weighted to the SM* -- with q2-flat signal the
per-event weight is the SM/flat density ratio stored by the simulator -- so that
SM signal is flat in eta, as the published eta(BDT2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import FMError

if TYPE_CHECKING:
    from ..simulate import EventSample

__all__ = ["EtaTransform", "auc", "fit_eta"]


def auc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Area under the ROC curve (rank statistic with tie handling, optional weights)."""
    s = np.asarray(scores, float)
    y = np.asarray(labels).astype(bool)
    w = np.ones(len(s)) if weights is None else np.asarray(weights, float)
    if y.all() or (~y).all():
        msg = "AUC needs both signal and background events"
        raise FMError(msg)
    order = np.argsort(s, kind="mergesort")
    s, y, w = s[order], y[order], w[order]
    uniq, inv = np.unique(s, return_inverse=True)
    wb = np.bincount(inv, weights=w * ~y, minlength=len(uniq))
    ws = np.bincount(inv, weights=w * y, minlength=len(uniq))
    cum_b = np.cumsum(wb) - wb
    return float(np.sum(ws * (cum_b + 0.5 * wb)) / (ws.sum() * wb.sum()))


@dataclass
class EtaTransform:
    """Monotone map score -> eta in [0, 1]: the (weighted) CDF of the score on signal."""

    knots: np.ndarray
    cdf: np.ndarray

    @classmethod
    def fit(
        cls, signal_scores: np.ndarray, weights: np.ndarray | None = None, n_knots: int = 513
    ) -> EtaTransform:
        """Fit on signal scores (e.g. SM-weighted preselected signal)."""
        s = np.asarray(signal_scores, float)
        if len(s) < 2:
            msg = f"eta transform needs at least 2 signal scores, got {len(s)}"
            raise FMError(msg)
        w = np.ones(len(s)) if weights is None else np.asarray(weights, float)
        order = np.argsort(s, kind="mergesort")
        s, w = s[order], w[order]
        c = (np.cumsum(w) - 0.5 * w) / w.sum()
        q = np.linspace(0.0, 1.0, n_knots)
        knots = np.interp(q, c, s)
        knots = np.maximum.accumulate(knots)
        # strictly increasing knots for a well-defined inverse
        knots = knots + np.arange(n_knots) * 1e-9 * max(1.0, float(np.ptp(knots)))
        return cls(knots, q)

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Eta of each score (clipped to [0, 1])."""
        return np.asarray(np.interp(np.asarray(scores, float), self.knots, self.cdf, left=0.0, right=1.0))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"knots": self.knots.tolist(), "cdf": self.cdf.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EtaTransform:
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(d["knots"], float), np.asarray(d["cdf"], float))


def fit_eta(logit: np.ndarray, sample: EventSample) -> EtaTransform:
    """The eta transform: SM-weighted CDF of ``logit`` over the preselected signal of ``sample``.

    ``logit`` is one score per event of ``sample`` (NaN where not scored); ``sample``
    must not contain the events the scorer was trained on.
    """
    lg = np.asarray(logit, float)
    if lg.shape != (len(sample),):
        msg = f"fit_eta: scores of shape {lg.shape} for a sample of {len(sample)} events"
        raise FMError(msg)
    sel = (sample.label == 1) & sample.presel & np.isfinite(lg)
    return EtaTransform.fit(lg[sel], sample.weight[sel])
