"""Build a redist model for any published workspace from a small config file.

A config (JSON, or YAML with PyYAML installed) names the published workspace,
the joint number density of every reweighted (channel, sample) with its file
layout, the kinematic binning, the theory with its settings, the exposed
parameters and their bounds, the cutoff and the modifiers to prune. It is
validated against the JSON Schema shipped as ``redist/schemas/config-1.0.json``.

Paths are relative to the config file; ``package:RELPATH`` resolves inside the
installed redist package (e.g. ``package:data/belle2/number_density_hta.csv``).

Example (the Belle II setup, shipped as ``examples/belle2_config.json``)::

    {
      "version": "1.0",
      "workspace": "package:data/belle2/combined_likelihood.json",
      "prune": ["mu", "corr_ff_c1", "corr_ff_c2", "corr_ff_c3"],
      "theory": {"name": "wet", "settings": {"process": "B+->K+nunu"}},
      "parameters": ["cVL", "cSL", "cTL"],
      "bounds": {"cVL": [0, 20], "cSL": [0, 20], "cTL": [0, 20]},
      "cutoff": [[0.0, 22.885]],
      "z": {"names": ["q2"],
            "edges_from": {"file": "package:data/belle2/binning.json",
                           "pointers": ["/kinematic_bin_edges"]}},
      "densities": [
        {"channel": "sgn1_had", "sample": "sgn_1_had",
         "file": "package:data/belle2/number_density_hta.csv", "layout": "csv"}
      ]
    }

``redist build CONFIG -o model.json`` runs :func:`build_model` and writes the
model file with :func:`redist.save`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pyhf

from .exceptions import ConfigError, InputLimitError, RedistError
from .histio import read_density
from .io.reader import check_tree, parse_json, parse_yaml, read_bytes, read_json, token
from .io.validate import (
    check_migration_size,
    check_reweighting,
    check_workspace,
    schema_error,
    schema_skeleton,
)
from .modifier import Reweighting
from .reinterpret import ReinterpretedModel, reinterpret
from .theory import Theory, get_theory

__all__ = [
    "CONFIG_VERSION",
    "Config",
    "ConfigError",
    "build_inputs",
    "build_model",
    "config_schema",
    "load_config",
    "resolve_path",
    "validate_config",
]


def __dir__() -> list[str]:
    return list(__all__)


#: pyhf's exceptions (pyhf has no common base class for them)
_PYHF_ERRORS = tuple(
    c for c in vars(pyhf.exceptions).values() if isinstance(c, type) and issubclass(c, Exception)
)


CONFIG_VERSION = "1.0"
PACKAGE_PREFIX = "package:"

#: reader options allowed per layout (passed to :func:`redist.histio.read_density`)
_LAYOUT_OPTIONS = {
    "csv": {"flattening", "x_name"},
    "uhi": {"axis_order"},
    "hepdata": {"x", "z", "dependent"},
    "root": set(),
}


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(a, str) for a in v)


#: type of each reader option (checked before the reader is called) and its description
_OPTION_TYPES: dict[str, Callable[[Any], bool]] = {
    "flattening": lambda v: v in ("C", "F"),
    "x_name": lambda v: isinstance(v, str),
    "axis_order": _str_list,
    "x": lambda v: isinstance(v, str) or _str_list(v),
    "z": _str_list,
    "dependent": lambda v: isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
}
_OPTION_HELP = {
    "flattening": "'C' or 'F'",
    "x_name": "a string",
    "axis_order": "a list of axis names",
    "x": "a column name or a list of column names",
    "z": "a list of column names",
    "dependent": "a column name or a non-negative index",
}


@cache
def config_schema(version: str = CONFIG_VERSION) -> dict[str, Any]:
    """The JSON Schema of the config format (shipped in ``redist/schemas``)."""
    text = (files("redist") / "schemas" / f"config-{version}.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Config:
    """A validated build config.

    Attributes
    ----------
    data : dict
        The config document.
    base : Path
        Directory relative paths are resolved against.
    source : str
        Where it came from (for error messages).
    """

    data: dict[str, Any]
    base: Path
    source: str = "<config>"

    def path(self, ref: str) -> Path:
        """Resolve a path of this config."""
        return resolve_path(ref, self.base)


def resolve_path(ref: str, base: str | Path) -> Path:
    """Resolve a config path: ``package:REL`` inside redist, else relative to ``base``.

    Examples
    --------
    >>> resolve_path("package:data/belle2/binning.json", ".").name
    'binning.json'
    """
    if ref.startswith(PACKAGE_PREFIX):
        rel = ref[len(PACKAGE_PREFIX) :].lstrip("/")
        if not rel or any(part == ".." for part in Path(rel).parts):
            msg = f"package path {ref!r} must name a file inside the redist package"
            raise ConfigError(msg)
        return Path(str(files("redist").joinpath(rel)))
    p = Path(ref)
    return p if p.is_absolute() else Path(base) / p


def _parse(data: bytes, where: str, yaml_file: bool) -> Any:
    if yaml_file:
        return parse_yaml(data, where=where, error=ConfigError)
    return parse_json(data, where=where, error=ConfigError)


def validate_config(doc: Any, where: str = "<config>") -> dict[str, Any]:
    """Validate a config document against the shipped schema (and a few semantic rules)."""
    if not isinstance(doc, dict):
        msg = f"{where}: a config must be a mapping, got {type(doc).__name__}"
        raise ConfigError(msg)
    check_tree(doc, where=where, error=ConfigError)
    version = doc.get("version")
    if version != CONFIG_VERSION:
        msg = f"{where}: unsupported config version {token(version)}; this redist reads {CONFIG_VERSION!r}"
        raise ConfigError(msg)
    validator = jsonschema.Draft202012Validator(config_schema())
    try:
        err = jsonschema.exceptions.best_match(validator.iter_errors(schema_skeleton(doc)))
    except RecursionError as exc:
        msg = f"{where}: config nested too deeply"
        raise ConfigError(msg) from exc
    if err is not None:
        msg = f"{where}: config invalid {schema_error(err)}"
        raise ConfigError(msg)
    z = doc["z"]
    n_axes = len(z["names"])
    n_edges = len(z["edges"]) if "edges" in z else len(z["edges_from"]["pointers"])
    if n_edges != n_axes:
        msg = f"{where}: z has {n_axes} axis names but {n_edges} edge arrays"
        raise ConfigError(msg)
    if "cutoff" in doc and len(doc["cutoff"]) != n_axes:
        msg = f"{where}: cutoff has {len(doc['cutoff'])} ranges for {n_axes} z axes"
        raise ConfigError(msg)
    for i, d in enumerate(doc["densities"]):
        bad = set(d.get("options", {})) - _LAYOUT_OPTIONS[d["layout"]]
        if bad:
            msg = (
                f"{where}: densities/{i} ({d['channel']}/{d['sample']}): option {token(sorted(bad)[0])} "
                f"is not valid for layout {d['layout']!r}; allowed: {sorted(_LAYOUT_OPTIONS[d['layout']])}"
            )
            raise ConfigError(msg)
        for name, value in d.get("options", {}).items():
            if not _OPTION_TYPES[name](value):
                msg = f"{where}: densities/{i}/options/{name}: {token(value)} is not {_OPTION_HELP[name]}"
                raise ConfigError(msg)
    seen = set()
    for d in doc["densities"]:
        key = (d["channel"], d["sample"])
        if key in seen:
            msg = f"{where}: two densities for channel {key[0]!r}, sample {key[1]!r}"
            raise ConfigError(msg)
        seen.add(key)
    return doc


def load_config(path: str | Path) -> Config:
    """Read and validate a config file (JSON; YAML if the suffix is ``.yaml``/``.yml``).

    Raises
    ------
    ConfigError
        Unreadable, not JSON/YAML, of another version, or failing the schema
        (the message gives the location inside the config).
    """
    path = Path(path)
    where = str(path)
    data = read_bytes(path, where=where, error=ConfigError, limit="max_config_bytes")
    doc = _parse(data, where, path.suffix.lower() in (".yaml", ".yml"))
    return Config(validate_config(doc, where), path.resolve().parent, where)


def build_inputs(config: str | Path) -> list[Path]:
    """Every file a build from ``config`` reads: the config, its workspace, edge file and densities.

    ``redist build`` refuses an output that is one of them.

    Examples
    --------
    >>> [p.name for p in build_inputs("examples/belle2_config.json")][:2]  # doctest: +SKIP
    ['belle2_config.json', 'combined_likelihood.json']
    """
    cfg = load_config(config)
    d = cfg.data
    out = [Path(config), cfg.path(d["workspace"])]
    if "edges_from" in d["z"]:
        out.append(cfg.path(d["z"]["edges_from"]["file"]))
    out += [cfg.path(entry["file"]) for entry in d["densities"]]
    return out


def _pointer(doc: Any, pointer: str, where: str) -> Any:
    if pointer == "":
        return doc
    if not pointer.startswith("/"):
        msg = f"{where}: JSON pointer {pointer!r} must start with '/'"
        raise ConfigError(msg)
    cur = doc
    for raw in pointer[1:].split("/"):
        tok = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict) and tok in cur:
            cur = cur[tok]
        elif isinstance(cur, list) and tok.isdigit() and int(tok) < len(cur):
            cur = cur[int(tok)]
        else:
            msg = f"{where}: JSON pointer {token(pointer)} does not resolve (at {token(tok)})"
            raise ConfigError(msg)
    return cur


def _inside(cfg: Config, ref: str) -> bool:
    """Whether a config path names a file inside the config's directory (or the redist package)."""
    if ref.startswith(PACKAGE_PREFIX):
        return True
    try:
        return cfg.path(ref).resolve().is_relative_to(cfg.base.resolve())
    except (OSError, RuntimeError):
        return False


