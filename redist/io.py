"""Reading and writing redist model files (``redist.save`` / ``redist.load``).

A model file is one JSON document (format ``redist-model``, version 1.0.0)
holding the workspace with its ``redist`` modifiers, the joint number densities
(values, variances, edges, axis names), each reweighting (theory by registry
name, version and settings; exposed parameters, bounds, cutoff, quadrature
order) and, for the record, the correlated nuisance groups (means and
covariances) the theory had when the file was written. The JSON Schema ships
as ``redist/schemas/model-1.0.0.json``; :func:`load` validates against it,
checks the theories' versions and covariances, and rebuilds a model whose
``logpdf`` is bit-identical to the saved one. Nothing in a file is ever
executed or evaluated.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pyhf

from .density import JointDensity
from .exceptions import FileFormatError, RedistError
from .modifier import Reweighting
from .reinterpret import ReinterpretedModel
from .theory import theory_from_spec

__all__ = ["FORMAT_VERSION", "load", "parse_json", "read_json", "read_text", "save", "schema"]

FORMAT_VERSION = "1.0.0"
#: refuse files larger than this (bytes); a model file is typically < 2 MB
MAX_FILE_SIZE = 512 * 1024 * 1024


@cache
def schema(name: str = f"model-{FORMAT_VERSION}") -> dict[str, Any]:
    """A JSON Schema shipped with redist, by file stem."""
    text = files("redist").joinpath("schemas", f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def _reject_constant(name: str) -> float:
    msg = f"non-standard JSON constant {name}"
    raise ValueError(msg)


def read_text(
    path: str | Path,
    *,
    where: str | None = None,
    error: type[FileFormatError] = FileFormatError,
    limit: int = MAX_FILE_SIZE,
) -> str:
    """Read a UTF-8 text file of at most ``limit`` bytes; errors name ``where`` (default: the path)."""
    path = Path(path)
    where = where or str(path)
    try:
        size = path.stat().st_size
        if size > limit:
            msg = f"{where}: file of {size} bytes exceeds the {limit}-byte limit"
            raise error(msg)
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        msg = f"{where}: cannot read file ({err})"
        raise error(msg) from err


def parse_json(text: str, *, where: str, error: type[FileFormatError] = FileFormatError) -> Any:
    """Parse JSON strictly (no NaN/Infinity); too deep nesting is an error, not a crash."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as err:
        msg = f"{where}: not valid JSON ({str(err)[:200]})"
        raise error(msg) from err


def read_json(
    path: str | Path,
    *,
    where: str | None = None,
    error: type[FileFormatError] = FileFormatError,
    limit: int = MAX_FILE_SIZE,
) -> Any:
    """Parse a JSON file strictly (no NaN/Infinity), with errors naming the file.

    Raises
    ------
    FileFormatError
        Unreadable, too large, not JSON, or too deeply nested (or ``error``, a subclass).
    """
    where = where or str(path)
    return parse_json(read_text(path, where=where, error=error, limit=limit), where=where, error=error)


def _to_jsonable(rw: Reweighting) -> dict[str, Any]:
    doc = rw.to_dict()
    doc["groups"] = [
        {"name": g.name, "parameters": list(g.parameters), "mean": list(g.mean),
         "covariance": [list(r) for r in g.covariance]}
        for g in rw.theory.groups
    ]
    return doc


def to_dict(rm: ReinterpretedModel) -> dict[str, Any]:
    """The model-file document of a reinterpreted model."""
    from . import __version__

    return {
        "format": "redist-model",
        "version": FORMAT_VERSION,
        "workspace": rm.spec,
        "measurement": rm.measurement,
        "poi": rm.poi,
        "densities": {k: d.to_dict() for k, d in rm.densities.items()},
        "reweightings": {k: _to_jsonable(rw) for k, rw in rm.reweightings.items()},
        "metadata": {"created_by": f"redist {__version__}", "pyhf": pyhf.__version__},
    }


