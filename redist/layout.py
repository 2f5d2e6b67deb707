"""The parameter layout of a model: names, vector slots, bounds, and theory values.

A pyhf model works on one flat parameter vector. Everything that needs to know
what a slot of that vector *means* -- the redist modifier turning the vector
into theory values, fits and scans taking ``fixed={"cSL": 0.0}``, Minuit's
parameter names, samplers, result files -- asks one :class:`ParameterLayout`,
built once per model from pyhf's configuration and the reweightings' theory
declarations. Nothing else maps names to slots, and nothing parses labels.

* :attr:`~ParameterLayout.names` -- pyhf parameter names in vector order (pyhf's
  ``par_order``); a name may own several components (a vector parameter such as a
  ``staterror`` or a correlated theory group).
* :attr:`~ParameterLayout.labels` -- one display label per component (``name`` or
  ``name[i]``), for tables and Minuit; never read back.
* :meth:`~ParameterLayout.slice`, :meth:`~ParameterLayout.index` -- slots by name.
* :attr:`~ParameterLayout.inits`, :attr:`~ParameterLayout.bounds`,
  :attr:`~ParameterLayout.fixed` -- pyhf's suggestions (read-only arrays).
* :meth:`~ParameterLayout.kind` -- what a parameter is (:class:`ParameterKind`):
  a theory parameter, a correlated theory group, an analysis normalisation or an
  analysis nuisance (with its constraint type).
* :meth:`~ParameterLayout.to_vector` / :meth:`~ParameterLayout.to_mapping` --
  ``{name: value}`` to a vector and back.
* :meth:`~ParameterLayout.theory_values` -- physical theory values per
  reweighting (correlated groups mapped through
  :meth:`~redist.theory.CorrelatedGroup.physical`), traceable with ``jax.numpy``:
  the single per-call path of the pyhf modifier, of compiled likelihoods and of
  samplers.

Examples
--------
>>> import pyhf
>>> model = pyhf.simplemodels.uncorrelated_background([5.0, 3.0], [10.0, 4.0], [2.0, 1.0])
>>> layout = ParameterLayout.from_pyhf(model.config)
>>> layout.names, layout.labels
(('mu', 'uncorr_bkguncrt'), ('mu', 'uncorr_bkguncrt[0]', 'uncorr_bkguncrt[1]'))
>>> layout.to_vector({"mu": 2.0}).tolist()
[2.0, 1.0, 1.0]
>>> layout.kind("uncorr_bkguncrt").value, layout.entry("uncorr_bkguncrt").constraint
('nuisance', 'poisson')
>>> layout.index("uncorr_bkguncrt", 1)
2
"""

from __future__ import annotations

import difflib
import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .exceptions import ModelSpecError, UnknownParameter
from .theory import CorrelatedGroup

if TYPE_CHECKING:
    from .typing import FixedValues, ParameterValues
    from .weights import Reweighting

__all__ = ["ParameterEntry", "ParameterKind", "ParameterLayout", "TheoryBinding"]


def __dir__() -> list[str]:
    return list(__all__)


class ParameterKind(str, enum.Enum):
    """What a model parameter is.

    ``THEORY``
        A theory parameter exposed by a reweighting (e.g. a Wilson coefficient);
        unconstrained.
    ``THEORY_GROUP``
        A correlated theory nuisance group (e.g. form factors): one vector parameter
        of unit-normal eigen-directions.
    ``NORMFACTOR``
        An unconstrained analysis parameter (``normfactor``, ``shapefactor``).
    ``NUISANCE``
        A constrained analysis nuisance (``normsys``, ``histosys``, ``staterror``,
        ``shapesys``, ``lumi``).
    """

    THEORY = "theory"
    THEORY_GROUP = "theory_group"
    NORMFACTOR = "normfactor"
    NUISANCE = "nuisance"


