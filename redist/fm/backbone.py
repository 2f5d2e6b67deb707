"""Set-transformer backbone over particle tokens and masked-particle-modelling (MPM) pre-training.

The :class:`ParticleEncoder` embeds each particle's continuous features with a
small MLP and runs a pre-LayerNorm transformer encoder **without positional
encoding** (permutation-equivariant, i.e. a set transformer) with a padding
mask. Self-supervised pre-training hides 30 % of the real particles of each
event behind a learned ``[MASK]`` embedding and regresses their standardised
features (MSE). Labels are never read.

Checkpoints are a ``backbone.safetensors`` file plus a ``model_card.json``
(configuration, token schema and standardisation, data, objective, metrics).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from . import FMError, require_torch

require_torch()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from .tokens import N_KINDS, TOKEN_FEATURES, Standardizer  # noqa: E402

__all__ = [
    "PRETRAINED_DIR",
    "SIZES",
    "BackboneConfig",
    "MPMHead",
    "ParticleEncoder",
    "evaluate_mpm",
    "load_backbone",
    "load_mpm_head",
    "pretrain",
    "pretrain_with_head",
    "resolve_backbone",
    "save_backbone",
    "setup_torch",
]


@dataclass(frozen=True)
class BackboneConfig:
    """Backbone size.

    Parameters
    ----------
    n_features : int
        Token features per particle.
    dim : int
        Embedding width.
    layers : int
        Transformer blocks.
    heads : int
        Attention heads.
    ff_mult : int
        Feed-forward width as a multiple of ``dim``.
    dropout : float
        Dropout in the blocks.
    """

    n_features: int = len(TOKEN_FEATURES)
    dim: int = 32
    layers: int = 2
    heads: int = 4
    ff_mult: int = 2
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.dim % self.heads:
            msg = f"backbone dim {self.dim} is not divisible by heads {self.heads}"
            raise FMError(msg)
        if min(self.n_features, self.dim, self.layers, self.heads, self.ff_mult) < 1:
            msg = f"backbone config {self} has a non-positive size"
            raise FMError(msg)


#: Presets: CI (tests, 2 CPU cores), small (the shipped default backbone), CPU development, GPU scale-up.
SIZES = {
    "ci": BackboneConfig(dim=32, layers=2, heads=4),
    "small": BackboneConfig(dim=64, layers=2, heads=4),
    "cpu": BackboneConfig(dim=64, layers=4, heads=4),
    "gpu": BackboneConfig(dim=256, layers=8, heads=8, ff_mult=4, dropout=0.1),
}


def setup_torch(threads: int | None = 1, *, deterministic: bool = True) -> None:
    """Pin the number of CPU threads and request deterministic kernels."""
    if threads is not None:
        if threads < 1:
            msg = f"threads must be >= 1, got {threads}"
            raise FMError(msg)
        torch.set_num_threads(int(threads))
    torch.use_deterministic_algorithms(deterministic)


def resolve_device(device: str) -> torch.device:
    """``"cpu"`` or ``"cuda"`` (error if CUDA is not available)."""
    if device not in ("cpu", "cuda"):
        msg = f"device must be 'cpu' or 'cuda', got {device!r}"
        raise FMError(msg)
    if device == "cuda" and not torch.cuda.is_available():
        msg = "device 'cuda' requested but torch.cuda.is_available() is False"
        raise FMError(msg)
    return torch.device(device)


class _Block(nn.Module):
    """Pre-LN transformer block with a key-padding mask (explicit, ONNX-exportable)."""

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.norm1 = nn.LayerNorm(cfg.dim)
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim)
        self.proj = nn.Linear(cfg.dim, cfg.dim)
        self.norm2 = nn.LayerNorm(cfg.dim)
        self.ff = nn.Sequential(
            nn.Linear(cfg.dim, cfg.ff_mult * cfg.dim), nn.GELU(), nn.Linear(cfg.ff_mult * cfg.dim, cfg.dim)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.norm1(x)).reshape(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d // h) + bias
        out = torch.matmul(torch.softmax(att, dim=-1), v).transpose(1, 2).reshape(b, t, d)
        x = x + self.drop(self.proj(out))
        return cast(torch.Tensor, x + self.drop(self.ff(self.norm2(x))))


class ParticleEncoder(nn.Module):
    """Permutation-equivariant encoder of a padded particle set.

    ``forward(tokens, pad, hide=None)``: ``tokens`` ``(B, T, F)`` standardised,
    ``pad`` ``(B, T)`` bool True for padding, optional ``hide`` ``(B, T)`` bool True
    for particles replaced by the ``[MASK]`` embedding. Returns ``(B, T, dim)``.
    """

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Sequential(nn.Linear(cfg.n_features, cfg.dim), nn.GELU(), nn.Linear(cfg.dim, cfg.dim))
        self.mask_token = nn.Parameter(torch.zeros(cfg.dim))
        self.blocks = nn.ModuleList([_Block(cfg) for _ in range(cfg.layers)])
        self.norm = nn.LayerNorm(cfg.dim)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(
        self, tokens: torch.Tensor, pad: torch.Tensor, hide: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Encode; see the class docstring."""
        x = self.embed(tokens)
        if hide is not None:
            x = torch.where(hide[..., None], self.mask_token.to(x.dtype), x)
        # additive key bias: -inf-like for padding; the first slot is always attendable
        keep = ~pad
        keep = torch.cat([torch.ones_like(keep[:, :1]), keep[:, 1:]], dim=1)
        bias = torch.where(keep, 0.0, -1e9).to(x.dtype)[:, None, None, :]
        for blk in self.blocks:
            x = blk(x, bias)
        return cast(torch.Tensor, self.norm(x))


