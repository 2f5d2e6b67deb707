"""Foundation-model (FM) embeddings for reinterpretation: optional, needs the ``fm`` extra.

Sub-modules (import them explicitly; importing :mod:`redist.fm` itself does not
import torch):

* :mod:`redist.fm.tokens` -- particle tokens and their standardisation (numpy);
* :mod:`redist.fm.baseline` -- engineered-feature logistic-regression score (numpy);
* :mod:`redist.fm.backbone` -- set-transformer backbone and masked-particle pre-training;
* :mod:`redist.fm.heads` -- fine-tuning heads (signal score and q2 regression), eta transform;
* :mod:`redist.fm.densities` -- n(x, q2) and epsilon(x|q2) as :class:`redist.density.JointDensity`;
* :mod:`redist.fm.export` -- safetensors checkpoints, model cards, ONNX export and parity.
"""

from __future__ import annotations

import importlib.util

from ..exceptions import FMError

__all__ = ["FMError", "require_torch"]


def require_torch() -> None:
    """Raise a clear :class:`ImportError` when torch (the ``fm`` extra) is missing."""
    if importlib.util.find_spec("torch") is None:
        msg = "redist.fm needs PyTorch: install redist[fm]"
        raise ImportError(msg)