@dataclass(frozen=True)
class ParameterEntry:
    """One (scalar or vector) model parameter.

    Attributes
    ----------
    name : str
        pyhf parameter name.
    start, size : int
        First component and number of components in the parameter vector.
    kind : ParameterKind
        What the parameter is.
    scalar : bool
        pyhf's ``is_scalar`` (a scalar has the label ``name``, a vector ``name[i]``).
    constraint : str or None
        ``"normal"`` or ``"poisson"`` for constrained parameters, else ``None``.
    modifiers : tuple of str
        Types of the workspace modifiers that use the parameter (``"histosys"``...).
    linear : bool
        For theory parameters: whether the rate's basis is independent of it (see
        :class:`redist.theory.Parameter`); ``True`` for everything else.
    members : tuple of str
        For a correlated theory group: the physical parameter names (the group's
        covariance order; component ``i`` is eigen-direction ``i``, not member ``i``).
    """

    name: str
    start: int
    size: int
    kind: ParameterKind
    scalar: bool = True
    constraint: str | None = None
    modifiers: tuple[str, ...] = ()
    linear: bool = True
    members: tuple[str, ...] = ()

    @property
    def slice(self) -> slice:
        """Slice of the parameter vector."""
        return slice(self.start, self.start + self.size)

    @property
    def labels(self) -> tuple[str, ...]:
        """Display labels of the components (``name`` or ``name[i]``)."""
        if self.scalar:
            return (self.name,)
        return tuple(f"{self.name}[{i}]" for i in range(self.size))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "start": self.start,
            "size": self.size,
            "kind": self.kind.value,
            "scalar": self.scalar,
            "constraint": self.constraint,
            "modifiers": list(self.modifiers),
            "linear": self.linear,
            "members": list(self.members),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ParameterEntry:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(doc["name"]),
            start=int(doc["start"]),
            size=int(doc["size"]),
            kind=ParameterKind(doc["kind"]),
            scalar=bool(doc.get("scalar", True)),
            constraint=doc.get("constraint"),
            modifiers=tuple(doc.get("modifiers", ())),
            linear=bool(doc.get("linear", True)),
            members=tuple(doc.get("members", ())),
        )


