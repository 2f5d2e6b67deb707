"""Compile once, reuse everywhere: jax's persistent compilation cache for redist.

Compiled executables are written to a directory in the user's cache folder
(``platformdirs.user_cache_dir("redist")``), in a sub-directory named after the
redist, jax and jaxlib versions, so an upgrade never loads a stale executable.
A second process (a new command-line run, a Dask worker) then loads the
executable instead of compiling it.

Control, in order of precedence:

* :func:`configure_compile_cache` (what the command line's ``--no-cache`` calls);
* the environment variable ``REDIST_COMPILE_CACHE``: ``0`` / ``off`` / ``false``
  disables the cache, any other value is the cache directory to use;
* default: enabled, in the user cache directory.

The cache is configured lazily, the first time the engine compiles anything,
and never imports jax before that.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["ENV_VAR", "compile_cache_dir", "configure_compile_cache", "ensure_compile_cache"]

#: environment variable that disables (``0``) or relocates (a path) the cache
ENV_VAR = "REDIST_COMPILE_CACHE"

_LOCK = threading.Lock()
_STATE: dict[str, object] = {"configured": False, "enabled": None, "directory": None, "active": None}


def _versioned(base: Path) -> Path:
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    def _v(name: str) -> str:
        # without jax (numpy-only install) the cache still holds the checked-document markers
        try:
            return version(name)
        except PackageNotFoundError:
            return "none"

    return base / f"redist-{__version__}_jax-{_v('jax')}_jaxlib-{_v('jaxlib')}"


def _default_base() -> Path:
    try:
        import platformdirs
    except ImportError:  # platformdirs comes with the jax extra; fall back to XDG
        root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(root) / "redist" / "jax-compile"
    return Path(platformdirs.user_cache_dir("redist", appauthor=False)) / "jax-compile"


def configure_compile_cache(
    enabled: bool | None = None, directory: str | os.PathLike[str] | None = None
) -> None:
    """Choose whether and where compiled executables are cached across processes.

    Call it before the first compilation (later calls take effect for
    executables compiled afterwards). ``None`` leaves a setting to the
    environment variable ``REDIST_COMPILE_CACHE`` and the default.

    Parameters
    ----------
    enabled : bool, optional
        ``False`` turns the persistent cache off (the CLI's ``--no-cache``).
    directory : path, optional
        Base directory; a sub-directory per redist/jax/jaxlib version is used inside.

    Examples
    --------
    >>> configure_compile_cache(enabled=False)
    >>> compile_cache_dir() is None
    True
    >>> configure_compile_cache()  # back to the environment / default
    """
    with _LOCK:
        _STATE["enabled"] = enabled
        _STATE["directory"] = None if directory is None else Path(directory)
        if _STATE["configured"]:
            _STATE["configured"] = False
            _apply()


def _resolve() -> Path | None:
    enabled = _STATE["enabled"]
    directory = _STATE["directory"]
    env = os.environ.get(ENV_VAR, "").strip()
    if enabled is False:
        return None
    if enabled is None and env.lower() in ("0", "off", "false", "no"):
        return None
    if isinstance(directory, Path):
        return _versioned(directory)
    if env and env.lower() not in ("1", "on", "true", "yes"):
        return _versioned(Path(env).expanduser())
    return _versioned(_default_base())


def _apply() -> None:
    from redist._optional import optional_import

    jax = optional_import("jax", purpose="the compiled likelihood engine (redist.engine)")

    update: Any = jax.config.update
    update("jax_enable_x64", True)
    # the engine's computations take tens of microseconds: dispatching them synchronously
    # saves the hand-off to jax's dispatch thread (about 2x on value-and-gradient calls)
    update("jax_cpu_enable_async_dispatch", False)
    target = _resolve()
    if target is not None:
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError:
            target = None  # unwritable cache location: compile without a cache
    if target is None:
        update("jax_enable_compilation_cache", False)
    else:
        update("jax_enable_compilation_cache", True)
        update("jax_compilation_cache_dir", str(target))
        update("jax_persistent_cache_min_compile_time_secs", 0.0)
        update("jax_persistent_cache_min_entry_size_bytes", 0)
    try:  # the cache object is created once per process: make it follow the new settings
        from jax._src import compilation_cache as cc

        cc.reset_cache()
    except (ImportError, AttributeError):  # pragma: no cover - older/newer jax
        pass
    _STATE["active"] = target
    _STATE["configured"] = True


def ensure_compile_cache() -> None:
    """Configure jax (float64, persistent cache) once, before the first compilation."""
    if _STATE["configured"]:
        return
    with _LOCK:
        if not _STATE["configured"]:
            _apply()


def compile_cache_dir() -> Path | None:
    """The directory compiled executables go to (``None`` when disabled).

    Resolves the settings without configuring jax.
    """
    with _LOCK:
        if _STATE["configured"]:
            active = _STATE["active"]
            return active if isinstance(active, Path) else None
        return _resolve()


# ---------------------------------------------------------------------- traced functions
#: sub-directory of the compile cache holding serialised traced functions (jax.export)
EXPORT_DIR = "exported"

_SOURCES: dict[str, str] = {}


def source_digest(*files: str) -> str:
    """SHA-256 of the contents of source files (read once per process).

    The key of a traced function includes the code that traced it, so an edited
    engine or theory module (an editable install, a development checkout) never
    loads a stale function.
    """
    import hashlib

    h = hashlib.sha256()
    for f in sorted(set(files)):
        d = _SOURCES.get(f)
        if d is None:
            try:
                d = hashlib.sha256(Path(f).read_bytes()).hexdigest()
            except OSError:
                d = "unreadable"
            _SOURCES[f] = d
        h.update(f.encode() + b"\0" + d.encode())
    return h.hexdigest()


def exported(key: str | None, fn: Any, args: Any) -> Any:
    """``jax.export`` of ``jax.jit(fn)`` at ``args``, read from the cache when it is there.

    Tracing a likelihood (and its Hessian or the batched minimiser) in Python costs
    about as much as compiling it; the persistent compilation cache only saves the
    compilation. The exported (traced and lowered) function is therefore kept too,
    in ``<cache>/exported/<key>.jaxexport``, so that a warm process or a Dask worker
    neither traces nor compiles. ``key`` must identify the function completely
    (model fingerprint, function kind, shapes, options); ``None`` disables the lookup.
    An unreadable or stale entry is ignored and rewritten.
    """
    import hashlib

    from jax import export as jex

    ensure_compile_cache()
    target = compile_cache_dir()
    path = None
    if key is not None and target is not None:
        import jax

        full = f"{key}|{jax.default_backend()}"
        path = target / EXPORT_DIR / (hashlib.sha256(full.encode()).hexdigest()[:40] + ".jaxexport")
        try:
            return jex.deserialize(bytearray(path.read_bytes()))
        except Exception:  # missing, truncated or from another jax: trace again
            pass
    import jax

    exp = jex.export(jax.jit(fn))(*args)
    if path is not None:
        try:
            from ..io.atomic import atomic_write_bytes

            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, bytes(exp.serialize()))
        except Exception:  # an unwritable cache never fails a computation
            pass
    return exp


# ---------------------------------------------------------------------- validated documents
#: sub-directory of the cache with one empty marker per document that passed a schema check
CHECKED_DIR = "checked"


def _checked_path(kind: str, payload: bytes) -> Path | None:
    import hashlib

    target = compile_cache_dir()
    if target is None:
        return None
    digest = hashlib.sha256(kind.encode() + b"\0" + payload).hexdigest()[:40]
    return target / CHECKED_DIR / digest


def checked_before(kind: str, payload: bytes) -> bool:
    """Whether this exact document passed the check ``kind`` before (a marker in the cache).

    ``kind`` names the check and the version of what checks (e.g. pyhf's schema
    and pyhf's version); ``payload`` is the canonical bytes of the document. Used
    to skip re-validating an unchanged model file against pyhf's JSON schema in
    every command (about a third of a second for the Belle II workspace).
    Never true with the cache disabled (``--no-cache``, ``REDIST_COMPILE_CACHE=0``).
    """
    path = _checked_path(kind, payload)
    return path is not None and path.is_file()


def remember_checked(kind: str, payload: bytes) -> None:
    """Record that the document passed the check (see :func:`checked_before`); never fails."""
    path = _checked_path(kind, payload)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass
