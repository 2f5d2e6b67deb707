"""The ``redist`` command line: one module per command group.

Conventions every command shares (implemented here, once):

* a :class:`~redist.exceptions.RedistError` becomes a one-line ``Error: ...``
  on stderr and exit status 2; the global ``--debug`` flag (or
  ``REDIST_DEBUG=1``) shows the traceback instead;
* :func:`check_outputs` runs right after argument parsing, before any work:
  output files must be writable and must not be inputs of the same command;
* :func:`write_output` writes a result file atomically (or to stdout for ``-``);
* :func:`ensure_finite` refuses to report a result holding NaN or infinity
  (exit status 2, naming the first such entry).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click

from ..exceptions import NonFiniteResult, RedistError

__all__ = ["check_outputs", "ensure_finite", "main", "write_output"]


def __dir__() -> list[str]:
    return list(__all__)


#: exit status of a command that failed on a RedistError (bad input, non-finite result)
EXIT_REDIST_ERROR = 2
#: exit status of a command whose result was written but must not be trusted as is
#: (an unconverged posterior, a limit outside the tested range)
EXIT_UNRELIABLE = 3

# group name -> (module, attribute); imported lazily so that `redist --help` stays fast
_GROUPS = {
    "theory": ("redist.cli.theory", "theory"),
    "demo": ("redist.cli.demo", "demo"),
    "fm": ("redist.cli.fm", "fm"),
    "fit": ("redist.cli.infer", "fit"),
    "scan": ("redist.cli.infer", "scan"),
    "limit": ("redist.cli.infer", "limit"),
    "sample": ("redist.cli.infer", "sample"),
    "impacts": ("redist.cli.infer", "impacts"),
    "evidence": ("redist.cli.infer", "evidence"),
    "inspect": ("redist.cli.results", "inspect"),
    "show": ("redist.cli.results", "show"),
    "plot": ("redist.cli.results", "plot"),
    "report": ("redist.cli.results", "report"),
    "patchset": ("redist.cli.patch", "patchset"),
    "build": ("redist.cli.patch", "build"),
}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class RedistClickError(click.ClickException):
    """A :class:`RedistError` reported by the command line: one line, exit status 2."""

    exit_code = EXIT_REDIST_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.meta.get("redist.debug")) or os.environ.get("REDIST_DEBUG", "") not in ("", "0")


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = []
        for name, (mod, _) in _GROUPS.items():
            if importlib.util.find_spec(mod) is not None:
                names.append(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _GROUPS:
            return None
        mod, attr = _GROUPS[cmd_name]
        if importlib.util.find_spec(mod) is None:
            return None
        command: click.Command = getattr(importlib.import_module(mod), attr)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RedistError as err:
            if _debug(ctx):
                raise
            raise RedistClickError(str(err)) from err
        except click.ClickException as err:
            # commands that wrap a RedistError themselves: same one line, same status
            if isinstance(err.__cause__, RedistError) and not isinstance(err, click.UsageError):
                if _debug(ctx):
                    raise err.__cause__ from None
                raise RedistClickError(err.message) from err.__cause__
            raise


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="redist")
@click.option("--debug", is_flag=True, help="Show the full traceback of errors (also REDIST_DEBUG=1).")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Do not read or write compiled likelihoods in the user cache directory "
    "(also REDIST_COMPILE_CACHE=0).",
)
@click.pass_context
def main(ctx: click.Context, debug: bool, no_cache: bool) -> None:
    """Reinterpret binned results (pyhf likelihoods) for new theories."""
    ctx.meta["redist.debug"] = debug
    if no_cache:
        from ..engine._cache import configure_compile_cache

        configure_compile_cache(enabled=False)
        ctx.call_on_close(configure_compile_cache)  # in-process callers (tests) get the default back


# ----------------------------------------------------------------------------- helpers for commands
def check_outputs(*outputs: str | Path | None, inputs: Iterable[str | Path | None] = ()) -> None:
    """Check every output file before any work: writable, not a directory, not an input.

    ``None`` and ``"-"`` (standard output) are skipped. Call right after parsing.

    Raises
    ------
    OutputPathError
        Naming the output and the reason (the command then exits with status 2).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> check_outputs(os.path.join(d, "out.json"), None, "-")
    """
    from ..io.atomic import check_output

    ins = [i for i in inputs if i is not None]
    for out in outputs:
        if out is not None and str(out) != "-":
            check_output(out, inputs=ins)


def write_output(path: str | Path | None, text: str) -> None:
    """Write a result atomically to ``path``, or echo it to stdout for ``None``/``"-"``.

    Examples
    --------
    >>> write_output(None, '{"a": 1}')
    {"a": 1}
    """
    if path is None or str(path) == "-":
        click.echo(text)
        return
    from ..io.atomic import atomic_write_text

    atomic_write_text(path, text if text.endswith("\n") else text + "\n")


def _walk(obj: Any, path: str, seen: list[tuple[str, Any]]) -> None:
    import numpy as np

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _walk(getattr(obj, f.name), f"{path}/{f.name}", seen)
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            _walk(v, f"{path}/{k}", seen)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _walk(v, f"{path}/{i}", seen)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            bad = ~np.isfinite(obj)
            if bad.any():
                idx = np.argwhere(bad)[0]
                seen.append((f"{path}/{'/'.join(str(int(i)) for i in idx)}", obj[tuple(idx)]))
                seen.extend([("", None)] * (int(bad.sum()) - 1))
    elif isinstance(obj, (float, complex, np.floating, np.complexfloating)) and not (
        math.isfinite(obj.real) and math.isfinite(obj.imag)
    ):
        seen.append((path, obj))


def ensure_finite(result: Any, what: str = "result") -> Any:
    """Return ``result`` unchanged, or raise if any number in it is NaN or infinite.

    Walks dataclasses, mappings, sequences and numpy arrays.

    Raises
    ------
    NonFiniteResult
        Naming the path of the first non-finite entry and their count (exit status 2).

    Examples
    --------
    >>> ensure_finite({"BR": 4.6e-6})
    {'BR': 4.6e-06}
    >>> ensure_finite({"BR": float("nan")}, "branching ratio")
    Traceback (most recent call last):
    ...
    redist.exceptions.NonFiniteResult: branching ratio: /BR is nan (1 non-finite number); not reported
    """
    seen: list[tuple[str, Any]] = []
    _walk(result, "", seen)
    if seen:
        where, value = seen[0]
        n = len(seen)
        plural = "s" if n > 1 else ""
        msg = f"{what}: {where or '<root>'} is {value} ({n} non-finite number{plural}); not reported"
        raise NonFiniteResult(msg)
    return result