@dataclass(frozen=True, eq=False)
class TheoryBinding:
    """How one reweighting reads its theory's parameter values from the vector.

    Attributes
    ----------
    reweighting : str
        Name of the reweighting (the workspace modifier name).
    base : mapping
        Values of every theory parameter that is not in the vector: the theory's
        defaults, overridden by the reweighting's fixed values (group members at
        their means).
    names : tuple of str
        Theory parameters read from the vector.
    indices : tuple of int
        Their vector components.
    groups : tuple of (CorrelatedGroup, int)
        Correlated groups read from the vector, with the first component of each.
    """

    reweighting: str
    base: Mapping[str, float]
    names: tuple[str, ...]
    indices: tuple[int, ...]
    groups: tuple[tuple[CorrelatedGroup, int], ...] = ()
    _index_array: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index_array", np.asarray(self.indices, dtype=int))

    def values(self, vector: Any, xp: ModuleType = np) -> dict[str, Any]:
        """Every parameter of the theory at a parameter vector (traceable with ``jax.numpy``)."""
        vals: dict[str, Any] = dict(self.base)
        if xp is np:
            vals.update(zip(self.names, np.asarray(vector)[self._index_array].tolist()))
        else:
            for n, i in zip(self.names, self.indices):
                vals[n] = vector[i]
        for g, start in self.groups:
            vals.update(g.physical(vector[start : start + len(g.parameters)], xp))
        return vals

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (groups with their means and covariances)."""
        return {
            "reweighting": self.reweighting,
            "base": {k: float(v) for k, v in self.base.items()},
            "names": list(self.names),
            "indices": list(self.indices),
            "groups": [
                {
                    "name": g.name,
                    "start": start,
                    "parameters": list(g.parameters),
                    "mean": list(g.mean),
                    "covariance": [list(r) for r in g.covariance],
                }
                for g, start in self.groups
            ],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TheoryBinding:
        """Inverse of :meth:`to_dict`."""
        groups = tuple(
            (
                CorrelatedGroup(
                    name=str(g["name"]),
                    parameters=tuple(g["parameters"]),
                    mean=tuple(float(v) for v in g["mean"]),
                    covariance=tuple(tuple(float(v) for v in r) for r in g["covariance"]),
                ),
                int(g["start"]),
            )
            for g in doc.get("groups", ())
        )
        return cls(
            reweighting=str(doc["reweighting"]),
            base={str(k): float(v) for k, v in doc["base"].items()},
            names=tuple(doc["names"]),
            indices=tuple(int(i) for i in doc["indices"]),
            groups=groups,
        )


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.flags.writeable = False
    return a


class ParameterLayout:
    """Names, slots, bounds, initial values, kinds and theory bindings of a model's parameters.

    Build it with :meth:`from_pyhf` (the usual way; a
    :class:`~redist.reinterpret.ReinterpretedModel` owns one as
    :attr:`~redist.reinterpret.ReinterpretedModel.layout`) or :meth:`from_dict`.

    Parameters
    ----------
    entries : sequence of ParameterEntry
        Parameters in vector order, contiguous from component 0.
    inits, bounds, fixed : array_like
        Suggested initial values ``(size,)``, bounds ``(size, 2)`` and fixed mask ``(size,)``.
    poi : str, optional
        Parameter of interest.
    bindings : sequence of TheoryBinding
        One per reweighting.
    """

    def __init__(
        self,
        entries: Sequence[ParameterEntry],
        *,
        inits: Any,
        bounds: Any,
        fixed: Any,
        poi: str | None = None,
        bindings: Sequence[TheoryBinding] = (),
    ) -> None:
        self._entries = tuple(entries)
        self._by_name = {e.name: e for e in self._entries}
        if len(self._by_name) != len(self._entries):
            msg = "parameter layout: duplicate parameter names"
            raise ModelSpecError(msg)
        pos = 0
        for e in self._entries:
            if e.start != pos or e.size < 1:
                msg = f"parameter layout: {e.name!r} does not start at component {pos}"
                raise ModelSpecError(msg)
            pos += e.size
        self._size = pos
        self._inits = _readonly(np.asarray(inits, dtype=float).reshape(-1))
        self._bounds = _readonly(np.asarray(bounds, dtype=float).reshape(-1, 2))
        self._fixed = _readonly(np.asarray(fixed, dtype=bool).reshape(-1))
        for what, arr in (("inits", self._inits), ("bounds", self._bounds), ("fixed", self._fixed)):
            if arr.shape[0] != pos:
                msg = f"parameter layout: {what} has {arr.shape[0]} rows, the layout {pos} components"
                raise ModelSpecError(msg)
        if poi is not None and poi not in self._by_name:
            msg = f"parameter layout: the POI {poi!r} is not a parameter"
            raise ModelSpecError(msg)
        self._poi = poi
        self._bindings = tuple(bindings)
        self._labels = tuple(lab for e in self._entries for lab in e.labels)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_pyhf(
        cls,
        config: Any,
        reweightings: Mapping[str, Reweighting] | Iterable[Reweighting] = (),
    ) -> ParameterLayout:
        """The layout of a pyhf model configuration.

        Parameters
        ----------
        config : pyhf.pdf._ModelConfig
            ``model.config`` (or the configuration a pyhf modifier applier receives).
        reweightings : mapping or iterable of redist.weights.Reweighting
            The model's reweightings; their exposed parameters and correlated groups
            become ``THEORY`` and ``THEORY_GROUP`` entries with theory bindings.

        Returns
        -------
        ParameterLayout
        """
        rws = list(reweightings.values()) if isinstance(reweightings, Mapping) else list(reweightings)
        declared = {}
        groups: dict[str, CorrelatedGroup] = {}
        for rw in rws:
            plain = {p.name: p for p in rw.theory.parameters}
            for name in rw.parameters:
                declared[name] = plain[name]
            if rw.nuisance_groups:
                groups.update({g.name: g for g in rw.theory.groups})
        mtypes: dict[str, list[str]] = {}
        for mname, mtype in getattr(config, "modifiers", ()):
            have = mtypes.setdefault(mname, [])
            if mtype not in have:
                have.append(mtype)
        entries = []
        for name in config.par_order:
            sl = config.par_slice(name)
            ps = config.param_set(name)
            constrained = bool(getattr(ps, "constrained", False))
            constraint = str(ps.pdf_type) if constrained else None
            if name in declared:
                kind = ParameterKind.THEORY
            elif name in groups:
                kind = ParameterKind.THEORY_GROUP
            elif constrained:
                kind = ParameterKind.NUISANCE
            else:
                kind = ParameterKind.NORMFACTOR
            entries.append(
                ParameterEntry(
                    name=name,
                    start=int(sl.start),
                    size=int(sl.stop - sl.start),
                    kind=kind,
                    scalar=bool(ps.is_scalar),
                    constraint=constraint,
                    modifiers=tuple(mtypes.get(name, ())),
                    linear=declared[name].linear if name in declared else True,
                    members=groups[name].parameters if kind is ParameterKind.THEORY_GROUP else (),
                )
            )
        start = {e.name: e.start for e in entries}
        bindings = []
        for rw in rws:
            missing = [p for p in rw.parameters if p not in start]
            if missing:
                msg = f"reweighting {rw.name!r}: parameters {missing} are not in the pyhf model"
                raise ModelSpecError(msg)
            base = {**rw.theory.defaults(), **{k: float(v) for k, v in rw.values.items()}}
            bgroups = tuple((g, start[g.name]) for g in rw.theory.groups if rw.nuisance_groups)
            bindings.append(
                TheoryBinding(
                    reweighting=rw.name,
                    base=base,
                    names=tuple(rw.parameters),
                    indices=tuple(start[p] for p in rw.parameters),
                    groups=bgroups,
                )
            )
        return cls(
            entries,
            inits=config.suggested_init(),
            bounds=config.suggested_bounds(),
            fixed=config.suggested_fixed(),
            poi=getattr(config, "poi_name", None),
            bindings=bindings,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (non-finite bounds become ``None``); inverse of :meth:`from_dict`."""
        return {
            "entries": [e.to_dict() for e in self._entries],
            "inits": self._inits.tolist(),
            "bounds": [[v if math.isfinite(v) else None for v in row] for row in self._bounds.tolist()],
            "fixed": self._fixed.tolist(),
            "poi": self._poi,
            "bindings": [b.to_dict() for b in self._bindings],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ParameterLayout:
        """Rebuild from :meth:`to_dict` output."""
        bounds = [
            [-math.inf if row[0] is None else row[0], math.inf if row[1] is None else row[1]]
            for row in doc["bounds"]
        ]
        return cls(
            [ParameterEntry.from_dict(e) for e in doc["entries"]],
            inits=doc["inits"],
            bounds=bounds,
            fixed=doc["fixed"],
            poi=doc.get("poi"),
            bindings=[TheoryBinding.from_dict(b) for b in doc.get("bindings", ())],
        )

    def with_poi(self, poi: str | None) -> ParameterLayout:
        """The same layout with another parameter of interest."""
        return ParameterLayout(
            self._entries,
            inits=self._inits,
            bounds=self._bounds,
            fixed=self._fixed,
            poi=poi,
            bindings=self._bindings,
        )

    # -- what is where -----------------------------------------------------------------
    @property
    def entries(self) -> tuple[ParameterEntry, ...]:
        """Parameters in vector order."""
        return self._entries

    @property
    def names(self) -> tuple[str, ...]:
        """Pyhf parameter names in vector order."""
        return tuple(self._by_name)

    @property
    def labels(self) -> tuple[str, ...]:
        """One display label per vector component (``name`` or ``name[i]``); never parsed."""
        return self._labels

    @property
    def size(self) -> int:
        """Number of vector components."""
        return self._size

    @property
    def poi(self) -> str | None:
        """Parameter of interest."""
        return self._poi

    @property
    def inits(self) -> np.ndarray:
        """Suggested initial vector (read-only)."""
        return self._inits

    @property
    def bounds(self) -> np.ndarray:
        """Suggested bounds, shape ``(size, 2)`` (read-only)."""
        return self._bounds

    @property
    def fixed(self) -> np.ndarray:
        """Components fixed by the model (e.g. the measurement), shape ``(size,)`` (read-only)."""
        return self._fixed

    @property
    def bindings(self) -> tuple[TheoryBinding, ...]:
        """One theory binding per reweighting."""
        return self._bindings

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParameterLayout):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kinds = {k: len(self.names_of(k)) for k in ParameterKind}
        desc = ", ".join(f"{n} {k.value}" for k, n in kinds.items() if n)
        return f"<ParameterLayout: {len(self._entries)} parameters, {self._size} components ({desc})>"

    def check(self, name: str, kind: ParameterKind | Iterable[ParameterKind] | None = None) -> ParameterEntry:
        """The entry of ``name``, or :class:`~redist.exceptions.UnknownParameter`.

        The message lists every valid name (of the requested kinds) and suggests the
        closest one.

        Parameters
        ----------
        name : str
            Parameter name.
        kind : ParameterKind or iterable of ParameterKind, optional
            Accept only parameters of these kinds.

        Examples
        --------
        >>> import pyhf
        >>> m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
        >>> ParameterLayout.from_pyhf(m.config).check("muu")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        redist.exceptions.UnknownParameter: model has no parameter 'muu' (did you mean 'mu'?); valid: ...
        """
        kinds = None if kind is None else ({kind} if isinstance(kind, ParameterKind) else set(kind))
        entry = self._by_name.get(name)
        if entry is not None and (kinds is None or entry.kind in kinds):
            return entry
        valid = [e.name for e in self._entries if kinds is None or e.kind in kinds]
        what = "parameter" if kinds is None else " or ".join(sorted(k.value for k in kinds)) + " parameter"
        if entry is not None:
            msg = f"{name!r} is a {entry.kind.value} parameter, not a {what}; valid: {', '.join(valid)}"
            raise UnknownParameter(msg)
        hint = ""
        if name in self._labels:
            comp = self._labels.index(name)
            owner = next(e for e in self._entries if e.start <= comp < e.start + e.size)
            hint = (
                f" ({name!r} is a display label: pass the name {owner.name!r} "
                f"and component {comp - owner.start})"
            )
        else:
            close = difflib.get_close_matches(name, valid, n=1)
            if not close:  # case slips ('cvl' for 'cVL') score low in difflib: compare case-folded too
                folded = {v.casefold(): v for v in valid}
                hit = difflib.get_close_matches(name.casefold(), list(folded), n=1)
                close = [folded[hit[0]]] if hit else []
            if close:
                hint = f" (did you mean {close[0]!r}?)"
        msg = f"model has no {what} {name!r}{hint}; valid: {', '.join(valid) or '(none)'}"
        raise UnknownParameter(msg)

    def entry(self, name: str) -> ParameterEntry:
        """The entry of a parameter (see :meth:`check`)."""
        return self.check(name)

    def slice(self, name: str) -> slice:
        """Slice of the vector holding ``name``."""
        return self.check(name).slice

    def index(self, name: str, component: int | None = None) -> int:
        """Vector index of a scalar parameter, or of ``component`` of a vector parameter."""
        e = self.check(name)
        if component is None:
            if e.size != 1:
                msg = f"{name!r} has {e.size} components; pass component= (0 to {e.size - 1})"
                raise ModelSpecError(msg)
            return e.start
        if not 0 <= int(component) < e.size:
            msg = f"component {component} out of range for {name!r} ({e.size} components)"
            raise ModelSpecError(msg)
        return e.start + int(component)

    def kind(self, name: str) -> ParameterKind:
        """What ``name`` is."""
        return self.check(name).kind

    def names_of(self, *kinds: ParameterKind) -> tuple[str, ...]:
        """Names of the parameters of the given kinds, in vector order."""
        return tuple(e.name for e in self._entries if e.kind in kinds)

    def mask(self, names: Iterable[str]) -> np.ndarray:
        """Boolean mask of the components of ``names``."""
        m = np.zeros(self._size, dtype=bool)
        for n in names:
            m[self.slice(n)] = True
        return m

    # -- values ----------------------------------------------------------------------
    def _assign(self, vec: np.ndarray, name: str, value: Any, what: str) -> None:
        e = self.check(name)
        arr = np.atleast_1d(np.asarray(value, dtype=float))
        if arr.size == 1:
            arr = np.full(e.size, float(arr[0]))
        if arr.size != e.size:
            msg = f"{what} value for {name!r} has {arr.size} components, the parameter has {e.size}"
            raise ModelSpecError(msg)
        vec[e.slice] = arr

    def to_vector(
        self, mapping: ParameterValues | None = None, base: npt.ArrayLike | None = None
    ) -> np.ndarray:
        """A parameter vector from values by name.

        Parameters
        ----------
        mapping : mapping, optional
            ``name -> value``: a float for scalars, a sequence (or a float broadcast to
            every component) for vector parameters; ``None`` keeps the base value.
        base : array_like, optional
            Vector to start from (default: :attr:`inits`); not modified.

        Returns
        -------
        numpy.ndarray
            A new vector.
        """
        vec = np.array(self._inits if base is None else base, dtype=float)
        if vec.shape != (self._size,):
            msg = f"base vector has shape {vec.shape}, the layout has {self._size} components"
            raise ModelSpecError(msg)
        for k, v in (mapping or {}).items():
            if v is not None:
                self._assign(vec, k, v, "the")
        return vec

    def to_mapping(self, vector: npt.ArrayLike) -> dict[str, float | list[float]]:
        """``{name: float}`` for scalar parameters, ``{name: [floats]}`` for vector ones."""
        x = np.asarray(vector, dtype=float)
        out: dict[str, float | list[float]] = {}
        for e in self._entries:
            v = x[e.slice]
            out[e.name] = float(v[0]) if e.scalar else [float(t) for t in v]
        return out

    def fix(
        self,
        fixed: FixedValues | None = None,
        *,
        base: npt.ArrayLike | None = None,
        kinds: Iterable[ParameterKind] = (),
    ) -> tuple[np.ndarray, np.ndarray]:
        """Start vector and fixed mask for a fit.

        Parameters
        ----------
        fixed : mapping or iterable of str, optional
            Parameters to fix, with values (``None``: at the base value) or as bare names.
        base : array_like, optional
            Start vector (default: :attr:`inits`).
        kinds : iterable of ParameterKind
            Also fix every parameter of these kinds (at the base value).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            The vector with fixed values written in, and the mask of fixed components
            (including :attr:`fixed`).
        """
        items = list(fixed.items()) if isinstance(fixed, Mapping) else [(k, None) for k in fixed or ()]
        vec = self.to_vector(dict(items), base)
        mask = self._fixed.copy()
        for k, _ in items:
            mask[self.slice(k)] = True
        wanted = set(kinds)
        for e in self._entries:
            if e.kind in wanted:
                mask[e.slice] = True
        return vec, mask

    def theory_values(self, vector: Any, xp: ModuleType = np) -> dict[str, dict[str, Any]]:
        """Physical theory values at a parameter vector, per reweighting.

        Every declared parameter of each reweighting's theory B is set: exposed ones
        from the vector, correlated groups through
        :meth:`~redist.theory.CorrelatedGroup.physical`, the rest at the
        reweighting's fixed values or the theory defaults.

        Parameters
        ----------
        vector : array
            Full parameter vector (numpy, or a jax tracer).
        xp : module
            ``numpy`` (values are plain floats) or ``jax.numpy`` (traceable).

        Returns
        -------
        dict
            ``reweighting name -> {theory parameter: value}``.
        """
        return {b.reweighting: b.values(vector, xp) for b in self._bindings}

    def physical_values(self, vector: npt.ArrayLike) -> dict[str, float]:
        """Theory values of all reweightings merged into one ``{name: float}`` (numpy)."""
        x = np.asarray(vector, dtype=float)
        out: dict[str, float] = {}
        for b in self._bindings:
            out.update({k: float(v) for k, v in b.values(x, np).items()})
        return out
