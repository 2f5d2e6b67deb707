"""``redist theory``: list theories, evaluate differential rates and branching ratios.

Examples
--------
.. code-block:: console

    $ redist theory list
    $ redist theory rate B+->K+nunu --q2 0.5,1,5 --set cVL=7 --set cSL=1.5+0.5j --json
    $ redist theory br B0->K*0nunu --set cTL=1 --q2-range 0,4 --json
    $ redist theory br B+->K+X --option m_X=1.5 --set BR_X=10 --json

``PROCESS`` is a process of the ``wet`` theory or ``B+->K+X`` (the ``two-body``
theory); ``--theory`` picks another registered theory for the same process
names (for instance ``eos`` or ``flavio``). Complex Wilson coefficients are
written as Python complex literals (``1.5+0.5j``) and set ``cX`` and
``cX_im``. ``--option KEY=VALUE`` passes a construction setting of the theory
(``m_X``, ``width``, ``include_sm`` for the two-body model).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import click
import numpy as np

from redist.cli import ensure_finite
from redist.exceptions import RedistError
from redist.theory import Theory, available_theories, get_theory

__all__ = ["theory"]

#: process name of the two-body model
TWO_BODY_PROCESS = "B+->K+X"


def _wet_processes() -> list[str]:
    from theories.wet import PROCESSES

    return list(PROCESSES)


def _processes() -> list[str]:
    return [*_wet_processes(), TWO_BODY_PROCESS]


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


def _split(item: str, flag: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip() or not value.strip():
        msg = f"{flag} expects KEY=VALUE, got {item!r}"
        raise click.BadParameter(msg)
    return key.strip(), value.strip()


def _parameter_values(th: Theory, items: Sequence[str]) -> dict[str, float]:
    """``--set`` items to parameter values; ``cX=a+bj`` sets ``cX`` and ``cX_im``."""
    names = th.parameter_names
    out: dict[str, float] = {}
    for item in items:
        key, text = _split(item, "--set")
        if key not in names:
            msg = f"theory {th.name!r} has no parameter {key!r}; valid parameters: {', '.join(names)}"
            raise click.UsageError(msg)
        val = _parse_value(key, text)
        out[key] = val.real
        if f"{key}_im" in names:
            out[f"{key}_im"] = val.imag
        elif val.imag != 0:
            msg = f"--set {key}: parameter {key!r} is real, got the complex value {text!r}"
            raise click.UsageError(msg)
    return out


def _option_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return float(text)
    except ValueError:
        return text


def _build(process: str, theory_name: str, form_factors: str | None,
           options: Sequence[str]) -> Theory:  # fmt: skip
    valid = _processes()
    if process not in valid:
        msg = f"unknown process {process!r}; valid processes: {', '.join(valid)}"
        raise click.UsageError(msg)
    settings: dict[str, Any] = {}
    for item in options:
        key, text = _split(item, "--option")
        settings[key] = _option_value(text)
    if theory_name == "auto":
        theory_name = "two-body" if process == TWO_BODY_PROCESS else "wet"
    if process != TWO_BODY_PROCESS:
        settings["process"] = process
    if form_factors is not None:
        settings["form_factors"] = form_factors
    known = available_theories()
    if theory_name not in known:
        msg = f"unknown theory {theory_name!r}; valid theories: {', '.join(known)}"
        raise click.UsageError(msg)
    try:
        th = get_theory(theory_name, **settings)
    except TypeError as err:  # a setting the factory does not take
        msg = f"theory {theory_name!r} does not accept the settings {sorted(settings)}: {err}"
        raise click.UsageError(msg) from err
    except RedistError as err:
        raise click.ClickException(str(err)) from err
    if len(th.kinematics) != 1:
        msg = f"theory {theory_name!r} is not differential in one variable (q2)"
        raise click.UsageError(msg)
    return th


def _branching_ratio(th: Theory, values: dict[str, float], q2_range: tuple[float, float]) -> float:
    if hasattr(th, "branching_ratio"):
        return float(th.branching_ratio(values, q2_range))
    from redist.kernels import BinKernel

    k = th.kinematics[0]
    lo, hi = max(q2_range[0], k.low), min(q2_range[1], k.high)
    if hi <= lo:
        return 0.0
    kernel = BinKernel(th, [np.linspace(lo, hi, 129)])
    return float(np.sum(kernel.rates(th.resolve(values))))


_common = [
    click.argument("process"),
    click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                 help="Parameter value; complex literals like 1.5+0.5j set NAME and NAME_im."),
    click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
                 help="Construction setting of the theory (e.g. m_X=1.5 for B+->K+X)."),
    click.option("--form-factors", default=None, help="Form-factor set (wet: GKvD2018, HPQCD2022)."),
    click.option("--theory", "theory_name", default="auto", show_default=True,
                 help="Registered theory to use (auto: wet, or two-body for B+->K+X)."),
    click.option("--json", "as_json", is_flag=True, help="Print JSON."),
]  # fmt: skip


def _with_common(f: Any) -> Any:
    for deco in reversed(_common):
        f = deco(f)
    return f


@click.group(name="theory")
def theory() -> None:
    """Inspect and evaluate theory models."""


@theory.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List registered theories and the process names accepted by `rate` and `br`."""
    names, procs = available_theories(), _processes()
    if as_json:
        click.echo(json.dumps({"theories": names, "processes": procs}))
        return
    click.echo("theories:  " + ", ".join(names))
    click.echo("processes: " + ", ".join(procs))


