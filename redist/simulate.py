r"""A vectorised toy simulator of Belle II-like :math:`B^+\to K^+\nu\bar\nu` events (numpy only).

The simulator produces what an inclusive-tag (ITA-like) analysis sees: per-event
variable-length lists of reconstructed particles, engineered event-level
features, and the truth needed to build joint number densities ``n(x, q2)``.

Physics content (a toy; see ``docs/fm.md`` for the limitations):

* **Beams.** 7 GeV e- on 4 GeV e+, head-on: :math:`\sqrt s = 10.583` GeV (the
  Upsilon(4S)), centre-of-mass velocity :math:`\beta_z = 3/11`. Events are
  generated in the c.m. frame, boosted to the lab for acceptance and
  resolution, and analysed back in the c.m. frame.
* **Signal.** :math:`\Upsilon(4S)\to B^+B^-`; one B decays to :math:`K^\pm` plus an
  invisible system of mass :math:`\sqrt{q^2}`, with :math:`q^2` drawn from any
  registered theory (:mod:`redist.theory`) at any parameter point by
  inverse-CDF sampling of ``theory.rate`` on a fine grid, or flat. The kaon is
  isotropic in the B frame. The other B decays generically.
* **Generic** :math:`B\bar B` (charged and neutral): decay tables with
  PDG-like branching fractions of semileptonic and hadronic
  :math:`b\to c` modes, followed by :math:`D^{(*)}`, :math:`D_s`, :math:`\tau`,
  :math:`K_S`, :math:`\pi^0`, :math:`\eta` decays. They give the two key
  backgrounds: a real kaon from a D decay and missing energy from neutrinos and
  :math:`K_L`. Phase space is unweighted sequential two-body splitting.
* **Continuum** :math:`q\bar q` (uds and cc): two back-to-back jets along a
  :math:`1+\cos^2\theta` axis with leading-particle fragmentation; cc jets lead
  with a charm hadron. Jet topology makes event shape discriminating.
* **Detector.** Track acceptance 17-150 degrees with a p_T turn-on, momentum
  and angle smearing, impact parameters from true decay vertices (K_S, D, B
  flight), photon acceptance and energy resolution, K_L as partial ECL
  clusters or direction-only KLM clusters, beam-background photons and off-IP
  tracks, and kaon/electron/muon PID scores with non-Gaussian tails.
* **Reconstruction.** The ITA-like kaon candidate (kaonID > 0.9, dr < 0.5 cm,
  |dz| < 3 cm) with the highest c.m. energy, i.e. the lowest
  :math:`q^2_{rec} = s/4 + m_K^2 - \sqrt s E^*_K`, and a loose preselection.

Everything is driven by one :class:`numpy.random.Generator`: the same seed
gives bit-identical output. Samples are stored as padded arrays plus a mask in
``.npz`` files (:meth:`EventSample.save`, :meth:`EventSample.load`; no pickle).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from .exceptions import SimulationError

__all__ = [
    "BEAM_BETA",
    "DATA_LIKE_TUNE",
    "DEFAULT_TUNE",
    "ENGINEERED_FEATURES",
    "PARTICLE_FEATURES",
    "PROCESSES",
    "SQRT_S",
    "EventSample",
    "SimulationError",
    "q2_sampler",
    "simulate",
]

SIMULATOR_VERSION = "2.0"


# -- constants -------------------------------------------------------------------------------
E_HER, E_LER = 7.0, 4.0
SQRT_S = float(np.sqrt(4.0 * E_HER * E_LER))  #: c.m. energy (GeV), 10.583
S = SQRT_S**2
BEAM_BETA = (E_HER - E_LER) / (E_HER + E_LER)  #: c.m. velocity along +z (HER direction)
M_K = 0.493677
M_PI = 0.13957
M_D0 = 1.86484
Q2_MAX_PHYS = (5.27934 - M_K) ** 2

#: Process ids stored in :attr:`EventSample.process`.
PROCESSES = {
    "signal": 0,
    "bbbar_charged": 1,
    "bbbar_neutral": 2,
    "uds": 3,
    "ccbar": 4,
    "kklkl": 5,
    "taunu": 6,
}
#: Cross sections (nb) used for the background mixture. ``uds`` includes ss-bar (0.38 nb),
#: whose jets lead with a kaon. The peaking backgrounds are one B+ of a B+B- pair decaying
#: to K+ K_L K_L (BF 1.2e-5) or to tau+(-> K+ nu) nu (BF 1.1e-4 x 0.7 %), times two B's per pair.
CROSS_SECTIONS = {
    "bbbar_charged": 0.514 * 1.11,
    "bbbar_neutral": 0.486 * 1.11,
    "uds": 2.39,
    "ccbar": 1.30,
    "kklkl": 0.514 * 1.11 * 2 * 1.2e-5,
    "taunu": 0.514 * 1.11 * 2 * 1.1e-4 * 0.007,
}
#: The rare peaking backgrounds (generated at ``rare_fraction`` of the background, weighted down).
RARE = ("kklkl", "taunu")
#: ss-bar share of the uds continuum (cross sections 0.38 of 2.39 nb).
SS_FRACTION = 0.38 / 2.39

#: Detector/simulation knobs (:func:`simulate` ``tune``). ``DEFAULT_TUNE`` is the calibrated
#: nominal detector (docs/fm.md, "Difficulty calibration"); ``DATA_LIKE_TUNE`` a shifted,
#: "data-like" variant for domain-shift studies.
DEFAULT_TUNE: dict[str, float] = {
    "pid_tail": 0.03,  # fraction of tracks with a wide (mis-ID) PID score
    "kl_ecl": 0.30,  # K_L giving a partial ECL cluster
    "kl_klm": 0.35,  # K_L giving a direction-only KLM cluster
    "beam_photons": 1.2,  # Poisson mean of beam-background photons per event
    "beam_tracks": 0.2,  # Poisson mean of off-IP beam-background tracks per event
    "track_res": 1.0,  # scale of the track-momentum resolution
    "photon_eff": 1.0,  # photon reconstruction efficiency
    "theory_control": 0.0,  # NEGATIVE CONTROL ONLY: theory-dependent kaon smearing (see simulate)
}
#: A shifted, "data-like" detector for domain-shift studies (same keys as ``DEFAULT_TUNE``).
DATA_LIKE_TUNE: dict[str, float] = {
    **DEFAULT_TUNE,
    "pid_tail": 0.05,
    "kl_ecl": 0.22,
    "kl_klm": 0.30,
    "beam_photons": 2.0,
    "beam_tracks": 0.4,
    "track_res": 1.5,
    "photon_eff": 0.95,
}

#: Stored per-particle features (c.m. frame, measured).
PARTICLE_FEATURES = (
    "px",
    "py",
    "pz",
    "E",
    "charge",
    "is_track",
    "is_photon",
    "is_klm",
    "kaon_id",
    "e_id",
    "mu_id",
    "dr",
    "dz",
    "is_k_candidate",
)
#: Engineered event-level features (c.m. frame unless stated).
ENGINEERED_FEATURES = (
    "p_K",
    "cos_K",
    "q2_rec",
    "E_miss",
    "p_miss",
    "cos_miss",
    "m2_miss",
    "E_roe",
    "p_roe",
    "m_roe",
    "dE_roe",
    "mbc_roe",
    "n_tracks",
    "n_photons",
    "E_photons",
    "n_leptons",
    "n_klm",
    "fw_r2",
    "sph_lambda1",
    "cos_K_axis",
    "dm_D0",
    "sum_charge",
    "dr_K",
    "dz_K",
    "kaon_id_K",
    "theta_miss_lab",
)

_MASS = {
    0: 0.0,
    211: M_PI,
    111: 0.134977,
    321: M_K,
    130: 0.497611,
    310: 0.497611,
    22: 0.0,
    11: 0.000511,
    13: 0.105658,
    12: 0.0,
    14: 0.0,
    16: 0.0,
    2212: 0.938272,
    221: 0.547862,
    421: M_D0,
    411: 1.86966,
    423: 2.00685,
    413: 2.01026,
    431: 1.96835,
    15: 1.77686,
    521: 5.27934,
    511: 5.27965,
    90521: 5.27934,  # B+ forced to K+ K_L K_L (peaking background)
    91521: 5.27934,  # B+ forced to tau+ nu with tau+ -> K+ nu-bar (peaking background)
    9015: 1.77686,  # tau- forced to K- nu
}
_CHARGE = {
    211: 1, 321: 1, 11: -1, 13: -1, 2212: 1, 411: 1, 413: 1, 431: 1, 15: -1, 521: 1,
    90521: 1, 91521: 1, 9015: -1,
}  # fmt: skip
_CTAU = {
    521: 0.0491, 511: 0.0455, 421: 0.0123, 411: 0.0312, 431: 0.0151, 15: 0.0087, 310: 2.684,
    90521: 0.0491, 91521: 0.0491, 9015: 0.0087,
}  # fmt: skip
_SELF_CONJ = {0, 111, 22, 130, 310, 221}
_INVISIBLE = {0, 12, 14, 16}

# decay tables of the particle with positive id: (daughters, relative rate); normalised on use
_DECAYS: dict[int, list[tuple[tuple[int, ...], float]]] = {
    521: [  # B+ (b-bar u)
        ((-421, -11, 12), 0.023),
        ((-421, -13, 14), 0.023),
        ((-423, -11, 12), 0.056),
        ((-423, -13, 14), 0.056),
        ((-421, -15, 16), 0.008),
        ((-423, -15, 16), 0.016),
        ((-421, 211), 0.005),
        ((-423, 211), 0.005),
        ((-421, 211, 111), 0.013),
        ((-423, 211, 111), 0.01),
        ((-421, 211, 211, -211), 0.04),
        ((-423, 211, 211, -211), 0.05),
        ((-421, 431), 0.009),
        ((-423, 431), 0.008),
        ((-421, 211, 111, 111), 0.06),
        ((-421, 211, 211, -211, 111), 0.10),
        ((-423, 211, 211, -211, 111), 0.06),
        ((-411, 211, 211), 0.001),
        ((-411, 211, 211, 111), 0.03),
        ((-421, 421, 321), 0.006),
        ((-421, 321), 0.0004),
        ((-421, 431, 111), 0.02),
    ],
    511: [  # B0 (b-bar d)
        ((-411, -11, 12), 0.022),
        ((-411, -13, 14), 0.022),
        ((-413, -11, 12), 0.05),
        ((-413, -13, 14), 0.05),
        ((-411, -15, 16), 0.01),
        ((-413, -15, 16), 0.016),
        ((-411, 211), 0.003),
        ((-413, 211), 0.003),
        ((-411, 211, 111), 0.08),
        ((-413, 211, 111), 0.08),
        ((-411, 211, 211, -211), 0.06),
        ((-413, 211, 211, -211), 0.07),
        ((-411, 431), 0.007),
        ((-413, 431), 0.008),
        ((-421, 211, -211), 0.01),
        ((-411, 211, 211, -211, 111), 0.08),
        ((-411, 421, 321), 0.005),
        ((-421, 111), 0.003),
    ],
    421: [  # D0 (c u-bar)
        ((-321, 211), 0.039),
        ((-321, 211, 111), 0.144),
        ((-321, 211, 211, -211), 0.082),
        ((-321, -11, 12), 0.035),
        ((-321, -13, 14), 0.034),
        ((310, 211, -211), 0.028),
        ((130, 211, -211), 0.028),
        ((310, 111), 0.012),
        ((130, 111), 0.01),
        ((-321, 211, 111, 111), 0.05),
        ((211, -211), 0.0014),
        ((321, -321), 0.004),
        ((310, 211, -211, 111), 0.05),
        ((130, 211, -211, 111), 0.05),
        ((-321, 211, 211, -211, 111), 0.04),
        ((211, -211, 111), 0.015),
    ],
    411: [  # D+ (c d-bar)
        ((-321, 211, 211), 0.094),
        ((310, 211), 0.015),
        ((130, 211), 0.015),
        ((310, -11, 12), 0.044),
        ((130, -11, 12), 0.044),
        ((310, -13, 14), 0.044),
        ((130, -13, 14), 0.044),
        ((-321, 211, 211, 111), 0.06),
        ((310, 211, 111), 0.07),
        ((130, 211, 111), 0.07),
        ((310, 211, 211, -211), 0.03),
        ((130, 211, 211, -211), 0.03),
        ((-321, 211, -11, 12), 0.04),
        ((-321, 321, 211), 0.01),
        ((211, 211, -211), 0.003),
        ((-321, 211, 211, 211, -211), 0.006),
    ],
    413: [((421, 211), 0.677), ((411, 111), 0.307), ((411, 22), 0.016)],
    423: [((421, 111), 0.647), ((421, 22), 0.353)],
    431: [  # Ds+ (c s-bar)
        ((321, -321, 211), 0.054),
        ((321, 310), 0.015),
        ((321, 130), 0.015),
        ((221, 211), 0.017),
        ((-15, 16), 0.055),
        ((-13, 14), 0.0055),
        ((221, -11, 12), 0.023),
        ((321, -321, -11, 12), 0.024),
        ((211, 211, -211), 0.011),
        ((321, -321, 211, 111), 0.056),
        ((221, 211, 111), 0.09),
        ((211, 211, -211, 111), 0.05),
    ],
    15: [  # tau-
        ((11, -12, 16), 0.178),
        ((13, -14, 16), 0.174),
        ((-211, 16), 0.108),
        ((-211, 111, 16), 0.255),
        ((-321, 16), 0.007),
        ((-211, -211, 211, 16), 0.09),
        ((-211, 111, 111, 16), 0.09),
    ],
    90521: [((321, 130, 130), 1.0)],  # B+ -> K+ K_L K_L (BF ~1.2e-5 [PDG-like]; phase space)
    91521: [((-9015, 16), 1.0)],  # B+ -> tau+ nu_tau
    9015: [((-321, 16), 1.0)],  # tau- -> K- nu_tau
    111: [((22, 22), 1.0)],
    221: [((22, 22), 0.39), ((111, 111, 111), 0.33), ((211, -211, 111), 0.23), ((211, -211, 22), 0.05)],
    310: [((211, -211), 0.69), ((111, 111), 0.31)],
}


def _conj(pid: int) -> int:
    return pid if abs(pid) in _SELF_CONJ else -pid


def _mass(pid: np.ndarray) -> np.ndarray:
    a = np.abs(pid)
    out = np.zeros(len(a))
    for k, m in _MASS.items():
        out[a == k] = m
    return out


def _charge(pid: np.ndarray) -> np.ndarray:
    a, s = np.abs(pid), np.sign(pid)
    out = np.zeros(len(a))
    for k, q in _CHARGE.items():
        out[a == k] = q
    return np.asarray(out * s)


# -- kinematics -----------------------------------------------------------------------------------
def _kallen_p(m: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    lam = (m**2 - (m1 + m2) ** 2) * (m**2 - (m1 - m2) ** 2)
    return np.asarray(np.sqrt(np.clip(lam, 0.0, None)) / (2.0 * m))


def _iso_dirs(rng: np.random.Generator, n: int) -> np.ndarray:
    c = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    s = np.sqrt(1.0 - c**2)
    return np.stack([s * np.cos(phi), s * np.sin(phi), c], axis=-1)


def _dirs_from_cos(rng: np.random.Generator, c: np.ndarray) -> np.ndarray:
    phi = rng.uniform(0.0, 2.0 * np.pi, len(c))
    s = np.sqrt(1.0 - c**2)
    return np.stack([s * np.cos(phi), s * np.sin(phi), c], axis=-1)


def _sample_cos(rng: np.random.Generator, n: int, a: float) -> np.ndarray:
    """Sample cos(theta) from ``1 + a cos^2`` (a = -1: sin^2; a = 1: 1 + cos^2) by rejection."""
    out = np.empty(0)
    fmax = 1.0 + max(a, 0.0)
    while len(out) < n:
        c = rng.uniform(-1.0, 1.0, 2 * (n - len(out)) + 16)
        keep = rng.uniform(0.0, fmax, len(c)) < 1.0 + a * c**2
        out = np.concatenate([out, c[keep]])
    return out[:n]


def _boost(p4: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Boost four-vectors ``(..., 4)`` (E, px, py, pz) by velocity ``beta`` ``(..., 3)``."""
    b2 = np.sum(beta**2, axis=-1)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p4[..., 1:], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g2 = np.where(b2 > 0, (gamma - 1.0) / b2, 0.0)
    e = gamma * (p4[..., 0] + bp)
    p = p4[..., 1:] + (g2 * bp + gamma * p4[..., 0])[..., None] * beta
    return np.concatenate([e[..., None], p], axis=-1)