@contextmanager
def _reading(cfg: Config, ref: str, here: str, what: str) -> Iterator[None]:
    """Errors reading a file named by a config: with context; no details from files outside its directory.

    A config may name any path (``/etc/shadow``); messages about files outside
    the config's directory name the file and the kind of error only, never a
    token of their content.
    """
    try:
        yield
    except InputLimitError as err:
        raise InputLimitError(f"{here}: {err}") from err
    except ConfigError as err:
        if _inside(cfg, ref):
            raise
        msg = f"{here}: {ref!r} is not a usable {what} ({type(err).__name__}; {_WITHHELD})"
        raise ConfigError(msg) from err
    except RedistError as err:
        if _inside(cfg, ref):
            raise ConfigError(f"{here}: {err}") from err
        msg = f"{here}: {ref!r} is not a usable {what} ({type(err).__name__}; {_WITHHELD})"
        raise ConfigError(msg) from err


_WITHHELD = "details withheld: the file is outside the config's directory"


def _read_json(path: Path, where: str) -> Any:
    return read_json(path, where=f"{where}: {path}", error=ConfigError)


def _z_edges(cfg: Config) -> list[np.ndarray]:
    z = cfg.data["z"]
    if "edges" in z:
        raw = z["edges"]
    else:
        ref = z["edges_from"]["file"]
        src = cfg.path(ref)
        with _reading(cfg, ref, cfg.source, "edge file"):
            doc = _read_json(src, cfg.source)
            raw = [_pointer(doc, p, f"{cfg.source}: {src}") for p in z["edges_from"]["pointers"]]
    out = []
    for name, e in zip(z["names"], raw):
        if (
            not isinstance(e, list)
            or len(e) < 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in e)
        ):
            msg = f"{cfg.source}: z axis {token(name)}: edges must be a list of at least 2 numbers"
            raise ConfigError(msg)
        arr = np.asarray(e, dtype=float)
        if not np.all(np.isfinite(arr)) or not np.all(np.diff(arr) > 0):
            msg = f"{cfg.source}: z axis {token(name)}: edges must be finite and strictly increasing"
            raise ConfigError(msg)
        out.append(arr)
    return out