class MPMHead(nn.Module):
    """Regresses the standardised features of hidden particles and classifies their kind."""

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__()
        self.n_features = cfg.n_features
        self.net = nn.Sequential(
            nn.Linear(cfg.dim, cfg.dim), nn.GELU(), nn.Linear(cfg.dim, cfg.n_features + N_KINDS)
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Predicted standardised features and kind logits, ``(B, T, F + N_KINDS)``."""
        return cast(torch.Tensor, self.net(h))


def _progress(total: int, desc: str, progress: Any) -> Any:
    """A :mod:`redist.progress` bar (``progress``: a reporter, True/False, or None = the installed one)."""
    from ..progress import resolve

    return resolve(progress).bar(total, desc, unit="step")


def _train_steps(
    params: list[nn.Parameter],
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    *,
    n: int,
    batch_size: int,
    steps: int,
    lr: float,
    weight_decay: float,
    gen: torch.Generator,
    desc: str,
    progress: Any = None,
    callback: Callable[[int, float], None] | None = None,
) -> tuple[list[float], float]:
    """The optimiser loop shared by :func:`pretrain` and :func:`redist.fm.heads.finetune`.

    A fixed budget of ``steps`` AdamW steps (cosine decay with 5 % linear warm-up,
    gradient-norm clipping at 1) over mini-batches of ``batch_size`` event indices
    taken in order from a random permutation of ``range(n)`` (drawn from ``gen``;
    a new one when the current one is used up). ``loss_of(indices)`` returns the
    loss of a mini-batch; it may draw from ``gen`` too (the draws interleave in a
    fixed order, so a run reproduces bit for bit).

    Returns
    -------
    losses : list of float
        The loss of every step.
    seconds : float
        Wall time of the loop.
    """
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    )
    losses: list[float] = []
    perm = torch.randperm(n, generator=gen)
    cursor = 0
    bar = _progress(steps, desc, progress)
    t0 = time.perf_counter()
    for step in range(steps):
        if cursor + batch_size > n:
            perm = torch.randperm(n, generator=gen)
            cursor = 0
        idx = perm[cursor : cursor + batch_size]
        cursor += batch_size
        loss = loss_of(idx)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if callback is not None:
            callback(step, losses[-1])
        bar.advance(1)
    bar.close()
    return losses, time.perf_counter() - t0


def pretrain(
    tokens: np.ndarray,
    pad: np.ndarray,
    config: BackboneConfig = SIZES["ci"],
    *,
    steps: int = 380,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-2,
    mask_fraction: float = 0.3,
    seed: int = 0,
    device: str = "cpu",
    progress: Any = None,
    callback: Callable[[int, float], None] | None = None,
    kinds: np.ndarray | None = None,
    kind_weight: float = 0.5,
) -> tuple[ParticleEncoder, dict[str, Any]]:
    """Masked-particle-modelling pre-training on unlabelled events.

    Parameters
    ----------
    tokens : ndarray, shape (n, T, F)
        Standardised tokens (see :class:`redist.fm.tokens.Standardizer`).
    pad : ndarray, shape (n, T), bool
        True for padding.
    config : BackboneConfig
        Backbone size.
    steps, batch_size : int
        Optimiser steps (the budget is in steps, not seconds, for reproducibility).
    lr, weight_decay : float
        AdamW settings; cosine decay with 5 % warm-up; gradient clipping at 1.
    mask_fraction : float
        Fraction of real particles hidden per event.
    seed : int
        Seeds initialisation, masking and batch order.
    device : {"cpu", "cuda"}
        Where to train.
    progress : Progress or bool, optional
        Reporter (:mod:`redist.progress`); ``None`` uses the installed one.
    callback : callable, optional
        Called as ``callback(step, loss)``.
    kinds : ndarray, shape (n, T), int, optional
        Particle kinds (:func:`redist.fm.tokens.particle_kind`); adds a cross-entropy
        term on the kind of each hidden particle (weight ``kind_weight``).
    kind_weight : float
        Weight of the kind cross-entropy relative to the feature MSE.

    Returns
    -------
    encoder : ParticleEncoder
    history : dict
        Loss curve, events/s and settings (for the model card).
    """
    enc, history, _ = pretrain_with_head(
        tokens, pad, config, steps=steps, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
        mask_fraction=mask_fraction, seed=seed, device=device, progress=progress, callback=callback,
        kinds=kinds, kind_weight=kind_weight,
    )  # fmt: skip
    return enc, history


def pretrain_with_head(
    tokens: np.ndarray,
    pad: np.ndarray,
    config: BackboneConfig = SIZES["ci"],
    *,
    steps: int = 380,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-2,
    mask_fraction: float = 0.3,
    seed: int = 0,
    device: str = "cpu",
    progress: Any = None,
    callback: Callable[[int, float], None] | None = None,
    kinds: np.ndarray | None = None,
    kind_weight: float = 0.5,
) -> tuple[ParticleEncoder, dict[str, Any], MPMHead]:
    """:func:`pretrain` that also returns the pre-training head (for :func:`evaluate_mpm`).

    Parameters are those of :func:`pretrain`.
    """
    if not 0.0 < mask_fraction < 1.0:
        msg = f"mask_fraction must be in (0, 1), got {mask_fraction}"
        raise FMError(msg)
    if tokens.ndim != 3 or tokens.shape[-1] != config.n_features or pad.shape != tokens.shape[:2]:
        msg = f"tokens {tokens.shape} / pad {pad.shape} do not match (n, T, {config.n_features}) / (n, T)"
        raise FMError(msg)
    dev = resolve_device(device)
    torch.manual_seed(seed)
    enc = ParticleEncoder(config).to(dev)
    head = MPMHead(config).to(dev)
    params = list(enc.parameters()) + list(head.parameters())
    gen = torch.Generator().manual_seed(seed + 1)
    x_all = torch.as_tensor(tokens, dtype=torch.float32)
    pad_all = torch.as_tensor(pad, dtype=torch.bool)
    kind_all = None if kinds is None else torch.as_tensor(np.asarray(kinds), dtype=torch.long)
    if kind_all is not None and kind_all.shape != pad_all.shape:
        msg = f"kinds {tuple(kind_all.shape)} do not match pad {tuple(pad_all.shape)}"
        raise FMError(msg)
    n = len(x_all)

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        x, p = x_all[idx].to(dev), pad_all[idx].to(dev)
        hide = (torch.rand(p.shape, generator=gen) < mask_fraction).to(dev) & ~p
        out = head(enc(x, p, hide))
        feat = out[..., : config.n_features]
        sel = hide[..., None].expand_as(feat)
        loss = F.mse_loss(feat[sel], x[sel]) if bool(hide.any()) else out.sum() * 0.0
        if kind_all is not None and bool(hide.any()):
            logits = out[..., config.n_features :][hide]
            loss = loss + kind_weight * F.cross_entropy(logits, kind_all[idx].to(dev)[hide])
        return cast(torch.Tensor, loss)

    enc.train()
    head.train()
    losses, dt = _train_steps(
        params, loss_of, n=n, batch_size=batch_size, steps=steps, lr=lr, weight_decay=weight_decay,
        gen=gen, desc="pretrain (MPM)", progress=progress, callback=callback,
    )  # fmt: skip
    history = {
        "objective": (
            f"masked particle modelling: {mask_fraction:.0%} of real particles hidden, "
            "MSE on standardised features"
            + ("" if kinds is None else f" + {kind_weight} x cross-entropy on the particle kind")
        ),
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "weight_decay": weight_decay,
        "seed": seed,
        "n_events": int(n),
        "loss_first": float(np.mean(losses[: max(1, steps // 20)])),
        "loss_last": float(np.mean(losses[-max(1, steps // 20) :])),
        "train_events_per_s": steps * batch_size / dt if dt > 0 else float("nan"),
        "device": str(dev),
        "threads": torch.get_num_threads(),
    }
    enc.eval()
    head.eval()
    return enc, history, head


def n_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


@torch.no_grad()
def evaluate_mpm(
    encoder: ParticleEncoder,
    head: MPMHead,
    tokens: np.ndarray,
    pad: np.ndarray,
    kinds: np.ndarray,
    *,
    mask_fraction: float = 0.3,
    seed: int = 0,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Masked-particle metrics on held-out events with a seeded mask: feature MSE, kind accuracy."""
    gen = torch.Generator().manual_seed(seed)
    x_all = torch.as_tensor(tokens, dtype=torch.float32)
    p_all = torch.as_tensor(pad, dtype=torch.bool)
    k_all = torch.as_tensor(np.asarray(kinds), dtype=torch.long)
    hide_all = (torch.rand(p_all.shape, generator=gen) < mask_fraction) & ~p_all
    se, n_feat, correct, n_hidden = 0.0, 0, 0, 0
    encoder.eval()
    head.eval()
    f = encoder.cfg.n_features
    for i in range(0, len(x_all), batch_size):
        x, p, h = x_all[i : i + batch_size], p_all[i : i + batch_size], hide_all[i : i + batch_size]
        out = head(encoder(x, p, h))
        se += float(((out[..., :f] - x)[h] ** 2).sum())
        n_feat += int(h.sum()) * f
        correct += int((out[..., f:][h].argmax(-1) == k_all[i : i + batch_size][h]).sum())
        n_hidden += int(h.sum())
    return {"mpm_feature_mse": se / max(n_feat, 1), "kind_accuracy": correct / max(n_hidden, 1)}


def save_backbone(
    directory: str | Path,
    encoder: ParticleEncoder,
    standardizer: Standardizer,
    card: dict[str, Any] | None = None,
    head: MPMHead | None = None,
) -> Path:
    """Write ``backbone.safetensors`` (+ ``mpm_head.safetensors``) and ``model_card.json``."""
    from safetensors.torch import save_file

    from ..io.atomic import atomic_path, atomic_write_text

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cfg = asdict(encoder.cfg)
    state = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    with atomic_path(d / "backbone.safetensors") as tmp:
        save_file(state, str(tmp), metadata={"config": json.dumps(cfg)})
    if head is not None:
        hstate = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
        with atomic_path(d / "mpm_head.safetensors") as tmp:
            save_file(hstate, str(tmp), metadata={"config": json.dumps(cfg)})
    full = {
        "model": "redist.fm ParticleEncoder (set transformer, no positional encoding)",
        "config": cfg,
        "n_parameters": n_parameters(encoder),
        "token_features": list(TOKEN_FEATURES),
        "standardizer": standardizer.to_dict(),
        "intended_use": "reinterpretation studies on the redist toy simulation; not a Belle II result",
        **(card or {}),
    }
    atomic_write_text(d / "model_card.json", json.dumps(full, indent=2, sort_keys=True))
    return d


#: Where the shipped backbones live (one sub-directory per name).
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


def resolve_backbone(name_or_dir: str | Path) -> Path:
    """Directory of a backbone: a shipped name (``"default"``) or a checkpoint directory."""
    d = Path(name_or_dir)
    if d.is_dir():
        return d
    name = str(name_or_dir)
    if name.isidentifier() and (PRETRAINED_DIR / name).is_dir():
        return PRETRAINED_DIR / name
    shipped = (
        sorted(p.name for p in PRETRAINED_DIR.iterdir() if p.is_dir()) if PRETRAINED_DIR.is_dir() else []
    )
    msg = f"backbone {name!r}: neither a checkpoint directory nor a shipped backbone {shipped}"
    raise FMError(msg)


def load_backbone(name_or_dir: str | Path) -> tuple[ParticleEncoder, Standardizer, dict[str, Any]]:
    """Inverse of :func:`save_backbone`: encoder (eval mode), standardiser and model card.

    ``name_or_dir`` is a checkpoint directory or the name of a shipped backbone
    (``"default"``, in ``redist/fm/pretrained/``).
    """
    from safetensors.torch import load_file

    d = resolve_backbone(name_or_dir)
    card_path, w_path = d / "model_card.json", d / "backbone.safetensors"
    if not card_path.is_file() or not w_path.is_file():
        msg = f"{d}: not a backbone checkpoint (needs model_card.json and backbone.safetensors)"
        raise FMError(msg)
    card = json.loads(card_path.read_text())
    try:
        cfg = BackboneConfig(**card["config"])
        std = Standardizer.from_dict(card["standardizer"])
    except (KeyError, TypeError) as err:
        msg = f"{card_path}: malformed model card ({err!r})"
        raise FMError(msg) from err
    enc = ParticleEncoder(cfg)
    try:
        enc.load_state_dict(load_file(str(w_path)))
    except RuntimeError as err:
        msg = f"{w_path}: weights do not match the configuration in the model card ({err})"
        raise FMError(msg) from err
    enc.eval()
    return enc, std, card


def load_mpm_head(name_or_dir: str | Path) -> MPMHead:
    """The pre-training head saved with a backbone (``mpm_head.safetensors``)."""
    from safetensors.torch import load_file

    d = resolve_backbone(name_or_dir)
    path = d / "mpm_head.safetensors"
    card = json.loads((d / "model_card.json").read_text())
    if not path.is_file():
        msg = f"{d}: no mpm_head.safetensors (saved without its pre-training head)"
        raise FMError(msg)
    head = MPMHead(BackboneConfig(**card["config"]))
    head.load_state_dict(load_file(str(path)))
    return head.eval()