def _nbody(rng: np.random.Generator, parent_mass: np.ndarray, masses: Sequence[float]) -> np.ndarray:
    """Unweighted sequential two-body phase space: momenta ``(n, k, 4)`` in the parent rest frame."""
    n, k = len(parent_mass), len(masses)
    m = np.asarray(masses, dtype=float)
    cum = np.cumsum(m)
    kinetic = np.clip(parent_mass - cum[-1], 0.0, None)
    u = np.sort(rng.random((n, max(k - 2, 0))), axis=1)
    # invariant masses of the subsystems {0..i}, i = 0..k-1
    mu = np.empty((n, k))
    mu[:, 0] = m[0]
    if k > 2:
        mu[:, 1:-1] = cum[1:-1] + u * kinetic[:, None]
    mu[:, -1] = parent_mass
    out = np.zeros((n, k, 4))
    rem = np.zeros((n, 4))
    rem[:, 0] = parent_mass
    for i in range(k - 1, 0, -1):
        p = _kallen_p(mu[:, i], mu[:, i - 1], np.full(n, m[i]))
        d = _iso_dirs(rng, n) * p[:, None]
        dau = np.concatenate([np.sqrt(p**2 + m[i] ** 2)[:, None], d], axis=1)
        sub = np.concatenate([np.sqrt(p**2 + mu[:, i - 1] ** 2)[:, None], -d], axis=1)
        beta = rem[:, 1:] / rem[:, :1]
        out[:, i] = _boost(dau, beta)
        rem = _boost(sub, beta)
    out[:, 0] = rem
    return out


