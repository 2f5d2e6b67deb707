"""What every ``redist`` command shares: options, input loading, argument parsing, output.

Conventions (one place, every command):

* ``-o/--output FILE`` writes the machine-readable result (JSON, with provenance);
  ``--output-dir DIR`` where a command writes several files; ``--json`` prints the
  result as JSON on stdout and nothing else; otherwise stdout shows tables;
* status lines and progress bars go to stderr, off with ``--quiet``;
* ``MODEL`` may be ``-`` (standard input); a redist model file or a plain pyhf workspace;
* grids are ``NAME=LO:HI:N`` (inclusive linspace) or ``NAME=V1,V2,...``; the old
  ``NAME:LO:HI:N`` still works with a deprecation note on stderr;
* every name and value is checked against the model before anything is compiled:
  unknown names (with the valid ones and a suggestion), values given twice,
  NaN/inf, values outside the parameter's bounds, duplicate grid values.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click
import numpy as np

from ..exceptions import FileFormatError, ModelSpecError, RedistError
from ..progress import Bar

__all__ = [
    "Loaded",
    "RichProgress",
    "deprecated",
    "emit",
    "load_input",
    "output_options",
    "parse_assignments",
    "parse_grid_spec",
    "print_tables",
    "progress_for",
]


def __dir__() -> list[str]:
    return list(__all__)


# ----------------------------------------------------------------------------- consoles
def _stdout_console() -> Any:
    from rich.console import Console

    out = sys.stdout
    width = None if out.isatty() else 120
    return Console(file=out, width=width, highlight=False, soft_wrap=False)


def _stderr_console() -> Any:
    from rich.console import Console

    err = sys.stderr
    return Console(file=err, width=None if err.isatty() else 120, highlight=False, stderr=True)


def deprecated(old: str, new: str) -> None:
    """One deprecation note on stderr."""
    click.echo(f"redist: {old} is deprecated; use {new}", err=True)


def status(text: str, quiet: bool = False) -> None:
    """One status line on stderr (nothing with ``--quiet``)."""
    if not quiet:
        click.echo(text, err=True)


# ----------------------------------------------------------------------------- progress
class _RichBar:
    def __init__(self, owner: RichProgress, total: int, description: str, unit: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._owner = owner
        self._t0 = time.perf_counter()
        self._desc = description
        self._unit = unit
        self._total = total
        self._done = 0
        self._progress: Any = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(f"{unit}s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=owner.console,
            transient=True,
        )
        owner._pause_status()
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        self._done += n
        self._progress.update(self._task, advance=n)

    def close(self) -> None:
        if self._progress is None:
            return
        self._progress.stop()
        self._progress = None
        dt = time.perf_counter() - self._t0
        self._owner.console.print(
            f"[green]✓[/] {self._desc}: {self._done}/{self._total} {self._unit}s [dim]({dt:.1f} s)[/]"
        )
        self._owner._resume_status()


class RichProgress:
    """The command line's :class:`redist.progress.Progress`: rich on stderr.

    A phase shows a spinner while it runs and one line ``✓ name (t s)`` when it is
    done (phases under 0.05 s leave no line); nested phases extend the spinner's
    text. A loop shows a bar (removed when done) and one summary line.
    """

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.console = _stderr_console()
        self._stack: list[str] = []
        self._status: Any = None

    def _text(self) -> str:
        return " › ".join(self._stack) + " ..."

    def _pause_status(self) -> None:
        if self._status is not None:
            self._status.stop()

    def _resume_status(self) -> None:
        if self._status is not None and self._stack:
            self._status.start()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Spinner while the step runs, then ``✓ name (t s)``."""
        if self.quiet:
            yield
            return
        t0 = time.perf_counter()
        self._stack.append(name)
        outer = self._status is None
        if outer:
            self._status = self.console.status(self._text(), spinner="dots")
            self._status.start()
        else:
            self._status.update(self._text())
        try:
            yield
        finally:
            self._stack.pop()
            if outer:
                self._status.stop()
                self._status = None
            else:
                self._status.update(self._text())
        dt = time.perf_counter() - t0
        if dt >= 0.05:
            self.console.print(f"[green]✓[/] {name} [dim]({dt:.1f} s)[/]")

    def bar(self, total: int, description: str, *, unit: str = "it") -> Bar:
        """A rich progress bar (nothing with ``--quiet``)."""
        from ..progress import SILENT

        if self.quiet:
            return SILENT.bar(total, description, unit=unit)
        return _RichBar(self, total, description, unit)


def progress_for(quiet: bool) -> RichProgress:
    """The reporter of a command."""
    return RichProgress(quiet=quiet)


