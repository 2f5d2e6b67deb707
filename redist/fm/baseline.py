"""Engineered-feature baseline score (numpy only): L2-regularised logistic regression.

A stand-in for the ITA BDTs on the engineered features of
:mod:`redist.simulate`; it gives the "engineered-feature x" to compare with the
learned FM score, behind the same :class:`~redist.fm.heads.EtaTransform` and
fit-bin definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import FMError

__all__ = ["LogisticBaseline"]


@dataclass
class LogisticBaseline:
    """Logistic regression on standardised features plus their squares (IRLS fit)."""

    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray

    @staticmethod
    def _design(f: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        z = np.clip((np.asarray(f, float) - mean) / std, -8.0, 8.0)
        return np.concatenate([np.ones((len(z), 1)), z, z**2], axis=1)

    @classmethod
    def fit(
        cls, features: np.ndarray, labels: np.ndarray, *, l2: float = 1.0, iterations: int = 25
    ) -> LogisticBaseline:
        """Fit by Newton-Raphson (deterministic)."""
        f = np.asarray(features, float)
        y = np.asarray(labels, float)
        if f.ndim != 2 or len(f) != len(y) or y.min() == y.max():
            msg = (
                f"baseline needs features (n, d) and labels (n,) with both classes; got {f.shape}, {y.shape}"
            )
            raise FMError(msg)
        mean, std = f.mean(axis=0), np.maximum(f.std(axis=0), 1e-6)
        x = cls._design(f, mean, std)
        beta = np.zeros(x.shape[1])
        reg = l2 * np.eye(x.shape[1])
        reg[0, 0] = 0.0
        for _ in range(iterations):
            p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -30, 30)))
            g = x.T @ (p - y) + reg @ beta
            h = (x * (p * (1 - p))[:, None]).T @ x + reg
            step = np.linalg.solve(h, g)
            beta -= step
            if np.max(np.abs(step)) < 1e-8:
                break
        return cls(mean, std, beta)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Logit score of each event."""
        return np.asarray(self._design(features, self.mean, self.std) @ self.coef)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "coef": self.coef.tolist()}