@dataclass
class _Particles:
    """Flat particle list of many events."""

    evt: np.ndarray
    pid: np.ndarray
    p4: np.ndarray
    vtx: np.ndarray
    sig: np.ndarray  # truth: the signal kaon

    @classmethod
    def concat(cls, parts: Sequence[_Particles]) -> _Particles:
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in ("evt", "pid", "p4", "vtx", "sig"))
        )

    def take(self, idx: np.ndarray) -> _Particles:
        return _Particles(self.evt[idx], self.pid[idx], self.p4[idx], self.vtx[idx], self.sig[idx])


_TABLES: dict[int, tuple[list[tuple[int, ...]], np.ndarray]] = {}


def _table(pid: int) -> tuple[list[tuple[int, ...]], np.ndarray]:
    if pid not in _TABLES:
        base = _DECAYS[abs(pid)]
        modes = [d if pid > 0 else tuple(_conj(x) for x in d) for d, _ in base]
        prob = np.array([r for _, r in base])
        _TABLES[pid] = (modes, np.cumsum(prob) / prob.sum())
    return _TABLES[pid]


def _decay_all(rng: np.random.Generator, parts: _Particles) -> _Particles:
    """Decay every unstable particle recursively; returns the final-state particles."""
    done: list[_Particles] = []
    work = parts
    while len(work.pid):
        unstable = np.isin(np.abs(work.pid), list(_DECAYS))
        done.append(work.take(np.flatnonzero(~unstable)))
        todo = work.take(np.flatnonzero(unstable))
        new: list[_Particles] = []
        for pid in np.unique(todo.pid):
            sel = np.flatnonzero(todo.pid == pid)
            modes, cum = _table(int(pid))
            choice = np.minimum(np.searchsorted(cum, rng.random(len(sel)), side="right"), len(modes) - 1)
            par = todo.take(sel)
            mpar = _MASS[abs(int(pid))]
            pmag = np.linalg.norm(par.p4[:, 1:], axis=1)
            ctau = _CTAU.get(abs(int(pid)), 0.0)
            flight = (pmag / mpar * ctau * rng.exponential(1.0, len(sel)))[:, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                vdir = np.where(pmag[:, None] > 0, par.p4[:, 1:] / pmag[:, None], 0.0)
            dvtx = par.vtx + flight * vdir
            beta = par.p4[:, 1:] / par.p4[:, :1]
            for mi, dau in enumerate(modes):
                rows = np.flatnonzero(choice == mi)
                if not len(rows):
                    continue
                mom = _nbody(rng, np.full(len(rows), mpar), [_MASS[abs(d)] for d in dau])
                mom = _boost(mom, beta[rows][:, None, :])
                k = len(dau)
                new.append(
                    _Particles(
                        np.repeat(par.evt[rows], k),
                        np.tile(np.array(dau), len(rows)),
                        mom.reshape(-1, 4),
                        np.repeat(dvtx[rows], k, axis=0),
                        np.zeros(len(rows) * k, dtype=bool),
                    )
                )
        work = _Particles.concat(new) if new else todo.take(np.zeros(0, dtype=int))
    return _Particles.concat(done)


# -- theory sampling ----------------------------------------------------------------------------
def q2_sampler(
    theory: Any = None, values: Mapping[str, float] | None = None, *, n_grid: int = 4001
) -> tuple[np.ndarray, np.ndarray, float]:
    """Tabulate the normalised q2 CDF of a theory for inverse-CDF sampling.

    Parameters
    ----------
    theory : Theory or None
        Any registered theory differential in one variable (``q2``). ``None``
        gives a flat spectrum on the physical range.
    values : mapping, optional
        Parameter overrides (the rest take their defaults).
    n_grid : int
        Grid points on ``[0, q2_max]``.

    Returns
    -------
    grid, cdf : ndarray
        The q2 grid and the CDF on it (piecewise-linear pdf between nodes).
    total : float
        The integral of the rate over the grid (e.g. the branching ratio).
    """
    if theory is None:
        grid = np.linspace(0.0, Q2_MAX_PHYS, n_grid)
        return grid, grid / grid[-1], 1.0
    kin: Any = getattr(theory, "kinematics", ())
    if len(kin) != 1:
        msg = (
            f"theory {getattr(theory, 'name', theory)!r}: need exactly one kinematic variable, got {len(kin)}"
        )
        raise SimulationError(msg)
    hi = min(float(kin[0].high), Q2_MAX_PHYS)
    grid = np.linspace(max(float(kin[0].low), 0.0), hi, n_grid)
    rate = np.asarray(theory.rate(grid, dict(values or {})), dtype=float).reshape(-1)
    if np.any(~np.isfinite(rate)) or np.any(rate < 0) or rate.sum() <= 0:
        name = getattr(theory, "name", theory)
        msg = f"theory {name!r} at {dict(values or {})}: rate is not a positive finite density"
        raise SimulationError(msg)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(grid))])
    total = float(cdf[-1])
    return grid, cdf / total, total


