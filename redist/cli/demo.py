"""``redist demo``: the Belle II B+ -> K+ nu nu WET reinterpretation."""

from __future__ import annotations

import time

import click

__all__ = ["demo"]


@click.command()
@click.option("--output", "-o", default="redist-demo", show_default=True, help="Output directory.")
@click.option("--no-plots", is_flag=True, help="Skip the figures.")
def demo(output: str, no_plots: bool) -> None:
    """Fit the published Belle II likelihood in WET and write results.json and figures."""
    from redist.demo import run

    t0 = time.perf_counter()
    run(output, plots=not no_plots)
    click.echo(f"wrote {output}/results.json ({time.perf_counter() - t0:.1f} s)")
