r"""Fine-tuning heads: the learned fit variable x (signal score) and a q2_rec regression.

:class:`EventModel` = :class:`~redist.fm.backbone.ParticleEncoder` + :class:`TaskHead`.
The head reads the masked mean over particles concatenated with the kaon-candidate
token (slot 0) and outputs ``(logit, q2_mu, q2_logsig)``:

* ``logit``: signal vs background (BCE). The learned x is
  :math:`\eta = F_{sig}(\text{logit})`, the CDF of the score on signal
  (:class:`EtaTransform`), so that signal is flat on [0, 1];
* ``q2_mu``, ``q2_logsig``: a heteroscedastic Gaussian regression of the true
  q2 on signal events (train on q2-flat signal so no prior is baked in).

:func:`finetune` trains from a pre-trained backbone or from scratch with the
same code, for a fixed number of optimiser steps (fair comparisons).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import numpy as np

from . import FMError, require_torch

require_torch()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from .backbone import BackboneConfig, ParticleEncoder, _train_steps, n_parameters, resolve_device  # noqa: E402
from .eta import EtaTransform, auc  # noqa: E402
from .tokens import TOKEN_FEATURES, Standardizer  # noqa: E402

__all__ = [
    "EtaTransform",
    "EventModel",
    "TaskHead",
    "auc",
    "finetune",
    "load_model",
    "predict",
    "save_model",
]

#: q2 standardisation of the regression target (GeV^2).
Q2_CENTER, Q2_SCALE = 11.5, 6.6


class TaskHead(nn.Module):
    """MLP on [masked mean-pool, kaon-candidate token] -> (logit, q2_mu, q2_logsig)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU(), nn.Linear(dim, 3))

    def forward(self, h: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Head outputs ``(B, 3)`` from encoded particles ``h`` and the padding mask."""
        w = (~pad).to(h.dtype)[..., None]
        pooled = (h * w).sum(dim=1) / w.sum(dim=1).clamp(min=1.0)
        return cast(torch.Tensor, self.net(torch.cat([pooled, h[:, 0]], dim=-1)))


class EventModel(nn.Module):
    """Backbone plus task head. ``forward(tokens, pad)`` returns ``(B, 3)``."""

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__()
        self.encoder = ParticleEncoder(cfg)
        self.head = TaskHead(cfg.dim)

    def forward(self, tokens: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """``(logit, q2_mu, q2_logsig)`` per event, shape ``(B, 3)``."""
        return cast(torch.Tensor, self.head(self.encoder(tokens, pad), pad))


def finetune(
    tokens: np.ndarray,
    pad: np.ndarray,
    labels: np.ndarray,
    q2_true: np.ndarray | None = None,
    *,
    config: BackboneConfig | None = None,
    backbone: ParticleEncoder | None = None,
    steps: int = 150,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 1e-2,
    q2_weight: float = 0.1,
    seed: int = 0,
    device: str = "cpu",
    progress: Any = None,
    frozen: bool = False,
) -> tuple[EventModel, dict[str, Any]]:
    """Fine-tune (``backbone`` given) or train from scratch (``backbone=None``).

    Parameters
    ----------
    tokens, pad : ndarray
        Standardised tokens ``(n, T, F)`` and padding mask ``(n, T)`` (True = pad).
    labels : ndarray
        1 = signal, 0 = background.
    q2_true : ndarray, optional
        True q2 (NaN for background); enables the q2 regression term.
    config : BackboneConfig, optional
        Size for training from scratch (taken from ``backbone`` otherwise).
    backbone : ParticleEncoder, optional
        Pre-trained encoder whose weights initialise the model (copied, not modified).
    steps, batch_size, lr, weight_decay : int, float
        Fixed optimiser budget (AdamW, cosine decay, clip 1); one learning rate for
        backbone and head.
    q2_weight : float
        Weight of the q2 Gaussian NLL relative to the BCE.
    seed : int
        Seeds head initialisation (and the encoder for scratch) and batch order.
    device : {"cpu", "cuda"}
    progress : Progress or bool, optional
        Reporter (:mod:`redist.progress`); ``None`` uses the installed one.
    frozen : bool
        Keep the pre-trained backbone fixed and train only the head (the
        "frozen backbone" regime; needs ``backbone``).

    Returns
    -------
    model : EventModel (eval mode, on CPU)
    info : dict
    """
    if backbone is None and config is None:
        msg = "finetune needs a pre-trained backbone or a config (training from scratch)"
        raise FMError(msg)
    if frozen and backbone is None:
        msg = "finetune(frozen=True) needs a pre-trained backbone"
        raise FMError(msg)
    cfg = backbone.cfg if backbone is not None else config
    assert cfg is not None
    y = np.asarray(labels, dtype=np.float32)
    if len(y) != len(tokens) or pad.shape != tokens.shape[:2]:
        msg = f"labels ({len(y)}), tokens {tokens.shape} and pad {pad.shape} do not match"
        raise FMError(msg)
    dev = resolve_device(device)
    torch.manual_seed(seed)
    model = EventModel(cfg)
    if backbone is not None:
        model.encoder.load_state_dict(backbone.state_dict())
    model.to(dev).train()
    if frozen:
        model.encoder.requires_grad_(False)
        model.encoder.eval()
    trainable = [p for p in model.parameters() if p.requires_grad]
    x_all = torch.as_tensor(tokens, dtype=torch.float32)
    p_all = torch.as_tensor(pad, dtype=torch.bool)
    y_all = torch.as_tensor(y)
    q = (
        np.zeros(len(y), np.float32)
        if q2_true is None
        else np.nan_to_num(np.asarray(q2_true, np.float32), nan=0.0)
    )
    has_q = (y > 0.5) & (q2_true is not None)
    q_all = torch.as_tensor((q - Q2_CENTER) / Q2_SCALE)
    hq_all = torch.as_tensor(has_q)
    gen = torch.Generator().manual_seed(seed + 7)
    n = len(y)
    bs = min(batch_size, n)

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        out = model(x_all[idx].to(dev), p_all[idx].to(dev))
        loss = F.binary_cross_entropy_with_logits(out[:, 0], y_all[idx].to(dev))
        hq = hq_all[idx].to(dev)
        if q2_weight > 0 and bool(hq.any()):
            mu, ls = out[hq, 1], out[hq, 2].clamp(-5.0, 3.0)
            nll = 0.5 * ((q_all[idx].to(dev)[hq] - mu) * torch.exp(-ls)) ** 2 + ls
            loss = loss + q2_weight * nll.mean()
        return loss

    _, dt = _train_steps(
        trainable, loss_of, n=n, batch_size=bs, steps=steps, lr=lr, weight_decay=weight_decay,
        gen=gen, desc="finetune", progress=progress,
    )  # fmt: skip
    model.to("cpu").eval()
    model.encoder.requires_grad_(True)
    info = {
        "init": "frozen" if frozen else ("pretrained" if backbone is not None else "scratch"),
        "steps": steps,
        "batch_size": bs,
        "lr": lr,
        "q2_weight": q2_weight,
        "seed": seed,
        "n_labelled": int(n),
        "train_events_per_s": steps * bs / dt if dt > 0 else float("nan"),
        "n_parameters": n_parameters(model),
    }
    return model, info


@torch.no_grad()
def predict(
    model: EventModel, tokens: np.ndarray, pad: np.ndarray, *, batch_size: int = 2048, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """Evaluate: ``logit``, ``q2_mu`` and ``q2_sigma`` (GeV^2) per event."""
    dev = resolve_device(device)
    model = model.to(dev).eval()
    outs = []
    for i in range(0, len(tokens), batch_size):
        x = torch.as_tensor(tokens[i : i + batch_size], dtype=torch.float32, device=dev)
        p = torch.as_tensor(pad[i : i + batch_size], dtype=torch.bool, device=dev)
        outs.append(model(x, p).cpu().numpy())
    model.to("cpu")
    o = np.concatenate(outs) if outs else np.zeros((0, 3), np.float32)
    return {
        "logit": o[:, 0].astype(float),
        "q2_mu": o[:, 1] * Q2_SCALE + Q2_CENTER,
        "q2_sigma": np.exp(np.clip(o[:, 2], -5.0, 3.0)) * Q2_SCALE,
    }


def save_model(
    directory: str | Path,
    model: EventModel,
    standardizer: Standardizer,
    eta: EtaTransform | None = None,
    card: dict[str, Any] | None = None,
) -> Path:
    """Write ``model.safetensors`` (backbone + head) and ``model_card.json``."""
    from safetensors.torch import save_file

    from ..io.atomic import atomic_path, atomic_write_text

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cfg = asdict(model.encoder.cfg)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(d / "model.safetensors") as tmp:
        save_file(state, str(tmp), metadata={"config": json.dumps(cfg)})
    full = {
        "model": "redist.fm EventModel (ParticleEncoder + TaskHead: logit, q2_mu, q2_logsig)",
        "config": cfg,
        "n_parameters": n_parameters(model),
        "token_features": list(TOKEN_FEATURES),
        "standardizer": standardizer.to_dict(),
        "eta_transform": eta.to_dict() if eta is not None else None,
        "outputs": ["logit", "q2_mu (standardised)", "q2_logsig (standardised)"],
        "q2_standardisation": {"center": Q2_CENTER, "scale": Q2_SCALE},
        "intended_use": "reinterpretation studies on the redist toy simulation; not a Belle II result",
        **(card or {}),
    }
    atomic_write_text(d / "model_card.json", json.dumps(full, indent=2, sort_keys=True))
    return d


def load_model(directory: str | Path) -> tuple[EventModel, Standardizer, EtaTransform | None, dict[str, Any]]:
    """Inverse of :func:`save_model`."""
    from safetensors.torch import load_file

    d = Path(directory)
    card_path, w_path = d / "model_card.json", d / "model.safetensors"
    if not card_path.is_file() or not w_path.is_file():
        msg = f"{d}: not a fine-tuned model (needs model_card.json and model.safetensors)"
        raise FMError(msg)
    card = json.loads(card_path.read_text())
    try:
        model = EventModel(BackboneConfig(**card["config"]))
        std = Standardizer.from_dict(card["standardizer"])
        eta = EtaTransform.from_dict(card["eta_transform"]) if card.get("eta_transform") else None
    except (KeyError, TypeError) as err:
        msg = f"{card_path}: malformed model card ({err!r})"
        raise FMError(msg) from err
    try:
        model.load_state_dict(load_file(str(w_path)))
    except RuntimeError as err:
        msg = f"{w_path}: weights do not match the configuration in the model card ({err})"
        raise FMError(msg) from err
    return model.eval(), std, eta, card