def _sample_q2(rng: np.random.Generator, n: int, grid: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    u = rng.random(n)
    # invert the trapezoid CDF exactly enough: linear interpolation on the fine grid
    return np.asarray(np.interp(u, cdf, grid))


# -- event generation (c.m. frame) ----------------------------------------------------------------
def _bpair(rng: np.random.Generator, evt: np.ndarray, pid: int) -> tuple[_Particles, _Particles]:
    n = len(evt)
    mb = _MASS[abs(pid)]
    p = np.sqrt(S / 4.0 - mb**2)
    d = _dirs_from_cos(rng, _sample_cos(rng, n, -1.0)) * p
    e = np.full(n, np.sqrt(p**2 + mb**2))
    sign = np.where(rng.random(n) < 0.5, 1, -1)
    p1 = np.concatenate([e[:, None], d], axis=1)
    p2 = np.concatenate([e[:, None], -d], axis=1)
    zeros = np.zeros((n, 3))
    b1 = _Particles(evt, sign * pid, p1, zeros, np.zeros(n, bool))
    b2 = _Particles(
        evt.copy(), -sign * pid if pid not in _SELF_CONJ else sign * pid, p2, zeros.copy(), np.zeros(n, bool)
    )
    return b1, b2


def _signal(rng: np.random.Generator, evt: np.ndarray, q2: np.ndarray) -> _Particles:
    b1, b2 = _bpair(rng, evt, 521)
    n = len(evt)
    mb = _MASS[521]
    mnu = np.sqrt(np.clip(q2, 0.0, None))
    p = _kallen_p(np.full(n, mb), np.full(n, M_K), mnu)
    d = _iso_dirs(rng, n) * p[:, None]
    k4 = np.concatenate([np.sqrt(p**2 + M_K**2)[:, None], d], axis=1)
    nu4 = np.concatenate([np.sqrt(p**2 + mnu**2)[:, None], -d], axis=1)
    beta = b1.p4[:, 1:] / b1.p4[:, :1]
    k4, nu4 = _boost(k4, beta), _boost(nu4, beta)
    pmag = np.linalg.norm(b1.p4[:, 1:], axis=1)
    vtx = b1.p4[:, 1:] / pmag[:, None] * (pmag / mb * _CTAU[521] * rng.exponential(1.0, n))[:, None]
    kaon = _Particles(evt, np.sign(b1.pid) * 321, k4, vtx, np.ones(n, bool))
    inv = _Particles(evt.copy(), np.zeros(n, dtype=np.int64), nu4, vtx.copy(), np.zeros(n, bool))
    return _Particles.concat([kaon, inv, b2])


_UDS_SPECIES = (
    (211, 0.55),
    (111, 0.25),
    (321, 0.08),
    (130, 0.035),
    (310, 0.035),
    (221, 0.03),
    (2212, 0.02),
)
_CHARM_LEAD = ((421, 0.45), (411, 0.2), (413, 0.2), (431, 0.15))


def _continuum(rng: np.random.Generator, evt: np.ndarray, charm: bool) -> _Particles:
    n = len(evt)
    jmax = 8
    axis = _dirs_from_cos(rng, _sample_cos(rng, n, 1.0))
    mult = np.minimum(1 + rng.poisson(2.6, (n, 2)), jmax)  # particles per jet
    slot = np.arange(jmax)
    valid = slot[None, None, :] < mult[..., None]  # (n, 2, jmax)
    sp_ids = np.array([s for s, _ in _UDS_SPECIES])
    sp_cum = np.cumsum([w for _, w in _UDS_SPECIES])
    sp_cum /= sp_cum[-1]
    pid = sp_ids[np.minimum(np.searchsorted(sp_cum, rng.random((n, 2, jmax)), side="right"), len(sp_ids) - 1)]
    led = np.zeros(n, bool)  # events whose two leading hadrons are a charge-balanced pair
    if charm:
        c_ids = np.array([s for s, _ in _CHARM_LEAD])
        c_cum = np.cumsum([w for _, w in _CHARM_LEAD])
        lead = c_ids[np.minimum(np.searchsorted(c_cum / c_cum[-1], rng.random((n, 1)), side="right"), 3)]
        pid[:, 0, 0] = lead[:, 0]
        pid[:, 1, 0] = -lead[:, 0]  # the anti-charm partner (charge balanced)
        led[:] = True
    else:
        # ss-bar events: each jet leads with a kaon (K+K-, or a neutral K_S/K_L pair)
        led = rng.random(n) < SS_FRACTION
        charged_k = rng.random(n) < 0.5
        k0 = np.where(rng.random((n, 2)) < 0.5, 310, 130)
        pid[led, 0, 0] = np.where(charged_k[led], 321, k0[led, 0])
        pid[led, 1, 0] = np.where(charged_k[led], -321, k0[led, 1])
    # charges: alternate signs over the charged particles of an event; an odd one out becomes pi0
    flat_pid = pid.reshape(n, -1)
    flat_valid = valid.reshape(n, -1)
    charged = np.isin(np.abs(flat_pid), [211, 321, 2212, 411, 413, 431]) & flat_valid
    charged[led, 0] = False  # the leading pair is already charge-balanced
    charged[led, jmax] = False
    order = np.cumsum(charged, axis=1)
    sign = np.where(order % 2 == 1, 1, -1)
    ncharged = charged.sum(axis=1)
    last = charged & (order == ncharged[:, None]) & (ncharged[:, None] % 2 == 1)
    flat_pid = np.where(charged, np.abs(flat_pid) * sign, flat_pid)
    flat_pid = np.where(last, 111, flat_pid)
    pid = flat_pid.reshape(n, 2, jmax)
    # momentum fractions: Dirichlet, leading particle harder
    shape = np.where(slot[None, None, :] == 0, 3.0 if charm else 2.0, 1.0) * np.ones((n, 2, 1))
    g = np.where(valid, rng.gamma(shape), 0.0)
    x = g / g.sum(axis=2, keepdims=True)
    pt = rng.normal(0.0, 0.3, (n, 2, jmax, 2)) * valid[..., None]
    pt -= pt.sum(axis=2, keepdims=True) / mult[..., None, None]
    pt *= valid[..., None]
    # local frame (u, v, axis)
    helper = np.where(np.abs(axis[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(axis, u)
    jet_sign = np.array([1.0, -1.0])[None, :, None, None]
    p3 = (
        jet_sign * (x * SQRT_S / 2.0)[..., None] * axis[:, None, None, :]
        + pt[..., :1] * u[:, None, None, :]
        + pt[..., 1:] * v[:, None, None, :]
    )
    m = _mass(pid.reshape(-1)).reshape(pid.shape)
    # rescale |p| so that the total energy is sqrt(s) (Newton on the common factor)
    p2 = np.sum(p3**2, axis=-1)
    k = np.ones(n)
    for _ in range(30):
        e = np.sqrt(k[:, None, None] ** 2 * p2 + m**2) * valid
        f = e.sum(axis=(1, 2)) - SQRT_S
        with np.errstate(invalid="ignore", divide="ignore"):
            df = (np.where(valid, k[:, None, None] * p2 / np.where(e > 0, e, 1.0), 0.0)).sum(axis=(1, 2))
        k = np.clip(k - f / np.where(df > 0, df, 1.0), 0.05, 2.0)
    p3 = p3 * k[:, None, None, None]
    e = np.sqrt(np.sum(p3**2, axis=-1) + m**2)
    sel = valid.reshape(-1)
    p4 = np.concatenate([e[..., None], p3], axis=-1).reshape(-1, 4)[sel]
    pids = pid.reshape(-1)[sel]
    evts = np.repeat(evt, 2 * jmax)[sel]
    return _Particles(evts, pids.astype(np.int64), p4, np.zeros((len(pids), 3)), np.zeros(len(pids), bool))


# -- detector and reconstruction -------------------------------------------------------------------
def _pid_llr(rng: np.random.Generator, n: int, mean: np.ndarray, sigma: float, tail: float) -> np.ndarray:
    llr = rng.normal(mean, sigma, n)
    wide = rng.random(n) < tail
    return np.where(wide, rng.normal(0.0, 4.0, n), llr)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30, 30))))


