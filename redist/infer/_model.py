"""Parameter bookkeeping shared by fits, scans, limits and samplers.

:class:`ParameterSpace` maps pyhf parameter names (scalar or vector) to slices
of the full parameter vector, knows bounds, initial values and which components
are fixed, and turns user mappings (``fixed=``, ``init=``) into vectors, naming
the culprit when a name or a length is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..exceptions import ModelSpecError, UnknownParameter

__all__ = ["ParameterSpace", "theory_group_names"]


def theory_group_names(model: Any) -> list[str]:
    """Names of correlated theory nuisance groups (e.g. form factors) of a reinterpreted model."""
    out: list[str] = []
    for rw in getattr(model, "reweightings", {}).values():
        if rw.nuisance_groups:
            out.extend(g.name for g in rw.theory.groups)
    return out


class ParameterSpace:
    """Names, slices, bounds and initial values of a pyhf model's parameters.

    Parameters
    ----------
    cfg : pyhf.pdf._ModelConfig
        The pyhf model's configuration.
    groups : sequence of str
        Names of correlated theory nuisance groups (see :func:`theory_group_names`).
    """

    def __init__(self, cfg: Any, groups: Sequence[str] = ()) -> None:
        self.names: list[str] = list(cfg.par_order)
        self.slices: dict[str, slice] = {n: cfg.par_slice(n) for n in self.names}
        self.npars: int = cfg.npars
        self.init = np.asarray(cfg.suggested_init(), dtype=float)
        self.bounds = np.asarray(cfg.suggested_bounds(), dtype=float)
        self.fixed_default = np.asarray(cfg.suggested_fixed(), dtype=bool)
        self.poi: str | None = cfg.poi_name
        self.groups = list(groups)
        self.constrained = {n: bool(getattr(cfg.param_set(n), "constrained", False))
                            for n in self.names}
        self.labels: list[str] = []
        for n in self.names:
            k = self.slices[n].stop - self.slices[n].start
            self.labels.extend([n] if k == 1 and cfg.param_set(n).is_scalar else
                               [f"{n}[{i}]" for i in range(k)])

    def check(self, name: str) -> None:
        """Raise :class:`~redist.exceptions.UnknownParameter` for an unknown name."""
        if name not in self.slices:
            msg = f"model has no parameter {name!r}; parameters: {', '.join(self.names[:30])}" + (
                " ..." if len(self.names) > 30 else ""
            )
            raise UnknownParameter(msg)

    def is_scalar(self, name: str) -> bool:
        """Whether a parameter has a single component."""
        sl = self.slices[name]
        return sl.stop - sl.start == 1

    def _assign(self, vec: np.ndarray, name: str, value: Any, what: str) -> None:
        self.check(name)
        sl = self.slices[name]
        arr = np.atleast_1d(np.asarray(value, dtype=float))
        n = sl.stop - sl.start
        if arr.size == 1:
            arr = np.full(n, float(arr[0]))
        if arr.size != n:
            msg = f"{what} value for {name!r} has {arr.size} components, the parameter has {n}"
            raise ModelSpecError(msg)
        vec[sl] = arr

    def start(self, init: Mapping[str, Any] | None = None) -> np.ndarray:
        """Initial vector: suggested inits with overrides by name."""
        x = self.init.copy()
        for k, v in (init or {}).items():
            self._assign(x, k, v, "init")
        return x

    def fixed_mask(
        self,
        x: np.ndarray,
        fixed: Mapping[str, Any] | Sequence[str] | None,
        *,
        fix_groups: bool = False,
    ) -> np.ndarray:
        """Mask of fixed components; writes fixed values into ``x`` (``None``: keep ``x``)."""
        mask = self.fixed_default.copy()
        items = fixed.items() if isinstance(fixed, Mapping) else ((k, None) for k in fixed or ())
        for k, v in items:
            self.check(k)
            if v is not None:
                self._assign(x, k, v, "fixed")
            mask[self.slices[k]] = True
        if fix_groups:
            for g in self.groups:
                mask[self.slices[g]] = True
        return mask

    def values(self, x: np.ndarray) -> dict[str, float | list[float]]:
        """Vector -> ``{name: float or list}``."""
        out: dict[str, float | list[float]] = {}
        for n in self.names:
            v = x[self.slices[n]]
            out[n] = float(v[0]) if self.is_scalar(n) else [float(t) for t in v]
        return out

    def index(self, name: str) -> int:
        """Index of a scalar parameter (or a component ``name[i]``) in the full vector."""
        if name in self.slices and self.is_scalar(name):
            return self.slices[name].start
        if name.endswith("]") and "[" in name:
            base, _, i = name[:-1].rpartition("[")
            self.check(base)
            k = int(i)
            sl = self.slices[base]
            if not 0 <= k < sl.stop - sl.start:
                msg = f"component {k} out of range for {base!r} ({sl.stop - sl.start} components)"
                raise ModelSpecError(msg)
            return sl.start + k
        self.check(name)
        msg = f"{name!r} is a vector parameter; name a component like '{name}[0]'"
        raise ModelSpecError(msg)
