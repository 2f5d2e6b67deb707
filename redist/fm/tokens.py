"""Particle tokens for the backbone: derived per-particle features and their standardisation (numpy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..simulate import PARTICLE_FEATURES
from . import FMError

__all__ = ["N_KINDS", "TOKEN_FEATURES", "Standardizer", "make_tokens", "particle_kind"]

#: Token features (c.m. frame): F = 15.
TOKEN_FEATURES = (
    "log_p",
    "cos_theta",
    "sin_phi",
    "cos_phi",
    "log_E",
    "charge",
    "is_track",
    "is_photon",
    "is_klm",
    "kaon_id",
    "e_id",
    "mu_id",
    "tanh_dr",
    "tanh_dz",
    "is_k_candidate",
)
_I = {n: i for i, n in enumerate(PARTICLE_FEATURES)}


def make_tokens(particles: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Token features ``(n, T, 15)`` (float32) from stored particles; zero on padding.

    KLM clusters are direction-only: their ``log_p`` and ``log_E`` are those of 1 MeV.
    """
    p = np.asarray(particles, dtype=np.float32)
    m = np.asarray(mask, dtype=bool)
    if p.ndim != 3 or p.shape[-1] != len(PARTICLE_FEATURES) or m.shape != p.shape[:2]:
        msg = f"particles {p.shape} / mask {m.shape} do not match (n, T, {len(PARTICLE_FEATURES)}) / (n, T)"
        raise FMError(msg)
    px, py, pz, e = (p[..., _I[k]] for k in ("px", "py", "pz", "E"))
    klm = p[..., _I["is_klm"]] > 0
    pmag = np.sqrt(px**2 + py**2 + pz**2)
    pt = np.sqrt(px**2 + py**2)
    safe_p = np.maximum(pmag, 1e-6)
    safe_pt = np.maximum(pt, 1e-6)
    out = np.stack(
        [
            np.log(np.where(klm, 1e-3, np.maximum(pmag, 1e-3))),
            pz / safe_p,
            py / safe_pt,
            px / safe_pt,
            np.log(np.where(klm, 1e-3, np.maximum(e, 1e-3))),
            p[..., _I["charge"]],
            p[..., _I["is_track"]],
            p[..., _I["is_photon"]],
            p[..., _I["is_klm"]],
            p[..., _I["kaon_id"]],
            p[..., _I["e_id"]],
            p[..., _I["mu_id"]],
            np.tanh(p[..., _I["dr"]] / 0.5),
            np.tanh(p[..., _I["dz"]] / 2.0),
            p[..., _I["is_k_candidate"]],
        ],
        axis=-1,
    ).astype(np.float32)
    return np.where(m[..., None], out, 0.0).astype(np.float32)


#: Particle kinds, the discrete pre-training target: track+, track-, photon, KLM cluster.
N_KINDS = 4


def particle_kind(particles: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Kind of each stored particle ``(n, T)``: 0 track+, 1 track-, 2 photon, 3 KLM; -1 on padding."""
    p = np.asarray(particles)
    trk = p[..., _I["is_track"]] > 0
    kind = np.where(
        trk,
        np.where(p[..., _I["charge"]] >= 0, 0, 1),
        np.where(p[..., _I["is_klm"]] > 0, 3, 2),
    )
    return np.where(np.asarray(mask, bool), kind, -1).astype(np.int64)


@dataclass
class Standardizer:
    """Per-feature mean and standard deviation over real (unpadded) tokens."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, tokens: np.ndarray, mask: np.ndarray) -> Standardizer:
        """Statistics of the real tokens of ``tokens`` (``mask`` True = real)."""
        real = tokens[np.asarray(mask, bool)]
        if len(real) == 0:
            msg = "cannot fit a standardizer on a sample without particles"
            raise FMError(msg)
        return cls(
            real.mean(axis=0).astype(np.float32), np.maximum(real.std(axis=0), 1e-3).astype(np.float32)
        )

    def __call__(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Standardise; padding stays zero."""
        out = (tokens - self.mean) / self.std
        return np.where(np.asarray(mask, bool)[..., None], out, 0.0).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored in model cards)."""
        return {"features": list(TOKEN_FEATURES), "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Standardizer:
        """Inverse of :meth:`to_dict`."""
        if list(d.get("features", [])) != list(TOKEN_FEATURES):
            msg = f"standardizer features {d.get('features')} do not match {list(TOKEN_FEATURES)}"
            raise FMError(msg)
        return cls(np.asarray(d["mean"], np.float32), np.asarray(d["std"], np.float32))