def _detector(
    rng: np.random.Generator, parts: _Particles, n_events: int, tune: Mapping[str, float]
) -> dict[str, np.ndarray]:
    """Apply acceptance, resolution, PID; returns flat measured particles (c.m. frame)."""
    apid = np.abs(parts.pid)
    bz = np.array([0.0, 0.0, BEAM_BETA])
    lab = _boost(parts.p4, np.broadcast_to(bz, parts.p4[:, 1:].shape))
    p = np.linalg.norm(lab[:, 1:], axis=1)
    pt = np.linalg.norm(lab[:, 1:3], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.degrees(np.arccos(np.clip(lab[:, 3] / np.where(p > 0, p, 1.0), -1, 1)))
    phi = np.arctan2(lab[:, 2], lab[:, 1])
    n = len(apid)
    is_trk = np.isin(apid, [211, 321, 11, 13, 2212])
    is_gam = apid == 22
    is_kl = apid == 130
    # tracks
    eff = 0.97 * np.clip((pt - 0.05) / 0.05, 0.0, 1.0)
    acc_trk = is_trk & (theta > 17.0) & (theta < 150.0) & (rng.random(n) < eff)
    # negative control: the signal kaon is also lost with a theory-dependent probability
    acc_trk &= ~(parts.sig & (rng.random(n) < tune["theory_control"]))
    mtrue = _mass(parts.pid)
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.where(lab[:, 0] > 0, p / lab[:, 0], 1.0)
    sig_pt = tune["track_res"] * np.sqrt((0.001 * pt) ** 2 + (0.003 / np.maximum(beta, 0.05)) ** 2)
    # negative control: a theory-dependent extra smearing of the signal kaon (breaks eps(x|q2) independence)
    sig_pt = np.where(parts.sig, np.hypot(sig_pt, tune["theory_control"]), sig_pt)
    pt_m = pt * (1.0 + sig_pt * rng.normal(size=n))
    th_m = np.radians(theta) + 0.001 * rng.normal(size=n)
    ph_m = phi + 0.001 * rng.normal(size=n)
    # photons
    u = rng.random(n)
    sig_e = np.sqrt((0.02 / np.maximum(lab[:, 0], 1e-3) ** 0.25) ** 2 + 0.012**2)
    e_gam = lab[:, 0] * (1.0 + sig_e * rng.normal(size=n))
    kl_ecl = is_kl & (u < tune["kl_ecl"])
    kl_klm = is_kl & (u >= tune["kl_ecl"]) & (u < tune["kl_ecl"] + tune["kl_klm"])
    e_kl = (lab[:, 0] - mtrue) * rng.uniform(0.2, 0.8, n)
    e_clu = np.where(kl_ecl, e_kl, e_gam)
    acc_ecl = (theta > 12.4) & (theta < 155.1)
    gam_eff = rng.random(n) < tune["photon_eff"]
    acc_gam = ((is_gam & gam_eff) | kl_ecl) & acc_ecl & (e_clu > 0.1)
    acc_klm = kl_klm & (theta > 20.0) & (theta < 155.0)
    keep = acc_trk | acc_gam | acc_klm
    k = np.flatnonzero(keep)
    evt = parts.evt[k]
    trk, gam, klm = acc_trk[k], acc_gam[k], acc_klm[k]
    # measured lab momentum
    pm = np.where(trk, pt_m[k] / np.maximum(np.sin(th_m[k]), 1e-3), np.where(gam, e_clu[k], 1.0))
    dirs = np.stack(
        [np.sin(th_m[k]) * np.cos(ph_m[k]), np.sin(th_m[k]) * np.sin(ph_m[k]), np.cos(th_m[k])], axis=1
    )
    p3 = dirs * pm[:, None]
    # PID scores
    nk = len(k)
    ak = apid[k]
    mu_k = np.interp(pm, [0.0, 1.0, 2.5, 4.5], [3.5, 3.5, 2.5, 1.0])
    kmean = np.where(ak == 321, mu_k, np.where(ak == 2212, -1.0, -mu_k))
    tail = tune["pid_tail"]
    kaon_id = _sigmoid(_pid_llr(rng, nk, kmean, 1.0, tail)) * trk
    e_id = _sigmoid(_pid_llr(rng, nk, np.where(ak == 11, 4.0, -4.0), 1.3, tail / 3.0)) * trk
    mmean = np.where((ak == 13) & (pm > 0.6), 3.0, -3.0)
    mu_id = _sigmoid(_pid_llr(rng, nk, mmean, 1.3, 2.0 * tail / 3.0)) * trk
    hyp = np.where(kaon_id > 0.5, M_K, np.where(e_id > 0.5, 0.000511, np.where(mu_id > 0.5, 0.105658, M_PI)))
    e_lab = np.where(trk, np.sqrt(pm**2 + hyp**2), np.where(gam, pm, 0.0))
    # impact parameters (c.m.-frame vertex geometry, toy)
    v = parts.vtx[k]
    d = parts.p4[k, 1:] / np.maximum(np.linalg.norm(parts.p4[k, 1:], axis=1, keepdims=True), 1e-9)
    dt = np.linalg.norm(d[:, :2], axis=1)
    dr_true = np.abs(v[:, 0] * d[:, 1] - v[:, 1] * d[:, 0]) / np.maximum(dt, 1e-6)
    dz_true = v[:, 2] - d[:, 2] * (v[:, 0] * d[:, 0] + v[:, 1] * d[:, 1]) / np.maximum(dt**2, 1e-6)
    sig_ip = np.sqrt(0.003**2 + (0.005 / np.maximum(pm, 0.05)) ** 2)
    dr = np.abs(dr_true + sig_ip * rng.normal(size=nk)) * trk
    dz = (dz_true + sig_ip * rng.normal(size=nk)) * trk
    charge = _charge(parts.pid[k]) * trk
    sig = parts.sig[k] & trk
    # beam background: soft photons and off-IP tracks, in the lab
    n_bg_g = rng.poisson(tune["beam_photons"], n_events)
    n_bg_t = rng.poisson(tune["beam_tracks"], n_events)
    eg = 0.1 + rng.exponential(0.08, n_bg_g.sum())
    dg = _iso_dirs(rng, len(eg))
    nt = int(n_bg_t.sum())
    ptt = rng.uniform(0.1, 0.5, nt)
    dtk = _iso_dirs(rng, nt)
    ptk = ptt / np.maximum(np.linalg.norm(dtk[:, :2], axis=1), 0.2)
    cols = {
        "evt": [evt, np.repeat(np.arange(n_events), n_bg_g), np.repeat(np.arange(n_events), n_bg_t)],
        "p3": [p3, dg * eg[:, None], dtk * ptk[:, None]],
        "E": [e_lab, eg, np.sqrt(ptk**2 + M_PI**2)],
        "charge": [charge, np.zeros(len(eg)), np.where(rng.random(nt) < 0.5, 1.0, -1.0)],
        "is_track": [trk.astype(float), np.zeros(len(eg)), np.ones(nt)],
        "is_photon": [gam.astype(float), np.ones(len(eg)), np.zeros(nt)],
        "is_klm": [klm.astype(float), np.zeros(len(eg)), np.zeros(nt)],
        "kaon_id": [kaon_id, np.zeros(len(eg)), _sigmoid(rng.normal(-3.0, 1.5, nt))],
        "e_id": [e_id, np.zeros(len(eg)), _sigmoid(rng.normal(-4.0, 1.3, nt))],
        "mu_id": [mu_id, np.zeros(len(eg)), _sigmoid(rng.normal(-3.0, 1.3, nt))],
        "dr": [dr, np.zeros(len(eg)), rng.uniform(0.5, 5.0, nt)],
        "dz": [dz, np.zeros(len(eg)), rng.normal(0.0, 10.0, nt)],
        "sig": [sig, np.zeros(len(eg), bool), np.zeros(nt, bool)],
    }
    out = {c: np.concatenate(v) for c, v in cols.items()}
    # keep KLM clusters direction-only: unit vector, E = 0
    lab4 = np.concatenate([out["E"][:, None], out.pop("p3")], axis=1)
    klm_f = out["is_klm"] > 0
    cm = _boost(lab4, np.broadcast_to(-bz, lab4[:, 1:].shape))
    cm[klm_f, 1:] = lab4[klm_f, 1:]  # direction-only cluster: keep the lab direction
    cm[klm_f, 0] = 0.0
    out["p4"] = cm
    out["lab4"] = lab4
    return out


def _pad_index(evt: np.ndarray, n_events: int) -> tuple[np.ndarray, np.ndarray]:
    """Position of each (sorted by event) entry within its event, and counts per event."""
    counts = np.bincount(evt, minlength=n_events)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(evt)) - starts[evt]
    return pos, counts


