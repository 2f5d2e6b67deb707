"""The one guard for optional dependencies.

Optional packages (jax, torch, dask, uproot, pyarrow, pyyaml, ...) are imported
through :func:`optional_import`, which turns a missing package into a
:class:`~redist.exceptions.MissingDependency` naming the extra to install, and
tested with :func:`has_module`, which never imports anything.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .exceptions import MissingDependency

__all__ = ["has_module", "optional_import"]

#: top-level package -> the redist extra that installs it
EXTRAS: dict[str, str] = {
    "jax": "jax",
    "jaxlib": "jax",
    "torch": "fm",
    "safetensors": "fm",
    "onnx": "fm",
    "onnxruntime": "fm",
    "onnxscript": "fm",
    "dask": "dask",
    "distributed": "dask",
    "dask_histogram": "dask",
    "uproot": "io",
    "pyarrow": "io",
    "yaml": "io",
    "emcee": "mcmc",
    "eos": "eos",
    "flavio": "flavio",
}


def has_module(name: str) -> bool:
    """Whether a module can be imported (without importing it).

    Examples
    --------
    >>> has_module("numpy")
    True
    >>> has_module("surely_not_installed_xyz")
    False
    """
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def optional_import(name: str, *, purpose: str = "this feature", extra: str | None = None) -> ModuleType:
    """Import an optional module or raise :class:`MissingDependency` with an install hint.

    Parameters
    ----------
    name : str
        Module to import (e.g. ``"jax.numpy"``).
    purpose : str
        What needs it, for the message.
    extra : str, optional
        The redist extra that installs it (default: looked up from the top-level package).

    Returns
    -------
    module
        The imported module.

    Examples
    --------
    >>> optional_import("json").__name__
    'json'
    >>> optional_import("surely_not_installed_xyz", purpose="the demo", extra="jax")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    redist.exceptions.MissingDependency: the demo needs ...: pip install 'redist[jax]'
    """
    try:
        return importlib.import_module(name)
    except ImportError as err:
        top = name.split(".", 1)[0]
        extra = extra or EXTRAS.get(top)
        hint = f"pip install 'redist[{extra}]'" if extra else f"pip install {top}"
        msg = f"{purpose} needs the optional package {top!r}: {hint}"
        raise MissingDependency(msg) from err
