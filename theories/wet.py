r"""b -> s nu nubar in the Weak Effective Theory, in EOS conventions.

Rates follow ``docs/physics.md`` (EOS v1.0.21): the Wilson coefficients
``cVL, cVR, cSL, cSR, cTL`` are *full* coefficients (SM: ``cVL = 6.613114906357177``)
normalised with :math:`\alpha_e = 1/133`; each may be complex, entered as the
real parameter ``cX`` and the imaginary part ``cX_im``. Form factors are
BSZ2015 z-expansions whose coefficients form one correlated nuisance group.

The rate is a quadratic form. Writing each form factor as
:math:`F = P_F(q^2)\sum_k \alpha^F_k x^k` with :math:`x = z(q^2) - z(0)`,

.. math::

    \frac{d\Gamma}{dq^2} = \sum_{t} W_t(C)\, \sum_{p=0}^{4} s^{F_t}_p(\alpha)\,
    \underbrace{N(q^2)\,g_t(q^2)\,P_{F_t}(q^2)^2\, x^p}_{\text{basis } \phi_{t,p}(q^2)},
    \qquad s^F_p = \sum_{k+l=p} \alpha^F_k \alpha^F_l ,

with :math:`W_t` one of :math:`|c_{VL}+c_{VR}|^2`, :math:`|c_{VL}-c_{VR}|^2`,
:math:`|c_{SL}\pm c_{SR}|^2`, :math:`|c_{TL}|^2`. redist integrates the basis
functions once per binning (:mod:`redist.kernels`), so a new parameter point
costs one small matrix-vector product.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from redist.exceptions import TheoryError
from redist.theory import CorrelatedGroup, Kinematic, Parameter, Setting, Theory

from .inputs import FORM_FACTOR_SETS, eos_inputs, sm

__all__ = ["BSZ2015", "PROCESSES", "SM_CVL", "WET", "assign_complex"]

SM_CVL = 6.613114906357177
WILSON = ("cVL", "cVR", "cSL", "cSR", "cTL")


def assign_complex(theory: Theory, name: str, value: complex) -> dict[str, float]:
    """The WET convention for complex coefficients: ``cX`` holds the real, ``cX_im`` the imaginary part.

    Used by :meth:`WET.assign` and by the adapters that share WET's parameter names.
    """
    if f"{name}_im" in theory.parameter_names:
        v = complex(value)
        return {name: v.real, f"{name}_im": v.imag}
    return Theory.assign(theory, name, value)


@dataclass(frozen=True)
class _Process:
    family: str  # "K" or "Kstar"
    b_mass: str
    m_mass: str
    tau: str
    factor: float = 1.0  # K_S = 1/2 K0


#: Supported process names.
PROCESSES: dict[str, _Process] = {
    "B+->K+nunu": _Process("K", "B_u", "K_u", "tau_B+_s"),
    "B0->K0nunu": _Process("K", "B_d", "K_d", "tau_B0_s"),
    "B0->KSnunu": _Process("K", "B_d", "K_d", "tau_B0_s", 0.5),
    "B+->K*+nunu": _Process("Kstar", "B_u", "K_u^*", "tau_B+_s"),
    "B0->K*0nunu": _Process("Kstar", "B_d", "K_d^*", "tau_B0_s"),
}

# pole masses (GeV) of the BSZ2015 parametrisation
_POLES = {
    "f+": 5.415, "fT": 5.415, "f0": 5.630,
    "V": 5.415, "T1": 5.415, "A0": 5.366, "A1": 5.829, "A12": 5.829, "T2": 5.829, "T23": 5.829,
}  # fmt: skip


class BSZ2015:
    """BSZ2015 form factors with coefficients given by name (EOS parameter names).

    Parameters
    ----------
    family : {"K", "Kstar"}
        Final-state meson.
    """

    def __init__(self, family: str) -> None:
        self.family = family
        self.m_b = 5.279
        self.m_m = 0.492 if family == "K" else 0.896
        self.t_plus = (self.m_b + self.m_m) ** 2
        t_minus = (self.m_b - self.m_m) ** 2
        self.t0 = self.t_plus * (1.0 - math.sqrt(1.0 - t_minus / self.t_plus))
        self.prefix = "B->K::" if family == "K" else "B->K^*::"
        self.names = ("f+", "f0", "fT") if family == "K" else ("V", "A0", "A1", "A12", "T1", "T2", "T23")

    def z(self, q2: np.ndarray) -> np.ndarray:
        """Conformal variable z(q²)."""
        a = np.sqrt(self.t_plus - q2)
        b = math.sqrt(self.t_plus - self.t0)
        return (a - b) / (a + b)

    def x(self, q2: np.ndarray) -> np.ndarray:
        """Expansion variable z(q²) - z(0)."""
        return np.asarray(self.z(q2) - self.z(np.zeros(1))[0], dtype=float)

    def pole(self, name: str, q2: np.ndarray) -> np.ndarray:
        """Pole factor 1/(1 - q²/m_R²)."""
        return 1.0 / (1.0 - q2 / _POLES[name] ** 2)

    def key(self, name: str, k: int) -> str:
        """EOS parameter name of coefficient ``k`` of form factor ``name``."""
        return f"{self.prefix}alpha^{name}_{k}@BSZ2015"

    def alphas(self, name: str, values: Mapping[str, Any]) -> list[Any]:
        """The three z-expansion coefficients of ``name``, applying the built-in constraints."""
        out = []
        for k in range(3):
            if k == 0 and name == "f0":
                out.append(values[self.key("f+", 0)])
            elif k == 0 and name == "A12":
                mb, mv = self.m_b, self.m_m
                out.append((mb**2 - mv**2) / (8 * mb * mv) * values[self.key("A0", 0)])
            elif k == 0 and name == "T2":
                out.append(values[self.key("T1", 0)])
            else:
                out.append(values[self.key(name, k)])
        return out

    def __call__(self, name: str, q2: np.ndarray, values: Mapping[str, Any]) -> np.ndarray:
        """Form factor ``name`` at ``q2``."""
        a = self.alphas(name, values)
        x = self.x(q2)
        return np.asarray(self.pole(name, q2) * (a[0] + a[1] * x + a[2] * x**2), dtype=float)


def _kallen(a: Any, b: Any, c: Any) -> Any:
    return a * a + b * b + c * c - 2 * (a * b + a * c + b * c)


class WET(Theory):
    """b -> s nu nubar in WET for B -> K and B -> K* (EOS conventions).

    Parameters
    ----------
    process : str
        One of :data:`PROCESSES`.
    form_factors : str
        ``"GKvD2018"`` (default, EOS default BSZ2015 fit) or ``"HPQCD2022"``
        (B -> K only). B -> K* always uses the GKvD2018 19-parameter set.

    Examples
    --------
    >>> th = WET("B+->K+nunu")
    >>> f"{th.branching_ratio():.4e}"
    '4.5974e-06'
    >>> f"{th.branching_ratio({'cVL': SM_CVL + 3}):.3e}"
    '9.715e-06'
    """

    name: ClassVar[str] = "wet"
    version: ClassVar[str] = "1.0"
    has_basis: ClassVar[bool] = True

    def __init__(self, process: str = "B+->K+nunu", form_factors: str = "GKvD2018") -> None:
        if process not in PROCESSES:
            msg = f"unknown process {process!r}; valid processes: {', '.join(PROCESSES)}"
            raise TheoryError(msg)
        proc = PROCESSES[process]
        if proc.family == "Kstar" and form_factors == "GKvD2018":
            form_factors = "GKvD2018-Kstar"
        if form_factors not in FORM_FACTOR_SETS or FORM_FACTOR_SETS[form_factors][0] != proc.family:
            valid = [k for k, v in FORM_FACTOR_SETS.items() if v[0] == proc.family]
            msg = f"form factors {form_factors!r} not available for {process}; valid: {valid}"
            raise TheoryError(msg)
        self.process = process
        self.form_factors = form_factors
        self._proc = proc
        p = sm()
        m = p["masses_GeV"]
        self.m_B = float(m[proc.b_mass])
        self.m_M = float(m[proc.m_mass])
        self.tau = float(p[proc.tau])
        self.hbar = float(p["hbar_GeV_s"])
        self.G_F = float(p["G_F_GeV-2"])
        self.alpha_e = 1.0 / 133.0
        self.lambda_t = float(p["CKM_model_WET"]["abs_VtbVts*"])
        mb = float(p["m_b_MSbar_at_4.2GeV"])
        ms = float(p["m_s_MSbar_at_4.2GeV"])
        self.mb_minus_ms, self.mb_plus_ms = mb - ms, mb + ms
        self.ff = BSZ2015(proc.family)

        ffd = eos_inputs()["form_factors_eos"][FORM_FACTOR_SETS[form_factors][1]]
        order = list(ffd["covariance_order"])
        central = ffd.get("central", ffd.get("alphas"))
        tag = {"GKvD2018": "BtoK_GKvD2018", "HPQCD2022": "BtoK_HPQCD2022"}.get(
            form_factors, "BtoKstar_GKvD2018"
        )
        self.groups = (
            CorrelatedGroup(
                name=f"ff_{tag}",
                parameters=tuple(order),
                mean=tuple(float(central[k]) for k in order),
                covariance=tuple(tuple(float(v) for v in row) for row in ffd["covariance"]),
            ),
        )
        params = []
        for c in WILSON:
            d = SM_CVL if c == "cVL" else 0.0
            params.append(Parameter(c, d, (-50.0, 50.0), f"Re {c} (full coefficient, EOS)"))
        params += [Parameter(f"{c}_im", 0.0, (-50.0, 50.0), f"Im {c}") for c in WILSON]
        self.parameters = tuple(params)
        self.q2_max = (self.m_B - self.m_M) ** 2
        self.kinematics = (Kinematic("q2", 0.0, self.q2_max, "GeV^2"),)
        self.metadata = {
            "process": process,
            "basis": "WET sbnunu (EOS), full coefficients, alpha_e = 1/133",
            "form_factors": f"BSZ2015 {form_factors}",
            "references": "EOS v1.0.21; BSZ2015 arXiv:1503.05534; GKvD:2018 arXiv:1811.00983",
        }
        self._terms = self._build_terms()
        self._coef_spec = [
            (self._combo(combo), self._alpha_keys(ffname)) for combo, ffname, _ in self._terms
        ]
        self._coef_arrays = self._vectorised_spec()

    def settings(self) -> dict[str, Any]:
        """Settings that rebuild this theory."""
        ff = "GKvD2018" if self.form_factors == "GKvD2018-Kstar" else self.form_factors
        return {"process": self.process, "form_factors": ff}

    @classmethod
    def settings_schema(cls) -> tuple[Setting, ...]:
        """``process`` (one of :data:`PROCESSES`) and ``form_factors``."""
        return (
            Setting("process", "str", "B+->K+nunu", tuple(PROCESSES), "b -> s nu nu process", process=True),
            Setting("form_factors", "str", "GKvD2018", ("GKvD2018", "HPQCD2022"),
                    "BSZ2015 form-factor fit (HPQCD2022: B -> K only)"),
        )  # fmt: skip

    def reference_point(self) -> dict[str, float]:
        """The SM: ``cVL`` = :data:`SM_CVL`, every other coefficient 0, central form factors."""
        return self.defaults()

    def assign(self, name: str, value: complex) -> dict[str, float]:
        """``cX = a + bj`` sets the real parameters ``cX = a`` and ``cX_im = b``.

        Examples
        --------
        >>> WET().assign("cSL", 1.5 + 0.5j)
        {'cSL': 1.5, 'cSL_im': 0.5}
        """
        return assign_complex(self, name, value)

    # -- structure -------------------------------------------------------------
    def _build_terms(self) -> list[tuple[str, str, Any]]:
        """(Wilson combination, form factor, kinematic prefactor g(q2)) per term."""
        mB, mM = self.m_B, self.m_M
        if self._proc.family == "K":
            return [
                ("VL+VR", "f+", lambda q2, lam: lam / 24.0),
                ("SL+SR", "f0", lambda q2, lam: q2 * (mB**2 - mM**2) ** 2 / (8 * self.mb_minus_ms**2)),
                ("TL", "fT", lambda q2, lam: 2.0 / 3.0 * q2 * lam / (mB + mM) ** 2),
            ]
        return [
            ("VL+VR", "V", lambda q2, lam: q2 * lam / (12 * (mB + mM) ** 2)),
            ("VL-VR", "A12", lambda q2, lam: 8 * mB**2 * mM**2 / 3.0 + 0 * q2),
            ("VL-VR", "A1", lambda q2, lam: q2 * (mB + mM) ** 2 / 12.0),
            ("SR-SL", "A0", lambda q2, lam: q2 * lam / (8 * self.mb_plus_ms**2)),
            ("TL", "T23", lambda q2, lam: 32 * q2 * mB**2 * mM**2 / (3 * (mB + mM) ** 2)),
            ("TL", "T1", lambda q2, lam: 4.0 / 3.0 * lam + 0 * q2),
            ("TL", "T2", lambda q2, lam: 4.0 / 3.0 * (mB**2 - mM**2) ** 2 + 0 * q2),
        ]

    def _norm(self, q2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lam = np.clip(_kallen(self.m_B**2, self.m_M**2, q2), 0.0, None)
        n = (
            3.0 * self.G_F**2 * self.alpha_e**2 * self.lambda_t**2 * np.sqrt(lam)
            / (32.0 * math.pi**5 * self.m_B**3)
        )
        return n * self.tau / self.hbar * self._proc.factor, lam

    def basis(self, z: np.ndarray) -> np.ndarray:
        """Basis functions phi_{t,p}(q2), shape (n, 5 * n_terms), for dBR/dq2."""
        q2 = np.asarray(z, dtype=float).reshape(-1)
        norm, lam = self._norm(q2)
        x = self.ff.x(q2)
        cols: list[np.ndarray] = []
        for _, ffname, g in self._terms:
            common = norm * g(q2, lam) * self.ff.pole(ffname, q2) ** 2
            cols.extend(common * x**p for p in range(5))
        return np.stack(cols, axis=-1)

    @staticmethod
    def _combo(combo: str) -> tuple[str, str, float]:
        """(first coefficient, second coefficient or "", sign) of a Wilson combination."""
        if combo == "TL":
            return "cTL", "", 0.0
        return f"c{combo[:2]}", f"c{combo[3:]}", 1.0 if combo[2] == "+" else -1.0

    def _alpha_keys(self, ffname: str) -> list[tuple[str, float]]:
        """(EOS parameter, factor) of the three coefficients of ``ffname`` (built-in constraints)."""
        mb, mv = self.ff.m_b, self.ff.m_m
        out = []
        for k in range(3):
            if k == 0 and ffname == "f0":
                out.append((self.ff.key("f+", 0), 1.0))
            elif k == 0 and ffname == "A12":
                out.append((self.ff.key("A0", 0), (mb**2 - mv**2) / (8 * mb * mv)))
            elif k == 0 and ffname == "T2":
                out.append((self.ff.key("T1", 0), 1.0))
            else:
                out.append((self.ff.key(ffname, k), 1.0))
        return out

    def _vectorised_spec(self) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
        """Index arrays of :meth:`coefficients` for its array form (one gather, a few array ops).

        ``keys`` are the values read, in order; a last slot holds 0 for terms with one
        coefficient. Per term ``t``: ``re = u[a] + s u[b]``, ``im = u[a_im] + s u[b_im]``,
        ``alpha_k = f_k u[k_k]``.
        """
        keys: list[str] = []

        def slot(k: str) -> int:
            if k not in keys:
                keys.append(k)
            return keys.index(k)

        rows: dict[str, list[Any]] = {n: [] for n in ("a", "a_im", "b", "b_im", "s", "k", "f")}
        zero = -1  # patched to the trailing zero slot below
        for (ca, cb, sign), alphas in self._coef_spec:
            rows["a"].append(slot(ca))
            rows["a_im"].append(slot(ca + "_im"))
            rows["b"].append(slot(cb) if cb else zero)
            rows["b_im"].append(slot(cb + "_im") if cb else zero)
            rows["s"].append(sign if cb else 0.0)
            rows["k"].append([slot(k) for k, _ in alphas])
            rows["f"].append([f for _, f in alphas])
        n = len(keys)
        arrays = {k: np.asarray(v) for k, v in rows.items()}
        for k in ("b", "b_im"):
            arrays[k] = np.where(arrays[k] < 0, n, arrays[k])
        arrays["f"] = arrays["f"].astype(float)
        arrays["all"] = np.concatenate(
            [arrays["a"], arrays["a_im"], arrays["b"], arrays["b_im"], arrays["k"].reshape(-1)]
        )
        arrays["s"] = arrays["s"].astype(float)
        return tuple(keys), arrays

    def coefficients(self, values: Mapping[str, Any], xp: ModuleType = np) -> Any:
        """Coefficients of :meth:`basis` (traceable with ``xp`` = numpy or jax.numpy).

        Term by term: ``|C_a +- C_b|^2`` times the coefficients of ``x^p`` in
        ``(alpha_0 + alpha_1 x + alpha_2 x^2)^2``. With numpy the values are plain
        floats (scalar arithmetic is cheapest); with an array module the same
        formula runs on gathered arrays, a handful of array operations instead of
        one per term, which keeps compiled gradients short.
        """
        v = values
        if xp is not np:
            keys, ix = self._coef_arrays
            u = xp.concatenate([xp.stack([xp.asarray(v[k], dtype=float) for k in keys]), xp.zeros(1)])
            n = ix["a"].size
            g = u[ix["all"]]  # one gather (one scatter in the gradient)
            re = g[:n] + ix["s"] * g[2 * n : 3 * n]
            im = g[n : 2 * n] + ix["s"] * g[3 * n : 4 * n]
            w = re * re + im * im
            al = ix["f"] * g[4 * n :].reshape(n, 3)
            a0, a1, a2 = al[:, 0], al[:, 1], al[:, 2]
            s = xp.stack([a0 * a0, 2 * a0 * a1, a1 * a1 + 2 * a0 * a2, 2 * a1 * a2, a2 * a2], axis=1)
            return (w[:, None] * s).reshape(-1)
        out = []
        for (ca, cb, sign), ((k0, f0), (k1, f1), (k2, f2)) in self._coef_spec:
            re, im = v[ca], v[ca + "_im"]
            if cb:
                re = re + sign * v[cb]
                im = im + sign * v[cb + "_im"]
            w = re * re + im * im
            a0, a1, a2 = f0 * v[k0], f1 * v[k1], f2 * v[k2]
            out += [w * a0 * a0, 2 * w * a0 * a1, w * (a1 * a1 + 2 * a0 * a2), 2 * w * a1 * a2, w * a2 * a2]
        if xp is np:
            return np.array(out, dtype=float)
        return xp.stack([xp.asarray(o) for o in out])

    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: ModuleType) -> Any:
        return self.basis(z) @ self.coefficients(values, xp)

    # -- direct formulas (independent of the basis expansion; used in tests) ---------
    def dbr_dq2_direct(self, q2: Any, values: Mapping[str, Any] | None = None) -> np.ndarray:
        """dBR/dq² from the textbook formula with complex coefficients (no basis expansion)."""
        v = self.resolve(values)
        q2 = np.asarray(q2, dtype=float)
        C = {c: complex(v[c], v[f"{c}_im"]) for c in WILSON}
        norm, lam = self._norm(q2)
        F = {n: self.ff(n, q2, v) for n in self.ff.names}
        mB, mM = self.m_B, self.m_M
        if self._proc.family == "K":
            br = (
                lam / 24 * F["f+"] ** 2 * abs(C["cVL"] + C["cVR"]) ** 2
                + q2 * (mB**2 - mM**2) ** 2 / (8 * self.mb_minus_ms**2) * F["f0"] ** 2
                * abs(C["cSL"] + C["cSR"]) ** 2
                + 2 / 3 * q2 * lam / (mB + mM) ** 2 * F["fT"] ** 2 * abs(C["cTL"]) ** 2
            )
        else:
            br = (
                q2 * lam / (12 * (mB + mM) ** 2) * F["V"] ** 2 * abs(C["cVL"] + C["cVR"]) ** 2
                + (8 * mB**2 * mM**2 / 3 * F["A12"] ** 2 + q2 * (mB + mM) ** 2 / 12 * F["A1"] ** 2)
                * abs(C["cVL"] - C["cVR"]) ** 2
                + q2 * lam / (8 * self.mb_plus_ms**2) * F["A0"] ** 2 * abs(C["cSR"] - C["cSL"]) ** 2
                + (
                    32 * q2 * mB**2 * mM**2 / (3 * (mB + mM) ** 2) * F["T23"] ** 2
                    + 4 / 3 * (lam * F["T1"] ** 2 + (mB**2 - mM**2) ** 2 * F["T2"] ** 2)
                )
                * abs(C["cTL"]) ** 2
            )
        return np.asarray(norm * br, dtype=float)

    def branching_ratio(
        self,
        values: Mapping[str, Any] | None = None,
        q2_range: tuple[float, float] | None = None,
        *,
        order: int = 200,
    ) -> float:
        """Integrated branching ratio over ``q2_range`` (default: full physical range).

        Uses ``order``-point Gauss-Legendre on a sqrt substitution that removes
        the end-point square-root behaviour of the phase space.
        """
        lo, hi = q2_range if q2_range is not None else (0.0, self.q2_max)
        lo, hi = max(lo, 0.0), min(hi, self.q2_max)
        if hi <= lo:
            return 0.0
        # q2 = q2max - u^2 makes sqrt(lambda) ~ u smooth at the end point
        t, w = np.polynomial.legendre.leggauss(order)
        ua, ub = math.sqrt(self.q2_max - hi), math.sqrt(self.q2_max - lo)
        u = 0.5 * (ub - ua) * t + 0.5 * (ub + ua)
        q2 = self.q2_max - u**2
        jac = 2 * u * 0.5 * (ub - ua)
        return float(np.sum(w * jac * self.rate(q2, values)))