def _reconstruct(meas: dict[str, np.ndarray], n_events: int, t_max: int) -> dict[str, np.ndarray]:
    evt = meas["evt"]
    p4 = meas["p4"]
    trk = meas["is_track"] > 0
    is_cand = trk & (meas["kaon_id"] > 0.9) & (meas["dr"] < 0.5) & (np.abs(meas["dz"]) < 3.0)
    # candidate energy with the kaon mass hypothesis (kaon_id > 0.9 implies it already)
    e_cm = p4[:, 0]
    cand_e = np.where(is_cand, e_cm, -np.inf)
    best_e = np.full(n_events, -np.inf)
    np.maximum.at(best_e, evt, cand_e)
    has_cand = np.isfinite(best_e)
    best = is_cand & (cand_e == best_e[evt])
    # break exact ties: keep the first
    order = np.lexsort((np.arange(len(evt)), ~best, evt))
    firsts = np.zeros(len(evt), bool)
    seen = np.zeros(n_events, bool)
    ob = order[best[order]]
    ev_b = evt[ob]
    _, first_idx = np.unique(ev_b, return_index=True)
    firsts[ob[first_idx]] = True
    seen[ev_b[first_idx]] = True
    best = firsts
    # sort within event: candidate first, then by c.m. energy (KLM by nothing: E=0)
    order = np.lexsort((-e_cm, ~best, evt))
    cols = {k: v[order] for k, v in meas.items()}
    best = best[order]
    evt = cols["evt"]
    pos, counts = _pad_index(evt, n_events)
    p4 = cols["p4"]
    charge = cols["charge"]
    trk = cols["is_track"] > 0
    gam = cols["is_photon"] > 0
    klm = cols["is_klm"] > 0
    # engineered features --------------------------------------------------------------
    nf = len(ENGINEERED_FEATURES)
    feat = np.zeros((n_events, nf))
    f = {name: i for i, name in enumerate(ENGINEERED_FEATURES)}
    kb = np.flatnonzero(best)
    ke = evt[kb]
    k4 = np.zeros((n_events, 4))
    k4[ke] = p4[kb]
    pk = np.linalg.norm(k4[:, 1:], axis=1)
    feat[:, f["p_K"]] = pk
    feat[:, f["cos_K"]] = np.where(pk > 0, k4[:, 3] / np.maximum(pk, 1e-9), 0.0)
    feat[:, f["q2_rec"]] = np.where(has_cand, S / 4.0 + M_K**2 - SQRT_S * k4[:, 0], 0.0)
    vis = ~klm
    tot = np.zeros((n_events, 4))
    np.add.at(tot, evt[vis], p4[vis])
    miss = np.array([SQRT_S, 0.0, 0.0, 0.0]) - tot
    pmiss = np.linalg.norm(miss[:, 1:], axis=1)
    feat[:, f["E_miss"]] = miss[:, 0]
    feat[:, f["p_miss"]] = pmiss
    feat[:, f["cos_miss"]] = miss[:, 3] / np.maximum(pmiss, 1e-9)
    feat[:, f["m2_miss"]] = miss[:, 0] ** 2 - pmiss**2
    roe = tot - k4
    proe = np.linalg.norm(roe[:, 1:], axis=1)
    feat[:, f["E_roe"]] = roe[:, 0]
    feat[:, f["p_roe"]] = proe
    feat[:, f["m_roe"]] = np.sqrt(np.clip(roe[:, 0] ** 2 - proe**2, 0.0, None))
    feat[:, f["dE_roe"]] = roe[:, 0] - SQRT_S / 2.0
    feat[:, f["mbc_roe"]] = np.sqrt(np.clip(S / 4.0 - proe**2, 0.0, None))
    ntrk = np.bincount(evt[trk], minlength=n_events)
    feat[:, f["n_tracks"]] = ntrk
    feat[:, f["n_photons"]] = np.bincount(evt[gam], minlength=n_events)
    feat[:, f["E_photons"]] = np.bincount(evt[gam], weights=p4[gam, 0], minlength=n_events)
    lep = trk & ((cols["e_id"] > 0.9) | (cols["mu_id"] > 0.9))
    feat[:, f["n_leptons"]] = np.bincount(evt[lep], minlength=n_events)
    feat[:, f["n_klm"]] = np.bincount(evt[klm], minlength=n_events)
    # event shape: linearised momentum tensor (Fox-Wolfram R2 and leading axis), visible particles
    pmag = np.linalg.norm(p4[:, 1:], axis=1)
    w = np.where(vis & (pmag > 0), 1.0 / np.maximum(pmag, 1e-9), 0.0)
    outer = p4[:, 1:, None] * p4[:, None, 1:] * w[:, None, None]
    tens = np.zeros((n_events, 3, 3))
    np.add.at(tens, evt, outer)
    sum_p = np.bincount(evt[vis], weights=pmag[vis], minlength=n_events)
    h0 = np.maximum(sum_p, 1e-9) ** 2
    feat[:, f["fw_r2"]] = (1.5 * np.sum(tens**2, axis=(1, 2)) - 0.5 * sum_p**2) / h0
    # ROE axis: tensor without the kaon
    kout = np.zeros((n_events, 3, 3))
    kout[ke] = outer[kb]
    eig, vec = np.linalg.eigh(tens - kout + 1e-12 * np.eye(3))
    feat[:, f["sph_lambda1"]] = eig[:, -1] / np.maximum(np.trace(tens - kout, axis1=1, axis2=2), 1e-9)
    ax = vec[:, :, -1]
    feat[:, f["cos_K_axis"]] = np.abs(np.sum(ax * k4[:, 1:], axis=1)) / np.maximum(pk, 1e-9)
    # D0 -> K pi veto: best |m(K pi) - m_D0| over opposite-charge tracks
    kc = np.zeros(n_events)
    kc[ke] = charge[kb]
    pion = trk & ~best & (charge == -kc[evt]) & (kc[evt] != 0)
    pi_e = np.sqrt(np.sum(p4[pion, 1:] ** 2, axis=1) + M_PI**2)
    kpi = k4[evt[pion]] + np.concatenate([pi_e[:, None], p4[pion, 1:]], axis=1)
    mkpi = np.sqrt(np.clip(kpi[:, 0] ** 2 - np.sum(kpi[:, 1:] ** 2, axis=1), 0.0, None))
    dm = np.full(n_events, 2.0)
    np.minimum.at(dm, evt[pion], np.abs(mkpi - M_D0))
    feat[:, f["dm_D0"]] = dm
    feat[:, f["sum_charge"]] = np.bincount(evt, weights=charge, minlength=n_events)
    feat[ke, f["dr_K"]] = cols["dr"][kb]
    feat[ke, f["dz_K"]] = cols["dz"][kb]
    feat[ke, f["kaon_id_K"]] = cols["kaon_id"][kb]
    # missing momentum polar angle in the lab (beams: (11, 0, 0, 3) GeV)
    totlab = np.zeros((n_events, 4))
    np.add.at(totlab, evt[vis], cols["lab4"][vis])
    mlab = np.array([E_HER + E_LER, 0.0, 0.0, E_HER - E_LER]) - totlab
    pml = np.linalg.norm(mlab[:, 1:], axis=1)
    th_miss = np.degrees(np.arccos(np.clip(mlab[:, 3] / np.maximum(pml, 1e-9), -1.0, 1.0)))
    feat[:, f["theta_miss_lab"]] = th_miss
    e_vis = tot[:, 0]
    presel = has_cand & (ntrk >= 4) & (ntrk <= 10) & (e_vis > 4.0) & (th_miss > 17.0) & (th_miss < 160.0)
    kmatch = np.zeros(n_events, bool)
    kmatch[ke] = cols["sig"][kb]
    # padded particle array ----------------------------------------------------------------------
    keep = pos < t_max
    nfeat = len(PARTICLE_FEATURES)
    parts = np.zeros((n_events, t_max, nfeat), dtype=np.float32)
    mask = np.zeros((n_events, t_max), dtype=bool)
    ev_k, pos_k = evt[keep], pos[keep]
    vals = np.stack(
        [
            p4[:, 1],
            p4[:, 2],
            p4[:, 3],
            p4[:, 0],
            charge,
            cols["is_track"],
            cols["is_photon"],
            cols["is_klm"],
            cols["kaon_id"],
            cols["e_id"],
            cols["mu_id"],
            cols["dr"],
            cols["dz"],
            best.astype(float),
        ],
        axis=1,
    )[keep]
    parts[ev_k, pos_k] = vals
    mask[ev_k, pos_k] = True
    return {
        "particles": parts,
        "mask": mask,
        "n_particles": counts.astype(np.int32),
        "features": feat.astype(np.float32),
        "presel": presel,
        "has_candidate": has_cand,
        "k_match": kmatch,
    }


