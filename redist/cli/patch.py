r"""``redist patchset`` and ``redist build``: plain-pyhf patchsets and models from configs.

Examples
--------
.. code-block:: console

    $ redist build examples/belle2_config.json -o model.json
    $ redist patchset model.json --grid cVL=0:20:11 --grid cTL=0:15:4 --hepdata ins2947386 \\
          --ff-histosys -o patchset.json --bkg-only bkgonly.json
    $ pyhf patchset apply bkgonly.json patchset.json --name cVL_10_cTL_5 > ws.json
    $ pyhf cls ws.json

The patches apply to the background-only workspace written with ``--bkg-only``
(the published workspace with the reinterpreted modifiers pruned); the
patchset's digest is that workspace's, as pyhf checks.

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
@click.option(
    "--grid",
    "grids",
    multiple=True,
    required=True,
    metavar="NAME=LO:HI:N",
    help="Theory-parameter grid; repeat for a Cartesian product.",
)
@click.option(
    "--hepdata",
    required=True,
    metavar="INSPIRE_ID",
    help="INSPIRE id of the analysis' HEPData record, e.g. ins2947386 (pyhf's patchset "
    "schema requires this reference).",
)
@click.option(
    "--ff-histosys",
    "ff_histosys",
    is_flag=True,
    help="Carry the theory nuisances (form factors) as histosys modifiers.",
)
@click.option(
    "--signal",
    type=click.Choice(["replace", "add"]),
    default="replace",
    show_default=True,
    help="Keep the signal samples in the background-only workspace (replace) or add them.",
)
@click.option("--description", default=None, help="Patchset description.")
@click.option(
    "-o",
    "--output",
    "output",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Patchset file (default: stdout).",
)
@click.option("--output-file", "output_file", default=None, hidden=True, help="Deprecated: -o/--output.")
@click.option(
    "--bkg-only",
    "bkg_only",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Where to write the background-only workspace the patches apply to (pyhf patchset apply needs it).",
)
@click.option("--quiet", "-q", is_flag=True, help="No status lines on stderr.")
def patchset(
    model_file: str,
    grids: tuple[str, ...],
    hepdata: str,
    ff_histosys: bool,
    signal: str,
    description: str | None,
    output: str | None,
    output_file: str | None,
    bkg_only: str | None,
    quiet: bool,
) -> None:
    """Write a pyhf patchset of reweighted templates over a grid of theory points.

    MODEL_FILE is a redist model file (``redist.save`` / ``redist build``) or - (stdin).
    The patches apply to the background-only workspace written with --bkg-only.
    """
    from redist.cli._common import (
        check_grid,
        deprecated,
        layout_of,
        load_input,
        parse_grid_spec,
        precheck_names,
        read_input,
        status,
    )
    from redist.exceptions import ModelSpecError
    from redist.patchset import make_patchset

    if output_file is not None:
        deprecated("--output-file", "-o/--output")
        output = output if output is not None else output_file
    check_outputs(output, bkg_only, inputs=[] if model_file == "-" else [model_file])
    grid = {}
    for g in grids:
        name, values = parse_grid_spec(g, "--grid", min_points=1)
        if name in grid:
            msg = f"parameter {name!r} given twice in --grid"
            raise ModelSpecError(msg)
        grid[name] = values
    raw_doc = read_input(model_file)
    precheck_names(raw_doc[1], list(grid))
    loaded = load_input(model_file, allow_plain=False, read=raw_doc)
    layout = layout_of(loaded)
    for name, values in grid.items():
        check_grid(layout, name, values, "--grid")
    res = make_patchset(
        loaded.model, {k: v.tolist() for k, v in grid.items()}, hepdata=hepdata, ff_histosys=ff_histosys,
        signal=signal, description=description,
    )  # fmt: skip
    ensure_finite(res.patchset, "patchset")
    _write(res.patchset, output)
    if bkg_only is not None:
        _write(dict(res.bkg_only), bkg_only)
    if output not in (None, "-"):
        status(f"wrote {len(res.patchset['patches'])} patches to {output}", quiet)
    if bkg_only is None:
        status("note: the patches apply to the background-only workspace (write it with --bkg-only FILE; "
               f"sha256 {res.patchset['metadata']['digests']['sha256'][:16]}...)", quiet)  # fmt: skip


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Model file to write.",
)
@click.option("--output-file", "output_file", default=None, hidden=True, help="Deprecated: -o/--output.")
def build(config: str, output: str | None, output_file: str | None) -> None:
    """Build a redist model file from a config (JSON or YAML; see docs/workspaces.md)."""
    import redist
    from redist.config import build_inputs, build_model

    if output_file is not None:
        from redist.cli._common import deprecated

        deprecated("--output-file", "-o/--output")
        output = output if output is not None else output_file
    if output is None:
        msg = "give the model file to write with -o/--output FILE"
        raise click.UsageError(msg)
    check_outputs(output, inputs=build_inputs(config))
    try:
        rm = build_model(config)
        redist.save(output, rm)
    except RedistError as err:
        raise click.ClickException(str(err)) from err
    n = len(rm.model.config.par_order)
    click.echo(f"wrote {output}: {len(rm.densities)} reweighted samples, {n} parameter sets", err=True)
