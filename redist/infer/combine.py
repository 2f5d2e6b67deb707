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

from ..density import JointDensity
from ..exceptions import ModelSpecError
from ..modifier import MODIFIER_TYPE, parameter_sets
from ..reinterpret import ReinterpretedModel
from ..theory import CorrelatedGroup
from ..weights import Reweighting
from ..workspace import merge_specs

__all__ = ["combine"]


def _same_parset(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = set(a) | set(b)
    return all(np.array_equal(np.asarray(a.get(k)), np.asarray(b.get(k))) for k in keys)


def _groups(rm: ReinterpretedModel) -> dict[str, CorrelatedGroup]:
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
    specs: list[dict[str, Any]] = []
    reweightings: dict[str, Reweighting] = {}
    densities: dict[str, JointDensity] = {}
    parsets: dict[str, tuple[int, dict[str, Any]]] = {}
    groups: dict[str, tuple[int, CorrelatedGroup]] = {}
    for k, rm in enumerate(models):
        spec = copy.deepcopy(rm.spec)
        for name, rw in rm.reweightings.items():
            if name in reweightings and reweightings[name] is not rw:
                # a modifier name must map to one reweighting: rename, parameters stay shared
                new = f"{name}_{k}"
                for ch in spec["channels"]:
                    for smp in ch["samples"]:
                        for m in smp["modifiers"]:
                            if m["type"] == MODIFIER_TYPE and m["name"] == name:
                                m["name"] = new
                rw = dataclasses.replace(rw, name=new)
                name = new
            reweightings[name] = rw
            for p, req in parameter_sets(rw).items():
                if p in parsets and not _same_parset(parsets[p][1], req):
                    msg = (
                        f"parameter {p!r} is declared differently in model {parsets[p][0]} and "
                        f"model {k} (bounds, inits or constraint); make them equal to share it"
                    )
                    raise ModelSpecError(msg)
                parsets.setdefault(p, (k, req))
        specs.append(spec)
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
    poi = poi or models[0].poi
    spec = merge_specs(specs, [rm.measurement for rm in models], name="combined", poi=poi)
    for rm in models:
        for key, dens in rm.densities.items():
            if key in densities and densities[key] is not dens:
                msg = f"density key {key!r} appears in two models"
                raise ModelSpecError(msg)
            densities[key] = dens
    rm = ReinterpretedModel(
        spec=spec,
        reweightings=reweightings,
        densities=densities,
        measurement="combined",
        poi=poi,
    )
    _ = rm.model  # build now: pyhf errors surface here
    return rm
