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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyhf
from pyhf.tensor.manager import get_backend

from .density import JointDensity
from .exceptions import ModelSpecError, TheoryError, UnknownParameter
from .kernels import DEFAULT_ORDER, BinKernel
from .layout import ParameterLayout
from .theory import Theory
from .weights import bin_weights, check_null_rates

__all__ = ["MODIFIER_TYPE", "Reweighting", "modifier_set", "modifier_settings"]

MODIFIER_TYPE = "redist"


def array_module(tensorlib: Any = None) -> Any:
    """The array namespace behind a pyhf tensor backend (numpy or jax.numpy)."""
    tensorlib = tensorlib or get_backend()[0]
    if tensorlib.name == "jax":
        import jax.numpy as jnp

        return jnp
    if tensorlib.name != "numpy":
        msg = f"redist supports pyhf's numpy and jax backends, not {tensorlib.name!r}"
        raise ModelSpecError(msg)
    return np


@dataclass
class Reweighting:
    """One theory reweighting: alternative theory B, null theory A, binning and exposure.

    Parameters
    ----------
    name : str
        Modifier name used in the workspace.
    theory : Theory
        Alternative theory B.
    z_edges : sequence of array_like
        Kinematic bin edges per axis (must match every density it is applied to).
    parameters : sequence of str
        Theory parameters that become (free) pyhf parameters.
    null : Theory, optional
        Theory A that produced the templates; default: ``theory`` at its defaults.
    null_values : mapping, optional
        Parameter point of theory A (default: its defaults, e.g. the SM).
    values : mapping, optional
        Fixed values of theory parameters that are not exposed.
    bounds, inits : mapping, optional
        Per-parameter overrides of the theory's bounds and defaults.
    nuisance_groups : bool
        Expose the theory's correlated groups as constrained nuisance parameters
        (otherwise they stay at their central values).
    cutoff : sequence of (float, float), optional
        Kinematic range that is reweighted; bins outside keep weight 1.
    order : int
        Gauss-Legendre order for the kernel precomputation.
    """

    name: str
    theory: Theory
    z_edges: Sequence[Any]
    parameters: Sequence[str] = ()
    null: Theory | None = None
    null_values: Mapping[str, float] | None = None
    values: Mapping[str, float] = field(default_factory=dict)
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    inits: Mapping[str, float] = field(default_factory=dict)
    nuisance_groups: bool = True
    cutoff: Sequence[tuple[float, float]] | None = None
    order: int = DEFAULT_ORDER

    def __post_init__(self) -> None:
        self.z_edges = [np.asarray(e, dtype=float) for e in self.z_edges]
        self.parameters = tuple(self.parameters)
        plain = {p.name: p for p in self.theory.parameters}
        where = f"reweighting {self.name!r}"
        for p in (*self.parameters, *self.values, *self.bounds, *self.inits):
            if p not in plain:
                msg = (
                    f"{where}: theory {self.theory.name!r} has no parameter {p!r}; "
                    f"valid: {', '.join(plain)}"
                )
                raise UnknownParameter(msg)
        for p in self.values:
            if p in self.parameters:
                msg = f"{where}: parameter {p!r} is both exposed and fixed"
                raise ModelSpecError(msg)
        if len(set(self.parameters)) != len(self.parameters):
            msg = f"{where}: duplicate exposed parameters {list(self.parameters)}"
            raise ModelSpecError(msg)
        null = self.null_theory
        null.resolve(self.null_values)  # validates names
        if [k.name for k in null.kinematics] != [k.name for k in self.theory.kinematics]:
            msg = f"{where}: null and alternative theories differ in kinematic variables"
            raise TheoryError(msg)

    # -- JSON form (model files and build configs) ---------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (theories by registry reference); inverse of :meth:`from_dict`."""
        return {
            "theory": self.theory.spec(),
            "null": None if self.null is None else self.null.spec(),
            "null_values": None
            if self.null_values is None
            else {k: float(v) for k, v in self.null_values.items()},
            "z_edges": [np.asarray(e).tolist() for e in self.z_edges],
            "cutoff": None if self.cutoff is None else [[float(a), float(b)] for a, b in self.cutoff],
            "parameters": list(self.parameters),
            "values": {k: float(v) for k, v in self.values.items()},
            "bounds": {k: [float(a), float(b)] for k, (a, b) in self.bounds.items()},
            "inits": {k: float(v) for k, v in self.inits.items()},
            "nuisance_groups": bool(self.nuisance_groups),
            "order": int(self.order),
        }

    @classmethod
    def from_dict(
        cls, name: str, doc: Mapping[str, Any], *, theory: Theory, null: Theory | None = None
    ) -> Reweighting:
        """Rebuild from :meth:`to_dict` output (or a build config) with already-built theories.

        Parameters
        ----------
        name : str
            Modifier name.
        doc : mapping
            Keys as written by :meth:`to_dict`; every key but ``z_edges`` is optional.
        theory, null : Theory
            Theories B and A (built from ``doc["theory"]`` / ``doc["null"]`` by the caller,
            which owns version checks and error context).
        """
        return cls(
            name=name,
            theory=theory,
            z_edges=doc["z_edges"],
            parameters=tuple(doc.get("parameters") or ()),
            null=null,
            null_values=doc.get("null_values"),
            values=dict(doc.get("values") or {}),
            bounds={k: (float(v[0]), float(v[1])) for k, v in (doc.get("bounds") or {}).items()},
            inits=dict(doc.get("inits") or {}),
            nuisance_groups=bool(doc.get("nuisance_groups", True)),
            cutoff=None if doc.get("cutoff") is None else [(float(a), float(b)) for a, b in doc["cutoff"]],
            order=int(doc.get("order", DEFAULT_ORDER)),
        )

    @property
    def null_theory(self) -> Theory:
        """Theory A."""
        return self.null if self.null is not None else self.theory

    @cached_property
    def kernel(self) -> BinKernel:
        """Bin integrals of theory B."""
        return BinKernel(self.theory, self.z_edges, self.cutoff, order=self.order)

    @cached_property
    def null_rates(self) -> np.ndarray:
        """Bin-integrated rates of theory A at its parameter point (checked positive)."""
        k = self.kernel
        null = self.null_theory
        if null is self.theory:
            nk = k
        else:
            nk = BinKernel(null, self.z_edges, self.cutoff, order=self.order)
            if not np.array_equal(nk.inside, k.inside):
                msg = f"reweighting {self.name!r}: null and alternative physical ranges differ"
                raise TheoryError(msg)
        rates = np.asarray(nk.rates(null.resolve(self.null_values)), dtype=float)
        check_null_rates(rates, k.lo, k.hi, where=f"reweighting {self.name!r}")
        return rates

    # -- parameters ----------------------------------------------------------------
    def pyhf_parsets(self) -> dict[str, dict[str, Any]]:
        """Pyhf parameter-set requirements, by parameter name."""
        plain = {p.name: p for p in self.theory.parameters}
        out: dict[str, dict[str, Any]] = {}
        for name in self.parameters:
            p = plain[name]
            lo, hi = self.bounds.get(name, p.bounds)
            init = float(self.inits.get(name, p.default))
            init = min(max(init, lo), hi)
            out[name] = {
                "paramset_type": "unconstrained",
                "n_parameters": 1,
                "is_scalar": True,
                "inits": (init,),
                "bounds": ((float(lo), float(hi)),),
                "fixed": False,
            }
        if self.nuisance_groups:
            for g in self.theory.groups:
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

    @cached_property
    def _fast(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(kernel / null rates with zero rows outside the cutoff, 1-outside template), numpy path."""
        k = self.kernel
        if k.kernel is None:
            return None
        full = np.zeros((k.inside.size, k.kernel.shape[1]))
        full[k.inside] = k.kernel / self.null_rates[:, None]
        return full, (~k.inside).astype(float)

    def weights(self, values: Mapping[str, Any], xp: Any = np) -> Any:
        """Kinematic-bin weights (all z bins) at a full theory parameter dict."""
        fast = self._fast if xp is np else None
        if fast is not None:
            full, outside = fast
            return full @ self.theory.coefficients(values, np) + outside
        k = self.kernel
        return bin_weights(k.rates(values, xp), self.null_rates, k.inside, xp)

    def weights_at(self, point: Mapping[str, float] | None = None) -> np.ndarray:
        """Weights at a parameter point given by physical names (numpy)."""
        vals = self.theory.resolve({**self.values, **(point or {})})
        return np.asarray(self.weights(vals, np))

    def check_density(self, density: JointDensity, *, where: str) -> None:
        """Check that a density's kinematic binning matches this reweighting."""
        if len(density.z_edges) != len(self.z_edges) or not all(
            e.shape == f.shape and np.allclose(e, f, rtol=1e-12, atol=1e-12)
            for e, f in zip(density.z_edges, self.z_edges)
        ):
            msg = f"{where}: density kinematic binning does not match reweighting {self.name!r}"
            raise ModelSpecError(msg)


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
        if dkey not in self.densities:
            msg = f"{where}: unknown density {dkey!r} (have {list(self.densities)})"
            raise ModelSpecError(msg)
        rw = self.reweightings[name]
        dens = self.densities[dkey]
        dens.check(n_bins=self.config.channel_nbins[channel], where=f"{where}, density {dkey!r}")
        rw.check_density(dens, where=where)
        self.entries.setdefault(key, []).append((channel, sample, dkey))
        for pname, req in rw.pyhf_parsets().items():
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
                v = self.densities[dkey].values()
                g[s, sl, :] = v / v.sum(axis=1, keepdims=True)
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