# ----------------------------------------------------------------------------- options
def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-o/--output FILE``, ``--json`` and ``--quiet``."""
    f = click.option("--quiet", "-q", is_flag=True, help="No status lines or progress bars on stderr.")(f)
    f = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print the result as JSON on stdout (nothing else; covariances only in -o files).",
    )(f)
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        help="Write the full result (JSON, with provenance) to FILE.",
    )(f)


# ----------------------------------------------------------------------------- inputs
@dataclass
class Loaded:
    """A model read from a file or stdin."""

    model: Any
    data: Any
    path: str
    raw: bytes
    plain: bool

    @property
    def where(self) -> str:
        return "<stdin>" if self.path == "-" else self.path


def _read(path: str) -> bytes:
    from ..io import limits
    from ..io.reader import read_bytes

    if path != "-":
        return read_bytes(path, limit="max_file_bytes")
    cap = limits.current().max_file_bytes
    data = sys.stdin.buffer.read(cap + 1)
    if len(data) > cap:
        msg = f"<stdin>: more than {cap} bytes (limit max_file_bytes)"
        raise FileFormatError(msg)
    if not data.strip():
        msg = "<stdin>: empty input; pipe a model file or give its path instead of '-'"
        raise FileFormatError(msg)
    return data


#: the type of redist's pyhf modifier (redist.modifier.MODIFIER_TYPE; not imported: it needs pyhf)
REDIST_MODIFIER_TYPE = "redist"


def read_input(path: str) -> tuple[bytes, Any]:
    """The bytes and the parsed JSON of a model file or workspace (``-``: standard input)."""
    from ..io.reader import parse_json

    raw = _read(path)
    return raw, parse_json(raw, where="<stdin>" if path == "-" else path)


def quick_names(doc: Any) -> list[str] | None:
    """Parameter names of a model document without building it (no pyhf), or ``None`` if unsure.

    The exposed theory parameters and correlated groups of the reweightings, then every
    modifier name of the workspace (redist's own modifiers are named after reweightings,
    not parameters). Used to reject a misspelt name in a second, before pyhf is imported;
    the full model check follows.
    """
    try:
        names: list[str] = []
        if isinstance(doc, Mapping) and "workspace" in doc and "reweightings" in doc:
            for rw in doc["reweightings"].values():
                names += [str(p) for p in rw["parameters"]]
                if rw.get("nuisance_groups", True):
                    names += [str(g["name"]) for g in rw.get("groups") or ()]
            spec = doc["workspace"]
        elif isinstance(doc, Mapping) and "channels" in doc and "observations" in doc:
            spec = doc
        else:
            return None
        for ch in spec["channels"]:
            for s in ch["samples"]:
                names += [str(m["name"]) for m in s["modifiers"] if m["type"] != REDIST_MODIFIER_TYPE]
    except (KeyError, TypeError, AttributeError):
        return None
    return list(dict.fromkeys(names))


def suggest(name: str, valid: Sequence[str]) -> str:
    """`` (did you mean 'X'?)`` with the closest valid name (case slips included), or ``""``."""
    import difflib

    close = difflib.get_close_matches(name, list(valid), n=1)
    if not close:
        folded = {v.casefold(): v for v in valid}
        hit = difflib.get_close_matches(name.casefold(), list(folded), n=1)
        close = [folded[hit[0]]] if hit else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def precheck_names(doc: Any, names: Sequence[str]) -> None:
    """Reject unknown parameter names from the document alone (see :func:`quick_names`)."""
    from ..exceptions import UnknownParameter

    valid = quick_names(doc)
    if valid is None:
        return
    for name in names:
        if name not in valid:
            msg = f"model has no parameter {name!r}{suggest(name, valid)}; valid: {', '.join(valid)}"
            raise UnknownParameter(msg)


def names_in(items: Sequence[str], *, grid: bool = False) -> list[str]:
    """The NAME part of ``NAME=...`` items (and of the old ``NAME:LO:HI:N`` grids)."""
    out = []
    for item in items:
        name, sep, _ = item.partition("=")
        if not sep and grid and item.count(":") == 3:
            name = item.split(":", 1)[0]
        if name.strip():
            out.append(name.strip())
    return out


def load_input(path: str, *, allow_plain: bool = True, read: tuple[bytes, Any] | None = None) -> Loaded:
    """Read a redist model file or a plain pyhf workspace (``-``: standard input)."""
    from ..io.model import from_dict

    where = "<stdin>" if path == "-" else path
    raw, doc = read if read is not None else read_input(path)
    if isinstance(doc, Mapping) and "workspace" in doc and "reweightings" in doc:
        rm = from_dict(doc, where=where)
        return Loaded(model=rm, data=None, path=path, raw=raw, plain=False)
    if isinstance(doc, Mapping) and {"channels", "observations", "measurements"} <= set(doc):
        if not allow_plain:
            msg = (
                f"{where} is a plain pyhf workspace, not a redist model file; build a model with "
                "`redist build CONFIG -o model.json` (docs/workspaces.md)"
            )
            raise FileFormatError(msg)
        import pyhf

        try:
            ws = pyhf.Workspace(dict(doc))
            model = ws.model()
            data = np.asarray(ws.data(model), dtype=float)
        except Exception as err:  # pyhf has no common exception base class
            msg = f"{where}: invalid pyhf workspace ({str(err)[:200]})"
            raise FileFormatError(msg) from err
        return Loaded(model=model, data=data, path=path, raw=raw, plain=True)
    if isinstance(doc, Mapping) and "kind" in doc:
        msg = f"{where} is a redist result ({doc['kind']!r}), not a model; see `redist show`"
        raise FileFormatError(msg)
    msg = f"{where}: not a redist model file (written by redist.save or `redist build`) nor a pyhf workspace"
    raise FileFormatError(msg)


def layout_of(loaded: Loaded) -> Any:
    """The parameter layout of a loaded model."""
    from ..infer._objective import layout_of as _layout_of

    return _layout_of(loaded.model)


# ----------------------------------------------------------------------------- values
def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        msg = f"{what}: {text!r} is not a number"
        raise ModelSpecError(msg) from None
    if not math.isfinite(v):
        msg = f"{what}: {text!r} is not a finite number"
        raise ModelSpecError(msg)
    return v


def _check_in_bounds(layout: Any, name: str, values: Sequence[float], what: str) -> None:
    e = layout.check(name)
    for k, v in enumerate(values if len(values) > 1 else values * e.size):
        lo, hi = layout.bounds[e.start + k]
        if not lo <= v <= hi:
            lab = layout.labels[e.start + k]
            msg = f"{what}: {lab} = {v:g} is outside its bounds [{lo:g}, {hi:g}]"
            raise ModelSpecError(msg)


def parse_assignments(
    items: Sequence[str], what: str, layout: Any = None, *, allow_init: bool = True
) -> dict[str, Any]:
    """``NAME=VALUE`` items to ``{name: value}``, checked (before any work).

    ``VALUE``: a number, a comma-separated list (vector parameters) or ``init``.
    With a ``layout``: the name must be a parameter (suggestion and valid names
    otherwise), a list must have the parameter's length, values must lie within
    the bounds. A name given twice, NaN and infinity are errors.
    """
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            msg = f"{what} {item!r} must look like NAME=VALUE"
            raise ModelSpecError(msg)
        if name in out:
            msg = f"{what}: {name!r} is given twice ({what} {name}=...); give each parameter once"
            raise ModelSpecError(msg)
        if layout is not None:
            layout.check(name)
        if value in ("init", "") and allow_init:
            out[name] = None
            continue
        vals = [_number(v, f"{what} {name}") for v in value.split(",")]
        if layout is not None:
            size = layout.check(name).size
            if len(vals) not in (1, size):
                msg = f"{what} {name}: {len(vals)} values for a parameter of {size} components"
                raise ModelSpecError(msg)
            _check_in_bounds(layout, name, vals, what)
        out[name] = vals[0] if len(vals) == 1 else vals
    return out


def parse_grid_spec(text: str, what: str = "--par", *, min_points: int = 2) -> tuple[str, np.ndarray]:
    """``NAME=LO:HI:N`` or ``NAME=V1,V2,...`` (old ``NAME:LO:HI:N`` with a deprecation note).

    Examples
    --------
    >>> name, g = parse_grid_spec("cVL=0:20:5")
    >>> name, g.tolist()
    ('cVL', [0.0, 5.0, 10.0, 15.0, 20.0])
    >>> parse_grid_spec("cTL=1,2,4")[1].tolist()
    [1.0, 2.0, 4.0]
    """
    from ..io.limits import check

    name, sep, spec = text.partition("=")
    if not sep:
        parts = text.split(":")
        if len(parts) == 4:
            deprecated(f"{what} NAME:LO:HI:N", f"{what} NAME=LO:HI:N")
            name, spec = parts[0], ":".join(parts[1:])
        else:
            msg = f"{what} {text!r} must look like NAME=LO:HI:N (e.g. cVL=0:20:41) or NAME=V1,V2,..."
            raise ModelSpecError(msg)
    name = name.strip()
    if not name:
        msg = f"{what} {text!r}: the parameter name is missing"
        raise ModelSpecError(msg)
    where = f"{what} {text!r}"
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            msg = f"{where}: a range is LO:HI:N (e.g. {name}=0:20:41)"
            raise ModelSpecError(msg)
        lo, hi = _number(parts[0], f"{where} LO"), _number(parts[1], f"{where} HI")
        try:
            n = int(parts[2])
        except ValueError:
            msg = f"{where}: N must be an integer, got {parts[2]!r}"
            raise ModelSpecError(msg) from None
        if n < min_points:
            msg = f"{where}: need at least {min_points} points, got {n}"
            raise ModelSpecError(msg)
        check("max_grid_points", n, what="grid points", where=where, error=ModelSpecError)
        if not lo < hi and n > 1:
            msg = f"{where}: LO must be below HI, got {parts[0]} and {parts[1]}"
            raise ModelSpecError(msg)
        values = np.linspace(lo, hi, n)
    else:
        vals = [_number(v, where) for v in spec.split(",") if v.strip()]
        if len(vals) < min_points:
            msg = f"{where}: need at least {min_points} values"
            raise ModelSpecError(msg)
        check("max_grid_points", len(vals), what="grid points", where=where, error=ModelSpecError)
        values = np.asarray(vals, dtype=float)
    uniq, counts = np.unique(values, return_counts=True)
    if np.any(counts > 1):
        msg = f"{where}: the value {uniq[counts > 1][0]:g} is given more than once"
        raise ModelSpecError(msg)
    return name, values


def check_grid(layout: Any, name: str, values: np.ndarray, what: str) -> None:
    """The grid's parameter exists, is scalar, and every value is within its bounds."""
    e = layout.check(name)
    if e.size != 1:
        msg = f"{what} {name}: {name!r} has {e.size} components; scan a scalar parameter"
        raise ModelSpecError(msg)
    lo, hi = layout.bounds[e.start]
    bad = values[(values < lo) | (values > hi)]
    if bad.size:
        msg = f"{what} {name}: the value {bad[0]:g} is outside the bounds [{lo:g}, {hi:g}] of {name!r}"
        raise ModelSpecError(msg)


