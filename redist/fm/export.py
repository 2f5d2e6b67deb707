"""ONNX export of a fine-tuned :class:`~redist.fm.heads.EventModel` and a parity check against torch."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import Any, cast

import numpy as np

from . import FMError, require_torch

require_torch()

import torch  # noqa: E402

from .heads import EventModel  # noqa: E402

__all__ = ["export_onnx", "onnx_max_abs_diff", "run_onnx"]


def export_onnx(model: EventModel, path: str | Path, *, n_tokens: int, opset: int = 18) -> Path:
    """Export with inputs ``tokens[B, T, F] float32``, ``pad[B, T] bool`` and output ``out[B, 3]``.

    The batch axis is dynamic; ``T`` is fixed to ``n_tokens``.
    """
    path = Path(path)
    model = model.eval()
    f = model.encoder.cfg.n_features
    x = torch.zeros(2, n_tokens, f)
    pad = torch.zeros(2, n_tokens, dtype=torch.bool)
    pad[1, n_tokens // 2 :] = True
    batch = torch.export.Dim("batch", min=1)
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x, pad),
            str(path),
            input_names=["tokens", "pad"],
            output_names=["out"],
            dynamic_shapes={"tokens": {0: batch}, "pad": {0: batch}},
            opset_version=opset,
            dynamo=True,
            verbose=False,
        )
    logger.setLevel(level)
    if not path.is_file():
        msg = f"ONNX export did not write {path}"
        raise FMError(msg)
    return path


def run_onnx(path: str | Path, tokens: np.ndarray, pad: np.ndarray) -> np.ndarray:
    """Evaluate an exported model with onnxruntime (or onnx's reference evaluator if missing)."""
    feeds = {"tokens": np.asarray(tokens, np.float32), "pad": np.asarray(pad, bool)}
    try:
        import onnxruntime as ort
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        return np.asarray(cast(Any, ReferenceEvaluator(str(path)).run(None, feeds))[0])
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(cast(Any, sess.run(None, feeds))[0])


@torch.no_grad()
def onnx_max_abs_diff(model: EventModel, path: str | Path, tokens: np.ndarray, pad: np.ndarray) -> float:
    """Maximum absolute difference between torch and ONNX outputs on the given events."""
    ref = model.eval()(torch.as_tensor(tokens, dtype=torch.float32), torch.as_tensor(pad)).numpy()
    return float(np.max(np.abs(run_onnx(path, tokens, pad) - ref)))
