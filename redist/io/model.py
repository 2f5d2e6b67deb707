"""Reading and writing redist model files (``redist.save`` / ``redist.load``).

A model file is one JSON document (format ``redist-model``, version 1.0.0)
holding the workspace with its ``redist`` modifiers, the joint number densities
(values, variances, edges, axis names), each reweighting (theory by registry
name, version and settings; exposed parameters, bounds, cutoff, quadrature
order) and, for the record, the correlated nuisance groups (means and
covariances) the theory had when the file was written. The JSON Schema ships
as ``redist/schemas/model-1.0.0.json``.

:func:`load` reads the file through the safe reader (regular file, byte limit,
strict JSON), validates it against the schema, checks its meaning (workspace
version and observations, finite numbers, ordered bounds, declared sizes within
:mod:`redist.io.limits`, the theories' versions and covariances) and rebuilds a
model whose ``logpdf`` is bit-identical to the saved one. :func:`save` writes
atomically. Nothing in a file is ever executed or evaluated.
"""

from __future__ import annotations

import inspect
import json
import math
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pyhf

from ..density import JointDensity
from ..exceptions import DensityError, FileFormatError, InputLimitError, RedistError
from ..modifier import Reweighting
from ..reinterpret import ReinterpretedModel
from ..theory import Theory, theory_from_spec
from .atomic import atomic_write_text
from .reader import check_tree, read_json, token
from .validate import check_migration_size, check_reweighting, check_workspace, schema_error, schema_skeleton

__all__ = ["FORMAT_VERSION", "from_dict", "load", "save", "schema", "to_dict"]


def __dir__() -> list[str]:
    return list(__all__)


FORMAT_VERSION = "1.0.0"


@cache
def schema(name: str = f"model-{FORMAT_VERSION}") -> dict[str, Any]:
    """A JSON Schema shipped with redist, by file stem."""
    text = (files("redist") / "schemas" / f"{name}.json").read_text(encoding="utf-8")
    out: dict[str, Any] = json.loads(text)
    return out


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
    from .. import __version__

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
    """Write a reinterpreted model to a JSON file, atomically.

    Parameters
    ----------
    path : str or Path
        Output file; replaced only once the new content is complete on disk.
    model : ReinterpretedModel
        What to write.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    OutputPathError
        If the file cannot be written.
    """
    path = Path(path)
    doc = to_dict(model)
    jsonschema.validate(doc, schema())
    atomic_write_text(path, json.dumps(doc, indent=1, allow_nan=False))
    return path


def _check_version(doc: Any, where: str) -> None:
    if not isinstance(doc, dict):
        msg = f"{where}: top level must be a JSON object, got {type(doc).__name__}"
        raise FileFormatError(msg)
    if doc.get("format") != "redist-model":
        msg = f"{where}: not a redist model file (format = {token(doc.get('format'))})"
        raise FileFormatError(msg)
    if doc.get("version") != FORMAT_VERSION:
        msg = (
            f"{where}: unsupported redist model file version {token(doc.get('version'))}; "
            f"this redist reads version {FORMAT_VERSION}"
        )
        raise FileFormatError(msg)


@cache
def _pyhf_errors() -> tuple[type[BaseException], ...]:
    """Every exception class pyhf raises for bad specifications."""
    return tuple(
        c for _, c in inspect.getmembers(pyhf.exceptions, inspect.isclass) if issubclass(c, Exception)
    )


def _theory(spec: dict[str, Any], where: str) -> Theory:
    """A theory from its file spec; settings the theory's constructor rejects are a file error."""
    try:
        return theory_from_spec(spec, where=where)
    except RedistError:
        raise
    except (TypeError, ValueError) as err:  # a plug-in constructor rejecting its settings
        msg = (
            f"{where}: theory {token(spec.get('name'))} rejects its settings "
            f"({type(err).__name__}: {str(err)[:200]})"
        )
        raise FileFormatError(msg) from err


def _check_groups(r: dict[str, Any], theory: Theory, here: str) -> None:
    """The nuisance groups recorded in the file equal the installed theory's, number for number."""
    for g_file in r.get("groups", []):
        g = next((g for g in theory.groups if g.name == g_file["name"]), None)
        same = g is not None and (
            list(g.parameters) == g_file["parameters"]
            and np.asarray(g.mean, dtype=float).tolist() == g_file["mean"]
            and np.asarray(g.covariance, dtype=float).tolist() == g_file["covariance"]
        )
        if not same:
            msg = (
                f"{here}: nuisance group {token(g_file['name'])} in the file differs from the "
                f"installed theory {theory!r}"
            )
            raise FileFormatError(msg)


