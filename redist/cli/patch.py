r"""``redist patchset`` and ``redist build``: plain-pyhf patchsets and models from configs.

Examples
--------
.. code-block:: console

    $ redist build examples/belle2_config.json -o model.json
    $ redist patchset model.json --grid cVL=0:20:11 --grid cTL=0:15:4 --hepdata ins2947386 \\
          --ff-histosys -o patchset.json --bkg-only bkgonly.json
    $ pyhf patchset apply bkgonly.json patchset.json --name cVL_10_cTL_5 > ws.json
    $ pyhf cls ws.json

``--grid NAME=LO:HI:N`` is an inclusive linspace, ``NAME=V1,V2,...`` a list;
several ``--grid`` options span a Cartesian product (first one slowest).
"""

from __future__ import annotations

import json

import click

from redist.cli import check_outputs, ensure_finite
from redist.exceptions import RedistError
from redist.io.atomic import atomic_write_text

__all__ = ["build", "patchset"]


def _write(doc: object, output: str | None) -> None:
    text = json.dumps(doc, indent=1, allow_nan=False)
    if output in (None, "-"):
        click.echo(text)
    else:
        atomic_write_text(output, text + "\n")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--grid", "grids", multiple=True, required=True, metavar="NAME=LO:HI:N",
              help="Theory-parameter grid; repeat for a Cartesian product.")
@click.option("--hepdata", required=True, metavar="INSPIRE_ID",
              help="INSPIRE id of the analysis' HEPData record, e.g. ins2947386 (pyhf's patchset "
              "schema requires this reference).")
@click.option("--ff-histosys", "ff_histosys", is_flag=True,
              help="Carry the theory nuisances (form factors) as histosys modifiers.")
@click.option("--signal", type=click.Choice(["replace", "add"]), default="replace", show_default=True,
              help="Keep the signal samples in the background-only workspace (replace) or add them.")
@click.option("--description", default=None, help="Patchset description.")
@click.option("-o", "--output-file", "output", default=None, help="Patchset file (default: stdout).")
@click.option("--bkg-only", "bkg_only", default=None, type=click.Path(dir_okay=False),
              help="Where to write the background-only workspace the patches apply to.")
def patchset(
    model_file: str,
    grids: tuple[str, ...],
    hepdata: str,
    ff_histosys: bool,
    signal: str,
    description: str | None,
    output: str | None,
    bkg_only: str | None,
) -> None:
    """Write a pyhf patchset of reweighted templates over a grid of theory points.

    MODEL_FILE is a redist model file (``redist.save`` / ``redist build``).
    """
    import redist
    from redist.patchset import make_patchset, parse_grid

    check_outputs(output, bkg_only, inputs=[model_file])
    try:
        grid = {}
        for g in grids:
            name, values = parse_grid(g)
            if name in grid:
                msg = f"parameter {name!r} given twice in --grid"
                raise click.BadParameter(msg)
            grid[name] = values.tolist()
        rm = redist.load(model_file)
        res = make_patchset(
            rm, grid, hepdata=hepdata, ff_histosys=ff_histosys, signal=signal, description=description
        )
    except RedistError as err:
        raise click.ClickException(str(err)) from err
    ensure_finite(res.patchset, "patchset")
    _write(res.patchset, output)
    if bkg_only is not None:
        _write(dict(res.bkg_only), bkg_only)
    if output not in (None, "-"):
        click.echo(f"wrote {len(res.patchset['patches'])} patches to {output}", err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output-file", "output", required=True, type=click.Path(dir_okay=False),
              help="Model file to write.")
def build(config: str, output: str) -> None:
    """Build a redist model file from a config (JSON or YAML; see docs/workspaces.md)."""
    import redist
    from redist.config import build_inputs, build_model

    check_outputs(output, inputs=build_inputs(config))
    try:
        rm = build_model(config)
        redist.save(output, rm)
    except RedistError as err:
        raise click.ClickException(str(err)) from err
    n = len(rm.model.config.par_order)
    click.echo(f"wrote {output}: {len(rm.densities)} reweighted samples, {n} parameter sets", err=True)
