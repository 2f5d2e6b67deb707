"""HistFactory workspace spec -> flat numpy tensors (no jax).

:func:`model_tensors` reads the channels, samples and modifiers of a pyhf
model's spec and the parameter metadata of its configuration (order, slices,
suggested inits/bounds/fixed, auxiliary data, constraint widths) and returns a
:class:`ModelTensors`: the few small arrays the fused likelihood
(:mod:`redist.engine._likelihood`) needs. The parameter vector is pyhf's
(``config.par_order`` / ``config.par_slice``) and the data vector is pyhf's
(main bins in ``config.channels`` order, then ``config.auxdata``), so vectors
and results are interchangeable with pyhf.

Layout
------
A *cell* is one (sample, global bin) pair of a sample that is defined in that
bin's channel; pyhf's zero padding of undefined samples is dropped. Per cell::

    yield_c = (nominal_c + sum_e delta_e) * prod_k v[table_ck]

* histosys deltas are **sparse entries** ``(cell, parameter, up, down)`` with
  ``up = hi - nominal`` and ``down = nominal - lo``, only for cells whose
  variation is non-zero; the delta is pyhf's piecewise function of ``alpha``
  (code0: ``alpha * up`` or ``alpha * down``; code4p: the same beyond ``|alpha| = 1``
  and pyhf's polynomial in ``S = (up + down) / 2``, ``A = (up - down) / 16`` inside);
* every multiplicative effect is one column of ``table``, an index into
  ``v = [pars, normsys factors, reweighting factors, 1]`` (padding points at the
  trailing 1): normfactor, lumi, staterror, shapesys and shapefactor gather a
  parameter, normsys gathers one interpolated factor per (channel, sample)
  entry, the redist modifier one reweighting factor per cell;
* bins sum their cells; the main term is Poisson, constraints are pyhf's
  Gaussian (``sigmas``) and Poisson (``factors``, continuous factorial) terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ..exceptions import ModelSpecError

__all__ = ["ModelTensors", "ReweightingBlock", "model_tensors"]

#: modifier types whose factor is a parameter value gathered per cell
_DIRECT = ("normfactor", "lumi", "staterror", "shapesys", "shapefactor")
_SUPPORTED = {*_DIRECT, "normsys", "histosys", "redist"}


@dataclass(frozen=True)
class ReweightingBlock:
    """The cells one redist reweighting multiplies, and their migration rows.

    Attributes
    ----------
    reweighting : redist.weights.Reweighting
        The theory reweighting (theory, kernel, exposed parameters).
    binding : redist.layout.TheoryBinding
        How the reweighting reads its theory values from the parameter vector
        (the model's :class:`~redist.layout.ParameterLayout`).
    cells : numpy.ndarray
        Cell indices (int) the factor applies to.
    migration : numpy.ndarray
        Row-normalised ``n(x, z) / sum_z n(x, z)``, shape ``(len(cells), n_z)``.
    offset : int
        Position of the first factor of this block in the reweighting part of ``v``.
    """

    reweighting: Any
    binding: Any
    cells: np.ndarray
    migration: np.ndarray
    offset: int


@dataclass(frozen=True)
class ModelTensors:
    """Flat arrays describing one HistFactory model (see the module docstring).

    Attributes
    ----------
    names, labels : tuple of str
        pyhf parameter names (``config.par_order``) and one label per component
        (``name[i]`` for vector parameters).
    slices : dict
        ``name -> slice`` into the parameter vector (``config.par_slice``).
    init, bounds, fixed : numpy.ndarray
        pyhf's suggested inits ``(P,)``, bounds ``(P, 2)`` and fixed flags ``(P,)``.
    poi_index : int or None
        Index of the parameter of interest.
    n_main, n_aux : int
        Number of main bins and of auxiliary data.
    cell_bin, nominal : numpy.ndarray
        Global bin ``(C,)`` and nominal yield ``(C,)`` of each cell (sorted by bin).
    hs_code : str
        Histosys interpolation code (``"code0"`` or ``"code4p"``).
    hs_par : numpy.ndarray
        Parameter indices of the histosys parameters ``(H,)``.
    hs_cell, hs_which, hs_up, hs_dn : numpy.ndarray
        Sparse histosys entries: cell, index into ``hs_par``, ``hi - nominal`` and
        ``nominal - lo``.
    ns_code : str
        Normsys interpolation code (``"code1"`` or ``"code4"``).
    ns_par, ns_hi, ns_lo, ns_poly : numpy.ndarray
        Normsys entries (one per modifier and (channel, sample)): parameter
        index, ``hi`` and ``lo`` factors, code4 polynomial coefficients ``(N, 6)``.
    table : numpy.ndarray
        ``(C, K)`` indices into ``v = [pars, normsys factors, reweighting factors, 1]``.
    reweightings : tuple of ReweightingBlock
        redist reweightings and the cells they multiply.
    n_rw : int
        Number of reweighting factors (cells summed over blocks).
    gauss_par, gauss_aux, gauss_sigma : numpy.ndarray
        Gaussian constraints: parameter index, auxdata index, width.
    pois_par, pois_aux, pois_factor : numpy.ndarray
        Poisson constraints: parameter index, auxdata index, rate factor.
    data : numpy.ndarray or None
        Observed main data followed by the auxdata, when the source has observations.
    """

    names: tuple[str, ...]
    labels: tuple[str, ...]
    slices: Mapping[str, slice]
    init: np.ndarray
    bounds: np.ndarray
    fixed: np.ndarray
    poi_index: int | None
    n_main: int
    n_aux: int
    cell_bin: np.ndarray
    nominal: np.ndarray
    hs_code: str
    hs_par: np.ndarray
    hs_cell: np.ndarray
    hs_which: np.ndarray
    hs_up: np.ndarray
    hs_dn: np.ndarray
    ns_code: str
    ns_par: np.ndarray
    ns_hi: np.ndarray
    ns_lo: np.ndarray
    ns_poly: np.ndarray
    table: np.ndarray
    reweightings: tuple[ReweightingBlock, ...]
    n_rw: int
    gauss_par: np.ndarray
    gauss_aux: np.ndarray
    gauss_sigma: np.ndarray
    pois_par: np.ndarray
    pois_aux: np.ndarray
    pois_factor: np.ndarray
    data: np.ndarray | None = field(default=None, repr=False)

    @property
    def npars(self) -> int:
        """Length of the parameter vector."""
        return int(self.init.size)

    @property
    def ndata(self) -> int:
        """Length of the data vector (main bins then auxdata)."""
        return self.n_main + self.n_aux

    @property
    def n_cells(self) -> int:
        """Number of (sample, bin) cells."""
        return int(self.nominal.size)

    def summary(self) -> dict[str, int]:
        """Sizes of the tensors (for reports and benchmarks).

        Examples
        --------
        >>> import pyhf
        >>> m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
        >>> model_tensors(m).summary()["cells"]
        2
        """
        return {
            "parameters": self.npars,
            "main_bins": self.n_main,
            "auxdata": self.n_aux,
            "cells": self.n_cells,
            "histosys_parameters": int(self.hs_par.size),
            "histosys_entries": int(self.hs_cell.size),
            "normsys_entries": int(self.ns_par.size),
            "factor_columns": int(self.table.shape[1]),
            "reweighting_factors": self.n_rw,
            "gaussian_constraints": int(self.gauss_par.size),
            "poisson_constraints": int(self.pois_par.size),
        }


# ---------------------------------------------------------------------------------- helpers
def code4_coefficients(hi: np.ndarray, lo: np.ndarray, alpha0: float = 1.0) -> np.ndarray:
    """Pyhf's code4 polynomial coefficients ``a_1..a_6`` per (hi, lo) pair, shape ``(N, 6)``.

    The polynomial ``1 + sum_i a_i alpha^i`` matches ``hi^alpha`` and ``lo^-alpha``
    with their first and second derivatives at ``alpha = +-alpha0``.

    Examples
    --------
    >>> a = code4_coefficients(np.array([1.2]), np.array([0.9]))
    >>> round(float(1 + a[0].sum()), 12)  # alpha = 1 gives hi
    1.2
    """
    a0 = float(alpha0)
    inv = np.array(
        [
            [15.0 / (16 * a0), -15.0 / (16 * a0), -7.0 / 16.0, -7.0 / 16.0, 1.0 / 16 * a0, -1.0 / 16.0 * a0],
            [3.0 / (2 * a0**2), 3.0 / (2 * a0**2), -9.0 / (16 * a0), 9.0 / (16 * a0), 1.0 / 16, 1.0 / 16],
            [
                -5.0 / (8 * a0**3), 5.0 / (8 * a0**3), 5.0 / (8 * a0**2), 5.0 / (8 * a0**2),
                -1.0 / (8 * a0), 1.0 / (8 * a0),
            ],
            [
                3.0 / (-2 * a0**4), 3.0 / (-2 * a0**4), -7.0 / (-8 * a0**3), 7.0 / (-8 * a0**3),
                -1.0 / (8 * a0**2), -1.0 / (8 * a0**2),
            ],
            [
                3.0 / (16 * a0**5), -3.0 / (16 * a0**5), -3.0 / (16 * a0**4), -3.0 / (16 * a0**4),
                1.0 / (16 * a0**3), -1.0 / (16 * a0**3),
            ],
            [
                1.0 / (2 * a0**6), 1.0 / (2 * a0**6), -5.0 / (16 * a0**5), 5.0 / (16 * a0**5),
                1.0 / (16 * a0**4), 1.0 / (16 * a0**4),
            ],
        ]
    )
    hi = np.asarray(hi, dtype=float)
    lo = np.asarray(lo, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        up, dn = np.power(hi, a0), np.power(lo, a0)
        lhi, llo = np.log(hi), np.log(lo)
        b = np.stack([up - 1.0, dn - 1.0, lhi * up, -llo * dn, lhi**2 * up, llo**2 * dn])
    return np.asarray(np.einsum("rc,cn->nr", inv, b))


def _model_and_data(source: Any) -> tuple[Any, np.ndarray | None]:
    """(pyhf model, data or None) from a pyhf Model, Workspace or ReinterpretedModel."""
    import pyhf  # type: ignore[import-untyped,unused-ignore]

    if isinstance(source, pyhf.pdf.Model):
        return source, None
    if isinstance(source, pyhf.Workspace):
        model = source.model()
        return model, np.asarray(source.data(model), dtype=float)
    spec = getattr(source, "spec", None)
    if spec is not None and hasattr(source, "model") and hasattr(source, "reweightings"):
        model = source.model
        obs = {o["name"]: o["data"] for o in spec.get("observations", [])}
        main: list[float] = []
        for c in model.config.channels:
            if c not in obs:
                msg = f"the model's spec has no observation for channel {c!r}"
                raise ModelSpecError(msg)
            main.extend(float(x) for x in obs[c])
        return model, np.asarray(main + [float(a) for a in model.config.auxdata], dtype=float)
    msg = (
        "redist.engine needs a pyhf.pdf.Model, a pyhf.Workspace or a redist ReinterpretedModel, "
        f"got {type(source).__name__}"
    )
    raise ModelSpecError(msg)


def _labels(cfg: Any) -> list[str]:
    out: list[str] = []
    for n in cfg.par_order:
        sl = cfg.par_slice(n)
        k = sl.stop - sl.start
        out.extend([n] if k == 1 and cfg.param_set(n).is_scalar else [f"{n}[{i}]" for i in range(k)])
    return out


# ---------------------------------------------------------------------------------- builder
def model_tensors(source: Any) -> ModelTensors:
    """Flat tensors of a HistFactory model, in pyhf's parameter and data order.

    Parameters
    ----------
    source : pyhf.pdf.Model, pyhf.Workspace or redist.ReinterpretedModel
        The model. A workspace is built with pyhf's default modifier settings;
        a reinterpreted model brings its reweightings (``modifier_settings``).

    Returns
    -------
    ModelTensors
        The arrays of the fused likelihood; ``data`` holds the observed data
        and auxdata when the source has observations (workspace, reinterpreted model).

    Raises
    ------
    ModelSpecError
        For a modifier type or interpolation code the engine does not support
        (named with its channel and sample).

    Examples
    --------
    >>> import pyhf
    >>> m = pyhf.simplemodels.uncorrelated_background([5.0, 3.0], [10.0, 8.0], [2.0, 1.0])
    >>> t = model_tensors(m)
    >>> t.names, t.n_main, t.n_aux
    (('mu', 'uncorr_bkguncrt'), 2, 2)
    >>> t.pois_factor.tolist()  # shapesys: (nominal / uncertainty)^2
    [25.0, 64.0]
    """
    model, data = _model_and_data(source)
    cfg = model.config
    spec = model.spec
    settings = cfg.modifier_settings
    ns_code = str(settings.get("normsys", {}).get("interpcode", "code1"))
    hs_code = str(settings.get("histosys", {}).get("interpcode", "code0"))
    if ns_code not in ("code1", "code4"):
        msg = f"normsys interpolation {ns_code!r} is not supported by redist.engine (code1, code4)"
        raise ModelSpecError(msg)
    if hs_code not in ("code0", "code4p"):
        msg = f"histosys interpolation {hs_code!r} is not supported by redist.engine (code0, code4p)"
        raise ModelSpecError(msg)

    names = tuple(cfg.par_order)
    slices = {n: cfg.par_slice(n) for n in names}
    npars = int(cfg.npars)
    channels = list(cfg.channels)
    samples = list(cfg.samples)
    ch_slice = {c: cfg.channel_slices[c] for c in channels}
    n_main = int(cfg.nmaindata)
    chan_spec = {ch["name"]: ch for ch in spec["channels"]}

    # -- cells (sorted by global bin, then sample order) -----------------------------------
    cell_of: dict[tuple[int, int], int] = {}  # (sample index, global bin) -> cell
    cell_bin: list[int] = []
    nominal: list[float] = []
    sample_spec: dict[tuple[str, str], Mapping[str, Any]] = {}
    for c in channels:
        for s in chan_spec[c]["samples"]:
            sample_spec[(c, s["name"])] = s
    for c in channels:
        sl = ch_slice[c]
        for b in range(sl.start, sl.stop):
            for si, sname in enumerate(samples):
                s = sample_spec.get((c, sname))
                if s is None:
                    continue
                cell_of[(si, b)] = len(cell_bin)
                cell_bin.append(b)
                nominal.append(float(s["data"][b - sl.start]))
    n_cells = len(cell_bin)
    factors: list[list[int]] = [[] for _ in range(n_cells)]

    # -- masks per (modifier type, name): sample index -> global-bin mask ------------------
    masks: dict[tuple[str, str], dict[int, np.ndarray]] = {}
    hs_rows: dict[str, list[tuple[int, float, float]]] = {}
    ns_rows: list[tuple[int, float, float, list[int]]] = []
    rw_rows: dict[str, list[tuple[list[int], str]]] = {}
    for c in channels:
        sl = ch_slice[c]
        for s in chan_spec[c]["samples"]:
            si = samples.index(s["name"])
            nom = np.asarray(s["data"], dtype=float)
            for mod in s["modifiers"]:
                mtype, mname = mod["type"], mod["name"]
                where = f"channel {c!r}, sample {s['name']!r}, modifier {mname!r}"
                if mtype not in _SUPPORTED:
                    msg = f"{where}: modifier type {mtype!r} is not supported by redist.engine"
                    raise ModelSpecError(msg)
                m = masks.setdefault((mtype, mname), {}).setdefault(si, np.zeros(n_main, dtype=bool))
                m[sl] = True
                cells = [cell_of[(si, b)] for b in range(sl.start, sl.stop)]
                if mtype == "histosys":
                    up = np.asarray(mod["data"]["hi_data"], dtype=float) - nom
                    dn = nom - np.asarray(mod["data"]["lo_data"], dtype=float)
                    rows = hs_rows.setdefault(mname, [])
                    for cell, u, d in zip(cells, up, dn):
                        if u != 0.0 or d != 0.0:
                            rows.append((cell, float(u), float(d)))
                elif mtype == "normsys":
                    hi, lo = float(mod["data"]["hi"]), float(mod["data"]["lo"])
                    ns_rows.append((slices[mname].start, hi, lo, cells))
                elif mtype == "redist":
                    key = (mod.get("data") or {}).get("density")
                    rw_rows.setdefault(mname, []).append((cells, str(key)))

    # -- direct parameter factors, with pyhf's index conventions -----------------------------
    nbins_in_channel = np.zeros(n_main, dtype=int)
    for c in channels:
        sl = ch_slice[c]
        nbins_in_channel[sl] = np.arange(sl.stop - sl.start)
    for (mtype, mname), per_sample in masks.items():
        if mtype not in _DIRECT:
            continue
        start = slices[mname].start
        n = slices[mname].stop - start
        access = np.zeros(n_main, dtype=int)
        if mtype in ("normfactor", "lumi"):
            access[:] = start
        elif mtype == "shapefactor":
            # component k <-> k-th bin within each channel
            access = np.where(nbins_in_channel < n, start + nbins_in_channel, 0)
        else:
            # staterror, shapesys: component k <-> k-th masked global bin of the last sample
            last = per_sample[max(per_sample)]
            idx = np.flatnonzero(last)
            if idx.size != n:
                msg = f"modifier {mname!r} ({mtype}) covers {idx.size} bins but its parameter has {n}"
                raise ModelSpecError(msg)
            access[idx] = start + np.arange(n)
        for si, m in per_sample.items():
            for gb in np.flatnonzero(m):
                factors[cell_of[(si, int(gb))]].append(int(access[gb]))

    # -- histosys -----------------------------------------------------------------------------
    hs_names = [n for n in names if n in hs_rows]
    hs_par = np.array([slices[n].start for n in hs_names], dtype=np.int64)
    hs_cell_l, hs_which_l, hs_up_l, hs_dn_l = [], [], [], []
    for j, n in enumerate(hs_names):
        for cell, u, d in hs_rows[n]:
            hs_cell_l.append(cell)
            hs_which_l.append(j)
            hs_up_l.append(u)
            hs_dn_l.append(d)
    order = np.lexsort((np.asarray(hs_which_l, dtype=np.int64), np.asarray(hs_cell_l, dtype=np.int64)))
    hs_cell = np.asarray(hs_cell_l, dtype=np.int64)[order]
    hs_which = np.asarray(hs_which_l, dtype=np.int64)[order]
    hs_up = np.asarray(hs_up_l, dtype=float)[order]
    hs_dn = np.asarray(hs_dn_l, dtype=float)[order]

    # -- normsys entries -> columns of v after the parameters --------------------------------
    ns_par = np.array([r[0] for r in ns_rows], dtype=np.int64)
    ns_hi = np.array([r[1] for r in ns_rows], dtype=float)
    ns_lo = np.array([r[2] for r in ns_rows], dtype=float)
    ns_poly = code4_coefficients(ns_hi, ns_lo) if ns_rows else np.zeros((0, 6))
    for k, (_, _, _, cells) in enumerate(ns_rows):
        for cell in cells:
            factors[cell].append(npars + k)

    # -- redist reweightings -------------------------------------------------------------------
    blocks: list[ReweightingBlock] = []
    n_rw = 0
    if rw_rows:
        red = settings.get("redist") or {}
        rws, dens = red.get("reweightings", {}), red.get("densities", {})
        from ..layout import ParameterLayout

        bindings = {b.reweighting: b for b in ParameterLayout.from_pyhf(cfg, rws).bindings}
        for name, rw_list in rw_rows.items():
            if name not in rws:
                msg = f"redist modifier {name!r} has no reweighting in the model's modifier_settings"
                raise ModelSpecError(msg)
            cells_l: list[int] = []
            mig_l: list[np.ndarray] = []
            for cells, key in rw_list:
                if key not in dens:
                    msg = f"redist modifier {name!r}: unknown density {key!r}"
                    raise ModelSpecError(msg)
                v = np.asarray(dens[key].values(), dtype=float)
                if v.shape[0] != len(cells):
                    msg = (
                        f"redist modifier {name!r}: density {key!r} has {v.shape[0]} rows, "
                        f"expected {len(cells)}"
                    )
                    raise ModelSpecError(msg)
                mig_l.append(v / v.sum(axis=1, keepdims=True))
                cells_l.extend(cells)
            cells_a = np.asarray(cells_l, dtype=np.int64)
            for i, cell in enumerate(cells_a):
                factors[int(cell)].append(npars + len(ns_rows) + n_rw + i)
            migration = np.concatenate(mig_l, axis=0)
            blocks.append(ReweightingBlock(rws[name], bindings[name], cells_a, migration, n_rw))
            n_rw += len(cells_l)

    one = npars + len(ns_rows) + n_rw
    width = max([len(f) for f in factors] + [1])
    table = np.full((n_cells, width), one, dtype=np.int64)
    for i, f in enumerate(factors):
        table[i, : len(f)] = f

    # -- constraints (pyhf's auxdata order) ---------------------------------------------------
    g_par, g_aux, g_sig, p_par, p_aux, p_fac = [], [], [], [], [], []
    offset = 0
    for pname in cfg.auxdata_order:
        ps = cfg.param_set(pname)
        start = slices[pname].start
        n = int(ps.n_parameters)
        if ps.pdf_type == "normal":
            sig = list(getattr(ps, "sigmas", [1.0] * n))
            for k in range(n):
                g_par.append(start + k)
                g_aux.append(offset + k)
                g_sig.append(float(sig[k]))
        elif ps.pdf_type == "poisson":
            for k in range(n):
                p_par.append(start + k)
                p_aux.append(offset + k)
                p_fac.append(float(ps.factors[k]))
        else:  # pragma: no cover - pyhf has only these two
            msg = f"parameter {pname!r}: constraint type {ps.pdf_type!r} is not supported"
            raise ModelSpecError(msg)
        offset += n
    n_aux = int(cfg.nauxdata)
    if offset != n_aux:  # pragma: no cover - pyhf invariant
        msg = f"auxdata has {n_aux} entries but the constraints account for {offset}"
        raise ModelSpecError(msg)

    poi = cfg.poi_name
    return ModelTensors(
        names=names,
        labels=tuple(_labels(cfg)),
        slices=slices,
        init=np.asarray(cfg.suggested_init(), dtype=float),
        bounds=np.asarray(cfg.suggested_bounds(), dtype=float).reshape(npars, 2),
        fixed=np.asarray(cfg.suggested_fixed(), dtype=bool),
        poi_index=None if poi is None else int(slices[poi].start),
        n_main=n_main,
        n_aux=n_aux,
        cell_bin=np.asarray(cell_bin, dtype=np.int64),
        nominal=np.asarray(nominal, dtype=float),
        hs_code=hs_code,
        hs_par=hs_par,
        hs_cell=hs_cell,
        hs_which=hs_which,
        hs_up=hs_up,
        hs_dn=hs_dn,
        ns_code=ns_code,
        ns_par=ns_par,
        ns_hi=ns_hi,
        ns_lo=ns_lo,
        ns_poly=ns_poly,
        table=table,
        reweightings=tuple(blocks),
        n_rw=n_rw,
        gauss_par=np.asarray(g_par, dtype=np.int64),
        gauss_aux=np.asarray(g_aux, dtype=np.int64),
        gauss_sigma=np.asarray(g_sig, dtype=float),
        pois_par=np.asarray(p_par, dtype=np.int64),
        pois_aux=np.asarray(p_aux, dtype=np.int64),
        pois_factor=np.asarray(p_fac, dtype=float),
        data=data,
    )


def fingerprint(t: ModelTensors) -> str | None:
    """A digest of everything the traced likelihood of ``t`` depends on (``None``: unknown).

    Arrays, interpolation codes and layout of the tensors; for every reweighting its
    document (theory, settings, binning, exposed parameters), its binding, cells and
    migration rows, and the source of the modules that turn them into factors (the
    engine, redist's layout/theory/weights and the theory's own module).
    """
    import hashlib
    import inspect
    import json
    from pathlib import Path

    from ._cache import source_digest

    h = hashlib.sha256()
    try:
        for f in fields(t):
            v = getattr(t, f.name)
            if f.name == "reweightings":
                continue
            if isinstance(v, np.ndarray):
                h.update(f"{f.name}:{v.dtype}:{v.shape}".encode())
                h.update(np.ascontiguousarray(v).tobytes())
            elif isinstance(v, Mapping):
                h.update(f"{f.name}:{sorted((k, s.start, s.stop) for k, s in v.items())}".encode())
            else:
                h.update(f"{f.name}:{v!r}".encode())
        here = Path(__file__).resolve().parent
        files = [str(p) for p in sorted(here.glob("*.py"))]
        files += [str(here.parent / n) for n in ("layout.py", "theory.py", "weights.py", "kernels.py")]
        for b in t.reweightings:
            rw = b.reweighting
            h.update(json.dumps(rw.to_dict(), sort_keys=True, default=repr).encode())
            h.update(json.dumps(b.binding.to_dict(), sort_keys=True).encode())
            h.update(np.ascontiguousarray(b.cells).tobytes() + np.ascontiguousarray(b.migration).tobytes())
            h.update(f"{b.offset}:{type(rw.theory).__module__}.{type(rw.theory).__qualname__}".encode())
            files.append(inspect.getfile(type(rw.theory)))
        h.update(source_digest(*files).encode())
    except Exception:  # anything unusual: no cross-process cache of traced functions
        return None
    from .. import __version__

    return f"redist-{__version__}:{h.hexdigest()}"


def bin_dependence(t: ModelTensors) -> np.ndarray:
    """Which parameters each main bin's expected yield depends on, ``(n_main, P)`` bool.

    Structural (from the tensors, not from values): a parameter gathered as a factor
    of a cell (normfactor, lumi, staterror, shapesys, shapefactor), the parameter of
    a normsys entry, every parameter a reweighting reads (exposed coefficients and
    correlated groups) for the cells it multiplies, and the parameter of a histosys
    entry. Constraint terms are per-parameter and add only diagonal Hessian entries.
    """
    npars, n_ns = t.npars, int(t.ns_par.size)
    dep = np.zeros((t.n_main, npars), dtype=bool)
    rw_pars = np.zeros((t.n_rw, npars), dtype=bool)
    for b in t.reweightings:
        idx = list(b.binding.indices)
        for g, start in b.binding.groups:
            idx.extend(range(start, start + len(g.parameters)))
        rw_pars[b.offset : b.offset + b.cells.size, idx] = True
    for k in range(t.table.shape[1]):
        col = t.table[:, k]
        direct = col < npars
        dep[t.cell_bin[direct], col[direct]] = True
        ns = (col >= npars) & (col < npars + n_ns)
        dep[t.cell_bin[ns], t.ns_par[col[ns] - npars]] = True
        rw = (col >= npars + n_ns) & (col < npars + n_ns + t.n_rw)
        for c in np.flatnonzero(rw):
            dep[t.cell_bin[c]] |= rw_pars[col[c] - npars - n_ns]
    dep[t.cell_bin[t.hs_cell], t.hs_par[t.hs_which]] = True
    return dep


def hessian_seed(t: ModelTensors) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Compressed exact Hessian: tangents and the map back to the full matrix (``None``: not worth it).

    The Hessian of −2 ln L has an entry ``(i, j)`` only where parameters ``i`` and ``j``
    share a main bin (or ``i == j``). Parameters in more than one bin (*global*) get a
    tangent each; the others (e.g. per-bin staterror and shapesys parameters) share
    tangents, coloured so that no two parameters of one colour share a bin with a
    common non-global parameter. The entries of global rows come from the global
    columns by symmetry. Exact, not an approximation: every entry is read from one
    Hessian-vector product.

    Returns
    -------
    tuple or None
        ``seeds (T, P)`` tangents, ``src (P, P)`` tangent index and ``comp (P, P)``
        component to read for each entry, ``mask (P, P)`` structurally non-zero
        entries; ``None`` when compression saves less than a quarter of the
        ``P`` tangents of the plain forward-over-reverse Hessian.
    """
    npars = t.npars
    dep = bin_dependence(t)
    nbins = dep.sum(axis=0)
    is_global = nbins > 1
    local = np.flatnonzero(~is_global)
    glob = np.flatnonzero(is_global)
    pattern = (dep.T.astype(np.int64) @ dep.astype(np.int64)) > 0
    np.fill_diagonal(pattern, True)
    # local columns j, j' conflict when some local row i is non-zero in both
    pl = pattern[np.ix_(local, local)].astype(np.int64)
    conflict = (pl.T @ pl) > 0
    colour = np.full(local.size, -1)
    for a in range(local.size):
        used = set(colour[conflict[a] & (colour >= 0)].tolist())
        c = 0
        while c in used:
            c += 1
        colour[a] = c
    n_col = int(colour.max()) + 1 if local.size else 0
    n_t = glob.size + n_col
    if n_t > 0.75 * npars:
        return None
    seeds = np.zeros((n_t, npars))
    seeds[np.arange(glob.size), glob] = 1.0
    seeds[glob.size + colour, local] = 1.0
    tangent = np.empty(npars, dtype=np.int64)  # the tangent carrying column j
    tangent[glob] = np.arange(glob.size)
    tangent[local] = glob.size + colour
    rows, cols = np.meshgrid(np.arange(npars), np.arange(npars), indexing="ij")
    # entry (i, j): column j's tangent at component i, unless i is global and j is not:
    # then row i is read as column i (symmetry)
    flip = is_global[rows] & ~is_global[cols]
    src = np.where(flip, tangent[rows], tangent[cols])
    comp = np.where(flip, cols, rows)
    mask = pattern | is_global[rows] | is_global[cols]
    return seeds, src, comp, mask
