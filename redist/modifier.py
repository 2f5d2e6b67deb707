r"""The ``redist`` pyhf modifier: theory reweighting of templates inside a pyhf model.

A modifier entry in a sample of the workspace reads::

    {"name": "wet", "type": "redist", "data": {"density": "A/signal"}}

``name`` selects a :class:`Reweighting` (theory, binning, exposed parameters),
``data.density`` the joint number density of that channel and sample. The
builder/applier pair registered for type ``"redist"`` follows pyhf's
modifier protocol: it multiplies the nominal of each affected sample by

.. math::  f_x(\theta) = \frac{\sum_z n(x, z)\, w_z(\theta)}{\sum_z n(x, z)},
           \qquad w_z = \frac{\int_z \sigma_B(\theta)}{\int_z \sigma_A} .

Theory parameters become pyhf parameters **by name**; a correlated nuisance
group becomes one vector parameter whose components are unit-normal
constrained eigen-directions (:class:`redist.theory.CorrelatedGroup`). The
computation is traceable on pyhf's jax backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np
import pyhf
from pyhf.tensor.manager import get_backend

from .density import JointDensity
from .exceptions import ModelSpecError
from .layout import ParameterLayout
from .weights import Reweighting, normalised_rows

__all__ = ["MODIFIER_TYPE", "Reweighting", "modifier_set", "modifier_settings", "parameter_sets"]

MODIFIER_TYPE = "redist"


def array_module(tensorlib: Any = None) -> ModuleType:
    """The array namespace behind a pyhf tensor backend (numpy or jax.numpy)."""
    tensorlib = tensorlib or get_backend()[0]
    if tensorlib.name == "jax":
        import jax.numpy as jnp

        return jnp
    if tensorlib.name != "numpy":
        msg = f"redist supports pyhf's numpy and jax backends, not {tensorlib.name!r}"
        raise ModelSpecError(msg)
    return np


def parameter_sets(rw: Reweighting) -> dict[str, dict[str, Any]]:
    """Pyhf parameter-set requirements of a reweighting, by parameter name.

    Exposed theory parameters become unconstrained scalars (bounds and inits from the
    reweighting's overrides or the theory's declaration, the init clipped into the
    bounds); each correlated group becomes one vector of unit-normal constrained
    eigen-directions.
    """
    plain = {p.name: p for p in rw.theory.parameters}
    out: dict[str, dict[str, Any]] = {}
    for name in rw.parameters:
        p = plain[name]
        lo, hi = rw.bounds.get(name, p.bounds)
        init = float(rw.inits.get(name, p.default))
        init = min(max(init, lo), hi)
        out[name] = {
            "paramset_type": "unconstrained",
            "n_parameters": 1,
            "is_scalar": True,
            "inits": (init,),
            "bounds": ((float(lo), float(hi)),),
            "fixed": False,
        }
    if rw.nuisance_groups:
        for g in rw.theory.groups:
            n = len(g.parameters)
            out[g.name] = {
                "paramset_type": "constrained_by_normal",
                "n_parameters": n,
                "is_scalar": False,
                "inits": (0.0,) * n,
                "bounds": ((-5.0, 5.0),) * n,
                "fixed": False,
                "auxdata": (0.0,) * n,
                "sigmas": (1.0,) * n,
            }
    return out


def modifier_settings(
    reweightings: Mapping[str, Reweighting], densities: Mapping[str, JointDensity]
) -> dict[str, Any]:
    """Pyhf ``modifier_settings`` carrying the redist objects (plus pyhf's defaults)."""
    return {
        "normsys": {"interpcode": "code4"},
        "histosys": {"interpcode": "code4p"},
        MODIFIER_TYPE: {"reweightings": dict(reweightings), "densities": dict(densities)},
    }


class redist_builder:
    """pyhf builder collecting where each redist modifier applies."""

    is_shared = True

    def __init__(self, config: Any) -> None:
        self.config = config
        settings = config.modifier_settings.get(MODIFIER_TYPE)
        if settings is None:
            msg = "redist modifiers need modifier_settings from redist.modifier.modifier_settings()"
            raise ModelSpecError(msg)
        self.reweightings: Mapping[str, Reweighting] = settings["reweightings"]
        self.densities: Mapping[str, JointDensity] = settings["densities"]
        self.required_parsets: dict[str, list[dict[str, Any]]] = {}
        self.entries: dict[str, list[tuple[str, str, str]]] = {}

    def append(self, key: str, channel: str, sample: str, thismod: Any, defined_samp: Any) -> None:
        """Record one (modifier, channel, sample) slot."""
        if not thismod:
            return
        name = thismod["name"]
        where = f"channel {channel!r}, sample {sample!r}, modifier {name!r}"
        if name not in self.reweightings:
            msg = f"{where}: no reweighting named {name!r} (have {list(self.reweightings)})"
            raise ModelSpecError(msg)
        data = thismod.get("data")
        dkey = data.get("density") if isinstance(data, dict) else None
        if not isinstance(dkey, str) or dkey not in self.densities:
            msg = f"{where}: unknown density {dkey!r} (have {list(self.densities)})"
            raise ModelSpecError(msg)
        rw = self.reweightings[name]
        dens = self.densities[dkey]
        dens.check(n_bins=self.config.channel_nbins[channel], where=f"{where}, density {dkey!r}")
        rw.check_density(dens, where=where)
        self.entries.setdefault(key, []).append((channel, sample, dkey))
        for pname, req in parameter_sets(rw).items():
            have = self.required_parsets.setdefault(pname, [req])[0]
            if have != req:
                msg = (
                    f"{where}: parameter {pname!r} is shared by several reweightings "
                    f"with different settings ({have} vs {req})"
                )
                raise ModelSpecError(msg)

    def finalize(self) -> dict[str, Any]:
        """Dense migration tensors per modifier, shape (n_samples, n_bins, n_z)."""
        cfg = self.config
        out = {}
        for key, entries in self.entries.items():
            name = key.split("/", 1)[1]
            rw = self.reweightings[name]
            n_z = int(np.prod([len(e) - 1 for e in rw.z_edges]))
            g = np.zeros((len(cfg.samples), cfg.nmaindata, n_z))
            mask = np.zeros((len(cfg.samples), cfg.nmaindata))
            for channel, sample, dkey in entries:
                s = cfg.samples.index(sample)
                sl = cfg.channel_slices[channel]
                g[s, sl, :] = normalised_rows(self.densities[dkey].values())
                mask[s, sl] = 1.0
            out[key] = {"migration": g, "mask": mask}
        return out


class redist_combined:
    """pyhf applier: multiplicative factors from the theory reweighting."""

    name = MODIFIER_TYPE
    op_code = "multiplication"

    def __init__(
        self,
        modifiers: list[tuple[str, str]],
        pdfconfig: Any,
        builder_data: Mapping[str, Any] | None,
        batch_size: int | None = None,
        reweightings: Mapping[str, Reweighting] | None = None,
        densities: Mapping[str, JointDensity] | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.config = pdfconfig
        self.keys = [f"{mtype}/{m}" for m, mtype in modifiers]
        self.rws = [(reweightings or {})[m] for m, _ in modifiers]
        data = builder_data or {}
        self._migration = [data[k]["migration"] for k in self.keys]
        self._unaffected = [1.0 - data[k]["mask"] for k in self.keys]
        for rw in self.rws:
            _ = rw.null_rates  # precompute kernels now, not in the first call
        # the one name -> slot -> theory-value map (built before pyhf sets the POI)
        self.layout = ParameterLayout.from_pyhf(pdfconfig, {rw.name: rw for rw in self.rws})
        self._precompute()
        pyhf.events.subscribe("tensorlib_changed")(self._precompute)

    def _precompute(self) -> None:
        tensorlib, _ = get_backend()
        self.xp = array_module(tensorlib)
        self.migration = [self.xp.asarray(m) for m in self._migration]
        self.unaffected = [self.xp.asarray(u) for u in self._unaffected]

    def _factors(self, pars: Any) -> Any:
        xp = self.xp
        values = self.layout.theory_values(pars, xp)
        out = [
            mig @ rw.weights(values[rw.name], xp) + unaff
            for rw, mig, unaff in zip(self.rws, self.migration, self.unaffected)
        ]
        return xp.stack(out)  # (n_mod, n_samples, n_bins)

    def apply(self, pars: Any) -> Any:
        """Modification tensor of shape (n_modifiers, n_samples, batch, n_bins)."""
        if not self.keys:
            return None
        xp = self.xp
        if self.batch_size is None:
            return self._factors(pars)[:, :, None, :]
        return xp.stack([self._factors(pars[i]) for i in range(self.batch_size)], axis=2)


def modifier_set() -> dict[str, tuple[type, type]]:
    """Pyhf's HistFactory modifiers plus the redist modifier."""
    return {**pyhf.modifiers.histfactory_set, MODIFIER_TYPE: (redist_builder, redist_combined)}
