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
    from importlib.metadata import version

    from .. import __version__

    return base / f"redist-{__version__}_jax-{version('jax')}_jaxlib-{version('jaxlib')}"


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
