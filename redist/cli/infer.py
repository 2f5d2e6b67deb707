"""``redist fit | scan | limit | sample``: inference on a redist model file.

``MODEL.json`` is a file written by :func:`redist.save`. Results are JSON, written
to stdout or ``--output``; ``--plot FILE`` also writes a figure (matplotlib, Agg).
Parameter assignments are ``NAME=VALUE`` (``VALUE``: a number, a comma-separated
list for vector parameters, or ``init`` for the model's initial value).
"""

from __future__ import annotations

from typing import Any

import click

from redist.cli import check_outputs, ensure_finite
from redist.io.atomic import atomic_write_text

__all__ = ["fit", "limit", "sample", "scan"]


def _parse_values(items: tuple[str, ...], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            msg = f"{what} {item!r} must look like NAME=VALUE"
            raise click.BadParameter(msg)
        if value in ("init", ""):
            out[name] = None
            continue
        try:
            vals = [float(v) for v in value.split(",")]
        except ValueError as err:
            msg = f"{what} {item!r}: VALUE must be a number, a comma-separated list or 'init'"
            raise click.BadParameter(msg) from err
        out[name] = vals[0] if len(vals) == 1 else vals
    return out


def _emit(doc: str, output: str | None) -> None:
    if output:
        atomic_write_text(output, doc + "\n")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(doc)


def _load(path: str) -> Any:
    from redist import load

    return load(path)


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _common(f: Any) -> Any:
    f = click.option("--output", "-o", type=click.Path(dir_okay=False), help="JSON output file.")(f)
    f = click.option("--backend", type=click.Choice(["auto", "jax", "numpy"]), default="auto",
                     show_default=True, help="Likelihood backend.")(f)
    f = click.option("--fix-groups", is_flag=True,
                     help="Fix the theory nuisance groups (form factors) at their central values.")(f)
    f = click.option("--fix", "fix", multiple=True, metavar="NAME=VALUE",
                     help="Fix a parameter (VALUE 'init' keeps its initial value).")(f)
    f = click.option("--init", "init", multiple=True, metavar="NAME=VALUE",
                     help="Starting value of a parameter.")(f)
    return click.argument("model", type=click.Path(exists=True, dir_okay=False))(f)


@click.command()
@_common
@click.option("--plot", type=click.Path(dir_okay=False),
              help="Write pre/post-fit templates of every channel to this image.")
def fit(model: str, fix: tuple[str, ...], init: tuple[str, ...], fix_groups: bool, backend: str,
        output: str | None, plot: str | None) -> None:
    """Maximum-likelihood fit of MODEL.json."""
    from redist.infer import fit as _fit

    check_outputs(output, plot, inputs=[model])
    rm = _load(model)
    res = _fit(rm, fixed=_parse_values(fix, "--fix"), init=_parse_values(init, "--init"),
               fix_groups=fix_groups, backend=backend)
    ensure_finite(res, "fit result")
    _emit(res.to_json(indent=1), output)
    if plot:
        from redist.infer.plot import plot_templates

        plt = _figure()
        chans = rm.model.config.channels
        fig, axes = plt.subplots(2, len(chans), figsize=(4 * len(chans), 6), squeeze=False)
        for k, ch in enumerate(chans):
            short = ch if len(ch) <= 24 else "…" + ch[-23:]
            plot_templates(rm, ch, ax=axes[0, k], title=f"{short}\npre-fit")
            plot_templates(rm, ch, pars=res.bestfit, ax=axes[1, k], title=f"{short}\npost-fit")
        axes[0, 0].legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        plt.close(fig)


def _dask_option(f: Any) -> Any:
    return click.option(
        "--dask", "dask_address", is_flag=False, flag_value="local", default=None,
        metavar="[SCHEDULER_ADDRESS]",
        help="Run on Dask: a scheduler address, or a local cluster when given without value.",
    )(f)


def _dask_arg(address: str | None) -> Any:
    if address is None:
        return None
    return True if address == "local" else address


@click.command()
@_common
@click.option("--par", "pars", multiple=True, required=True, metavar="NAME:LOW:HIGH:POINTS",
              help="Scanned parameter and grid (give one or two).")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write the profile/contour figure.")
@click.option("--sm", "sm", default=None, metavar="X,Y",
              help="Point to mark on a 2D contour (e.g. the SM).")
@_dask_option
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def scan(model: str, fix: tuple[str, ...], init: tuple[str, ...], fix_groups: bool, backend: str,
         output: str | None, pars: tuple[str, ...], plot: str | None, sm: str | None,
         dask_address: str | None, no_progress: bool) -> None:
    """Profile-likelihood scan of one or two parameters of MODEL.json."""
    from redist.infer import scan as _scan

    check_outputs(output, plot, inputs=[model])
    rm = _load(model)
    res = _scan(rm, list(pars), fixed=_parse_values(fix, "--fix"), init=_parse_values(init, "--init"),
                fix_groups=fix_groups, backend=backend, dask=_dask_arg(dask_address),
                progress=not no_progress)
    ensure_finite(res, "scan result")
    _emit(res.to_json(indent=1), output)
    if plot:
        from redist.infer.plot import plot_contour, plot_profile

        plt = _figure()
        fig, ax = plt.subplots(figsize=(5, 4))
        if len(res.parameters) == 1:
            plot_profile(res, ax=ax)
        else:
            point = [float(v) for v in sm.split(",")] if sm else None
            plot_contour(res, ax=ax, sm=point)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        plt.close(fig)


@click.command()
@_common
@click.option("--par", "par", required=True, help="Scalar parameter to limit (lower bound 0).")
@click.option("--scan", "grid", default=None, metavar="LOW:HIGH:POINTS", help="Tested values.")
@click.option("--cl", default=0.95, show_default=True, help="Confidence level.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write CLs versus the parameter.")
def limit(model: str, fix: tuple[str, ...], init: tuple[str, ...], fix_groups: bool, backend: str,
          output: str | None, par: str, grid: str | None, cl: float, plot: str | None) -> None:
    """Asymptotic CLs upper limit on one parameter of MODEL.json."""
    from redist.infer import upper_limit
    from redist.infer.scan import parse_range

    check_outputs(output, plot, inputs=[model])
    rm = _load(model)
    values = parse_range(f"{par}:{grid}")[1] if grid else None
    be = "numpy" if backend == "auto" else backend
    res = upper_limit(rm, par, scan=values, cl=cl, fixed=_parse_values(fix, "--fix"),
                      fix_groups=fix_groups, backend=be)
    ensure_finite(res, "limit result")
    _emit(res.to_json(indent=1), output)
    if plot:
        from redist.infer.plot import plot_limit

        plt = _figure()
        fig, ax = plt.subplots(figsize=(5, 4))
        plot_limit(res, ax=ax)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        plt.close(fig)


def _parse_priors(items: tuple[str, ...]) -> dict[str, Any]:
    from redist.infer import FormFactorNormal, Normal, Uniform

    out: dict[str, Any] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        kind, _, args = spec.partition(":")
        try:
            nums = [float(a) for a in args.split(":")] if args else []
            if kind == "uniform" and len(nums) == 2:
                out[name] = Uniform(*nums)
            elif kind == "normal" and len(nums) == 2:
                out[name] = Normal(*nums)
            elif kind in ("ff", "constraint") and not nums:
                out[name] = FormFactorNormal()
            else:
                raise ValueError(item)
        except ValueError as err:
            msg = (
                f"--prior {item!r}: use NAME=uniform:LOW:HIGH, NAME=normal:MEAN:SIGMA "
                "or NAME=ff (the model's correlated constraint)"
            )
            raise click.BadParameter(msg) from err
        if not sep:
            raise click.BadParameter(f"--prior {item!r} must look like NAME=KIND:ARGS")
    return out


@click.command()
@_common
@click.option("--prior", "priors", multiple=True, metavar="NAME=KIND[:ARGS]",
              help="uniform:LOW:HIGH, normal:MEAN:SIGMA or ff (model constraint).")
@click.option("--n-samples", default=5000, show_default=True, help="Steps per chain after burn-in.")
@click.option("--n-burn", default=2000, show_default=True, help="Burn-in/adaptation steps.")
@click.option("--chains", default=8, show_default=True, help="Chains (mh) or walkers (emcee).")
@click.option("--thin", default=5, show_default=True, help="Keep every n-th step.")
@click.option("--sampler", type=click.Choice(["mh", "emcee"]), default="mh", show_default=True)
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write a corner plot.")
@_dask_option
def sample(model: str, fix: tuple[str, ...], init: tuple[str, ...], fix_groups: bool, backend: str,
           output: str | None, priors: tuple[str, ...], n_samples: int, n_burn: int, chains: int,
           thin: int, sampler: str, seed: int, plot: str | None, dask_address: str | None) -> None:
    """Bayesian posterior sampling of MODEL.json (modes and HPD intervals)."""
    from redist.infer import FormFactorNormal
    from redist.infer import sample as _sample

    check_outputs(output, plot, inputs=[model])
    rm = _load(model)
    pri = _parse_priors(priors)
    res = _sample(rm, priors=pri, fixed=_parse_values(fix, "--fix"),
                  init=_parse_values(init, "--init"), fix_groups=fix_groups, backend=backend,
                  n_samples=n_samples, n_burn=n_burn, n_chains=chains, thin=thin,
                  sampler=sampler, seed=seed, dask=_dask_arg(dask_address))
    ensure_finite(res, "posterior")
    _emit(res.to_json(indent=1), output)
    if plot:
        from redist.infer.plot import plot_corner

        plt = _figure()
        names = [n for n, p in pri.items() if not isinstance(p, FormFactorNormal)] or list(res.summary)
        fig = plt.figure(figsize=(2.6 * len(names), 2.6 * len(names)))
        plot_corner(res, names, fig=fig)
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        plt.close(fig)
