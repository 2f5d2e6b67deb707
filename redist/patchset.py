"""pyhf patchsets of reweighted signal templates, for users of plain pyhf.

A reinterpreted model evaluated at a fixed theory point is an ordinary
HistFactory workspace (:meth:`~redist.reinterpret.ReinterpretedModel.to_workspace`).
For a grid of theory points, :func:`make_patchset` writes the HEPData
convention: one *background-only* workspace plus a pyhf **patchset** whose
patches (JSON Patch operations) turn it into the workspace of each point. The
result validates against pyhf's ``patchset.json`` schema and works with plain
pyhf::

    pyhf patchset apply bkgonly.json patchset.json --name cVL_10_cTL_0 > ws.json
    pyhf cls ws.json

Two conventions for the signal samples (``signal=``):

``"replace"`` (default)
    The background-only workspace keeps the signal samples, evaluated at the
    reference point (the theory defaults, e.g. the SM). Each patch replaces
    their nominal ``data``, the ``lo_data``/``hi_data`` of their histosys
    modifiers and the ``data`` of their staterror/shapesys modifiers -- all
    scaled by the same per-fit-bin factor
    (:meth:`~redist.reinterpret.ReinterpretedModel.factors`).
``"add"``
    The background-only workspace has no reweighted samples; each patch adds
    them (as HEPData SUSY patchsets do).

With ``ff_histosys`` the theory nuisances (e.g. form-factor uncertainties)
travel as histosys modifiers: for every correlated group and eigen-direction
``k`` the templates are evaluated with the group's physical values at
``eta_k = -1`` (``lo_data``) and ``+1`` (``hi_data``), all other components at 0.
The modifier is named ``{group}_eig{k}`` and is shared by all reweighted
samples, so it is correlated across channels as in the redist model.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyhf

from .exceptions import PatchsetError, RedistError
from .modifier import MODIFIER_TYPE
from .reinterpret import ReinterpretedModel
from .workspace import plain_spec, sample_paths, scale_sample

__all__ = [
    "PatchsetError",
    "PatchsetResult",
    "grid_points",
    "make_patchset",
    "parse_grid",
    "patch_name",
    "plain_workspace",
]


def __dir__() -> list[str]:
    return list(__all__)


#: pyhf's exceptions (pyhf has no common base class for them)
_PYHF_ERRORS = tuple(
    c for c in vars(pyhf.exceptions).values() if isinstance(c, type) and issubclass(c, Exception)
)


_LABEL = re.compile(r"^[a-zA-Z0-9_]+$")
_HEPDATA = re.compile(r"^ins[0-9]{7}$")


@dataclass(frozen=True)
class PatchsetResult:
    """A background-only workspace and the patchset that completes it.

    Attributes
    ----------
    bkg_only : pyhf.Workspace
        The workspace the patches apply to (its sha256 digest is in the patchset).
    patchset : dict
        The patchset document (validated against pyhf's schema).
    points : list of dict
        Theory point of each patch, in patch order.
    """

    bkg_only: pyhf.Workspace
    patchset: dict[str, Any]
    points: list[dict[str, float]]

    def to_pyhf(self) -> pyhf.PatchSet:
        """The patchset as a :class:`pyhf.PatchSet` (validates it)."""
        return pyhf.PatchSet(copy.deepcopy(self.patchset))

    def apply(self, name: str) -> pyhf.Workspace:
        """The workspace of the patch ``name`` (as ``pyhf patchset apply`` would produce it)."""
        return self.to_pyhf().apply(self.bkg_only, name)


# ----------------------------------------------------------------------------- grids
def parse_grid(text: str) -> tuple[str, np.ndarray]:
    """Parse a grid option ``NAME=LO:HI:N`` (inclusive linspace), ``NAME=V1,V2,...`` or ``NAME=V``.

    ``N`` and the number of listed values are capped by ``max_grid_points`` of
    :mod:`redist.io.limits` before anything is allocated.

    Examples
    --------
    >>> parse_grid("cVL=0:20:5")[1].tolist()
    [0.0, 5.0, 10.0, 15.0, 20.0]
    >>> parse_grid("cTL=1,2.5")
    ('cTL', array([1. , 2.5]))
    """
    from .io.limits import check

    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name or not spec.strip():
        msg = f"grid {text!r}: expected NAME=LO:HI:N, NAME=V1,V2,... or NAME=V"
        raise PatchsetError(msg)
    try:
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) != 3:
                msg = f"grid {text!r}: a range needs LO:HI:N"
                raise PatchsetError(msg)
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 1 or (n == 1 and lo != hi):
                msg = f"grid {text!r}: N must be at least 1 (and 1 only with LO = HI)"
                raise PatchsetError(msg)
            check("max_grid_points", n, what="grid points", where=f"grid {text!r}", error=PatchsetError)
            values = np.linspace(lo, hi, n)
        else:
            check("max_grid_points", spec.count(",") + 1, what="grid points", where=f"grid {text!r}",
                  error=PatchsetError)
            values = np.array([float(v) for v in spec.split(",")])
    except ValueError as err:
        if isinstance(err, PatchsetError):
            raise
        msg = f"grid {text!r}: not a number ({err})"
        raise PatchsetError(msg) from err
    if not np.all(np.isfinite(values)):
        msg = f"grid {text!r}: values must be finite"
        raise PatchsetError(msg)
    return name, values


def grid_points(grid: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """Cartesian product of per-parameter values, first parameter slowest.

    Examples
    --------
    >>> grid_points({"a": [0, 1], "b": [5]})
    [{'a': 0.0, 'b': 5.0}, {'a': 1.0, 'b': 5.0}]

    The product is capped by ``max_grid_points`` of :mod:`redist.io.limits`
    before it is built.
    """
    from .io.limits import check

    names = list(grid)
    sizes = [int(np.size(grid[n])) for n in names]
    check("max_grid_points", math.prod(sizes), what="grid points (product over parameters)",
          where=f"grid {' x '.join(f'{n}[{k}]' for n, k in zip(names, sizes))}", error=PatchsetError)
    axes = [[float(v) for v in np.atleast_1d(grid[n])] for n in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


def _fmt(v: float) -> str:
    s = f"{v:g}"
    return s.replace("-", "m").replace("+", "").replace(".", "p")


def patch_name(point: Mapping[str, float]) -> str:
    """A patch name matching pyhf's ``^[a-zA-Z0-9_]+$`` (``.`` -> ``p``, ``-`` -> ``m``).

    Examples
    --------
    >>> patch_name({"cVL": 6.5, "cTL": -1e-05})
    'cVL_6p5_cTL_m1em05'
    """
    return "_".join(f"{k}_{_fmt(float(v))}" for k, v in point.items())


# ----------------------------------------------------------------------------- workspaces
def _ff_groups(rm: ReinterpretedModel, ff_histosys: bool | Sequence[str]) -> list[Any]:
    groups = {g.name: g for rw in rm.reweightings.values() for g in rw.theory.groups}
    if ff_histosys is True:
        return list(groups.values())
    if not ff_histosys:
        return []
    wanted = [ff_histosys] if isinstance(ff_histosys, str) else list(ff_histosys)
    for name in wanted:
        if name not in groups:
            msg = f"no theory nuisance group {name!r}; groups: {list(groups)}"
            raise PatchsetError(msg)
    return [groups[n] for n in wanted]


def _ff_modifiers(
    rm: ReinterpretedModel, point: Mapping[str, float], groups: Sequence[Any]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Histosys modifiers (±1σ per eigen-direction) of every reweighted sample at ``point``."""
    orig = {
        (ch["name"], s["name"]): np.asarray(s["data"], float)
        for ch in rm.spec["channels"]
        for s in ch["samples"]
    }
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for g in groups:
        for k in range(len(g.parameters)):
            shifted = {}
            for sign in (-1.0, 1.0):
                eta = np.zeros(len(g.parameters))
                eta[k] = sign
                phys = {n: float(v) for n, v in g.physical(eta).items()}
                shifted[sign] = rm.factors({**point, **phys})
            for key in shifted[1.0]:
                out.setdefault(key, []).append(
                    {
                        "name": f"{g.name}_eig{k}",
                        "type": "histosys",
                        "data": {
                            "hi_data": (orig[key] * shifted[1.0][key]).tolist(),
                            "lo_data": (orig[key] * shifted[-1.0][key]).tolist(),
                        },
                    }
                )
    return out


def plain_workspace(
    rm: ReinterpretedModel,
    point: Mapping[str, float] | None = None,
    *,
    ff_histosys: bool | Sequence[str] = False,
) -> pyhf.Workspace:
    """Plain pyhf workspace at a theory point, optionally with theory-nuisance histosys.

    Parameters
    ----------
    rm : ReinterpretedModel
        The reinterpreted model.
    point : mapping, optional
        Theory parameters by physical name (others at their defaults).
    ff_histosys : bool or sequence of str
        Add ±1σ histosys modifiers along each eigen-direction of the theory's
        correlated nuisance groups (all groups if ``True``, or the named ones).

    Returns
    -------
    pyhf.Workspace
        :meth:`ReinterpretedModel.to_workspace` plus the histosys modifiers.
    """
    point = dict(point or {})
    ws = rm.to_workspace(point)
    groups = _ff_groups(rm, ff_histosys)
    if not groups:
        return ws
    spec = copy.deepcopy(dict(ws))
    variations = _ff_modifiers(rm, point, groups)
    for ch in spec["channels"]:
        for s in ch["samples"]:
            s["modifiers"].extend(variations.get((ch["name"], s["name"]), []))
    return pyhf.Workspace(spec)


class _SampleScaler:
    """Reweighted samples of the plain workspace at any point, without rebuilding the workspace.

    The samples of :func:`redist.workspace.plain_spec` at unit factors, scaled per
    point with :func:`redist.workspace.scale_sample` -- the rule
    :meth:`ReinterpretedModel.to_workspace` applies -- plus the theory-nuisance
    histosys modifiers of :func:`plain_workspace`.
    """

    def __init__(
        self, rm: ReinterpretedModel, keys: Iterable[tuple[str, str]], groups: Sequence[Any]
    ) -> None:
        self.rm = rm
        self.groups = list(groups)
        unit = plain_spec(rm.spec, dict.fromkeys(keys, 1.0), drop_type=MODIFIER_TYPE)
        self.unit = {(ch["name"], s["name"]): s for ch in unit["channels"] for s in ch["samples"]}

    def samples(self, point: Mapping[str, float]) -> dict[tuple[str, str], dict[str, Any]]:
        fac = self.rm.factors(point)
        ff = _ff_modifiers(self.rm, point, self.groups) if self.groups else {}
        out = {}
        for key, f in fac.items():
            s = scale_sample(self.unit[key], f)
            s["modifiers"].extend(copy.deepcopy(ff.get(key, [])))
            out[key] = s
        return out


def _replace_ops(
    samples: Mapping[tuple[str, str], Any], paths: Mapping[tuple[str, str], tuple[int, int]]
) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    for key, (i, j) in paths.items():
        s = samples[key]
        base = f"/channels/{i}/samples/{j}"
        ops.append({"op": "replace", "path": f"{base}/data", "value": s["data"]})
        for k, m in enumerate(s["modifiers"]):
            if m["type"] in ("histosys", "staterror", "shapesys"):
                ops.append({"op": "replace", "path": f"{base}/modifiers/{k}/data", "value": m["data"]})
    return ops


def make_patchset(
    rm: ReinterpretedModel,
    points: Sequence[Mapping[str, float]] | Mapping[str, Sequence[float]],
    *,
    hepdata: str,
    ff_histosys: bool | Sequence[str] = False,
    signal: str = "replace",
    reference: Mapping[str, float] | None = None,
    description: str | None = None,
) -> PatchsetResult:
    """Background-only workspace plus a pyhf patchset over theory points.

    Parameters
    ----------
    rm : ReinterpretedModel
        The reinterpreted model (e.g. ``redist.load("model.json")``).
    points : sequence of mapping, or mapping of str to sequence
        Theory points (physical parameter names), or a grid
        ``{"cVL": [...], "cTL": [...]}`` expanded with :func:`grid_points`.
        Every point must name the same parameters; they become the patchset
        ``labels``.
    hepdata : str
        INSPIRE id of the analysis' HEPData record (``"ins"`` + 7 digits), the
        patchset's required reference.
    ff_histosys : bool or sequence of str
        Carry theory-nuisance variations as histosys (see :func:`plain_workspace`).
    signal : {"replace", "add"}
        Keep the reweighted samples in the background-only workspace at the
        reference point and replace their data, or leave them out and add them.
    reference : mapping, optional
        Theory point of the background-only workspace for ``signal="replace"``
        (default: theory defaults).
    description : str, optional
        Patchset description.

    Returns
    -------
    PatchsetResult
    """
    if isinstance(points, Mapping):
        points = grid_points(points)
    pts = [{str(k): float(v) for k, v in p.items()} for p in points]
    if not pts:
        msg = "no theory points given"
        raise PatchsetError(msg)
    labels = list(pts[0])
    for p in pts:
        if list(p) != labels:
            msg = f"every point must name the parameters {labels} in this order; got {list(p)}"
            raise PatchsetError(msg)
    for lab in labels:
        if not _LABEL.match(lab):
            msg = f"parameter {lab!r} cannot be a patchset label (allowed: letters, digits, _)"
            raise PatchsetError(msg)
    if not isinstance(hepdata, str) or not _HEPDATA.match(hepdata):
        msg = f"hepdata reference {hepdata!r} must be 'ins' followed by 7 digits (INSPIRE id)"
        raise PatchsetError(msg)
    if signal not in ("replace", "add"):
        msg = f"signal must be 'replace' or 'add', not {signal!r}"
        raise PatchsetError(msg)
    keys = set(rm.factors(reference))
    groups = _ff_groups(rm, ff_histosys)
    ref_spec = dict(plain_workspace(rm, reference, ff_histosys=ff_histosys))
    scaler = _SampleScaler(rm, keys, groups)
    paths = {k: v for k, v in sample_paths(ref_spec).items() if k in keys}
    bkg_spec = copy.deepcopy(ref_spec)
    if signal == "add":
        for i, j in sorted(paths.values(), reverse=True):
            del bkg_spec["channels"][i]["samples"][j]
        for ch in bkg_spec["channels"]:
            if not ch["samples"]:
                msg = f"channel {ch['name']!r} holds only reweighted samples; use signal='replace'"
                raise PatchsetError(msg)
    try:
        bkg_only = pyhf.Workspace(bkg_spec)
    except _PYHF_ERRORS as err:
        msg = f"background-only workspace is invalid: {err}"
        raise PatchsetError(msg) from err
    patches = []
    names: set[str] = set()
    for p in pts:
        samples = scaler.samples(p)
        if signal == "replace":
            ops = _replace_ops(samples, paths)
        else:
            ops = [
                {"op": "add", "path": f"/channels/{i}/samples/-", "value": samples[key]}
                for key, (i, _) in paths.items()
            ]
        name = patch_name(p)
        base, n = name, 1
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.add(name)
        patches.append({"metadata": {"name": name, "values": [p[k] for k in labels]}, "patch": ops})
    theories = ", ".join(sorted({rw.theory.name for rw in rm.reweightings.values()}))
    doc = {
        "metadata": {
            "description": description
            or (
                f"redist reinterpretation ({theories}): signal templates reweighted to each theory "
                f"point; labels {labels}"
                + ("; theory nuisances as histosys" if ff_histosys else "")
            ),
            "digests": {"sha256": pyhf.utils.digest(bkg_only, algorithm="sha256")},
            "labels": labels,
            "references": {"hepdata": hepdata},
        },
        "patches": patches,
        "version": "1.0.0",
    }
    try:
        pyhf.schema.validate(doc, "patchset.json")
    except pyhf.exceptions.InvalidSpecification as err:  # pragma: no cover - a bug if it fires
        msg = f"generated patchset fails pyhf's schema: {err}"
        raise RedistError(msg) from err
    return PatchsetResult(bkg_only=bkg_only, patchset=doc, points=pts)
