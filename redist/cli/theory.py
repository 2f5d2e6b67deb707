"""``redist theory``: list and describe theories, evaluate differential rates and branching ratios.

Works for every registered theory, built-in or plug-in: settings are parsed and
checked against the theory's own schema (:meth:`redist.theory.Theory.settings_schema`),
parameter assignments go through :meth:`redist.theory.Theory.assign`.

Examples
--------
.. code-block:: console

    $ redist theory list
    $ redist theory describe wet --setting process=B0->K*0nunu
    $ redist theory rate B+->K+nunu --q2 0.5,1,5 --set cVL=7 --set cSL=1.5+0.5j --json
    $ redist theory br B0->K*0nunu --set cTL=1 --q2-range 0,4 --json
    $ redist theory br B+->K+X --setting m_X=1.5 --set BR_X=10 --json
    $ redist theory br B+->K+nunu --theory toy-plugin --setting q2_max=12 --set b=1

``PROCESS`` selects the theory when ``--theory`` is ``auto`` (the one registered
theory that describes it); with ``--theory NAME`` it is passed to the theory's
process setting, checked against the processes it declares, or (for a theory
that declares none) used as a label. ``--setting KEY=VALUE`` is a construction
setting of the theory; ``--set NAME=VALUE`` a parameter value (complex literals
such as ``1.5+0.5j`` where the theory accepts them). The old spellings
``--option KEY=VALUE`` and ``--form-factors NAME`` still work and print a
deprecation note.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import click
import numpy as np

from redist.cli import ensure_finite
from redist.exceptions import RedistError
from redist.theory import (
    Theory,
    available_theories,
    find_theories,
    get_theory,
    theory_processes,
    theory_settings,
)

__all__ = ["theory"]


def _floats(text: str, what: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        msg = f"{what}: expected comma-separated numbers, got {text!r}"
        raise click.BadParameter(msg) from err
    if not vals or not all(math.isfinite(v) for v in vals):
        msg = f"{what}: expected finite numbers, got {text!r}"
        raise click.BadParameter(msg)
    return vals


def _parse_value(key: str, text: str) -> complex:
    """A real or complex number written as a Python literal (never evaluated as code)."""
    try:
        val = complex(text.replace(" ", ""))
    except ValueError as err:
        msg = f"--set {key}: {text!r} is not a real or complex number (e.g. 2.5 or 1.5+0.5j)"
        raise click.BadParameter(msg) from err
    if not (math.isfinite(val.real) and math.isfinite(val.imag)):
        msg = f"--set {key}: value must be finite, got {text!r}"
        raise click.BadParameter(msg)
    return val


def _close(name: str, names: Sequence[str]) -> list[str]:
    """The closest valid name (difflib), comparing case-folded names when the plain match fails."""
    close = difflib.get_close_matches(name, list(names), n=1)
    if not close:
        folded = {n.casefold(): n for n in names}
        hit = difflib.get_close_matches(name.casefold(), list(folded), n=1)
        close = [folded[hit[0]]] if hit else []
    return close


def _split(item: str, flag: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip() or not value.strip():
        msg = f"{flag} expects KEY=VALUE, got {item!r}"
        raise click.BadParameter(msg)
    return key.strip(), value.strip()


def _parameter_values(th: Theory, items: Sequence[str]) -> dict[str, float]:
    """``--set`` items to parameter values, through the theory's own :meth:`~Theory.assign`."""
    names = th.parameter_names
    out: dict[str, float] = {}
    seen: set[str] = set()
    for item in items:
        key, text = _split(item, "--set")
        if key in seen:
            msg = f"--set {key}: given twice; give each parameter once"
            raise click.UsageError(msg)
        seen.add(key)
        if key not in names:
            close = _close(key, names)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            msg = f"theory {th.name!r} has no parameter {key!r}{hint}; valid parameters: {', '.join(names)}"
            raise click.UsageError(msg)
        try:
            out.update(th.assign(key, _parse_value(key, text)))
        except RedistError as err:
            raise click.UsageError(f"--set {key}: {err}") from err
    return out


def _deprecated(old: str, new: str) -> None:
    click.echo(f"redist theory: {old} is deprecated; use {new}", err=True)


def _choose_theory(process: str | None, theory_name: str) -> str:
    known = available_theories()
    if theory_name != "auto":
        if theory_name not in known:
            msg = f"unknown theory {theory_name!r}; valid theories: {', '.join(known)}"
            raise click.UsageError(msg)
        return theory_name
    if process is None:
        msg = "give a PROCESS or a theory with --theory NAME"
        raise click.UsageError(msg)
    found = find_theories(process)
    if not found:
        valid = list(dict.fromkeys(p for n in known for p in theory_processes(n)))
        msg = f"unknown process {process!r}; valid processes: {', '.join(valid)}"
        raise click.UsageError(msg)
    if len(found) > 1:
        msg = f"process {process!r} is described by the theories {found}; pick one with --theory"
        raise click.UsageError(msg)
    return found[0]