@theory.command()
@_with_common
@click.option("--q2", "q2", required=True, help="Comma-separated q2 values in GeV^2.")
def rate(process: str, sets: tuple[str, ...], options: tuple[str, ...], form_factors: str | None,
         theory_name: str, as_json: bool, q2: str) -> None:  # fmt: skip
    """Differential branching ratio dBR/dq2 of PROCESS at the given q2 values."""
    th = _build(process, theory_name, form_factors, options)
    values = _parameter_values(th, sets)
    points = _floats(q2, "--q2")
    try:
        out = th.rate(np.asarray(points), values)
    except RedistError as err:
        raise click.ClickException(str(err)) from err
    result = ensure_finite({"process": process, "q2": points, "dBR_dq2": [float(x) for x in out]}, "rate")
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{process}  ({th.name})")
    click.echo(f"{'q2 [GeV^2]':>12}  {'dBR/dq2 [GeV^-2]':>18}")
    for x, r in zip(points, result["dBR_dq2"]):
        click.echo(f"{x:12.6g}  {r:18.10e}")


@theory.command()
@_with_common
@click.option("--q2-range", default=None, metavar="LOW,HIGH",
              help="Integration range in GeV^2 (default: the full physical range).")  # fmt: skip
def br(process: str, sets: tuple[str, ...], options: tuple[str, ...], form_factors: str | None,
       theory_name: str, as_json: bool, q2_range: str | None) -> None:  # fmt: skip
    """Branching ratio of PROCESS, integrated over q2."""
    th = _build(process, theory_name, form_factors, options)
    values = _parameter_values(th, sets)
    k = th.kinematics[0]
    rng = (k.low, k.high)
    if q2_range is not None:
        lim = _floats(q2_range, "--q2-range")
        if len(lim) != 2 or lim[1] <= lim[0]:
            msg = f"--q2-range expects LOW,HIGH with LOW < HIGH, got {q2_range!r}"
            raise click.BadParameter(msg)
        rng = (lim[0], lim[1])
    try:
        value = _branching_ratio(th, values, rng)
    except RedistError as err:
        raise click.ClickException(str(err)) from err
    ensure_finite(value, "branching ratio")
    if as_json:
        click.echo(json.dumps({"process": process, "BR": value}))
        return
    click.echo(f"BR({process}) = {value:.6e}  (q2 in [{rng[0]:g}, {rng[1]:g}] GeV^2, {th.name})")
