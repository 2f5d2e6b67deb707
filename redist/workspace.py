"""pyhf workspace surgery on plain JSON dicts: pruning, the sample-scaling rule, merging.

Every place that changes a HistFactory spec goes through these functions:
:func:`~redist.reinterpret.reinterpret` prunes the modifiers the theory replaces,
:meth:`~redist.reinterpret.ReinterpretedModel.to_workspace` and the patchsets of
:mod:`redist.patchset` evaluate templates at a theory point, the demo splits the
Belle II signal samples, and :func:`redist.infer.combine` merges analyses.

**The sample-scaling rule** (:func:`scale_sample`): scaling a sample's expected
yield by per-bin factors ``f`` scales its nominal ``data``, the ``lo_data`` and
``hi_data`` of its ``histosys`` modifiers and the absolute uncertainties in the
``data`` of its ``staterror`` and ``shapesys`` modifiers, all by ``f``; relative
modifiers (``normsys``, ``normfactor``, ``lumi``, ``shapefactor``) are unchanged.
When a sample is *split* into parts whose Monte Carlo statistical uncertainties
add in quadrature, ``staterror="quadrature"`` scales the staterror data by
``sqrt(f)`` instead.

The functions take and return JSON-like dicts and never modify their input.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .exceptions import ModelSpecError

__all__ = [
    "drop_modifier_type",
    "merge_specs",
    "modifier_names",
    "plain_spec",
    "prune",
    "sample_paths",
    "scale_sample",
    "scale_samples",
]


def __dir__() -> list[str]:
    return list(__all__)


Spec = dict[str, Any]


def sample_paths(spec: Mapping[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
    """``(channel, sample) -> (channel index, sample index)`` of every sample.

    Examples
    --------
    >>> spec = {"channels": [{"name": "SR", "samples": [{"name": "sig"}, {"name": "bkg"}]}]}
    >>> sample_paths(spec)
    {('SR', 'sig'): (0, 0), ('SR', 'bkg'): (0, 1)}
    """
    return {
        (ch["name"], s["name"]): (i, j)
        for i, ch in enumerate(spec["channels"])
        for j, s in enumerate(ch["samples"])
    }


def modifier_names(spec: Mapping[str, Any]) -> set[str]:
    """Names of every modifier of every sample."""
    return {m["name"] for ch in spec["channels"] for s in ch["samples"] for m in s["modifiers"]}


def scale_sample(sample: Mapping[str, Any], factors: Any, *, staterror: str = "linear") -> dict[str, Any]:
    """The sample with its expected yield scaled by per-bin ``factors`` (a new dict).

    Parameters
    ----------
    sample : mapping
        A HistFactory sample (``name``, ``data``, ``modifiers``).
    factors : float or array_like
        One factor per bin (or one for all).
    staterror : {"linear", "quadrature"}
        ``"linear"``: staterror data scale with the yield (the relative MC
        uncertainty is unchanged; for reweighting). ``"quadrature"``: they scale
        with ``sqrt(factors)`` (for a sample split into shares that add up to the
        original, so that the per-bin uncertainty of the sum is unchanged).

    Returns
    -------
    dict

    Examples
    --------
    >>> s = {"name": "sig", "data": [10.0, 20.0], "modifiers": [
    ...     {"name": "mu", "type": "normfactor", "data": None},
    ...     {"name": "stat", "type": "staterror", "data": [1.0, 2.0]},
    ...     {"name": "ff", "type": "histosys", "data": {"lo_data": [9.0, 18.0], "hi_data": [11.0, 22.0]}}]}
    >>> out = scale_sample(s, [2.0, 0.5])
    >>> out["data"], out["modifiers"][1]["data"], out["modifiers"][2]["data"]["hi_data"]
    ([20.0, 10.0], [2.0, 1.0], [22.0, 11.0])
    >>> scale_sample(s, [4.0, 0.25], staterror="quadrature")["modifiers"][1]["data"]
    [2.0, 1.0]
    """
    if staterror not in ("linear", "quadrature"):
        msg = f"staterror must be 'linear' or 'quadrature', not {staterror!r}"
        raise ModelSpecError(msg)
    f = np.asarray(factors, dtype=float)
    out = copy.deepcopy(dict(sample))
    out["data"] = (np.asarray(out["data"]) * f).tolist()
    for m in out["modifiers"]:
        if m["type"] == "histosys":
            for k in ("lo_data", "hi_data"):
                m["data"][k] = (np.asarray(m["data"][k]) * f).tolist()
        elif m["type"] == "staterror":
            m["data"] = (np.asarray(m["data"]) * (f if staterror == "linear" else np.sqrt(f))).tolist()
        elif m["type"] == "shapesys":
            m["data"] = (np.asarray(m["data"]) * f).tolist()
    return out


def scale_samples(spec: Mapping[str, Any], factors: Mapping[tuple[str, str], Any]) -> Spec:
    """A copy of ``spec`` with :func:`scale_sample` applied to the ``(channel, sample)`` keys given."""
    out = copy.deepcopy(dict(spec))
    for ch in out["channels"]:
        for j, s in enumerate(ch["samples"]):
            f = factors.get((ch["name"], s["name"]))
            if f is not None:
                ch["samples"][j] = scale_sample(s, f)
    return out


def plain_spec(
    spec: Mapping[str, Any],
    factors: Mapping[tuple[str, str], Any],
    *,
    drop_type: str,
    poi_fallback: str = "mu_redist",
) -> Spec:
    """A plain HistFactory spec: ``drop_type`` modifiers removed, samples scaled by ``factors``.

    Measurement settings of parameters that no modifier uses any more are removed.
    If a measurement's POI is gone, the first ``normfactor`` of a scaled sample
    becomes the POI, or (if there is none) a ``normfactor`` named ``poi_fallback`` is
    added to every scaled sample (it is 1 at the nominal, so the yields are those
    of the fixed point).

    Parameters
    ----------
    spec : mapping
        Workspace spec with modifiers of type ``drop_type``.
    factors : mapping
        ``(channel, sample) -> per-bin factors`` (see :func:`scale_sample`).
    drop_type : str
        Modifier type to remove (``"redist"``).
    poi_fallback : str
        Name of the POI normfactor added when needed.

    Returns
    -------
    dict
    """
    out = scale_samples(drop_modifier_type(spec, drop_type), factors)
    fallback = None
    for ch in out["channels"]:
        for s in ch["samples"]:
            if (ch["name"], s["name"]) in factors:
                for m in s["modifiers"]:
                    if m["type"] == "normfactor":
                        fallback = fallback or m["name"]
    for meas in out.get("measurements", []):
        names = modifier_names(out)
        cfg = meas["config"]
        cfg["parameters"] = [p for p in cfg.get("parameters", []) if p["name"] in names]
        if cfg["poi"] not in names:
            if fallback is None:
                fallback = poi_fallback
                for ch in out["channels"]:
                    for s in ch["samples"]:
                        if (ch["name"], s["name"]) in factors:
                            s["modifiers"].append({"name": fallback, "type": "normfactor", "data": None})
            cfg["poi"] = fallback
    return out


def drop_modifier_type(spec: Mapping[str, Any], mtype: str) -> Spec:
    """A copy of ``spec`` without modifiers of type ``mtype`` (e.g. ``"redist"``)."""
    out = copy.deepcopy(dict(spec))
    for ch in out["channels"]:
        for s in ch["samples"]:
            s["modifiers"] = [m for m in s["modifiers"] if m["type"] != mtype]
    return out


def prune(spec: Mapping[str, Any], names: Iterable[str], *, strict: bool = True) -> Spec:
    """A copy of ``spec`` without the named modifiers and their measurement settings.

    Parameters
    ----------
    spec : mapping
        Workspace spec.
    names : iterable of str
        Modifier names to remove (every type and sample).
    strict : bool
        Raise :class:`~redist.exceptions.ModelSpecError` if a name is not found.

    Examples
    --------
    >>> spec = {"channels": [{"name": "SR", "samples": [{"name": "s", "data": [1.0], "modifiers": [
    ...     {"name": "mu", "type": "normfactor", "data": None}]}]}],
    ...     "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": [{"name": "mu"}]}}]}
    >>> out = prune(spec, ["mu"])
    >>> out["channels"][0]["samples"][0]["modifiers"], out["measurements"][0]["config"]["parameters"]
    ([], [])
    """
    drop = list(names)
    missing = [n for n in drop if n not in modifier_names(spec)]
    if strict and missing:
        msg = f"modifiers to prune not found in the workspace: {missing}"
        raise ModelSpecError(msg)
    out = copy.deepcopy(dict(spec))
    for ch in out["channels"]:
        for s in ch["samples"]:
            s["modifiers"] = [m for m in s["modifiers"] if m["name"] not in drop]
    for meas in out.get("measurements", []):
        cfg = meas["config"]
        cfg["parameters"] = [p for p in cfg.get("parameters", []) if p["name"] not in drop]
    return out


def merge_specs(
    specs: Sequence[Mapping[str, Any]], measurements: Sequence[str], *, name: str, poi: str
) -> Spec:
    """One workspace spec holding the channels of several (distinct channel names).

    Parameters
    ----------
    specs : sequence of mapping
        Workspace specs.
    measurements : sequence of str
        The measurement of each spec whose parameter settings are kept; a parameter
        set in several must be set identically.
    name : str
        Name of the merged measurement.
    poi : str
        Its parameter of interest.

    Returns
    -------
    dict
    """
    if len(specs) != len(measurements):
        msg = "merge_specs needs one measurement name per spec"
        raise ModelSpecError(msg)
    channels: dict[str, int] = {}
    out: Spec = {"channels": [], "observations": [], "version": "1.0.0"}
    settings: dict[str, tuple[int, dict[str, Any]]] = {}
    for k, (spec, mname) in enumerate(zip(specs, measurements)):
        for ch in spec["channels"]:
            if ch["name"] in channels:
                msg = (
                    f"channel {ch['name']!r} appears in model {channels[ch['name']]} and model {k}; "
                    "rename one before combining"
                )
                raise ModelSpecError(msg)
            channels[ch["name"]] = k
            out["channels"].append(copy.deepcopy(ch))
        out["observations"].extend(copy.deepcopy(spec["observations"]))
        meas = next((m for m in spec.get("measurements", []) if m["name"] == mname), None)
        if meas is None:
            msg = f"model {k} has no measurement {mname!r}"
            raise ModelSpecError(msg)
        for p in meas["config"].get("parameters", []):
            if p["name"] in settings and settings[p["name"]][1] != p:
                msg = (
                    f"measurement setting of parameter {p['name']!r} differs between model "
                    f"{settings[p['name']][0]} and model {k}"
                )
                raise ModelSpecError(msg)
            settings.setdefault(p["name"], (k, p))
    out["measurements"] = [
        {"name": name, "config": {"poi": poi, "parameters": [copy.deepcopy(p) for _, p in settings.values()]}}
    ]
    return out