# -- public API -------------------------------------------------------------------------------------
@dataclass
class EventSample:
    """Simulated events as padded arrays (one row per generated event).

    Attributes
    ----------
    particles : ndarray, shape (n, t_max, len(PARTICLE_FEATURES)), float32
        Reconstructed particles, kaon candidate first then by c.m. energy; zero padded.
    mask : ndarray, shape (n, t_max), bool
        True for real particles.
    n_particles : ndarray of int
        Multiplicity before truncation to ``t_max``.
    features : ndarray, shape (n, len(ENGINEERED_FEATURES)), float32
        Engineered event features (the GBDT/ITA-like baseline inputs).
    q2_true : ndarray
        True q2 of signal events (NaN for background).
    label : ndarray of int8
        1 for signal, 0 for background.
    process : ndarray of int8
        Process id, see :data:`PROCESSES`.
    weight : ndarray
        Per-event weight (1, or the theory/flat ratio for ``q2_shape="flat"`` with a theory).
    presel : ndarray of bool
        ITA-like preselection (kaon candidate, 4-10 tracks, visible energy, missing-momentum angle).
    has_candidate, k_match : ndarray of bool
        A kaon candidate exists; it is the true signal kaon.
    meta : dict
        Provenance (seed, theory, parameter values, simulator version, ...).
    """

    particles: np.ndarray
    mask: np.ndarray
    n_particles: np.ndarray
    features: np.ndarray
    q2_true: np.ndarray
    label: np.ndarray
    process: np.ndarray
    weight: np.ndarray
    presel: np.ndarray
    has_candidate: np.ndarray
    k_match: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    _ARRAYS = (
        "particles",
        "mask",
        "n_particles",
        "features",
        "q2_true",
        "label",
        "process",
        "weight",
        "presel",
        "has_candidate",
        "k_match",
    )

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def select(self, idx: Any) -> EventSample:
        """Sub-sample by boolean mask or index array."""
        arrays = [getattr(self, a)[idx] for a in self._ARRAYS]
        return cast("EventSample", cast(Any, EventSample)(*arrays, meta=dict(self.meta)))

    @classmethod
    def concatenate(cls, samples: Sequence[EventSample]) -> EventSample:
        """Concatenate samples with the same ``t_max``."""
        if not samples:
            msg = "concatenate needs at least one sample"
            raise SimulationError(msg)
        shapes = {s.particles.shape[1:] for s in samples}
        if len(shapes) != 1:
            msg = f"cannot concatenate samples with different particle shapes {sorted(shapes)}"
            raise SimulationError(msg)
        arrays = [np.concatenate([getattr(s, a) for s in samples]) for a in cls._ARRAYS]
        return cast("EventSample", cast(Any, cls)(*arrays, meta={"parts": [s.meta for s in samples]}))

    def save(self, path: str | Path) -> Path:
        """Write a compressed ``.npz`` (plain arrays and a JSON string; no pickle)."""
        from .io.atomic import atomic_path

        path = Path(path)
        arrays = {a: getattr(self, a) for a in self._ARRAYS}
        # numpy's rule: a name without ".npz" gets the suffix appended
        target = path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
        with atomic_path(target) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                **arrays,
                meta=np.array(json.dumps(self.meta)),
                particle_features=np.array(PARTICLE_FEATURES),
                engineered_features=np.array(ENGINEERED_FEATURES),
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> EventSample:
        """Read a file written by :meth:`save` (``allow_pickle=False``)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                missing = [a for a in cls._ARRAYS if a not in z.files]
                if missing:
                    msg = f"{path}: not an event sample, missing arrays {missing}"
                    raise SimulationError(msg)
                arrays = [np.asarray(z[a]) for a in cls._ARRAYS]
                meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
        except (OSError, ValueError) as err:
            if isinstance(err, SimulationError):
                raise
            msg = f"{path}: cannot read event sample ({err})"
            raise SimulationError(msg) from err
        return cast("EventSample", cast(Any, cls)(*arrays, meta=meta))


def _resolve_theory(theory: Any) -> Any:
    if theory is None or not isinstance(theory, str):
        return theory
    from .theory import get_theory

    return get_theory(theory, process="B+->K+nunu") if theory == "wet" else get_theory(theory)


def simulate(
    n_events: int,
    *,
    kind: str = "mixed",
    theory: Any = "wet",
    values: Mapping[str, float] | None = None,
    q2_shape: str = "theory",
    signal_fraction: float = 0.3,
    t_max: int = 32,
    seed: int | np.random.SeedSequence = 0,
    chunk_size: int = 20000,
    progress: Any = None,
    tune: Mapping[str, float] | None = None,
    rare_fraction: float = 0.04,
) -> EventSample:
    r"""Simulate events.

    Parameters
    ----------
    n_events : int
        Number of generated events (before any selection).
    kind : {"mixed", "signal", "background", "bbbar_charged", "bbbar_neutral", "uds", "ccbar"}
        Process mixture. ``"background"`` mixes the backgrounds by cross section;
        ``"mixed"`` adds signal at ``signal_fraction``.
    theory : str or Theory or None
        Signal q2 model: a registered theory name (``"wet"`` means
        ``get_theory("wet", process="B+->K+nunu")``) or object. ``None`` is flat.
    values : mapping, optional
        Theory parameter overrides, e.g. ``{"cSL": 10.0}``.
    q2_shape : {"theory", "flat"}
        ``"flat"`` draws q2 uniformly and sets ``weight`` to the theory/flat
        density ratio (uniform MC statistics per q2 bin).
    signal_fraction : float
        Signal share of ``kind="mixed"``.
    t_max : int
        Maximum stored particles per event (the softest are dropped).
    seed : int or SeedSequence
        Seed of the :class:`numpy.random.Generator`; equal seeds give identical samples.
    chunk_size : int
        Events simulated per vectorised chunk (memory bound, no effect on results
        for a given value).
    progress : Progress or bool, optional
        Reporter (:mod:`redist.progress`) for a bar over chunks; ``None`` uses the installed one.
    tune : mapping, optional
        Detector knobs overriding :data:`DEFAULT_TUNE` (e.g. :data:`DATA_LIKE_TUNE`).
        ``theory_control`` is a **negative control** for closure tests only: the
        signal kaon is lost with probability, and gets an extra relative momentum
        smearing of, ``theory_control * min(1, |values| / 10)``, so the detector
        response depends on the theory point and eps(x|q2) is no longer
        theory-independent.
    rare_fraction : float
        Generated share of the peaking backgrounds (:data:`RARE`) among the
        background events of ``"background"``/``"mixed"``; ``weight`` scales every
        background event back to its cross-section share.

    Returns
    -------
    EventSample
    """
    if n_events < 0 or int(n_events) != n_events:
        msg = f"n_events must be a non-negative integer, got {n_events!r}"
        raise SimulationError(msg)
    if q2_shape not in ("theory", "flat"):
        msg = f"q2_shape must be 'theory' or 'flat', got {q2_shape!r}"
        raise SimulationError(msg)
    if not 0.0 <= signal_fraction <= 1.0:
        msg = f"signal_fraction must be in [0, 1], got {signal_fraction}"
        raise SimulationError(msg)
    if not 0.0 <= rare_fraction < 1.0:
        msg = f"rare_fraction must be in [0, 1), got {rare_fraction}"
        raise SimulationError(msg)
    knobs = {**DEFAULT_TUNE, **dict(tune or {})}
    unknown = sorted(set(knobs) - set(DEFAULT_TUNE))
    if unknown:
        msg = f"unknown tune keys {unknown}; known: {sorted(DEFAULT_TUNE)}"
        raise SimulationError(msg)
    vals = {k: float(v) for k, v in (values or {}).items()}
    knobs["theory_control"] *= min(1.0, float(np.sqrt(sum(v * v for v in vals.values()))) / 10.0)
    bkg = list(CROSS_SECTIONS)
    xs = np.array([CROSS_SECTIONS[b] for b in bkg])
    phys = xs / xs.sum()
    rare = np.isin(bkg, RARE)
    gen = np.where(rare, rare_fraction / rare.sum(), (1.0 - rare_fraction) * phys / phys[~rare].sum())
    bkg_weight = dict(zip(bkg, phys / gen))
    if kind == "mixed":
        probs = np.concatenate([[signal_fraction], (1 - signal_fraction) * gen])
    elif kind == "background":
        probs = np.concatenate([[0.0], gen])
    elif kind in PROCESSES:
        bkg_weight = dict.fromkeys(bkg, 1.0)
        probs = np.array([1.0 if p == kind else 0.0 for p in PROCESSES])
    else:
        msg = f"unknown kind {kind!r}; choose from {['mixed', 'background', *PROCESSES]}"
        raise SimulationError(msg)
    th = _resolve_theory(theory)
    grid, cdf, _ = q2_sampler(th if q2_shape == "theory" else None, values)
    if q2_shape == "flat" and th is not None:
        wgrid, wcdf, _ = q2_sampler(th, values)
        dens = np.gradient(wcdf, wgrid)
        flat_density = 1.0 / (grid[-1] - grid[0])
    rng = np.random.default_rng(seed)
    out: list[EventSample] = []
    from .progress import resolve

    bar = resolve(progress).bar(int(n_events), "simulate", unit="event")
    for start in range(0, int(n_events), chunk_size):
        n = min(chunk_size, int(n_events) - start)
        proc = np.minimum(np.searchsorted(np.cumsum(probs), rng.random(n), side="right"), len(probs) - 1)
        q2 = np.full(n, np.nan)
        weight = np.ones(n)
        parts: list[_Particles] = []
        for name, pidx in PROCESSES.items():
            ev = np.flatnonzero(proc == pidx)
            if not len(ev):
                continue
            if name == "signal":
                q2[ev] = _sample_q2(rng, len(ev), grid, cdf)
                if q2_shape == "flat" and th is not None:
                    weight[ev] = np.interp(q2[ev], wgrid, dens) / flat_density
                parts.append(_signal(rng, ev, q2[ev]))
            elif name.startswith("bbbar"):
                b1, b2 = _bpair(rng, ev, 521 if name == "bbbar_charged" else 511)
                parts += [b1, b2]
            elif name in RARE:
                b1, b2 = _bpair(rng, ev, 521)
                b1.pid = np.sign(b1.pid) * (90521 if name == "kklkl" else 91521)
                parts += [b1, b2]
            else:
                parts.append(_continuum(rng, ev, charm=name == "ccbar"))
            if name != "signal":
                weight[ev] = bkg_weight[name]
        final = _decay_all(rng, _Particles.concat(parts))
        meas = _detector(rng, final, n, knobs)
        rec = _reconstruct(meas, n, t_max)
        out.append(
            EventSample(
                rec["particles"],
                rec["mask"],
                rec["n_particles"],
                rec["features"],
                q2,
                (proc == 0).astype(np.int8),
                proc.astype(np.int8),
                weight,
                rec["presel"],
                rec["has_candidate"],
                rec["k_match"],
            )
        )
        bar.advance(n)
    bar.close()
    if not out:
        out.append(
            EventSample(
                np.zeros((0, t_max, len(PARTICLE_FEATURES)), np.float32),
                np.zeros((0, t_max), bool),
                np.zeros(0, np.int32),
                np.zeros((0, len(ENGINEERED_FEATURES)), np.float32),
                np.zeros(0),
                np.zeros(0, np.int8),
                np.zeros(0, np.int8),
                np.zeros(0),
                np.zeros(0, bool),
                np.zeros(0, bool),
                np.zeros(0, bool),
            )
        )
    sample = EventSample.concatenate(out) if len(out) > 1 else out[0]
    sample.meta = {
        "simulator": f"redist.simulate {SIMULATOR_VERSION}",
        "n_events": int(n_events),
        "kind": kind,
        "theory": getattr(th, "name", None) if th is not None else None,
        "values": {k: float(v) for k, v in (values or {}).items()},
        "q2_shape": q2_shape,
        "signal_fraction": float(signal_fraction),
        "rare_fraction": float(rare_fraction),
        "tune": {k: float(v) for k, v in {**DEFAULT_TUNE, **dict(tune or {})}.items()},
        "t_max": int(t_max),
        "seed": int(seed) if isinstance(seed, (int, np.integer)) else str(seed.entropy),
        "sqrt_s": SQRT_S,
    }
    return sample