def save(path: str | Path, model: ReinterpretedModel) -> Path:
    """Write a reinterpreted model to a JSON file.

    Parameters
    ----------
    path : str or Path
        Output file.
    model : ReinterpretedModel
        What to write.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    doc = to_dict(model)
    jsonschema.validate(doc, schema())
    path.write_text(json.dumps(doc, indent=1, allow_nan=False), encoding="utf-8")
    return path


def _check_version(doc: Any, where: str) -> None:
    if not isinstance(doc, dict):
        msg = f"{where}: top level must be a JSON object, got {type(doc).__name__}"
        raise FileFormatError(msg)
    if doc.get("format") != "redist-model":
        msg = f"{where}: not a redist model file (format = {doc.get('format')!r})"
        raise FileFormatError(msg)
    if doc.get("version") != FORMAT_VERSION:
        msg = (
            f"{where}: unsupported redist model file version {doc.get('version')!r}; "
            f"this redist reads version {FORMAT_VERSION}"
        )
        raise FileFormatError(msg)


def _pyhf_errors() -> tuple[type[BaseException], ...]:
    """Every exception class pyhf raises for bad specifications."""
    import inspect

    return tuple(
        c for _, c in inspect.getmembers(pyhf.exceptions, inspect.isclass) if issubclass(c, Exception)
    )


def from_dict(doc: Any, *, where: str = "<dict>") -> ReinterpretedModel:
    """Validate a model-file document and rebuild the model."""
    _check_version(doc, where)
    try:
        jsonschema.validate(doc, schema())
    except jsonschema.ValidationError as err:
        loc = "/".join(str(p) for p in err.absolute_path) or "<root>"
        msg = f"{where}: schema violation at {loc}: {err.message[:300]}"
        raise FileFormatError(msg) from err
    try:
        densities = {
            k: JointDensity.from_dict(d, source=f"{where}: density {k!r}")
            for k, d in doc["densities"].items()
        }
        rws = {}
        for name, r in doc["reweightings"].items():
            here = f"{where}: reweighting {name!r}"
            theory = theory_from_spec(r["theory"], where=here)
            null = None if r.get("null") is None else theory_from_spec(r["null"], where=here)
            for g_file in r.get("groups", []):
                g = next((g for g in theory.groups if g.name == g_file["name"]), None)
                same = g is not None and (
                    list(g.parameters) == g_file["parameters"]
                    and np.array_equal(g.mean, g_file["mean"])
                    and np.array_equal(g.covariance, g_file["covariance"])
                )
                if not same:
                    msg = (
                        f"{here}: nuisance group {g_file['name']!r} in the file differs from the "
                        f"installed theory {theory!r}"
                    )
                    raise FileFormatError(msg)
            rws[name] = Reweighting.from_dict(name, r, theory=theory, null=null)
        rm = ReinterpretedModel(
            spec=doc["workspace"],
            reweightings=rws,
            densities=densities,
            measurement=doc["measurement"],
            poi=doc["poi"],
        )
        with np.errstate(over="raise", invalid="raise"):
            _ = rm.model
    except RedistError as err:
        if isinstance(err, FileFormatError):
            raise
        msg = f"{where}: {err}"
        raise FileFormatError(msg) from err
    except _pyhf_errors() as err:
        msg = f"{where}: invalid workspace ({str(err)[:300]})"
        raise FileFormatError(msg) from err
    except FloatingPointError as err:
        msg = f"{where}: numbers out of floating-point range in the model ({err})"
        raise FileFormatError(msg) from err
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as err:
        msg = f"{where}: inconsistent model file ({type(err).__name__}: {str(err)[:300]})"
        raise FileFormatError(msg) from err
    return rm


def load(path: str | Path) -> ReinterpretedModel:
    """Read, validate and rebuild a reinterpreted model from a JSON file.

    Raises
    ------
    FileFormatError
        If the file is unreadable, malformed, of another format version, fails
        schema validation, or refers to a theory that is not installed or has
        changed.

    Examples
    --------
    >>> import redist, redist.demo, tempfile, os
    >>> rm = redist.demo.belle2_model()
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> _ = redist.save(path, rm)
    >>> bool(redist.load(path).logpdf(rm.init_pars()) == rm.logpdf(rm.init_pars()))
    True
    """
    return from_dict(read_json(path), where=str(path))
