"""``redist demo``: the Belle II B+ -> K+ nu nu WET reinterpretation, and the B+ -> K+ X study."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from redist.cli import check_outputs
from redist.cli._common import deprecated, print_tables, progress_for, status

__all__ = ["demo"]


@click.command()
@click.option(
    "--output-dir",
    "output_dir",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Directory for results.json, the figures and report.html  [default: redist-demo]",
)
@click.option(
    "--output",
    "-o",
    default=None,
    metavar="FILE",
    type=click.Path(),
    help="The results JSON file  [default: DIR/results.json]",
)
@click.option(
    "--study",
    type=click.Choice(["wet", "b2kx"]),
    default="wet",
    show_default=True,
    help="wet: the WET fit; b2kx: the B+ -> K+ X dark-sector study (docs/b2kx.md).",
)
@click.option("--n-toys", type=click.IntRange(min=10), default=250, show_default=True,
              help="b2kx: SM toys for the global significance.")  # fmt: skip
@click.option("--n-masses", type=click.IntRange(min=10), default=100, show_default=True,
              help="b2kx: mass points of the profile and of each limit scan.")  # fmt: skip
@click.option("--nuts/--no-nuts", default=True, show_default=True,
              help="b2kx: also sample the (m_X, BR_X) posterior with NUTS (all nuisances).")  # fmt: skip
@click.option("--no-plots", is_flag=True, help="Skip the figures.")
@click.option("--no-report", is_flag=True, help="Skip the HTML report (DIR/report.html).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the results as JSON on stdout instead of the table."
)
@click.option("--quiet", "-q", is_flag=True, help="No status lines or progress on stderr.")
def demo(
    output_dir: str | None,
    output: str | None,
    study: str,
    n_toys: int,
    n_masses: int,
    nuts: bool,
    no_plots: bool,
    no_report: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Fit the published Belle II likelihood in WET, or run the B+ -> K+ X study (--study b2kx).

    Writes results.json, the figures and (WET) report.html.
    """
    from redist import progress
    from redist.demo import run
    from redist.report.tables import demo_tables

    if output is not None and not output.endswith(".json") and output_dir is None:
        # `demo --output DIR` names the directory (the b2kx study's documented spelling;
        # for the WET demo the redist < 0.2 one)
        if study == "wet":
            deprecated("redist demo --output DIR", "--output-dir DIR")
        output_dir, output = output, None
    if study == "b2kx":
        _b2kx(output_dir, output, n_toys, n_masses, nuts, no_plots, as_json, quiet)
        return
    out = Path(output_dir or "redist-demo")
    results_file = Path(output) if output else out / "results.json"
    report = out / "report.html"
    out.mkdir(parents=True, exist_ok=True)
    check_outputs(results_file, None if no_report else report)
    rep = progress_for(quiet)
    t0 = time.perf_counter()
    with progress.use(rep):
        results = run(out, plots=not no_plots, results_file=results_file, progress=rep)
    if as_json:
        click.echo(json.dumps(results, indent=1, allow_nan=False))
    else:
        print_tables(demo_tables(results))
    status(f"wrote {results_file} ({time.perf_counter() - t0:.1f} s)", quiet)
    if not no_report:
        from redist.cli.infer import _command_line
        from redist.cli.results import _extra_figures, write_report
        from redist.report.provenance import provenance

        src = str(results_file)
        extra = {src: _extra_figures({"figures": results.get("figures", [])}, str(out / "results.json"))}
        prov = provenance(_command_line())
        write_report(
            [(src, results)],
            str(report),
            title="redist demo: Belle II B+ -> K+ nu nu in WET",
            provenance=prov,
            rep=rep,
            extra=extra,
        )
        status(f"wrote {report}", quiet)


def _b2kx(output_dir: str | None, output: str | None, n_toys: int, n_masses: int, nuts: bool,
          no_plots: bool, as_json: bool, quiet: bool) -> None:  # fmt: skip
    """``redist demo --study b2kx``: the B+ -> K+ X study (redist.b2kx.run)."""
    from redist import progress
    from redist.b2kx import b2kx_tables, run

    out = Path(output_dir or "redist-b2kx")
    results_file = Path(output) if output else out / "results.json"
    out.mkdir(parents=True, exist_ok=True)
    check_outputs(results_file, None)
    rep = progress_for(quiet)
    t0 = time.perf_counter()
    with progress.use(rep):
        results = run(out, n_toys=n_toys, n_masses=n_masses, nuts=nuts, plots=not no_plots,
                      results_file=results_file, progress=rep)  # fmt: skip
    if as_json:
        click.echo(results_file.read_text(encoding="utf-8"))
    else:
        print_tables(b2kx_tables(results))
    status(f"wrote {results_file} ({time.perf_counter() - t0:.1f} s)", quiet)
