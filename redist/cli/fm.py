"""``redist fm``: simulate events, pre-train the backbone, fine-tune heads, build n(x, q2) and eps(x|q2).

Every command follows the CLI conventions (:mod:`redist.cli._common`): artefacts
(event samples, checkpoints, densities) go to ``--output-dir DIR``; the result
summary (kind ``"fm"``) goes to ``-o/--output FILE`` (JSON, with provenance) or to
stdout with ``--json``; status lines and progress bars go to stderr (off with
``--quiet``). The standardiser and eta conventions are those of
:mod:`redist.fm.pipeline`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from ._common import emit, output_options, progress_for, status

__all__ = ["fm"]

_DEVICE = click.option(
    "--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True, help="Torch device."
)
_THREADS = click.option("--threads", type=int, default=1, show_default=True, help="torch.set_num_threads.")


def _outdir(required: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--output-dir",
        type=click.Path(file_okay=False, path_type=Path),
        required=required,
        metavar="DIR",
        help="Directory for the artefacts this command writes.",
    )


def _command_line() -> list[str]:
    ctx = click.get_current_context()
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0.endswith("redist"):
        return ["redist", *sys.argv[1:]]
    return [*ctx.command_path.split(), "..."]


def _finish(doc: dict[str, Any], output: str | None, as_json: bool, quiet: bool) -> None:
    from redist.report.kinds import fm_tables
    from redist.report.provenance import provenance

    doc = {"kind": "fm", **doc}
    emit(
        doc,
        output=output,
        as_json=as_json,
        tables=fm_tables(doc),
        provenance=provenance(_command_line()),
        quiet=quiet,
    )


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


#: file name of an event sample inside ``--output-dir``
EVENTS_FILE = "events.npz"


def _load(paths: tuple[Path, ...]) -> Any:
    from ..simulate import EventSample

    files = [p / EVENTS_FILE if p.is_dir() else p for p in paths]
    samples = [EventSample.load(p) for p in files]
    return EventSample.concatenate(samples) if len(samples) > 1 else samples[0]


_DATA_HELP = f"Event sample (.npz or a directory with {EVENTS_FILE} from `redist fm simulate`)"


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
@_outdir()
@output_options
def simulate(
    n_events: int,
    kind: str,
    theory: str,
    sets: tuple[str, ...],
    q2_shape: str,
    signal_fraction: float,
    t_max: int,
    seed: int,
    output_dir: Path,
    output: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Simulate Belle II-like events into DIR/events.npz (numpy only)."""
    from ..progress import use
    from ..simulate import simulate as run

    t0 = time.perf_counter()
    with use(progress_for(quiet)):
        sample = run(
            n_events,
            kind=kind,
            theory=theory,
            values=_parse_set(sets),
            q2_shape=q2_shape,
            signal_fraction=signal_fraction,
            t_max=t_max,
            seed=seed,
        )
    dt = time.perf_counter() - t0
    output_dir.mkdir(parents=True, exist_ok=True)
    path = sample.save(output_dir / EVENTS_FILE)
    status(f"wrote {path}", quiet)
    _finish(
        {
            "command": "simulate",
            "files": {"events": str(path)},
            "n_events": len(sample),
            "n_preselected": int(sample.presel.sum()),
            "n_signal": int(sample.label.sum()),
            "events_per_s": len(sample) / max(dt, 1e-9),
            "meta": sample.meta,
        },
        output,
        as_json,
        quiet,
    )