def _build(
    process: str | None,
    theory_name: str,
    settings_items: Sequence[str],
    options: Sequence[str] = (),
    form_factors: str | None = None,
) -> Theory:
    """Construct the theory from the command line, checking every setting against its schema."""
    items = list(settings_items)
    if options:
        _deprecated("--option KEY=VALUE", "--setting KEY=VALUE")
        items += list(options)
    if form_factors is not None:
        _deprecated("--form-factors NAME", "--setting form_factors=NAME")
        items.append(f"form_factors={form_factors}")
    name = _choose_theory(process, theory_name)
    schema = {s.name: s for s in theory_settings(name)}
    settings: dict[str, Any] = {}
    try:
        for item in items:
            key, text = _split(item, "--setting")
            if key not in schema:
                close = _close(key, list(schema))
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                valid = ", ".join(schema) or "(none)"
                msg = f"theory {name!r} has no setting {key!r}{hint}; valid settings: {valid}"
                raise click.UsageError(msg)
            settings[key] = schema[key].parse(text)
        proc = next((s for s in schema.values() if s.process), None)
        declared = theory_processes(name)
        if process is not None and proc is not None:
            value = proc.parse(process)
            if settings.setdefault(proc.name, value) != value:
                msg = f"PROCESS {process!r} contradicts --setting {proc.name}={settings[proc.name]}"
                raise click.UsageError(msg)
        elif process is not None and declared and process not in declared:
            msg = f"theory {name!r} describes {', '.join(declared)}, not {process!r}"
            raise click.UsageError(msg)
        th = get_theory(name, **settings)
    except RedistError as err:
        raise click.UsageError(str(err)) from err
    except TypeError as err:  # a factory whose signature differs from its declared schema
        msg = f"theory {name!r} does not accept the settings {sorted(settings)}: {err}"
        raise click.UsageError(msg) from err
    if len(th.kinematics) != 1:
        msg = f"theory {name!r} is differential in {len(th.kinematics)} variables; rate and br need one"
        raise click.UsageError(msg)
    return th


def _branching_ratio(th: Theory, values: dict[str, float], z_range: tuple[float, float]) -> float:
    br = getattr(th, "branching_ratio", None)
    if br is not None:
        return float(br(values, z_range))
    from redist.kernels import BinKernel

    k = th.kinematics[0]
    lo, hi = max(z_range[0], k.low), min(z_range[1], k.high)
    if hi <= lo:
        return 0.0
    kernel = BinKernel(th, [np.linspace(lo, hi, 129)])
    return float(np.sum(kernel.rates(th.resolve(values))))


_common = [
    click.argument("process", required=False),
    click.option("--theory", "theory_name", default="auto", show_default=True,
                 help="Registered theory (auto: the one that describes PROCESS)."),
    click.option("--setting", "settings", multiple=True, metavar="KEY=VALUE",
                 help="Construction setting of the theory (see `redist theory describe NAME`)."),
    click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                 help="Parameter value; complex literals like 1.5+0.5j where the theory has them."),
    click.option("--option", "options", multiple=True, metavar="KEY=VALUE", hidden=True,
                 help="Deprecated spelling of --setting."),
    click.option("--form-factors", default=None, hidden=True,
                 help="Deprecated: --setting form_factors=NAME."),
    click.option("--json", "as_json", is_flag=True, help="Print JSON."),
]  # fmt: skip


def _with_common(f: Callable[..., Any]) -> Callable[..., Any]:
    for deco in reversed(_common):
        f = deco(f)
    return f


@click.group(name="theory")
def theory() -> None:
    """Inspect and evaluate theory models."""


