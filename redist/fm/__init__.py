"""Foundation-model (FM) embeddings for reinterpretation: optional, needs the ``fm`` extra.

Sub-modules (import them explicitly; importing :mod:`redist.fm` itself does not
import torch):

* :mod:`redist.fm.tokens` -- particle tokens and their standardisation (numpy);
* :mod:`redist.fm.baseline` -- engineered-feature logistic-regression score (numpy);
* :mod:`redist.fm.backbone` -- set-transformer backbone and masked-particle pre-training;
* :mod:`redist.fm.heads` -- fine-tuning heads (signal score and q2 regression);
* :mod:`redist.fm.eta` -- the eta transform, its one fitting rule, and the AUC (numpy);
* :mod:`redist.fm.pipeline` -- the standardiser rule and sample glue;
* :mod:`redist.fm.densities` -- n(x, q2) and epsilon(x|q2) as :class:`redist.density.JointDensity`;
* :mod:`redist.fm.export` -- safetensors checkpoints, model cards, ONNX export and parity.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import FMError

if TYPE_CHECKING:
    from .backbone import ParticleEncoder
    from .tokens import Standardizer

__all__ = ["FMError", "load_backbone", "require_torch"]


def require_torch() -> None:
    """Raise a clear :class:`ImportError` when torch (the ``fm`` extra) is missing."""
    if importlib.util.find_spec("torch") is None:
        msg = "redist.fm needs PyTorch: install redist[fm]"
        raise ImportError(msg)


def load_backbone(name: str | Path = "default") -> tuple[ParticleEncoder, Standardizer, dict[str, Any]]:
    """A pre-trained backbone by name (``"default"`` ships with redist) or checkpoint directory.

    Returns the encoder (eval mode), its token standardiser and its model card
    (:func:`redist.fm.backbone.load_backbone`).
    """
    require_torch()
    from .backbone import load_backbone as _load

    return _load(name)
