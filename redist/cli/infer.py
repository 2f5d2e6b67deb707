"""``redist fit | scan | limit | sample | impacts``: inference on a model.

``MODEL`` is a redist model file (:func:`redist.save`, ``redist build``), a plain
pyhf workspace, or ``-`` for standard input. Every command prints a summary table
on stdout; ``-o FILE`` writes the full result (JSON with provenance; ``redist show``,
``redist plot`` and ``redist report`` read it back), ``--json`` prints it on stdout
instead of the table (covariance matrices only go to files). Status lines and
progress bars go to stderr (``--quiet`` turns them off).

Parameter assignments are ``NAME=VALUE`` (``VALUE``: a number, a comma-separated
list for vector parameters, or ``init`` for the model's initial value); grids are
``NAME=LO:HI:N`` or ``NAME=V1,V2,...``. Every name and value is checked against the
model before anything is compiled.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from redist.cli import check_outputs, ensure_finite
from redist.cli._common import (
    check_grid,
    deprecated,
    emit,
    layout_of,
    load_input,
    names_in,
    output_options,
    parse_assignments,
    parse_grid_spec,
    precheck_names,
    progress_for,
    read_input,
)
from redist.exceptions import ModelSpecError

__all__ = ["evidence", "fit", "impacts", "limit", "sample", "scan"]


def _command_line() -> list[str]:
    ctx = click.get_current_context()
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0.endswith("redist"):
        return ["redist", *sys.argv[1:]]
    return [*ctx.command_path.split(), "..."]


def _provenance(model: str, raw: bytes) -> dict[str, Any]:
    from redist.report.provenance import provenance

    return provenance(_command_line(), {model: raw})


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    f = output_options(f)
    f = click.option(
        "--backend",
        type=click.Choice(["auto", "jax", "numpy"]),
        default="auto",
        show_default=True,
        help="Likelihood backend.",
    )(f)
    f = click.option(
        "--fix-groups",
        is_flag=True,
        help="Fix the theory nuisance groups (form factors) at their central values.",
    )(f)
    f = click.option(
        "--fix",
        "fix",
        multiple=True,
        metavar="NAME=VALUE",
        help="Fix a parameter (VALUE 'init' keeps its initial value).",
    )(f)
    f = click.option(
        "--init", "init", multiple=True, metavar="NAME=VALUE", help="Starting value of a parameter."
    )(f)
    return click.argument("model", type=click.Path(dir_okay=False, allow_dash=True))(f)


def _inputs(model: str) -> list[str]:
    return [] if model == "-" else [model]


def _start(
    model: str, fix: tuple[str, ...], init: tuple[str, ...], rep: Any, names: Sequence[str] = ()
) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    """Load the model and check --fix/--init against it (before any compilation).

    ``names`` (and those of --fix/--init) are first checked against the model document
    itself, before pyhf is even imported: a misspelt name fails in about a second.
    """
    raw_doc = read_input(model)
    precheck_names(raw_doc[1], [*names_in(fix), *names_in(init), *names])
    with rep.phase("load model"):
        loaded = load_input(model, read=raw_doc)
    layout = layout_of(loaded)
    fixed = parse_assignments(fix, "--fix", layout)
    inits = parse_assignments(init, "--init", layout)
    return loaded, layout, fixed, inits


def _save_figure(fig: Any, path: str) -> None:
    from redist.report.figures import save_figure

    save_figure(fig, path)


@click.command()
@_common
@click.option("--all", "all_parameters", is_flag=True, help="List every parameter in the table.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write post-fit templates of every channel (data, uncertainty band, ratio) to FILE.",
)
def fit(
    model: str,
    fix: tuple[str, ...],
    init: tuple[str, ...],
    fix_groups: bool,
    backend: str,
    output: str | None,
    as_json: bool,
    quiet: bool,
    all_parameters: bool,
    plot: str | None,
) -> None:
    """Maximum-likelihood fit of MODEL."""
    from redist import progress
    from redist.report.tables import fit_tables

    check_outputs(output, plot, inputs=_inputs(model))
    rep = progress_for(quiet)
    with progress.use(rep):
        loaded, _, fixed, inits = _start(model, fix, init, rep)
        from redist.infer import fit as _fit  # after the name checks: imports pyhf

        res = _fit(
            loaded.model, fixed=fixed, init=inits, fix_groups=fix_groups, backend=backend, data=loaded.data
        )
    ensure_finite(
        {
            "values": res.values,
            "errors": res.errors,
            "twice_nll": res.twice_nll,
            "covariance": res.covariance,
        },
        "fit result",
    )
    emit(
        res.to_dict(),
        output=output,
        as_json=as_json,
        tables=fit_tables(res, all_parameters=all_parameters),
        provenance=_provenance(model, loaded.raw),
        quiet=quiet,
    )
    if plot:
        from redist.report.figures import templates_figure

        with rep.phase("templates figure"):
            _save_figure(templates_figure(loaded.model, pars=res, title="post-fit"), plot)


def _dask_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--dask",
        "dask_address",
        is_flag=False,
        flag_value="local",
        default=None,
        metavar="[SCHEDULER_ADDRESS]",
        help="Run on Dask: a scheduler address, or a local cluster when given without value.",
    )(f)


def _dask_arg(address: str | None) -> Any:
    if address is None:
        return None
    return True if address == "local" else address


@click.command()
@_common
@click.option(
    "--par",
    "pars",
    multiple=True,
    required=True,
    metavar="NAME=LO:HI:N",
    help="Scanned parameter and grid (give one or two); also NAME=V1,V2,...",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the profile (1D) or contour (2D) figure to FILE.",
)
@click.option(
    "--sm",
    "sm",
    default=None,
    metavar="X,Y",
    help="Reference point marked on a 2D contour (default: the theory's, e.g. the SM).",
)
@_dask_option
@click.option("--no-progress", is_flag=True, hidden=True, help="Deprecated: --quiet.")
def scan(
    model: str,
    fix: tuple[str, ...],
    init: tuple[str, ...],
    fix_groups: bool,
    backend: str,
    output: str | None,
    as_json: bool,
    quiet: bool,
    pars: tuple[str, ...],
    plot: str | None,
    sm: str | None,
    dask_address: str | None,
    no_progress: bool,
) -> None:
    """Profile-likelihood scan of one or two parameters of MODEL."""
    from redist import progress
    from redist.report.tables import scan_tables

    check_outputs(output, plot, inputs=_inputs(model))
    if no_progress:
        deprecated("--no-progress", "--quiet")
        quiet = True
    grids: dict[Any, Any] = {}
    for p in pars:
        name, values = parse_grid_spec(p, "--par")
        if name in grids:
            msg = f"--par {name!r} is given twice"
            raise ModelSpecError(msg)
        grids[name] = values
    if not 1 <= len(grids) <= 2:
        msg = f"scan one or two parameters, got {len(grids)}"
        raise ModelSpecError(msg)
    point = None
    if sm is not None:
        from redist.cli._common import _number

        point = [_number(v, "--sm") for v in sm.split(",")]
        if len(point) != 2:
            msg = f"--sm expects X,Y, got {sm!r}"
            raise ModelSpecError(msg)
    rep = progress_for(quiet)
    with progress.use(rep):
        loaded, layout, fixed, inits = _start(model, fix, init, rep, names=list(grids))
        from redist.infer import scan as _scan  # after the name checks: imports pyhf

        for name, values in grids.items():
            check_grid(layout, name, values, "--par")
            if name in fixed:
                msg = f"--par {name}: the scanned parameter is also given in --fix"
                raise ModelSpecError(msg)
        res = _scan(
            loaded.model,
            grids,
            fixed=fixed,
            init=inits,
            fix_groups=fix_groups,
            backend=backend,
            data=loaded.data,
            dask=_dask_arg(dask_address),
        )
    ensure_finite(res.twice_nll[res.converged], "scan result")
    emit(
        res.to_dict(),
        output=output,
        as_json=as_json,
        tables=scan_tables(res),
        provenance=_provenance(model, loaded.raw),
        quiet=quiet,
    )
    if plot:
        from redist.report.figures import contour_figure, profile_figure, scan_figure

        if len(res.parameters) == 1:
            fig = profile_figure(res)
        else:
            fig = contour_figure(res, sm=point) if point is not None else scan_figure(res)
        _save_figure(fig, plot)


@click.command()
@_common
@click.option(
    "--par",
    "par",
    required=True,
    metavar="NAME[=LO:HI:N]",
    help="Scalar parameter to limit (lower bound 0), optionally with the tested values.",
)
@click.option(
    "--scan", "grid", default=None, hidden=True, metavar="LO:HI:N", help="Deprecated: --par NAME=LO:HI:N."
)
@click.option("--cl", default=0.95, show_default=True, help="Confidence level.")
@click.option(
    "--method",
    type=click.Choice(["auto", "asymptotic", "toys"]),
    default="auto",
    show_default=True,
    help="asymptotic (parameters entering the yields linearly), toys, or auto (asymptotic if valid).",
)
@click.option(
    "--n-toys", default=500, show_default=True, type=click.IntRange(10), help="Toys per hypothesis and value."
)
@click.option("--seed", default=0, show_default=True, help="Seed of the toys.")
@click.option(
    "--plot", type=click.Path(dir_okay=False), metavar="FILE", help="Write CLs versus the parameter."
)
def limit(
    model: str,
    fix: tuple[str, ...],
    init: tuple[str, ...],
    fix_groups: bool,
    backend: str,
    output: str | None,
    as_json: bool,
    quiet: bool,
    par: str,
    grid: str | None,
    cl: float,
    method: str,
    n_toys: int,
    seed: int,
    plot: str | None,
) -> None:
    """CLs upper limit on one parameter of MODEL (q~mu; asymptotic where valid, else toys).

    The asymptotic formulae need a parameter that enters the expected yields
    linearly: with --method auto they are used only when the Asimov Fisher
    information of the parameter at its null value is non-zero, otherwise
    toys are thrown (always for a Wilson coefficient); --method asymptotic
    refuses such a parameter. When the observed CLs does not cross 1 - CL inside
    the tested values the limit is reported as not found ("in_range": false) and
    the command exits with status 3.
    """
    from redist import progress
    from redist.report.tables import limit_tables

    check_outputs(output, plot, inputs=_inputs(model))
    if not 0 < cl < 1:
        msg = f"--cl must be in (0, 1), got {cl}"
        raise ModelSpecError(msg)
    values = None
    name = par
    if "=" in par or par.count(":") == 3:
        name, values = parse_grid_spec(par, "--par")
    if grid is not None:
        if values is not None:
            msg = "give the tested values once: --par NAME=LO:HI:N"
            raise ModelSpecError(msg)
        deprecated("--par NAME --scan LO:HI:N", "--par NAME=LO:HI:N")
        name, values = parse_grid_spec(f"{par}={grid}", "--scan")
    if init:
        msg = "--init is not used by limit (pyhf starts from the model's initial values)"
        raise ModelSpecError(msg)
    rep = progress_for(quiet)
    with progress.use(rep):
        loaded, layout, fixed, _ = _start(model, fix, (), rep, names=[name])
        from redist.infer import upper_limit  # after the name checks: imports pyhf

        layout.check(name)
        if values is not None:
            check_grid(layout, name, values, "--par")
        be = "numpy" if backend == "auto" else backend
        res = upper_limit(
            loaded.model,
            name,
            scan=values,
            cl=cl,
            method=method,
            n_toys=n_toys,
            seed=seed,
            fixed=fixed,
            fix_groups=fix_groups,
            backend=be,
            data=loaded.data,
        )
    ensure_finite(
        {"scan": res.scan, **({"observed": res.observed} if res.in_range else {})}, "limit result"
    )
    emit(
        res.to_dict(),
        output=output,
        as_json=as_json,
        tables=limit_tables(res),
        provenance=_provenance(model, loaded.raw),
        quiet=quiet,
    )
    if plot:
        from redist.report.figures import limit_figure

        _save_figure(limit_figure(res), plot)
    if not res.in_range:
        lo, hi = float(min(res.scan)), float(max(res.scan))
        _unreliable(
            f"the observed CLs on {name} does not cross {1 - cl:g} inside the tested values "
            f"[{lo:g}, {hi:g}]: no limit is reported (\"in_range\": false); extend the tested range "
            f"(--par {name}=LO:HI:N)",
            quiet,
        )


def _parse_priors(items: tuple[str, ...], layout: Any) -> dict[str, Any]:
    from redist.cli._common import _number
    from redist.infer import FormFactorNormal, Normal, Uniform

    out: dict[str, Any] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name:
            msg = f"--prior {item!r} must look like NAME=KIND[:ARGS]"
            raise ModelSpecError(msg)
        if name in out:
            msg = f"--prior: {name!r} is given twice"
            raise ModelSpecError(msg)
        layout.check(name)
        kind, _, args = spec.partition(":")
        nums = [_number(a, f"--prior {name}") for a in args.split(":")] if args else []
        if kind == "uniform" and len(nums) == 2:
            out[name] = Uniform(*nums)
        elif kind == "normal" and len(nums) == 2:
            if nums[1] <= 0:
                msg = f"--prior {name}: the width of a normal prior must be positive, got {nums[1]:g}"
                raise ModelSpecError(msg)
            out[name] = Normal(*nums)
        elif kind in ("ff", "constraint") and not nums:
            out[name] = FormFactorNormal()
        else:
            msg = (
                f"--prior {item!r}: use NAME=uniform:LOW:HIGH, NAME=normal:MEAN:SIGMA "
                "or NAME=ff (the model's correlated constraint)"
            )
            raise ModelSpecError(msg)
    return out


def _summarised(res: Any) -> Any:
    """The posterior with the samples of the summarised parameters only.

    The file stays small, and ``redist plot``/``report`` draw the corner plot from them.
    """
    import dataclasses

    keep = [k for k, i in enumerate(res.indices) if res.bestfit.layout.labels[i] in res.summary]
    return dataclasses.replace(
        res,
        labels=[res.labels[k] for k in keep],
        indices=[res.indices[k] for k in keep],
        samples=res.samples[:, keep],
    )


def _unreliable(message: str, quiet: bool) -> None:
    """A loud warning on stderr (even with --quiet) and exit status 3."""
    from redist.cli import EXIT_UNRELIABLE

    click.secho(f"redist: WARNING: {message}", err=True, fg="red", bold=True)
    del quiet
    raise SystemExit(EXIT_UNRELIABLE)


@click.command()
@_common
@click.option(
    "--prior",
    "priors",
    multiple=True,
    metavar="NAME=KIND[:ARGS]",
    help="uniform:LOW:HIGH, normal:MEAN:SIGMA or ff (model constraint).",
)
@click.option(
    "--method",
    "method",
    type=click.Choice(["nuts", "mh", "emcee"]),
    default=None,
    help="Sampler: nuts (default, gradient-based) or mh (random-walk, non-differentiable likelihoods).",
)
@click.option(
    "--n-samples",
    default=None,
    type=click.IntRange(1),
    help="Draws per chain after adaptation [default: 1000 nuts, 5000 mh].",
)
@click.option(
    "--n-burn", default=None, type=click.IntRange(0), help="Adaptation steps [default: 1000 nuts, 2000 mh]."
)
@click.option(
    "--chains",
    default=4,
    show_default=True,
    type=click.IntRange(1),
    help="Chains (nuts, mh) or walkers (emcee).",
)
@click.option(
    "--thin", default=None, type=click.IntRange(1), help="Keep every n-th draw [default: 1 nuts, 5 mh]."
)
@click.option("--sampler", type=click.Choice(["nuts", "mh", "emcee"]), default=None, hidden=True,
              help="Deprecated: --method.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--plot", type=click.Path(dir_okay=False), metavar="FILE", help="Write a corner plot.")
@click.option(
    "--netcdf",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write every draw and the sampler statistics as ArviZ InferenceData (netCDF).",
)
@click.option(
    "--allow-unconverged",
    is_flag=True,
    help="Exit with status 0 even when R-hat > 1.01 or bulk ESS < 400 (the result says converged: false).",
)
@_dask_option
def sample(
    model: str,
    fix: tuple[str, ...],
    init: tuple[str, ...],
    fix_groups: bool,
    backend: str,
    output: str | None,
    as_json: bool,
    quiet: bool,
    priors: tuple[str, ...],
    method: str | None,
    n_samples: int | None,
    n_burn: int | None,
    chains: int,
    thin: int | None,
    sampler: str | None,
    seed: int,
    plot: str | None,
    netcdf: str | None,
    allow_unconverged: bool,
    dask_address: str | None,
) -> None:
    """Bayesian posterior sampling of MODEL (NUTS; modes, HPD intervals, diagnostics).

    Every theory parameter is summarised: mode of the boundary-corrected density,
    68 %/95 % HPD and central intervals with Monte Carlo errors, R-hat and bulk/tail
    ESS. When any of them has R-hat > 1.01 or bulk ESS < 400 the result is written
    with "converged": false and the command exits with status 3 (unless
    --allow-unconverged).
    """
    from redist import progress
    from redist.report.tables import posterior_tables

    check_outputs(output, plot, netcdf, inputs=_inputs(model))
    if sampler is not None:
        deprecated("--sampler", "--method")
        if method is not None and method != sampler:
            msg = f"--sampler {sampler} and --method {method} disagree"
            raise ModelSpecError(msg)
        method = sampler
    method = method or "nuts"
    rep = progress_for(quiet)
    with progress.use(rep):
        loaded, layout, fixed, inits = _start(model, fix, init, rep, names=names_in(priors))
        from redist.infer import FormFactorNormal  # after the name checks: imports pyhf
        from redist.infer import sample as _sample

        pri = _parse_priors(priors, layout)
        with rep.phase(f"sampling ({method}, {chains} chains)"):
            res = _sample(
                loaded.model,
                priors=pri,
                fixed=fixed,
                init=inits,
                fix_groups=fix_groups,
                backend=backend,
                n_samples=n_samples,
                n_burn=n_burn,
                n_chains=chains,
                thin=thin,
                sampler=method,
                seed=seed,
                dask=_dask_arg(dask_address),
                data=loaded.data,
            )
    ensure_finite(
        {n: {k: s[k] for k in ("mode", "hpd95", "hpd68", "central95")} for n, s in res.summary.items()},
        "posterior",
    )
    emit(
        _summarised(res).to_dict(with_samples=True),
        output=output,
        as_json=as_json,
        tables=posterior_tables(res),
        provenance=_provenance(model, loaded.raw),
        quiet=quiet,
    )
    if netcdf:
        with rep.phase("InferenceData"):
            import tempfile
            from pathlib import Path

            from redist.io.atomic import atomic_write_bytes

            with tempfile.TemporaryDirectory() as tmp:
                f = Path(tmp) / "post.nc"
                res.to_netcdf(f)
                atomic_write_bytes(netcdf, f.read_bytes())
    if plot:
        from redist.report.figures import corner_figure

        names = [n for n, p in pri.items() if not isinstance(p, FormFactorNormal)] or list(res.summary)
        _save_figure(corner_figure(res, names), plot)
    if not res.converged and not allow_unconverged:
        bad = ", ".join(res.diagnostics.get("not_converged", [])) or "no parameter summarised"
        _unreliable(
            f"the posterior is NOT converged ({bad}: R-hat > {res.diagnostics.get('rhat_max')} or bulk "
            f"ESS < {res.diagnostics.get('ess_min')}); run longer (--n-samples, --n-burn)"
            + (", use --method nuts" if method != "nuts" else "")
            + ", or pass --allow-unconverged",
            quiet,
        )


@click.command()
@_common
@click.option("--poi", required=True, metavar="NAME", help="Parameter whose impacts are ranked.")
@click.option(
    "--top",
    default=10,
    show_default=True,
    type=click.IntRange(1, 200),
    help="Parameters refitted (two fits each), chosen by the covariance estimate.",
)
@click.option("--plot", type=click.Path(dir_okay=False), metavar="FILE", help="Write the ranking plot.")
def impacts(
    model: str,
    fix: tuple[str, ...],
    init: tuple[str, ...],
    fix_groups: bool,
    backend: str,
    output: str | None,
    as_json: bool,
    quiet: bool,
    poi: str,
    top: int,
    plot: str | None,
) -> None:
    """Impact ranking of the constrained parameters on one parameter of MODEL.

    Every constrained parameter is ranked by the covariance estimate cov(POI, θ)/σ_θ;
    the TOP largest are refitted with θ fixed at its post-fit value ± its post-fit error.
    """
    from redist import progress
    from redist.report.kinds import IMPACTS

    check_outputs(output, plot, inputs=_inputs(model))
    rep = progress_for(quiet)
    with progress.use(rep):
        loaded, layout, fixed, inits = _start(model, fix, init, rep, names=[poi])
        from redist.infer import fit as _fit  # after the name checks: imports pyhf
        from redist.infer.impacts import impacts as _impacts

        if layout.check(poi).size != 1:
            msg = f"--poi {poi}: a scalar parameter is needed"
            raise ModelSpecError(msg)
        best = _fit(
            loaded.model, fixed=fixed, init=inits, fix_groups=fix_groups, backend=backend, data=loaded.data
        )
        res = _impacts(loaded.model, poi, result=best, top=top, backend=backend, data=loaded.data)
    ensure_finite({"impact_up": res.impact_up, "impact_down": res.impact_down}, "impacts")
    emit(
        res.to_dict(),
        output=output,
        as_json=as_json,
        tables=IMPACTS.tables(res),
        provenance=_provenance(model, loaded.raw),
        quiet=quiet,
    )
    if plot:
        from redist.report.figures import impacts_figure

        _save_figure(impacts_figure(res), plot)


def _parse_ranges(items: tuple[str, ...], layout: Any) -> dict[str, Any]:
    """``NAME`` (uniform over its bounds) or ``NAME=LO:HI`` (uniform over [LO, HI])."""
    from redist.cli._common import _number

    out: dict[str, Any] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        name = name.strip()
        if name in out:
            msg = f"--par: {name!r} is given twice"
            raise ModelSpecError(msg)
        layout.check(name)
        if not sep:
            out[name] = None
            continue
        parts = spec.split(":")
        if len(parts) != 2:
            msg = f"--par {item!r} must look like NAME or NAME=LO:HI (a uniform prior range)"
            raise ModelSpecError(msg)
        lo, hi = (_number(v, f"--par {name}") for v in parts)
        if not hi > lo:
            msg = f"--par {item!r}: LO must be below HI"
            raise ModelSpecError(msg)
        out[name] = (lo, hi)
    return out


@click.command()
@_common
@click.option(
    "--par",
    "pars",
    multiple=True,
    metavar="NAME[=LO:HI]",
    help="Sampled parameter with a uniform prior over [LO, HI] (default: its bounds). "
    "Without --par: every unconstrained parameter that is not fixed.",
)
@click.option(
    "--n-live", default=400, show_default=True, type=click.IntRange(20), help="Live points (dynesty)."
)
@click.option(
    "--dlogz", default=0.1, show_default=True, type=click.FloatRange(min=1e-4), help="Stopping criterion."
)
@click.option(
    "--sample",
    "sample_method",
    default="rslice",
    show_default=True,
    type=click.Choice(["rslice", "rwalk", "slice", "unif", "auto"]),
    help="How dynesty proposes points (random slices suit curved posteriors such as coefficient shells).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the nested sampler.")
@click.option(
    "--versus",
    type=click.Path(dir_okay=False, exists=True),
    metavar="FILE",
    help="Evidence result (-o of another run) of the alternative hypothesis: adds the Bayes factor.",
)
def evidence(
    model: str,
    fix: tuple[str, ...],
    init: tuple[str, ...],
    fix_groups: bool,
    backend: str,
    output: str | None,
    as_json: bool,
    quiet: bool,
    pars: tuple[str, ...],
    n_live: int,
    dlogz: float,
    sample_method: str,
    seed: int,
    versus: str | None,
) -> None:
    """Bayesian evidence ln Z of a hypothesis on MODEL (and the Bayes factor against another).

    The sampled parameters (--par) get uniform priors and are integrated by nested
    sampling (dynesty); the constrained nuisance parameters by the Laplace
    approximation; --fix fixes others (e.g. the SM: --fix cVL=init --fix cSL=0
    --fix cTL=0). With --versus H0.json the result also holds ln B = ln Z - ln Z(H0).
    """
    from redist import progress

    check_outputs(output, inputs=[*_inputs(model), *([versus] if versus else [])])
    if init:
        msg = "--init is not used by evidence"
        raise ModelSpecError(msg)
    del backend
    rep = progress_for(quiet)
    other = None
    if versus is not None:
        import json
        from pathlib import Path

        from redist.infer.evidence import EvidenceResult

        other = EvidenceResult.from_dict(json.loads(Path(versus).read_text(encoding="utf-8")))
    with progress.use(rep):
        loaded, layout, fixed, _ = _start(model, fix, (), rep, names=[p.partition("=")[0] for p in pars])
        from redist.infer.evidence import bayes_factor
        from redist.infer.evidence import evidence as _evidence
        from redist.layout import ParameterKind

        ranges = _parse_ranges(pars, layout)
        if not pars:
            ranges = {
                n: None
                for n in layout.names
                if layout.check(n).constraint is None
                and layout.check(n).size == 1
                and n not in fixed
                and layout.kind(n) == ParameterKind.THEORY
            }
        res = _evidence(loaded.model, ranges, fixed=fixed, fix_groups=fix_groups, data=loaded.data,
                        n_live=n_live, dlogz=dlogz, sample=sample_method, seed=seed)  # fmt: skip
    doc = res.to_dict()
    if other is not None:
        doc["bayes_factor"] = {**bayes_factor(res, other).to_dict(), "versus": str(versus)}
    from redist.report.kinds import evidence_tables

    emit(
        doc,
        output=output,
        as_json=as_json,
        tables=evidence_tables(doc),
        provenance=_provenance(model, loaded.raw),
        quiet=quiet,
    )
