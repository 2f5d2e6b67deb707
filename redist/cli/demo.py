"""``redist demo``: the Belle II B+ -> K+ nu nu WET reinterpretation."""

from __future__ import annotations

import time
from typing import Any

import click

__all__ = ["demo"]


def _print_table(results: dict[str, Any]) -> None:
    """The demo's summary table (from the results that :func:`redist.demo.run` returns)."""
    best = results["best_fit"]
    sm_cvl = results["sm_point"]["cVL"]
    click.echo(f"Belle II B+ -> K+ nu nu, reinterpreted in WET (EOS conventions, SM cVL = {sm_cvl:.3f})")
    click.echo(f"{'parameter':<12}{'best fit':>12}{'error':>10}")
    for p in results["sm_point"]:
        note = "   at its bound, flat direction (see results.json)" if p in best.get("at_limit", []) else ""
        err = "" if note else f"{best['errors'][p]:>10.3f}"
        click.echo(f"{p:<12}{best['values'][p]:>12.3f}{err}{note}")
    click.echo(f"-2 ln L (best fit)        = {best['twice_nll']:.4f}  (converged: {best['converged']})")
    click.echo(f"-2 Delta ln L (SM - best) = {results['minus_two_delta_lnL_vs_SM']:.3f}")
    if "cVL_only_mu_equivalent" in results:
        click.echo(
            "cVL-only fit, form factors fixed: (cVL/cVL_SM)^2 = "
            f"{results['cVL_only_mu_equivalent']:.3f}  (published mu_hat = 4.6 +- 1.3; "
            "see docs/belle2.md for the residual)"
        )


@click.command()
@click.option("--output", "-o", default="redist-demo", show_default=True, help="Output directory.")
@click.option("--no-plots", is_flag=True, help="Skip the figures.")
def demo(output: str, no_plots: bool) -> None:
    """Fit the published Belle II likelihood in WET and write results.json and figures."""
    from redist.demo import run

    t0 = time.perf_counter()
    results = run(output, plots=not no_plots)
    _print_table(results)
    click.echo(f"wrote {output}/results.json ({time.perf_counter() - t0:.1f} s)")
