"""Standalone numpy dBR/dq² of B+ -> K+ nu nu (EOS conventions) for the benchmarks.

This module must import **neither** ``redist`` package: it is loaded both by the
redist benchmark and by the redistpy benchmark (whose import name ``redist``
clashes with ours). It re-states the formula of ``docs/PHYSICS.md`` section 3
with the inputs read from ``theories/eos_inputs.json``; ``bench_redist.py``
checks it against ``theories.wet.WET("B+->K+nunu").rate`` in every run.

Parameters are passed positionally, in the order of :data:`PARAMETERS`
(``cVL, cSL, cTL`` followed by the 8 BSZ2015 coefficients in covariance order),
which is the calling convention redistpy uses for its distributions.

Three evaluation styles of the *same* numbers are provided:

* :func:`dbr_dq2` -- vectorised numpy over q²;
* :func:`dbr_dq2_scalar` -- one q² point per call, plain ``math`` (a stand-in
  for a theory code such as EOS that is evaluated point by point);
* :func:`dbr_dq2_pointwise` -- accepts arrays but loops over them calling
  :func:`dbr_dq2_scalar`, the way EOS observables are wrapped in practice.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
_INPUTS = json.loads((ROOT / "theories" / "eos_inputs.json").read_text(encoding="utf-8"))
_SM = _INPUTS["sm_parameters_eos"]
_FF = _INPUTS["form_factors_eos"]["B->K BSZ2015 (EOS default; GKvD:2018A LCSR+LQCD fit)"]

#: SM value of the full coefficient cVL (EOS)
SM_CVL = 6.613114906357177
#: EOS names of the 8 form-factor coefficients, in covariance order
FF_NAMES: tuple[str, ...] = tuple(_FF["covariance_order"])
FF_MEAN: tuple[float, ...] = tuple(float(_FF["central"][k]) for k in FF_NAMES)
FF_COV: list[list[float]] = [[float(v) for v in row] for row in _FF["covariance"]]
#: positional parameter order of every rate function in this module
PARAMETERS: tuple[str, ...] = ("cVL", "cSL", "cTL", *FF_NAMES)
SM_POINT: tuple[float, ...] = (SM_CVL, 0.0, 0.0, *FF_MEAN)

M_B = float(_SM["masses_GeV"]["B_u"])
M_K = float(_SM["masses_GeV"]["K_u"])
Q2_MAX = (M_B - M_K) ** 2
_MB_MS = float(_SM["m_b_MSbar_at_4.2GeV"]) - float(_SM["m_s_MSbar_at_4.2GeV"])
_NORM = (
    3.0
    * float(_SM["G_F_GeV-2"]) ** 2
    * (1.0 / 133.0) ** 2
    * float(_SM["CKM_model_WET"]["abs_VtbVts*"]) ** 2
    / (32.0 * math.pi**5 * M_B**3)
    * float(_SM["tau_B+_s"])
    / float(_SM["hbar_GeV_s"])
)
# BSZ2015 parametrisation (its own masses)
_BSZ_MB, _BSZ_MK = 5.279, 0.492
_TP = (_BSZ_MB + _BSZ_MK) ** 2
_TM = (_BSZ_MB - _BSZ_MK) ** 2
_T0 = _TP * (1.0 - math.sqrt(1.0 - _TM / _TP))
_SQ0 = math.sqrt(_TP - _T0)
_Z0 = (math.sqrt(_TP) - _SQ0) / (math.sqrt(_TP) + _SQ0)
_POLE_BSTAR, _POLE_BS0 = 5.415**2, 5.630**2
_G_S = (M_B**2 - M_K**2) ** 2 / (8.0 * _MB_MS**2)
_G_T = 2.0 / 3.0 / (M_B + M_K) ** 2


def dbr_dq2(q2: Any, cvl: Any, csl: Any, ctl: Any, *ff: Any) -> np.ndarray:
    """Vectorised dBR/dq² (GeV⁻²) of B+ -> K+ nu nu; zero outside ``[0, q2_max]``."""
    q2 = np.asarray(q2, dtype=float)
    ap0, ap1, ap2, a01, a02, at0, at1, at2 = ff
    inside = (q2 >= 0.0) & (q2 <= Q2_MAX)
    q = np.where(inside, q2, 0.0)
    lam = np.clip(M_B**4 + M_K**4 + q * q - 2.0 * (M_B**2 * M_K**2 + M_B**2 * q + M_K**2 * q), 0.0, None)
    a = np.sqrt(_TP - q)
    x = (a - _SQ0) / (a + _SQ0) - _Z0
    fp = (ap0 + ap1 * x + ap2 * x * x) / (1.0 - q / _POLE_BSTAR)
    f0 = (ap0 + a01 * x + a02 * x * x) / (1.0 - q / _POLE_BS0)
    ft = (at0 + at1 * x + at2 * x * x) / (1.0 - q / _POLE_BSTAR)
    br = (
        lam / 24.0 * fp * fp * cvl * cvl
        + q * _G_S * f0 * f0 * csl * csl
        + _G_T * q * lam * ft * ft * ctl * ctl
    )
    return np.where(inside, _NORM * np.sqrt(lam) * br, 0.0)


def dbr_dq2_scalar(q2: float, cvl: float, csl: float, ctl: float, *ff: float) -> float:
    """dBR/dq² at a single q² point, with ``math`` only (point-by-point theory stand-in)."""
    if not 0.0 <= q2 <= Q2_MAX:
        return 0.0
    ap0, ap1, ap2, a01, a02, at0, at1, at2 = ff
    lam = max(M_B**4 + M_K**4 + q2 * q2 - 2.0 * (M_B**2 * M_K**2 + M_B**2 * q2 + M_K**2 * q2), 0.0)
    a = math.sqrt(_TP - q2)
    x = (a - _SQ0) / (a + _SQ0) - _Z0
    fp = (ap0 + ap1 * x + ap2 * x * x) / (1.0 - q2 / _POLE_BSTAR)
    f0 = (ap0 + a01 * x + a02 * x * x) / (1.0 - q2 / _POLE_BS0)
    ft = (at0 + at1 * x + at2 * x * x) / (1.0 - q2 / _POLE_BSTAR)
    br = (
        lam / 24.0 * fp * fp * cvl * cvl
        + q2 * _G_S * f0 * f0 * csl * csl
        + _G_T * q2 * lam * ft * ft * ctl * ctl
    )
    return _NORM * math.sqrt(lam) * br


def dbr_dq2_pointwise(q2: Any, *pars: float) -> Any:
    """Like :func:`dbr_dq2`, but one scalar call per q² point (how EOS is wrapped)."""
    if np.ndim(q2) == 0:
        return dbr_dq2_scalar(float(q2), *pars)
    flat = np.asarray(q2, dtype=float).reshape(-1)
    out = np.array([dbr_dq2_scalar(float(q), *pars) for q in flat])
    return out.reshape(np.shape(q2))


def sm_dbr_dq2(q2: Any) -> np.ndarray:
    """Null (SM) rate, vectorised."""
    return dbr_dq2(q2, *SM_POINT)


def sm_dbr_dq2_pointwise(q2: Any) -> Any:
    """Null (SM) rate, point by point."""
    return dbr_dq2_pointwise(q2, *SM_POINT)


def bin_integrals(edges: Any, pars: Any, order: int = 24) -> np.ndarray:
    """Gauss-Legendre bin integrals of :func:`dbr_dq2` (used to build the toy inputs)."""
    e = np.asarray(edges, dtype=float)
    t, w = np.polynomial.legendre.leggauss(order)
    half = 0.5 * (e[1:] - e[:-1])[:, None]
    nodes = half * t + 0.5 * (e[1:] + e[:-1])[:, None]
    return np.sum(half * w * dbr_dq2(nodes, *pars), axis=1)
