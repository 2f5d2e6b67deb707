"""Build a reinterpreted pyhf model from a published workspace, and go back to plain pyhf.

:func:`reinterpret` takes a published HistFactory workspace, the joint number
densities of the signal samples and a theory, prunes the modifiers that the
theory replaces (e.g. the signal strength ``mu`` and the form-factor
``corr_ff_*`` histosys terms), attaches a ``redist`` modifier to the named
samples and returns a :class:`ReinterpretedModel` with a ready
:class:`pyhf.pdf.Model` and its data. :meth:`ReinterpretedModel.to_workspace`
evaluates the templates at a fixed theory point and returns a *plain* pyhf
workspace that validates against pyhf's schema.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyhf

from .density import JointDensity
from .exceptions import ModelSpecError
from .layout import ParameterLayout
from .modifier import MODIFIER_TYPE, modifier_set, modifier_settings
from .weights import Reweighting, fit_bin_factors
from .workspace import drop_modifier_type, modifier_names, plain_spec
from .workspace import prune as prune_modifiers

__all__ = ["ReinterpretedModel", "reinterpret"]


def _spec_of(workspace: pyhf.Workspace | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(workspace, pyhf.Workspace):
        return copy.deepcopy(dict(workspace))
    if isinstance(workspace, Mapping):
        return copy.deepcopy(dict(workspace))
    msg = f"workspace must be a pyhf.Workspace or a dict, got {type(workspace).__name__}"
    raise ModelSpecError(msg)


@dataclass
class ReinterpretedModel:
    """A published likelihood with theory reweighting attached.

    Attributes
    ----------
    spec : dict
        Workspace with ``redist`` modifiers (not valid plain pyhf; see :meth:`to_workspace`).
    reweightings : dict
        Modifier name -> :class:`~redist.modifier.Reweighting`.
    densities : dict
        Density key -> :class:`~redist.density.JointDensity`.
    measurement : str
        Measurement whose data and parameter settings are used.
    poi : str
        Parameter of interest.
    """

    spec: dict[str, Any]
    reweightings: dict[str, Reweighting]
    densities: dict[str, JointDensity]
    measurement: str
    poi: str

    def __post_init__(self) -> None:
        self._models: dict[str, pyhf.pdf.Model] = {}
        self._layout: ParameterLayout | None = None

    @property
    def layout(self) -> ParameterLayout:
        """The parameter layout: names, slots, bounds, inits, kinds and theory bindings.

        Built once from the pyhf model's configuration and the reweightings; every
        fit, scan, sampler and result of this model uses it.
        """
        if self._layout is None:
            self._layout = ParameterLayout.from_pyhf(self.model.config, self.reweightings)
        return self._layout

    def with_poi(self, poi: str) -> ReinterpretedModel:
        """The same likelihood with another parameter of interest (a new model object)."""
        self.layout.check(poi)
        return dataclasses.replace(self, poi=poi)

    def _base_workspace(self) -> pyhf.Workspace:
        """The workspace without redist modifiers (validated by pyhf's schema).

        A document that passed pyhf's schema with this pyhf version before is not
        validated again (a marker in redist's cache directory, keyed by its
        canonical JSON; see :func:`redist.engine._cache.checked_before`).
        """
        import json

        from .engine._cache import checked_before, remember_checked

        spec = drop_modifier_type(self.spec, MODIFIER_TYPE)
        kind = f"pyhf-{pyhf.__version__}-workspace-schema"
        try:
            payload = json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError):  # not plain JSON: always validate
            return pyhf.Workspace(spec)
        if checked_before(kind, payload):
            return pyhf.Workspace(spec, validate=False)
        ws = pyhf.Workspace(spec)
        remember_checked(kind, payload)
        return ws

    @property
    def model(self) -> pyhf.pdf.Model:
        """The pyhf model (built once per backend)."""
        backend = pyhf.tensorlib.name
        if backend not in self._models:
            self._models[backend] = self.build_model()
        return self._models[backend]

    def build_model(self, **config_kwargs: Any) -> pyhf.pdf.Model:
        """Build a new :class:`pyhf.pdf.Model` (e.g. with ``batch_size``)."""
        base = self._base_workspace()  # schema validation of everything but our modifiers
        meas = base.get_measurement(measurement_name=self.measurement)
        pars = meas["config"].get("parameters", [])
        spec = {"channels": self.spec["channels"], "parameters": pars}
        return pyhf.Model(
            spec,
            modifier_set=modifier_set(),
            modifier_settings=modifier_settings(self.reweightings, self.densities),
            poi_name=self.poi,
            validate=False,
            **config_kwargs,
        )

    @property
    def data(self) -> Any:
        """Observed data followed by the auxiliary data, in the model's order."""
        model = self.model
        obs = {o["name"]: o["data"] for o in self.spec["observations"]}
        main = []
        for c in model.config.channels:
            main.extend(obs[c])
        return pyhf.tensorlib.astensor(main + list(model.config.auxdata))

    def logpdf(self, pars: Any) -> Any:
        """Log L at a full parameter vector (model order)."""
        return self.model.logpdf(pyhf.tensorlib.astensor(pars), self.data)[0]

    def init_pars(self, **values: npt.ArrayLike) -> np.ndarray:
        """Suggested initial parameters with overrides by name (``layout.to_vector(values)``)."""
        return self.layout.to_vector(values)

    def physical_values(self, pars: npt.ArrayLike) -> dict[str, float]:
        """Theory parameters (form factors in physical units) at a parameter vector."""
        return self.layout.physical_values(pars)

    def factors(self, point: Mapping[str, float] | None = None) -> dict[tuple[str, str], np.ndarray]:
        """Per-fit-bin template factors at a theory point (physical names), per (channel, sample)."""
        out: dict[tuple[str, str], np.ndarray] = {}
        for ch in self.spec["channels"]:
            for s in ch["samples"]:
                for m in s["modifiers"]:
                    if m["type"] == MODIFIER_TYPE:
                        rw = self.reweightings[m["name"]]
                        dens = self.densities[m["data"]["density"]].values()
                        f = fit_bin_factors(dens, rw.weights_at(point))
                        key = (ch["name"], s["name"])
                        out[key] = out.get(key, 1.0) * f
        return out

    def templates(self, point: Mapping[str, float] | None = None) -> dict[tuple[str, str], np.ndarray]:
        """Reweighted nominal yields of the affected samples at a theory point."""
        fac = self.factors(point)
        out = {}
        for ch in self.spec["channels"]:
            for s in ch["samples"]:
                if (ch["name"], s["name"]) in fac:
                    out[(ch["name"], s["name"])] = np.asarray(s["data"]) * fac[(ch["name"], s["name"])]
        return out

    def to_workspace(self, point: Mapping[str, float] | None = None) -> pyhf.Workspace:
        """Plain pyhf workspace with templates evaluated at a fixed theory point.

        The reweighted samples are scaled by their fit-bin factors with the one
        sample-scaling rule, :func:`redist.workspace.scale_sample` (nominal, histosys,
        staterror/shapesys data); the redist modifier is removed, and so are theory
        nuisances (held at their central values). See :func:`redist.workspace.plain_spec`.
        The result validates against pyhf's schema.
        """
        layout = self.layout
        for name, value in (point or {}).items():
            if name in layout and layout.check(name).size == 1:
                lo, hi = layout.bounds[layout.index(name)]
                if not lo <= float(value) <= hi:
                    msg = f"to_workspace: {name} = {float(value):g} is outside its bounds [{lo:g}, {hi:g}]"
                    raise ModelSpecError(msg)
        spec = plain_spec(self.spec, self.factors(point), drop_type=MODIFIER_TYPE)
        return pyhf.Workspace(spec)


def reinterpret(
    workspace: pyhf.Workspace | Mapping[str, Any],
    densities: Mapping[tuple[str, str], JointDensity],
    reweighting: Reweighting | Mapping[tuple[str, str], Reweighting],
    *,
    prune: Sequence[str] = (),
    measurement: str | None = None,
    poi: str | None = None,
) -> ReinterpretedModel:
    """Attach a theory reweighting to samples of a published workspace.

    Parameters
    ----------
    workspace : pyhf.Workspace or dict
        The published likelihood.
    densities : mapping
        ``(channel, sample) -> JointDensity`` for every sample to reweight.
    reweighting : Reweighting or mapping
        Theory, binning and exposed parameters; either one for all densities or
        ``(channel, sample) -> Reweighting`` (e.g. B -> K and B -> K* samples).
        Reweightings with different names may share parameter names; they are
        then one pyhf parameter.
    prune : sequence of str
        Modifier names to remove (e.g. ``["mu", "corr_ff_c1"]``).
    measurement : str, optional
        Measurement to use (default: the first).
    poi : str, optional
        Parameter of interest (default: the measurement's, or the first exposed
        theory parameter if that was pruned).

    Returns
    -------
    ReinterpretedModel
    """
    spec = _spec_of(workspace)
    pyhf.Workspace(spec)  # validate the input against pyhf's schema
    meas_names = [m["name"] for m in spec.get("measurements", [])]
    if measurement is None:
        measurement = meas_names[0]
    elif measurement not in meas_names:
        msg = f"no measurement {measurement!r}; have {meas_names}"
        raise ModelSpecError(msg)
    spec = prune_modifiers(spec, list(prune))
    if isinstance(reweighting, Reweighting):
        per_sample = {key: reweighting for key in densities}
    else:
        per_sample = dict(reweighting)
        missing = [k for k in densities if k not in per_sample]
        if missing:
            msg = f"no reweighting given for densities {missing}"
            raise ModelSpecError(msg)
    rws: dict[str, Reweighting] = {}
    for rw in per_sample.values():
        if rws.setdefault(rw.name, rw) is not rw:
            msg = f"two different reweightings are named {rw.name!r}"
            raise ModelSpecError(msg)
    channels = {ch["name"]: ch for ch in spec["channels"]}
    dens_keys: dict[str, JointDensity] = {}
    for (cname, sname), dens in densities.items():
        rw = per_sample[(cname, sname)]
        if cname not in channels:
            msg = f"density for unknown channel {cname!r}; channels: {list(channels)}"
            raise ModelSpecError(msg)
        samples = {s["name"]: s for s in channels[cname]["samples"]}
        if sname not in samples:
            msg = f"channel {cname!r} has no sample {sname!r}; samples: {list(samples)}"
            raise ModelSpecError(msg)
        where = f"channel {cname!r}, sample {sname!r}"
        dens.check(n_bins=len(samples[sname]["data"]), where=where)
        rw.check_density(dens, where=where)
        key = f"{cname}/{sname}"
        dens_keys[key] = dens
        samples[sname]["modifiers"].append({"name": rw.name, "type": MODIFIER_TYPE, "data": {"density": key}})
    meas = next(m for m in spec["measurements"] if m["name"] == measurement)
    names = modifier_names(spec)
    exposed = [p for rw in rws.values() for p in rw.parameters]
    if poi is None:
        poi = meas["config"]["poi"]
        if poi not in names:
            if not exposed:
                msg = "the POI was pruned and the reweighting exposes no parameter; pass poi="
                raise ModelSpecError(msg)
            poi = exposed[0]
    elif poi not in names and poi not in exposed:
        msg = f"POI {poi!r} is neither a modifier nor an exposed theory parameter"
        raise ModelSpecError(msg)
    meas["config"]["poi"] = poi
    rm = ReinterpretedModel(
        spec=spec,
        reweightings=rws,
        densities=dens_keys,
        measurement=measurement,
        poi=poi,
    )
    _ = rm.model  # build now so that errors surface here
    return rm
