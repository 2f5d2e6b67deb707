"""``redist inspect | show | plot | report``: look at models and saved results.

``inspect`` describes a model (theory, parameters by group, channels, samples,
data). ``show``, ``plot`` and ``report`` read result files written with ``-o`` and
dispatch on their ``"kind"`` tag (:mod:`redist.report.registry`), so every result
kind that registers itself works with all three.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from redist.cli import check_outputs
from redist.cli._common import load_input, print_tables, progress_for, status
from redist.exceptions import FileFormatError, ModelSpecError

__all__ = ["inspect", "plot", "report", "show"]


def _read_result(path: str) -> dict[str, Any]:
    from redist.io.reader import read_json

    doc = read_json(path)
    if not isinstance(doc, dict):
        msg = f"{path}: not a redist result (a JSON object is expected)"
        raise FileFormatError(msg)
    return doc


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
@click.option("--all", "all_parameters", is_flag=True, help="Also list every analysis nuisance parameter.")
def inspect(model: str, as_json: bool, all_parameters: bool) -> None:
    """Describe MODEL: theory, parameters by group, channels, samples and data.

    MODEL is a redist model file, a plain pyhf workspace, or - (standard input).
    """
    from redist.report.inspect import describe_model
    from redist.report.tables import model_tables

    loaded = load_input(model)
    info = describe_model(loaded.model, data=None if loaded.data is None else loaded.data)
    if as_json:
        click.echo(json.dumps(info, indent=1, allow_nan=False))
        return
    if not all_parameters:
        info = {**info, "parameters": {**info["parameters"], "nuisance_list": []}}
    print_tables(model_tables(info))


@click.command()
@click.argument("result", type=click.Path(exists=True, dir_okay=False))
def show(result: str) -> None:
    """Print the summary table of a saved RESULT (any kind written with -o)."""
    from redist.report import registry

    doc = _read_result(result)
    kind = registry.get(registry.kind_of(doc, result))
    print_tables(kind.tables(kind.from_dict(doc)))


def _model_figures(doc: dict[str, Any], model: str | None, rep: Any) -> list[tuple[str, Any]]:
    """Pre- and post-fit templates of a fit result, when the model is given."""
    if model is None:
        return []
    from redist.infer.mle import FitResult
    from redist.report.figures import templates_figure

    if doc.get("kind") != "fit":
        msg = "--model draws templates for fit results only"
        raise ModelSpecError(msg)
    with rep.phase("load model"):
        loaded = load_input(model)
    from redist.cli._common import layout_of

    res = FitResult.from_dict(doc)
    if layout_of(loaded).labels != res.layout.labels:
        msg = f"{model}: the model's parameters differ from the fit's; give the model the fit was made with"
        raise ModelSpecError(msg)
    with rep.phase("template figures"):
        pre = templates_figure(loaded.model, title="pre-fit")
        post = templates_figure(loaded.model, pars=res, title="post-fit")
    return [("templates_prefit", pre), ("templates_postfit", post)]


@click.command()
@click.argument("result", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--output-dir",
    "output_dir",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR",
    help="Directory for the figures (default: next to RESULT).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Write only the first figure (or --figure NAME) to FILE.",
)
@click.option("--figure", "which", default=None, metavar="NAME", help="Draw only this figure (e.g. pulls).")
@click.option(
    "--model",
    default=None,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The model of a fit result: also draw pre- and post-fit templates.",
)
@click.option("--format", "fmt", type=click.Choice(["png", "pdf", "svg"]), default="png", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No status lines on stderr.")
def plot(
    result: str,
    output_dir: str | None,
    output: str | None,
    which: str | None,
    model: str | None,
    fmt: str,
    quiet: bool,
) -> None:
    """Draw the figures of a saved RESULT (profile, contour, CLs, corner, pulls, correlations, impacts)."""
    from redist.report import registry
    from redist.report.figures import save_figure

    check_outputs(output, inputs=[result])
    doc = _read_result(result)
    kind = registry.get(registry.kind_of(doc, result))
    rep = progress_for(quiet)
    obj = kind.from_dict(doc)
    with rep.phase("figures"):
        figs = list(kind.figures(obj)) if kind.figures is not None else []
    figs += _model_figures(doc, model, rep)
    if which is not None:
        figs = [f for f in figs if f[0] == which]
        if not figs:
            names = [n for n, _ in (kind.figures(obj) if kind.figures else [])]
            msg = (
                f"--figure {which!r}: this {kind.name} result has the figures {', '.join(names) or '(none)'}"
            )
            raise ModelSpecError(msg)
    if not figs:
        msg = f"a {kind.name} result has no figures" + (
            " without its samples" if kind.name == "posterior" else ""
        )
        raise ModelSpecError(msg)
    if output is not None:
        save_figure(figs[0][1], output)
        status(f"wrote {output}", quiet)
        return
    out = Path(output_dir) if output_dir else Path(result).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(result).stem
    for name, fig in figs:
        path = out / f"{stem}_{name}.{fmt}"
        save_figure(fig, path)
        status(f"wrote {path}", quiet)


def _extra_figures(doc: dict[str, Any], path: str) -> list[tuple[str, bytes]]:
    """PNG files a result lists under ``"figures"`` (the demo's), read from beside the result file."""
    from redist.io.reader import read_bytes

    out = []
    base = Path(path).resolve().parent
    for name in doc.get("figures", []) or []:
        if not isinstance(name, str) or "/" in name or not name.endswith(".png"):
            continue
        p = base / name
        if p.is_file():
            out.append((name, read_bytes(p, limit="max_file_bytes")))
    return out


def write_report(
    results: list[tuple[str, dict[str, Any]]],
    output: str,
    *,
    title: str,
    provenance: dict[str, Any] | None,
    rep: Any,
    extra: dict[str, list[tuple[str, bytes]]] | None = None,
) -> None:
    """Build the HTML report of several result documents and write it atomically."""
    from redist.io.atomic import atomic_write_text
    from redist.report.html import report_html, section_for

    sections = []
    for src, doc in results:
        with rep.phase(f"report section {Path(src).name}"):
            sections.append(section_for(doc, source=src, extra_figures=(extra or {}).get(src, [])))
    atomic_write_text(output, report_html(sections, title=title, provenance=provenance))


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="The HTML file to write.",
)
@click.option("--title", default="redist report", show_default=True, help="Page title.")
@click.option("--quiet", "-q", is_flag=True, help="No status lines on stderr.")
def report(results: tuple[str, ...], output: str, title: str, quiet: bool) -> None:
    """Write one self-contained HTML page (tables, figures, provenance) for saved RESULTS."""
    from redist.cli.infer import _command_line
    from redist.report.provenance import provenance

    check_outputs(output, inputs=list(results))
    docs = [(r, _read_result(r)) for r in results]
    from redist.report import registry

    for r, d in docs:
        registry.get(registry.kind_of(d, r))  # every file is a known result before any figure is drawn
    rep = progress_for(quiet)
    extra = {r: _extra_figures(d, r) for r, d in docs}
    prov = provenance(_command_line(), {r: r for r in results})
    write_report(docs, output, title=title, provenance=prov, rep=rep, extra=extra)
    status(f"wrote {output}", quiet)