@fm.command()
@click.option(
    "--data",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    required=True,
    help=f"{_DATA_HELP}; unlabelled: labels are not read.",
)
@click.option("--size", type=click.Choice(["ci", "cpu", "gpu"]), default="ci", show_default=True)
@click.option("--steps", type=int, default=380, show_default=True)
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--mask-fraction", type=float, default=0.3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@_THREADS
@_DEVICE
@_outdir()
@output_options
def pretrain(
    data: tuple[Path, ...],
    size: str,
    steps: int,
    batch_size: int,
    lr: float,
    mask_fraction: float,
    seed: int,
    threads: int,
    device: str,
    output_dir: Path,
    output: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Masked-particle-modelling pre-training of the backbone on preselected events (DIR = checkpoint)."""
    from ..fm.backbone import SIZES, save_backbone, setup_torch
    from ..fm.backbone import pretrain as run
    from ..fm.pipeline import fit_standardizer, pretrain_inputs
    from ..progress import use

    setup_torch(threads)
    sample = _load(data)
    std = fit_standardizer(sample)
    inputs = pretrain_inputs(sample, std)
    sample = sample.select(sample.presel)
    with use(progress_for(quiet)):
        enc, hist = run(
            inputs["tokens"],
            inputs["pad"],
            SIZES[size],
            kinds=inputs["kinds"],
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            mask_fraction=mask_fraction,
            seed=seed,
            device=device,
        )
    card = {
        "data": {"files": [str(p) for p in data], "n_events": len(sample), "meta": sample.meta},
        "pretraining": hist,
        "size": size,
    }
    save_backbone(output_dir, enc, std, card)
    status(f"wrote {output_dir}", quiet)
    _finish(
        {
            "command": "pretrain",
            "files": {"backbone": str(output_dir)},
            "loss_first": hist["loss_first"],
            "loss_last": hist["loss_last"],
            "train_events_per_s": hist["train_events_per_s"],
            "steps": steps,
        },
        output,
        as_json,
        quiet,
    )


@fm.command()
@click.option(
    "--data",
    type=click.Path(exists=True, path_type=Path),
    multiple=True,
    required=True,
    help=f"{_DATA_HELP}; labelled (signal preferably q2-flat).",
)
@click.option(
    "--backbone",
    default="default",
    show_default=True,
    help="Backbone: a shipped name (default) or a checkpoint directory from `redist fm pretrain`. "
    "Its token standardiser and size are used by every --init.",
)
@click.option(
    "--init",
    type=click.Choice(["pretrained", "frozen", "scratch"]),
    default="pretrained",
    show_default=True,
    help="pretrained: fine-tune all weights; frozen: train only the head; scratch: random weights.",
)
@click.option("--n-labelled", type=int, default=400, show_default=True, help="Balanced training events.")
@click.option("--steps", type=int, default=150, show_default=True)
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--onnx/--no-onnx", "onnx", default=True, show_default=True, help="Export and check ONNX.")
@_THREADS
@_DEVICE
@_outdir()
@output_options
def finetune(
    data: tuple[Path, ...],
    backbone: str,
    init: str,
    n_labelled: int,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    onnx: bool,
    threads: int,
    device: str,
    output_dir: Path,
    output: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Fine-tune the signal score and q2 heads; fit eta on held-out signal; export (DIR = model)."""
    from ..fm.backbone import load_backbone, resolve_backbone, setup_torch
    from ..fm.heads import auc, predict, save_model
    from ..fm.heads import finetune as run
    from ..fm.pipeline import fit_eta, sample_tokens
    from ..progress import use

    setup_torch(threads)
    sample = _load(data)
    sample = sample.select(sample.presel)
    enc, std, _ = load_backbone(backbone)
    rng = np.random.default_rng(seed)
    sig, bkg = np.flatnonzero(sample.label == 1), np.flatnonzero(sample.label == 0)
    half = n_labelled // 2
    if len(sig) < half + 2 or len(bkg) < half + 2:
        msg = f"need more than {half} preselected signal and background events, have {len(sig)} / {len(bkg)}"
        raise click.BadParameter(msg)
    train = np.concatenate([rng.choice(sig, half, replace=False), rng.choice(bkg, half, replace=False)])
    held = np.setdiff1d(np.arange(len(sample)), train)
    x, pad = sample_tokens(sample, std)
    with use(progress_for(quiet)):
        model, info = run(
            x[train],
            pad[train],
            sample.label[train],
            sample.q2_true[train],
            config=enc.cfg,
            backbone=None if init == "scratch" else enc,
            frozen=init == "frozen",
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            device=device,
        )
    pr = predict(model, x[held], pad[held], device=device)
    logit = np.full(len(sample), np.nan)
    logit[held] = pr["logit"]
    eta = fit_eta(logit, sample)
    y = sample.label[held]
    s = y == 1
    metrics: dict[str, Any] = {
        "auc_heldout": auc(pr["logit"], y),
        "q2_rmse_signal": float(np.sqrt(np.mean((pr["q2_mu"][s] - sample.q2_true[held][s]) ** 2))),
    }
    card: dict[str, Any] = {
        "finetuning": info,
        "metrics": metrics,
        "backbone": str(resolve_backbone(backbone)),
        "standardizer_from": "backbone",
        "eta": "SM-weighted CDF of the score on held-out preselected signal (redist.fm.pipeline.fit_eta)",
        "data": {"files": [str(p) for p in data], "n_events": len(sample)},
    }
    if onnx:
        from ..fm.export import export_onnx, onnx_max_abs_diff

        output_dir.mkdir(parents=True, exist_ok=True)
        path = export_onnx(model, output_dir / "model.onnx", n_tokens=x.shape[1])
        n_par = min(len(held), 2048)
        card["onnx"] = {
            "file": "model.onnx",
            "max_abs_diff_vs_torch": onnx_max_abs_diff(model, path, x[held[:n_par]], pad[held[:n_par]]),
            "n_events_compared": n_par,
        }
        metrics["onnx_max_abs_diff"] = card["onnx"]["max_abs_diff_vs_torch"]
    save_model(output_dir, model, std, eta, card)
    status(f"wrote {output_dir}", quiet)
    _finish(
        {
            "command": "finetune",
            "files": {"model": str(output_dir)},
            "init": info["init"],
            "n_labelled": len(train),
            "train_events_per_s": info["train_events_per_s"],
            **metrics,
        },
        output,
        as_json,
        quiet,
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
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help=f"{_DATA_HELP} with ALL generated signal events (kind=signal).",
)
@click.option("--eta-edges", default="0.25,0.5,0.75,1.0", show_default=True)
@click.option("--q2rec-edges", default="-inf,4,8,inf", show_default=True)
@click.option(
    "--n-bb", type=float, default=387e6, show_default=True, help="Number of BB pairs (yield scale)."
)
@click.option("--n-replicas", type=int, default=100, show_default=True, help="Bootstrap replicas.")
@click.option("--seed", type=int, default=0, show_default=True)
@_THREADS
@_DEVICE
@_outdir()
@output_options
def densities(
    models: tuple[Path, ...],
    signal: Path,
    eta_edges: str,
    q2rec_edges: str,
    n_bb: float,
    n_replicas: int,
    seed: int,
    threads: int,
    device: str,
    output_dir: Path,
    output: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Build n(x, q2_true) and eps(x|q2) in the published layout (+ bootstrap, ensemble)."""
    from ..fm.backbone import setup_torch
    from ..fm.densities import build
    from ..fm.heads import load_model
    from ..fm.pipeline import fm_fit_bins, score_sample
    from ..simulate import q2_sampler
    from ..theory import get_theory

    setup_torch(threads)
    sample = _load((signal,))
    e_edges, q_edges = _floats(eta_edges, "--eta-edges"), _floats(q2rec_edges, "--q2rec-edges")
    xs = []
    bar = progress_for(quiet).bar(len(models), "score", unit="model")
    try:
        for path in models:
            model, std, eta, _ = load_model(path)
            if eta is None:
                msg = f"{path}: model has no eta transform"
                raise click.BadParameter(msg)
            sc = score_sample(model, std, sample, device=device)
            xs.append(fm_fit_bins(sample, sc["logit"], eta, eta_edges=e_edges, q2rec_edges=q_edges))
            bar.advance(1)
    finally:
        bar.close()
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
    res.save(output_dir)
    status(f"wrote {output_dir}", quiet)
    _finish(
        {
            "command": "densities",
            "files": {"densities": str(output_dir)},
            "n_x": n_x,
            "expected_yield": float(res.density.values().sum()),
            "yields": np.round(res.density.yields(), 4).tolist(),
        },
        output,
        as_json,
        quiet,
    )
