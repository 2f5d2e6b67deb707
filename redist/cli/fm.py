"""``redist fm``: simulate events, pre-train the backbone, fine-tune heads, build n(x, q2) and eps(x|q2)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

__all__ = ["fm"]

_DEVICE = click.option(
    "--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True, help="Torch device."
)
_THREADS = click.option("--threads", type=int, default=1, show_default=True, help="torch.set_num_threads.")
_PROGRESS = click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars.")


def _parse_set(items: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        key, sep, val = item.partition("=")
        try:
            out[key.strip()] = float(val)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            msg = f"--set expects NAME=VALUE with a number, got {item!r}"
            raise click.BadParameter(msg)
    return out


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError as err:
        msg = f"{name} must be comma-separated numbers, got {text!r}"
        raise click.BadParameter(msg) from err


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def fm() -> None:
    """Foundation-model embeddings: toy simulation, MPM pre-training, fine-tuning, densities."""


@fm.command()
@click.option("-n", "--n-events", type=int, required=True, help="Generated events.")
@click.option(
    "--kind",
    default="mixed",
    show_default=True,
    type=click.Choice(["mixed", "background", "signal", "bbbar_charged", "bbbar_neutral", "uds", "ccbar"]),
)
@click.option("--theory", default="wet", show_default=True, help="Registered theory for the signal q2.")
@click.option("--set", "sets", multiple=True, help="Theory parameter NAME=VALUE (repeatable), e.g. cSL=10.")
@click.option("--q2-shape", type=click.Choice(["theory", "flat"]), default="theory", show_default=True)
@click.option("--signal-fraction", type=float, default=0.3, show_default=True)
@click.option("--t-max", type=int, default=32, show_default=True, help="Stored particles per event.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output .npz."
)
@_DEVICE
@_PROGRESS
def simulate(
    n_events: int,
    kind: str,
    theory: str,
    sets: tuple[str, ...],
    q2_shape: str,
    signal_fraction: float,
    t_max: int,
    seed: int,
    out: Path,
    device: str,
    progress: bool,
) -> None:
    """Simulate Belle II-like events into a padded .npz sample (numpy; --device is ignored)."""
    import time

    from ..simulate import simulate as run

    t0 = time.perf_counter()
    sample = run(
        n_events,
        kind=kind,
        theory=theory,
        values=_parse_set(sets),
        q2_shape=q2_shape,
        signal_fraction=signal_fraction,
        t_max=t_max,
        seed=seed,
        progress=progress,
    )
    dt = time.perf_counter() - t0
    sample.save(out)
    click.echo(
        f"{out}: {len(sample)} events ({int(sample.presel.sum())} preselected, "
        f"{int(sample.label.sum())} signal) in {dt:.1f} s = {len(sample) / max(dt, 1e-9):.0f} events/s"
    )


def _load(paths: tuple[Path, ...]) -> object:
    from ..simulate import EventSample

    samples = [EventSample.load(p) for p in paths]
    return EventSample.concatenate(samples) if len(samples) > 1 else samples[0]


@fm.command()
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    required=True,
    help="Unlabelled sample(s) from `redist fm simulate`; labels are not read.",
)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--size", type=click.Choice(["ci", "cpu", "gpu"]), default="ci", show_default=True)
@click.option("--steps", type=int, default=380, show_default=True)
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--mask-fraction", type=float, default=0.3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@_THREADS
@_DEVICE
@_PROGRESS
def pretrain(
    data: tuple[Path, ...],
    out: Path,
    size: str,
    steps: int,
    batch_size: int,
    lr: float,
    mask_fraction: float,
    seed: int,
    threads: int,
    device: str,
    progress: bool,
) -> None:
    """Masked-particle-modelling pre-training of the backbone on preselected events."""
    from ..fm.backbone import SIZES, save_backbone, setup_torch
    from ..fm.backbone import pretrain as run
    from ..fm.tokens import Standardizer, make_tokens

    setup_torch(threads)
    sample = _load(data)
    sample = sample.select(sample.presel)  # type: ignore[attr-defined]
    tok = make_tokens(sample.particles, sample.mask)
    std = Standardizer.fit(tok, sample.mask)
    enc, hist = run(
        std(tok, sample.mask),
        ~sample.mask,
        SIZES[size],
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        mask_fraction=mask_fraction,
        seed=seed,
        device=device,
        progress=progress,
    )
    card = {
        "data": {"files": [str(p) for p in data], "n_events": len(sample), "meta": sample.meta},
        "pretraining": hist,
        "size": size,
    }
    save_backbone(out, enc, std, card)
    click.echo(
        f"{out}: loss {hist['loss_first']:.3f} -> {hist['loss_last']:.3f}, "
        f"{hist['train_events_per_s']:.0f} train events/s"
    )


@fm.command()
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    required=True,
    help="Labelled sample(s) (signal preferably q2-flat).",
)
@click.option(
    "--backbone",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Pre-trained backbone directory; omit to train from scratch.",
)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--size",
    type=click.Choice(["ci", "cpu", "gpu"]),
    default="ci",
    show_default=True,
    help="Size when training from scratch.",
)
@click.option("--n-labelled", type=int, default=400, show_default=True, help="Balanced training events.")
@click.option("--steps", type=int, default=150, show_default=True)
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--onnx/--no-onnx", "onnx", default=True, show_default=True, help="Export and check ONNX.")
@_THREADS
@_DEVICE
@_PROGRESS
def finetune(
    data: tuple[Path, ...],
    backbone: Path | None,
    out: Path,
    size: str,
    n_labelled: int,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    onnx: bool,
    threads: int,
    device: str,
    progress: bool,
) -> None:
    """Fine-tune the signal score and q2 heads; fit eta on held-out signal; export."""
    from ..fm.backbone import SIZES, load_backbone, setup_torch
    from ..fm.heads import EtaTransform, auc, predict, save_model
    from ..fm.heads import finetune as run
    from ..fm.pipeline import sample_tokens
    from ..fm.tokens import Standardizer, make_tokens

    setup_torch(threads)
    sample = _load(data)
    sample = sample.select(sample.presel)  # type: ignore[attr-defined]
    enc = None
    if backbone is not None:
        enc, std, _ = load_backbone(backbone)
    else:
        std = Standardizer.fit(make_tokens(sample.particles, sample.mask), sample.mask)
    rng = np.random.default_rng(seed)
    sig, bkg = np.flatnonzero(sample.label == 1), np.flatnonzero(sample.label == 0)
    half = n_labelled // 2
    if len(sig) < half + 2 or len(bkg) < half + 2:
        msg = f"need more than {half} preselected signal and background events, have {len(sig)} / {len(bkg)}"
        raise click.BadParameter(msg)
    train = np.concatenate([rng.choice(sig, half, replace=False), rng.choice(bkg, half, replace=False)])
    held = np.setdiff1d(np.arange(len(sample)), train)
    x, pad = sample_tokens(sample, std)
    model, info = run(
        x[train],
        pad[train],
        sample.label[train],
        sample.q2_true[train],
        config=SIZES[size],
        backbone=enc,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        progress=progress,
    )
    pr = predict(model, x[held], pad[held], device=device)
    y = sample.label[held]
    s = y == 1
    eta = EtaTransform.fit(pr["logit"][s], sample.weight[held][s])
    metrics = {
        "auc_heldout": auc(pr["logit"], y),
        "q2_rmse_signal": float(np.sqrt(np.mean((pr["q2_mu"][s] - sample.q2_true[held][s]) ** 2))),
    }
    card = {
        "finetuning": info,
        "metrics": metrics,
        "backbone": str(backbone) if backbone else None,
        "data": {"files": [str(p) for p in data], "n_events": len(sample)},
    }
    if onnx:
        from ..fm.export import export_onnx, onnx_max_abs_diff

        out.mkdir(parents=True, exist_ok=True)
        path = export_onnx(model, out / "model.onnx", n_tokens=x.shape[1])
        card["onnx"] = {
            "file": "model.onnx",
            "max_abs_diff_vs_torch": onnx_max_abs_diff(model, path, x[held[:256]], pad[held[:256]]),
        }
    save_model(out, model, std, eta, card)
    click.echo(
        f"{out}: {info['init']} AUC(held-out) {metrics['auc_heldout']:.4f}, "
        f"{info['train_events_per_s']:.0f} train events/s"
    )


@fm.command()
@click.option(
    "--model",
    "models",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    multiple=True,
    required=True,
    help="Fine-tuned model directory; repeat for a seed ensemble (first = nominal).",
)
@click.option(
    "--signal",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Signal sample with ALL generated events (kind=signal).",
)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--eta-edges", default="0.25,0.5,0.75,1.0", show_default=True)
@click.option("--q2rec-edges", default="-inf,4,8,inf", show_default=True)
@click.option(
    "--n-bb", type=float, default=387e6, show_default=True, help="Number of BB pairs (yield scale)."
)
@click.option("--n-replicas", type=int, default=100, show_default=True, help="Bootstrap replicas.")
@click.option("--seed", type=int, default=0, show_default=True)
@_THREADS
@_DEVICE
@_PROGRESS
def densities(
    models: tuple[Path, ...],
    signal: Path,
    out: Path,
    eta_edges: str,
    q2rec_edges: str,
    n_bb: float,
    n_replicas: int,
    seed: int,
    threads: int,
    device: str,
    progress: bool,
) -> None:
    """Build n(x, q2_true) and eps(x|q2) in the published layout (+ bootstrap, ensemble)."""
    from tqdm.auto import tqdm

    from ..fm.backbone import setup_torch
    from ..fm.densities import build
    from ..fm.heads import load_model
    from ..fm.pipeline import fm_fit_bins, score_sample
    from ..simulate import EventSample, q2_sampler
    from ..theory import get_theory

    setup_torch(threads)
    sample = EventSample.load(signal)
    e_edges, q_edges = _floats(eta_edges, "--eta-edges"), _floats(q2rec_edges, "--q2rec-edges")
    xs = []
    for path in tqdm(models, desc="score", disable=not progress, leave=False):
        model, std, eta, _ = load_model(path)
        if eta is None:
            msg = f"{path}: model has no eta transform"
            raise click.BadParameter(msg)
        sc = score_sample(model, std, sample, device=device)
        xs.append(fm_fit_bins(sample, sc["logit"], eta, eta_edges=e_edges, q2rec_edges=q_edges))
    meta = sample.meta
    th = get_theory("wet", process="B+->K+nunu")
    if meta.get("theory"):
        th = (
            get_theory(meta["theory"], process="B+->K+nunu")
            if meta["theory"] == "wet"
            else get_theory(meta["theory"])
        )
    _, _, br = q2_sampler(th, meta.get("values"))
    n_b = 2.0 * n_bb * 0.514
    scale = n_b * br / max(len(sample), 1)
    n_x = (len(e_edges) - 1) * (len(q_edges) - 1)
    res = build(
        xs[0],
        sample.q2_true,
        n_x,
        scale=scale,
        weights=sample.weight,
        n_replicas=n_replicas,
        seed=seed,
        ensemble_x=xs[1:],
        meta={
            "models": [str(m) for m in models],
            "signal": str(signal),
            "eta_edges": e_edges,
            "q2rec_edges": q_edges,
            "n_bb": n_bb,
            "branching_ratio": br,
        },
    )
    res.save(out)
    click.echo(
        f"{out}: n_x = {n_x}, expected SR yield {res.density.values().sum():.2f}; "
        f"yields per fit bin {json.dumps(np.round(res.density.yields(), 2).tolist())}"
    )