@theory.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List registered theories and the processes each describes."""
    names = available_theories()
    by_theory = {n: list(theory_processes(n)) for n in names}
    procs = list(dict.fromkeys(p for n in names for p in by_theory[n]))
    if as_json:
        click.echo(json.dumps({"theories": names, "processes": procs, "by_theory": by_theory}))
        return
    click.echo("theories:  " + ", ".join(names))
    click.echo("processes: " + ", ".join(procs))
    for n in names:
        click.echo(f"  {n:<12} {', '.join(by_theory[n]) or '(no process declared)'}")


@theory.command()
@click.argument("name")
@click.option("--setting", "settings", multiple=True, metavar="KEY=VALUE", help="Construction setting.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def describe(name: str, settings: tuple[str, ...], as_json: bool) -> None:
    """Settings, processes, parameters, groups and kinematics of the theory NAME."""
    th = _build(None, name, settings)
    d = th.describe()
    if as_json:
        click.echo(json.dumps(d.to_dict()))
        return
    click.echo(f"{d.name} v{d.version}: {d.metadata.get('basis', '')}")
    click.echo("settings:")
    for s in d.settings_schema:
        choices = f" (one of {', '.join(map(str, s.choices))})" if s.choices else ""
        click.echo(f"  {s.name:<16} {s.type:<6} = {d.settings.get(s.name, s.default)!r}{choices}")
    click.echo("processes: " + (", ".join(d.processes) or "(none declared)"))
    click.echo("parameters:")
    for p in d.parameters:
        kind = "" if p.linear else "  [non-linear]"
        line = f"  {p.name:<12} default {p.default:<12.6g} bounds {list(p.bounds)}  {p.description}"
        click.echo(line + kind)
    for g in d.groups:
        click.echo(f"group {g.name}: {len(g.parameters)} correlated parameters")
    for k in d.kinematics:
        click.echo(f"kinematic {k.name} in [{k.low:g}, {k.high:g}] {k.unit}")


def _in_range(th: Theory, points: Sequence[float], flag: str) -> None:
    """Every point inside the physical range of the theory's kinematic variable."""
    k = th.kinematics[0]
    for x in points:
        if not k.low <= x <= k.high:
            msg = (f"{flag}: {x:g} is outside the physical range of {k.name} for this theory, "
                   f"[{k.low:g}, {k.high:g}] {k.unit}")  # fmt: skip
            raise click.UsageError(msg)


def _label(process: str | None, th: Theory) -> str:
    return process or str(th.metadata.get("process", th.name))


@theory.command()
@_with_common
@click.option("--q2", "q2", required=True, help="Comma-separated values of the kinematic variable.")
def rate(process: str | None, theory_name: str, settings: tuple[str, ...], sets: tuple[str, ...],
         options: tuple[str, ...], form_factors: str | None, as_json: bool, q2: str) -> None:  # fmt: skip
    """Differential rate of PROCESS at the given points of its kinematic variable."""
    th = _build(process, theory_name, settings, options, form_factors)
    values = _parameter_values(th, sets)
    points = _floats(q2, "--q2")
    _in_range(th, points, "--q2")
    try:
        out = th.rate(np.asarray(points), values)
    except RedistError as err:
        raise click.ClickException(str(err)) from err
    k = th.kinematics[0]
    result = ensure_finite(
        {"process": _label(process, th), k.name: points, f"dBR_d{k.name}": [float(x) for x in out]}, "rate"
    )
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{_label(process, th)}  ({th.name})")
    click.echo(f"{k.name + ' [' + k.unit + ']':>12}  {'dBR/d' + k.name:>18}")
    for x, r in zip(points, out):
        click.echo(f"{x:12.6g}  {float(r):18.10e}")


@theory.command()
@_with_common
@click.option("--q2-range", default=None, metavar="LOW,HIGH",
              help="Integration range (default: the full physical range).")  # fmt: skip
def br(process: str | None, theory_name: str, settings: tuple[str, ...], sets: tuple[str, ...],
       options: tuple[str, ...], form_factors: str | None, as_json: bool,
       q2_range: str | None) -> None:  # fmt: skip
    """Branching ratio of PROCESS: the rate integrated over its kinematic variable."""
    th = _build(process, theory_name, settings, options, form_factors)
    values = _parameter_values(th, sets)
    k = th.kinematics[0]
    rng = (k.low, k.high)
    if q2_range is not None:
        lim = _floats(q2_range, "--q2-range")
        if len(lim) != 2 or lim[1] <= lim[0]:
            msg = f"--q2-range expects LOW,HIGH with LOW < HIGH, got {q2_range!r}"
            raise click.BadParameter(msg)
        rng = (lim[0], lim[1])
        _in_range(th, lim, "--q2-range")
    try:
        value = _branching_ratio(th, values, rng)
    except RedistError as err:
        raise click.ClickException(str(err)) from err
    label = _label(process, th)
    ensure_finite(value, "branching ratio")
    if as_json:
        click.echo(json.dumps({"process": label, "BR": value}))
        return
    click.echo(f"BR({label}) = {value:.6e}  ({k.name} in [{rng[0]:g}, {rng[1]:g}] {k.unit}, {th.name})")