# ----------------------------------------------------------------------------- output
def _strip(doc: Any, key: str) -> Any:
    if isinstance(doc, dict):
        return {k: _strip(v, key) for k, v in doc.items() if k != key}
    if isinstance(doc, list):
        return [_strip(v, key) for v in doc]
    return doc


def print_tables(tables: Sequence[Any]) -> None:
    """Render :class:`redist.report.tables.Table` objects with rich on stdout."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table as RichTable

    console = _stdout_console()
    for t in tables:
        rt = RichTable(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        num = t.numeric or (False,) * len(t.columns)
        for c, n in zip(t.columns, num):
            rt.add_column(c, justify="right" if n else "left", no_wrap=bool(n), overflow="fold")
        for k, row in enumerate(t.rows):
            warn = k < len(t.warn) and t.warn[k]
            rt.add_row(*(escape(c) for c in row), style="yellow" if warn else None)
        console.print(f"[bold]{escape(t.title)}[/]")
        if t.summary:
            parts = [f"[dim]{escape(k)}[/] {escape(v)}" for k, v in t.summary]
            plain = "  ".join(f"{k} {v}" for k, v in t.summary)
            if len(plain) <= console.width:
                console.print("  ".join(parts))
            else:  # one item per line rather than items broken across lines
                for p in parts:
                    console.print(p)
        console.print(rt)
        for n in t.notes:
            console.print(f"[dim]{escape(n)}[/]")


def emit(
    doc: dict[str, Any],
    *,
    output: str | None,
    as_json: bool,
    tables: Sequence[Any],
    provenance: Mapping[str, Any],
    quiet: bool,
) -> None:
    """Write/print a result: ``-o`` file (full, with provenance), ``--json`` stdout, or tables."""
    from ..io.atomic import atomic_write_text

    full = {**doc, "provenance": dict(provenance)}
    if output is not None and output != "-":
        atomic_write_text(output, json.dumps(full, indent=1, allow_nan=False) + "\n")
    if as_json or output == "-":
        click.echo(json.dumps(_strip(full, "covariance"), indent=1, allow_nan=False))
    else:
        print_tables(tables)
    if output is not None and output != "-":
        status(f"wrote {output}", quiet)


def reraise_usage(err: RedistError) -> None:  # pragma: no cover - helper kept for symmetry
    raise err