def _theory(ref: Mapping[str, Any], where: str, what: str) -> Theory:
    """A theory from a config reference; settings its constructor rejects are a config error."""
    try:
        return get_theory(ref["name"], **dict(ref.get("settings", {})))
    except RedistError:
        raise
    except (TypeError, ValueError) as err:  # a plug-in constructor rejecting its settings
        msg = (
            f"{where}: {what} {token(ref['name'])} rejects its settings "
            f"({type(err).__name__}: {str(err)[:200]})"
        )
        raise ConfigError(msg) from err


def build_model(
    config: Config | str | Path | Mapping[str, Any], *, base: str | Path = "."
) -> ReinterpretedModel:
    """Build the reinterpreted model a config describes.

    Parameters
    ----------
    config : Config, path or mapping
        A loaded config, a config file, or a config document (relative paths
        then resolve against ``base``).
    base : str or Path
        Base directory for a config given as a mapping.

    Returns
    -------
    ReinterpretedModel

    Raises
    ------
    ConfigError
        For any problem, with the config location, channel/sample and file named.

    Examples
    --------
    >>> import redist.config
    >>> rm = redist.config.build_model("examples/belle2_config.json")  # doctest: +SKIP
    """
    given: Any = config
    if isinstance(given, (str, Path)):
        cfg = load_config(given)
    elif isinstance(given, Config):
        cfg = given
    elif isinstance(given, Mapping):
        cfg = Config(validate_config(dict(given)), Path(base), "<config>")
    else:
        msg = f"config must be a path, mapping or Config, got {type(config).__name__}"
        raise ConfigError(msg)
    d = cfg.data
    where = cfg.source
    try:
        ws_path = cfg.path(d["workspace"])
        with _reading(cfg, d["workspace"], where, "workspace"):
            workspace = _read_json(ws_path, where)
            check_workspace(workspace, where=f"{where}: workspace {d['workspace']}", error=ConfigError)
        edges = _z_edges(cfg)
        names = tuple(d["z"]["names"])
        theory = _theory(d["theory"], where, "theory")
        null = None
        null_values = None
        if "null" in d:
            null = _theory(d["null"], where, "null theory")
            null_values = d["null"].get("values")
        rw_doc = {**d, "z_edges": [e.tolist() for e in edges], "null_values": null_values}
        check_reweighting(rw_doc, theory=theory, null=null, where=where, error=ConfigError)
        check_migration_size(workspace, int(np.prod([len(e) - 1 for e in edges])), where=where)
        rw = Reweighting.from_dict(d.get("modifier", theory.name), {**rw_doc, "z_edges": edges},
                                   theory=theory, null=null)
        densities = {}
        for i, entry in enumerate(d["densities"]):
            here = f"{where}: densities/{i} (channel {entry['channel']!r}, sample {entry['sample']!r})"
            with _reading(cfg, entry["file"], here, f"{entry['layout']} density file"):
                densities[(entry["channel"], entry["sample"])] = read_density(
                    cfg.path(entry["file"]),
                    entry["layout"],
                    key=entry.get("key"),
                    z_edges=edges,
                    z_names=names,
                    options=entry.get("options"),
                )
        return reinterpret(
            workspace,
            densities,
            rw,
            prune=d.get("prune", ()),
            measurement=d.get("measurement"),
            poi=d.get("poi"),
        )
    except (ConfigError, InputLimitError):
        raise
    except RedistError as err:
        msg = f"{where}: {err}"
        raise ConfigError(msg) from err
    except _PYHF_ERRORS as err:
        msg = f"{where}: invalid workspace {token(d['workspace'])} ({str(err)[:300]})"
        raise ConfigError(msg) from err
