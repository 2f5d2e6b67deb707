"""Stored results of long or optional-dependency tutorial steps, checked against the code.

A tutorial step that takes minutes (a posterior, a 2D scan, a training run) or needs
an optional package the docs build does not install (EOS) is run once by a developer
and its JSON result is committed under ``docs/tutorials/_results/NAME.json``. The
docs build then loads it instead of recomputing, **but only if it still matches the
code**: every record carries a fingerprint of

* its name and its parameters (JSON),
* the source text of the function that computes it, and
* the source text of the modules it ``depends`` on (dotted names),

and :func:`cached` refuses a record whose fingerprint differs from the current one
(:class:`StaleResult`, which fails the docs build and ``tests/test_docs_results.py``),
naming the command that refreshes it::

    REDIST_DOCS_RESULTS=refresh make docs

Modes (environment variable ``REDIST_DOCS_RESULTS``):

``check`` (default)
    load the stored record; missing or stale -> :class:`StaleResult`.
``refresh``
    recompute missing or stale records and store them; load the others.
``force``
    recompute every record that is used.

The record is written atomically (temporary file in the same folder, fsync, rename).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["RESULTS_DIR", "Record", "StaleResult", "cached", "fingerprint", "load_record", "stale_records"]

#: Where tutorials store their results.
RESULTS_DIR = Path(__file__).resolve().parents[1] / "tutorials" / "_results"
_MODES = ("check", "refresh", "force")
Record = dict[str, Any]


class StaleResult(RuntimeError):
    """A stored tutorial result is missing or was produced by different code or parameters."""


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def fingerprint(name: str, params: Mapping[str, Any], depends: Sequence[str], code: str = "") -> str:
    """SHA-256 of the name, the parameters, ``code`` and the source of every module in ``depends``.

    Examples
    --------
    >>> a = fingerprint("x", {"n": 1}, ["json"])
    >>> a == fingerprint("x", {"n": 1}, ["json"]), a == fingerprint("x", {"n": 2}, ["json"])
    (True, False)
    """
    h = hashlib.sha256()
    head = {"name": name, "params": dict(params), "depends": sorted(depends), "code": code}
    h.update(_canonical(head).encode())
    for mod_name in sorted(depends):
        module = importlib.import_module(mod_name)
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError) as exc:  # built-in or source-less module
            msg = f"tutorial result {name!r}: cannot read the source of {mod_name!r} to fingerprint it"
            raise StaleResult(msg) from exc
        h.update(mod_name.encode() + b"\0" + source.encode() + b"\0")
    return h.hexdigest()


def _source(func: Callable[..., Any]) -> str:
    """Source text of ``func`` (works for functions defined in notebook cells too)."""
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        return getattr(func, "__qualname__", repr(func))


def _path(name: str, store: Path) -> Path:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        msg = f"tutorial result name {name!r}: use letters, digits, '-' and '_'"
        raise ValueError(msg)
    return store / f"{name}.json"


def load_record(name: str, store: Path = RESULTS_DIR) -> Record | None:
    """The stored record ``name`` (``None`` if there is none)."""
    path = _path(name, store)
    if not path.exists():
        return None
    record: Record = json.loads(path.read_text(encoding="utf-8"))
    return record


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached(
    name: str,
    compute: Callable[..., Any],
    *,
    params: Mapping[str, Any] | None = None,
    depends: Sequence[str] = (),
    store: Path | None = None,
    mode: str | None = None,
) -> Any:
    """Return ``compute(**params)``, from the stored record when it matches the code.

    Parameters
    ----------
    name : str
        Record name (file ``NAME.json`` in ``store``).
    compute : callable
        Called as ``compute(**params)``; must return JSON-serialisable data.
    params : mapping, optional
        Keyword arguments of ``compute`` (JSON-serialisable; part of the fingerprint).
    depends : sequence of str
        Dotted module names whose source the result depends on (part of the fingerprint).
    store : pathlib.Path, optional
        Folder of the records (default :data:`RESULTS_DIR`).
    mode : {"check", "refresh", "force"}, optional
        Default: the environment variable ``REDIST_DOCS_RESULTS``, else ``"check"``.

    Returns
    -------
    object
        The stored or freshly computed result (parsed JSON).

    Raises
    ------
    StaleResult
        In ``check`` mode, when the record is missing or its fingerprint differs.
    """
    store = RESULTS_DIR if store is None else Path(store)
    params = dict(params or {})
    mode = mode or os.environ.get("REDIST_DOCS_RESULTS", "check")
    if mode not in _MODES:
        msg = f"REDIST_DOCS_RESULTS={mode!r}; use one of {', '.join(_MODES)}"
        raise ValueError(msg)
    code = _source(compute)
    fp = fingerprint(name, params, depends, code)
    record = load_record(name, store)
    if mode != "force" and record is not None and record.get("fingerprint") == fp:
        return record["result"]
    if mode == "check":
        why = "is missing" if record is None else "was produced by different code or parameters"
        msg = (
            f"stored tutorial result {name!r} ({_path(name, store)}) {why}; recompute it with "
            f"`REDIST_DOCS_RESULTS=refresh make docs` and commit the JSON file"
        )
        raise StaleResult(msg)
    t0 = time.perf_counter()
    result = compute(**params)
    seconds = time.perf_counter() - t0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    record = {
        "name": name,
        "fingerprint": fp,
        "params": params,
        "depends": sorted(depends),
        "code": code,
        "produced": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "seconds": round(seconds, 2),
            "load_average_1min": None if load is None else round(load, 2),
            "python": platform.python_version(),
            "machine": platform.machine(),
        },
        "result": result,
    }
    text = json.dumps(record, indent=1, sort_keys=False, allow_nan=False) + "\n"
    _write_atomic(_path(name, store), text)
    return json.loads(text)["result"]


def stale_records(store: Path = RESULTS_DIR) -> list[str]:
    """Names of stored records whose fingerprint no longer matches the code."""
    out = []
    for path in sorted(store.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        try:
            fp = fingerprint(record["name"], record["params"], record["depends"], record.get("code", ""))
        except (ImportError, StaleResult):
            out.append(record.get("name", path.stem))
            continue
        if fp != record["fingerprint"] or record["name"] != path.stem:
            out.append(record["name"])
    return out