def _check_densities_used(doc: dict[str, Any], where: str) -> None:
    """Every redist modifier names a reweighting and a density of the file."""
    for i, ch in enumerate(doc["workspace"]["channels"]):
        for j, s in enumerate(ch.get("samples", [])):
            for k, m in enumerate(s.get("modifiers") or []):
                if not isinstance(m, dict) or m.get("type") != "redist":
                    continue
                here = f"{where}: workspace/channels/{i}/samples/{j}/modifiers/{k}"
                data = m.get("data")
                if not isinstance(data, dict) or not isinstance(data.get("density"), str):
                    msg = f"{here}: a redist modifier needs data {{'density': NAME}}"
                    raise FileFormatError(msg)
                if data["density"] not in doc["densities"]:
                    msg = f"{here}: unknown density {token(data['density'])}"
                    raise FileFormatError(msg)
                if m.get("name") not in doc["reweightings"]:
                    msg = f"{here}: unknown reweighting {token(m.get('name'))}"
                    raise FileFormatError(msg)


def from_dict(doc: Any, *, where: str = "<dict>") -> ReinterpretedModel:
    """Validate a model-file document and rebuild the model.

    The document is checked like a parsed file (JSON types only, finite
    numbers, bounded nesting) before anything else.

    Raises
    ------
    FileFormatError
        Wrong format or version, a schema violation, or a check of meaning that
        fails (the message names the JSON path, channel, density or parameter);
        :class:`~redist.exceptions.InputLimitError` for declared sizes above the limits.
    """
    check_tree(doc, where=where)
    return _from_checked(doc, where)


@cache
def _validator() -> Any:
    """The model schema's validator, its schema checked once per process (not on every file)."""
    s = schema()
    cls = jsonschema.validators.validator_for(s)
    cls.check_schema(s)
    return cls(s)


def _validate(instance: Any) -> None:
    """``jsonschema.validate(instance, schema())`` (same best-matching error) with the cached validator."""
    err = jsonschema.exceptions.best_match(_validator().iter_errors(instance))
    if err is not None:
        raise err


def _from_checked(doc: Any, where: str) -> ReinterpretedModel:
    _check_version(doc, where)
    try:
        _validate(schema_skeleton(doc))
    except jsonschema.ValidationError as err:
        msg = f"{where}: schema violation {schema_error(err)}"
        raise FileFormatError(msg) from err
    ws = doc["workspace"]
    check_workspace(ws, where=where)
    _check_densities_used(doc, where)
    densities = {}
    for k, d in doc["densities"].items():
        try:
            densities[k] = JointDensity.from_dict(d, source=f"{where}: density {k!r}")
        except InputLimitError:
            raise
        except DensityError as err:
            raise FileFormatError(str(err)) from err
    rws = {}
    for name, r in doc["reweightings"].items():
        here = f"{where}: reweighting {name!r}"
        try:
            theory = _theory(r["theory"], here)
            null = None if r.get("null") is None else _theory(r["null"], here)
            check_reweighting(r, theory=theory, null=null, where=here)
            check_migration_size(ws, math.prod(len(e) - 1 for e in r["z_edges"]), where=here)
            _check_groups(r, theory, here)
            rws[name] = Reweighting.from_dict(name, r, theory=theory, null=null)
        except FileFormatError:
            raise
        except RedistError as err:
            msg = f"{here}: {err}"
            raise FileFormatError(msg) from err
    try:
        rm = ReinterpretedModel(
            spec=ws,
            reweightings=rws,
            densities=densities,
            measurement=doc["measurement"],
            poi=doc["poi"],
        )
        with np.errstate(over="raise", invalid="raise"):
            _ = rm.model
    except InputLimitError:
        raise
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
    return rm


def load(path: str | Path) -> ReinterpretedModel:
    """Read, validate and rebuild a reinterpreted model from a JSON file.

    Raises
    ------
    FileFormatError
        If the file is unreadable, not a regular file, malformed, of another
        format version, fails schema validation or a check of meaning, or refers
        to a theory that is not installed or has changed.
    InputLimitError
        If the file or a declared size exceeds :mod:`redist.io.limits`.

    Examples
    --------
    >>> import redist, redist.demo, tempfile, os
    >>> rm = redist.demo.belle2_model()
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> _ = redist.save(path, rm)
    >>> bool(redist.load(path).logpdf(rm.init_pars()) == rm.logpdf(rm.init_pars()))
    True
    """
    return _from_checked(read_json(path, limit="max_file_bytes"), str(path))
