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
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pyhf

from .exceptions import ConfigError, RedistError
from .histio import read_density
from .io import parse_json, read_json, read_text
from .modifier import Reweighting
from .reinterpret import ReinterpretedModel, reinterpret
from .theory import get_theory

__all__ = [
    "CONFIG_VERSION",
    "Config",
    "ConfigError",
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
MAX_CONFIG_SIZE = 16 * 1024 * 1024

#: reader options allowed per layout (passed to :func:`redist.histio.read_density`)
_LAYOUT_OPTIONS = {
    "csv": {"flattening", "x_name"},
    "uhi": {"axis_order"},
    "hepdata": {"x", "z", "dependent"},
    "root": set(),
}


@cache
def config_schema(version: str = CONFIG_VERSION) -> dict[str, Any]:
    """The JSON Schema of the config format (shipped in ``redist/schemas``)."""
    text = files("redist").joinpath("schemas", f"config-{version}.json").read_text(encoding="utf-8")
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


def _parse(text: str, where: str, yaml_file: bool) -> Any:
    if yaml_file:
        try:
            import yaml
        except ImportError as err:  # pragma: no cover - pyyaml is in the io extra
            msg = f"{where}: YAML configs need PyYAML: pip install 'redist[io]'"
            raise ConfigError(msg) from err
        try:
            return yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError, ValueError) as err:
            msg = f"{where}: not valid YAML ({str(err)[:200]})"
            raise ConfigError(msg) from err

    return parse_json(text, where=where, error=ConfigError)


def validate_config(doc: Any, where: str = "<config>") -> dict[str, Any]:
    """Validate a config document against the shipped schema (and a few semantic rules)."""
    if not isinstance(doc, dict):
        msg = f"{where}: a config must be a mapping, got {type(doc).__name__}"
        raise ConfigError(msg)
    version = doc.get("version")
    if version != CONFIG_VERSION:
        msg = f"{where}: unsupported config version {version!r}; this redist reads {CONFIG_VERSION!r}"
        raise ConfigError(msg)
    validator = jsonschema.Draft202012Validator(config_schema())
    try:
        err = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    except RecursionError as exc:
        msg = f"{where}: config nested too deeply"
        raise ConfigError(msg) from exc
    if err is not None:
        loc = "/".join(str(p) for p in err.absolute_path) or "<root>"
        msg = f"{where}: config invalid at {loc}: {err.message[:300]}"
        raise ConfigError(msg)
    try:
        json.dumps(doc, allow_nan=False)
    except ValueError as exc:
        msg = f"{where}: config contains non-finite numbers"
        raise ConfigError(msg) from exc
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
                f"{where}: densities/{i} ({d['channel']}/{d['sample']}): option {sorted(bad)[0]!r} "
                f"is not valid for layout {d['layout']!r}; allowed: {sorted(_LAYOUT_OPTIONS[d['layout']])}"
            )
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
    text = read_text(path, where=where, error=ConfigError, limit=MAX_CONFIG_SIZE)
    doc = _parse(text, where, path.suffix.lower() in (".yaml", ".yml"))
    return Config(validate_config(doc, where), path.resolve().parent, where)


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
            msg = f"{where}: JSON pointer {pointer!r} does not resolve (at {tok!r})"
            raise ConfigError(msg)
    return cur


def _read_json(path: Path, where: str) -> Any:
    return read_json(path, where=f"{where}: {path}", error=ConfigError)


def _z_edges(cfg: Config) -> list[np.ndarray]:
    z = cfg.data["z"]
    if "edges" in z:
        raw = z["edges"]
    else:
        src = cfg.path(z["edges_from"]["file"])
        doc = _read_json(src, cfg.source)
        raw = [_pointer(doc, p, f"{cfg.source}: {src}") for p in z["edges_from"]["pointers"]]
    out = []
    for name, e in zip(z["names"], raw):
        try:
            arr = np.asarray(e, dtype=float)
        except (TypeError, ValueError, OverflowError) as err:
            msg = f"{cfg.source}: z axis {name!r}: edges are not numbers"
            raise ConfigError(msg) from err
        if arr.ndim != 1 or len(arr) < 2 or not np.all(np.isfinite(arr)) or not np.all(np.diff(arr) > 0):
            msg = f"{cfg.source}: z axis {name!r}: edges must be finite and strictly increasing"
            raise ConfigError(msg)
        out.append(arr)
    return out


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
    if isinstance(config, (str, Path)):
        cfg = load_config(config)
    elif isinstance(config, Config):
        cfg = config
    elif isinstance(config, Mapping):
        cfg = Config(validate_config(dict(config)), Path(base), "<config>")
    else:
        msg = f"config must be a path, mapping or Config, got {type(config).__name__}"
        raise ConfigError(msg)
    d = cfg.data
    where = cfg.source
    try:
        ws_path = cfg.path(d["workspace"])
        workspace = _read_json(ws_path, where)
        edges = _z_edges(cfg)
        names = tuple(d["z"]["names"])
        theory = get_theory(d["theory"]["name"], **dict(d["theory"].get("settings", {})))
        null = None
        null_values = None
        if "null" in d:
            null = get_theory(d["null"]["name"], **dict(d["null"].get("settings", {})))
            null_values = d["null"].get("values")
        rw = Reweighting.from_dict(
            d.get("modifier", theory.name),
            {**d, "z_edges": edges, "null_values": null_values},
            theory=theory,
            null=null,
        )
        densities = {}
        for i, entry in enumerate(d["densities"]):
            here = f"{where}: densities/{i} (channel {entry['channel']!r}, sample {entry['sample']!r})"
            try:
                densities[(entry["channel"], entry["sample"])] = read_density(
                    cfg.path(entry["file"]),
                    entry["layout"],
                    key=entry.get("key"),
                    z_edges=edges,
                    z_names=names,
                    options=entry.get("options"),
                )
            except RedistError as err:
                msg = f"{here}: {err}"
                raise ConfigError(msg) from err
        return reinterpret(
            workspace,
            densities,
            rw,
            prune=d.get("prune", ()),
            measurement=d.get("measurement"),
            poi=d.get("poi"),
        )
    except ConfigError:
        raise
    except RedistError as err:
        msg = f"{where}: {err}"
        raise ConfigError(msg) from err
    except _PYHF_ERRORS as err:
        msg = f"{where}: invalid workspace {d['workspace']!r} ({str(err)[:300]})"
        raise ConfigError(msg) from err
    except (TypeError, ValueError, KeyError, IndexError) as err:
        msg = f"{where}: cannot build the model ({type(err).__name__}: {str(err)[:300]})"
        raise ConfigError(msg) from err
