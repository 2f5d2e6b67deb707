"""Provenance of a result: the command, the input files' SHA-256, package versions and the time."""

from __future__ import annotations

import datetime
import hashlib
import platform
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["file_sha256", "provenance", "versions"]


def __dir__() -> list[str]:
    return list(__all__)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> file_sha256(p)[:12]
    'ba7816bf8f01'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_PACKAGES = ("redist", "pyhf", "numpy", "scipy", "iminuit", "jax", "matplotlib")


def versions(packages: Sequence[str] = _PACKAGES) -> dict[str, str]:
    """Installed versions of the packages a result depends on (absent ones left out), and Python's."""
    out = {"python": platform.python_version()}
    for p in packages:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            continue
    return out


def provenance(command: Sequence[str], inputs: Mapping[str, str | bytes] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """Where a result comes from: the command line, ``{input: sha256}``, versions and the UTC time.

    ``inputs`` maps a display name to a path (hashed here) or to bytes already read
    (a model read from standard input).

    Examples
    --------
    >>> p = provenance(["redist", "fit", "-"], {"-": b"{}"})
    >>> p["command"], p["inputs"]["-"]["sha256"][:8]
    ('redist fit -', '44136fa3')
    """
    import shlex

    files = {}
    for name, src in dict(inputs).items():
        digest = hashlib.sha256(src).hexdigest() if isinstance(src, bytes) else file_sha256(src)
        files[name] = {"sha256": digest}
    return {
        "command": " ".join(shlex.quote(c) for c in command),
        "inputs": files,
        "versions": versions(),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
