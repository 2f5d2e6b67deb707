"""Combination of several reinterpreted models into one likelihood.

Channels must have distinct names. Parameters are shared **by name**: a Wilson
coefficient exposed by two reweightings is one parameter, and a correlated
theory nuisance group (e.g. ``ff_BtoK_GKvD2018``) is shared when both declare the
same members, means and covariance. Anything declared differently under the same
name (bounds, inits, group content, measurement settings) raises
:class:`~redist.exceptions.ModelSpecError` naming the parameter and the models.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import ModelSpecError
from ..reinterpret import ReinterpretedModel

__all__ = ["combine"]


def _same_parset(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = set(a) | set(b)
    return all(np.array_equal(np.asarray(a.get(k)), np.asarray(b.get(k))) for k in keys)


def _groups(rm: ReinterpretedModel) -> dict[str, Any]:
    out = {}
    for rw in rm.reweightings.values():
        if rw.nuisance_groups:
            for g in rw.theory.groups:
                out[g.name] = g
    return out


def combine(models: Sequence[ReinterpretedModel], *, poi: str | None = None) -> ReinterpretedModel:
    """One likelihood from several reinterpreted models (product of their likelihoods).

    Parameters
    ----------
    models : sequence of ReinterpretedModel
        Models with distinct channel names.
    poi : str, optional
        Parameter of interest (default: the first model's).

    Returns
    -------
    ReinterpretedModel
        Its measurement is named ``"combined"``.
    """
    if len(models) < 2:
        msg = f"combine needs at least two models, got {len(models)}"
        raise ModelSpecError(msg)
    channels: dict[str, int] = {}
    spec: dict[str, Any] = {"channels": [], "observations": [], "version": "1.0.0"}
    reweightings: dict[str, Any] = {}
    densities: dict[str, Any] = {}
    parsets: dict[str, tuple[int, dict[str, Any]]] = {}
    groups: dict[str, tuple[int, Any]] = {}
    meas_pars: dict[str, tuple[int, dict[str, Any]]] = {}
    for k, rm in enumerate(models):
        for ch in rm.spec["channels"]:
            if ch["name"] in channels:
                msg = (
                    f"channel {ch['name']!r} appears in model {channels[ch['name']]} and model {k}; "
                    "rename one before combining"
                )
                raise ModelSpecError(msg)
            channels[ch["name"]] = k
            spec["channels"].append(copy.deepcopy(ch))
        spec["observations"].extend(copy.deepcopy(rm.spec["observations"]))
        for name, rw in rm.reweightings.items():
            new = name
            if name in reweightings and reweightings[name] is not rw:
                # a modifier name must map to one reweighting: rename, parameters stay shared
                new = f"{name}_{k}"
                for ch in spec["channels"][-len(rm.spec["channels"]) :]:
                    for smp in ch["samples"]:
                        for m in smp["modifiers"]:
                            if m["type"] == "redist" and m["name"] == name:
                                m["name"] = new
            if new != name:
                rw = dataclasses.replace(rw, name=new)
            name = new
            reweightings[name] = rw
            for p, req in rw.pyhf_parsets().items():
                if p in parsets and not _same_parset(parsets[p][1], req):
                    msg = (
                        f"parameter {p!r} is declared differently in model {parsets[p][0]} and "
                        f"model {k} (bounds, inits or constraint); make them equal to share it"
                    )
                    raise ModelSpecError(msg)
                parsets.setdefault(p, (k, req))
        for gname, g in _groups(rm).items():
            if gname in groups:
                other = groups[gname][1]
                if (other.parameters != g.parameters
                        or not np.allclose(other.mean, g.mean, rtol=1e-12, atol=0)
                        or not np.allclose(other.covariance, g.covariance, rtol=1e-12, atol=0)):
                    msg = (
                        f"nuisance group {gname!r} has different members, means or covariance "
                        f"in model {groups[gname][0]} and model {k}; it cannot be shared"
                    )
                    raise ModelSpecError(msg)
            groups.setdefault(gname, (k, g))
        for key, dens in rm.densities.items():
            if key in densities and densities[key] is not dens:
                msg = f"density key {key!r} appears in two models"
                raise ModelSpecError(msg)
            densities[key] = dens
        meas = next(m for m in rm.spec["measurements"] if m["name"] == rm.measurement)
        for p in meas["config"].get("parameters", []):
            if p["name"] in meas_pars and meas_pars[p["name"]][1] != p:
                msg = (
                    f"measurement setting of parameter {p['name']!r} differs between model "
                    f"{meas_pars[p['name']][0]} and model {k}"
                )
                raise ModelSpecError(msg)
            meas_pars.setdefault(p["name"], (k, p))
    poi = poi or models[0].poi
    spec["measurements"] = [
        {
            "name": "combined",
            "config": {"poi": poi, "parameters": [copy.deepcopy(p) for _, p in meas_pars.values()]},
        }
    ]
    rm = ReinterpretedModel(
        spec=spec,
        reweightings=reweightings,
        densities=densities,
        measurement="combined",
        poi=poi,
    )
    _ = rm.model  # build now: pyhf errors surface here
    return rm
