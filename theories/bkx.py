r"""B -> K X with an invisible X of free mass and width, on top of the SM (or WET) B -> K nu nu rate.

The dark-sector model of arXiv:2602.09666: a two-body decay B -> K X with X
invisible, so the "dineutrino" invariant mass is :math:`q^2 = m_X^2`, smeared by
the width of X. The X part of the rate is a relativistic Breit-Wigner in q²,

.. math::

    \frac{d\mathcal{B}_X}{dq^2} = \mathcal{B}_X\,
    \frac{1}{N}\,\frac{1}{\pi}\,\frac{m_X\Gamma_X}{(q^2-m_X^2)^2 + m_X^2\Gamma_X^2},
    \qquad N = \frac{1}{\pi}\Big[\arctan\frac{q^2_{\max}-m_X^2}{m_X\Gamma_X}
    + \arctan\frac{m_X^2}{m_X\Gamma_X}\Big],

normalised to one on the physical range :math:`0 \le q^2 \le (m_B - m_K)^2`, so
that ``BR_X`` (units of 1e-6) is BR(B -> K X) × P(X invisible). ``m_X`` and
``width_X`` are *non-linear* parameters (they move the basis function, see
:meth:`redist.theory.Theory.nonlinear_basis`); the bin integrals are the exact
arctangent differences, written with ``arctan2`` so that ``width_X = 0`` is the
exact narrow-width limit (the whole rate in the bin holding :math:`m_X^2`, half
in each bin when it sits on an edge) and the end points ``m_X = 0`` and
``m_X = m_B - m_K`` are regular. ``BR_X`` and the WET Wilson coefficients enter
linearly and keep their precomputed kernels.

With ``background="wet"`` (default) the full WET B -> K nu nu rate (EOS
conventions, BSZ2015 form factors as a correlated nuisance group) is added:
at its defaults this is the SM, so reweighting an SM template measures
``BR_X`` directly, and exposing ``cVL`` ... gives "WET + X".
``background="none"`` describes the X contribution alone.

Processes: ``B+->K+X``, ``B0->K0X`` and ``B0->KSX`` (for K_S the rate, X part
included, is half the K0 rate: ``BR_X`` is BR(B0 -> K0 X) × P(X invisible)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from redist.exceptions import TheoryError
from redist.theory import Parameter, Setting, Theory

from .wet import PROCESSES, WET, assign_complex

__all__ = ["BKX", "X_PROCESSES", "breit_wigner_fraction"]

#: processes of the theory -> the WET process that supplies the B -> K nu nu rate
X_PROCESSES = {"B+->K+X": "B+->K+nunu", "B0->K0X": "B0->K0nunu", "B0->KSX": "B0->KSnunu"}

#: ``BR_X`` unit
BR_UNIT = 1e-6


def _cdf(q2: Any, m2: Any, gamma: Any, xp: ModuleType) -> Any:
    """``arctan2(q2 - m2, gamma) / pi``, with the 0/0 point (q2 = m2, gamma = 0) set to 0.

    The second ``where`` keeps the gradient finite there (the masked branch sees 1).
    """
    y = q2 - m2
    both = (y == 0) & (gamma == 0)
    ys = xp.where(both, 1.0, y)
    return xp.where(both, 0.0, xp.arctan2(ys, gamma)) / math.pi


def breit_wigner_fraction(
    lo: Any, hi: Any, m_X: Any, width_X: Any, q2_max: float, xp: ModuleType = np
) -> Any:
    """Fraction of a q²-Breit-Wigner (normalised on ``[0, q2_max]``) inside ``[lo, hi]``.

    Exact for every width including 0 (the narrow-width step: 1 if ``lo < m_X² < hi``,
    1/2 on an edge, 0 outside); traceable with ``xp`` = ``jax.numpy``.

    Examples
    --------
    >>> float(breit_wigner_fraction(3.9, 4.1, 2.0, 0.0, 22.9))
    1.0
    >>> float(breit_wigner_fraction(4.0, 4.1, 2.0, 0.0, 22.9))
    0.5
    >>> round(float(breit_wigner_fraction(0.0, 22.9, 2.0, 0.3, 22.9)), 12)
    1.0
    """
    m2 = m_X * m_X
    g = m_X * width_X
    norm = _cdf(q2_max, m2, g, xp) - _cdf(0.0, m2, g, xp)
    return (_cdf(hi, m2, g, xp) - _cdf(lo, m2, g, xp)) / norm


class BKX(Theory):
    """B -> K X, X invisible, with fit parameters ``m_X``, ``width_X`` (GeV) and ``BR_X`` (1e-6).

    Parameters
    ----------
    process : str
        ``"B+->K+X"`` (default), ``"B0->K0X"`` or ``"B0->KSX"``.
    form_factors : str
        B -> K form factors of the WET background (``"GKvD2018"`` or ``"HPQCD2022"``).
    background : str
        ``"wet"``: add the WET B -> K nu nu rate (the SM at the defaults);
        ``"none"``: the X contribution alone.

    Examples
    --------
    >>> th = BKX()
    >>> th.nonlinear_parameters
    ('m_X', 'width_X')
    >>> from redist.kernels import BinKernel
    >>> k = BinKernel(th, [np.array([3.9, 4.1])])
    >>> v = th.resolve({"m_X": 2.0, "width_X": 0.0, "BR_X": 1.0})
    >>> x_only = float(k.rates(v)[0] - k.rates(th.resolve({}))[0])
    >>> round(x_only / 1e-6, 12)  # a narrow X at m_X^2 = 4 GeV^2: all of BR_X in the bin
    1.0
    """

    name: ClassVar[str] = "bkx"
    version: ClassVar[str] = "1.0"
    has_basis: ClassVar[bool] = True
    n_nonlinear_basis: int = 1

    def __init__(
        self, process: str = "B+->K+X", form_factors: str = "GKvD2018", background: str = "wet"
    ) -> None:
        if process not in X_PROCESSES:
            msg = f"unknown process {process!r}; valid processes: {', '.join(X_PROCESSES)}"
            raise TheoryError(msg)
        if background not in ("wet", "none"):
            msg = f"background must be 'wet' or 'none', got {background!r}"
            raise TheoryError(msg)
        self.process, self.background = process, background
        self._wet = WET(X_PROCESSES[process], form_factors=form_factors)
        self.form_factors = form_factors
        self._factor = PROCESSES[X_PROCESSES[process]].factor
        self.q2_max = self._wet.q2_max
        self.m_max = math.sqrt(self.q2_max)
        x_pars = (
            Parameter("m_X", 1.0, (0.0, self.m_max), "mass of X / GeV", linear=False),
            Parameter("width_X", 0.0, (0.0, 1.0), "total width of X / GeV (0: narrow)", linear=False),
            Parameter("BR_X", 0.0, (0.0, 1000.0), "BR(B -> K X) x P(X invisible) / 1e-6"),
        )
        wet = background == "wet"
        self.parameters = (*self._wet.parameters, *x_pars) if wet else x_pars
        self.groups = self._wet.groups if wet else ()
        self.kinematics = self._wet.kinematics
        self.metadata = {
            "process": process,
            "basis": "WET B -> K nu nu (EOS) + Breit-Wigner X in q2" if wet else "Breit-Wigner X in q2",
            "form_factors": f"BSZ2015 {form_factors}" if wet else "",
            "references": "arXiv:2602.09666; Belle II PRD 109 112006; EOS v1.0.21",
        }

    def settings(self) -> dict[str, Any]:
        """Settings that rebuild this theory."""
        return {"process": self.process, "form_factors": self.form_factors, "background": self.background}

    @classmethod
    def settings_schema(cls) -> tuple[Setting, ...]:
        """``process``, ``form_factors`` and ``background``."""
        return (
            Setting("process", "str", "B+->K+X", tuple(X_PROCESSES), "B -> K X process", process=True),
            Setting("form_factors", "str", "GKvD2018", ("GKvD2018", "HPQCD2022"),
                    "BSZ2015 B -> K form factors of the WET background"),
            Setting("background", "str", "wet", ("wet", "none"),
                    "add the WET B -> K nu nu rate (SM at the defaults) or not"),
        )  # fmt: skip

    def assign(self, name: str, value: complex) -> dict[str, float]:
        """WET's complex convention for Wilson coefficients; real values otherwise."""
        return assign_complex(self, name, value)

    def resolve(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check names, fill defaults, and check plain-number masses and widths against their bounds."""
        out = super().resolve(values)
        for p in self.parameters[-3:-1]:
            v = out[p.name]
            if isinstance(v, (int, float)) and not p.bounds[0] <= v <= p.bounds[1]:
                msg = (
                    f"{p.name} = {float(v)} GeV outside the physical range "
                    f"[{p.bounds[0]:g}, {p.bounds[1]:.6g}] of theory 'bkx'"
                )
                raise TheoryError(msg)
        return out

    # -- structure -------------------------------------------------------------
    def basis(self, z: np.ndarray) -> np.ndarray:
        """The WET basis (fixed columns; none without background)."""
        q2 = np.asarray(z, dtype=float).reshape(-1, 1)
        if self.background == "wet":
            return self._wet.basis(q2)
        return np.zeros((len(q2), 0))

    def coefficients(self, values: Mapping[str, Any], xp: ModuleType = np) -> Any:
        """WET coefficients, then ``BR_X`` × 1e-6 (× 1/2 for K_S)."""
        br = xp.reshape(xp.asarray(values["BR_X"]) * (BR_UNIT * self._factor), (1,))
        if self.background != "wet":
            return br
        return xp.concatenate([xp.asarray(self._wet.coefficients(values, xp)), br])

    def nonlinear_basis(self, z: Any, values: Mapping[str, Any], xp: ModuleType = np) -> Any:
        """Normalised Breit-Wigner density in q² (0 away from m_X² when ``width_X`` = 0)."""
        q2 = xp.reshape(xp.asarray(z), (-1,))
        m = xp.asarray(values["m_X"])
        g = m * xp.asarray(values["width_X"])
        m2 = m * m
        norm = _cdf(self.q2_max, m2, g, xp) - _cdf(0.0, m2, g, xp)
        den = (q2 - m2) ** 2 + g * g
        narrow = den == 0
        dens = xp.where(narrow, 0.0, g / math.pi / xp.where(narrow, 1.0, den)) / norm
        return xp.reshape(dens, (-1, 1))

    def nonlinear_basis_integrals(
        self, lo: np.ndarray, hi: np.ndarray, values: Mapping[str, Any], xp: ModuleType = np
    ) -> Any:
        """Exact bin integrals (arctangents), ``(n, 1)``."""
        frac = breit_wigner_fraction(
            xp.asarray(lo), xp.asarray(hi), xp.asarray(values["m_X"]), xp.asarray(values["width_X"]),
            self.q2_max, xp,
        )  # fmt: skip
        return xp.reshape(frac, (-1, 1))

    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: ModuleType) -> Any:
        c = self.coefficients(values, xp)
        x = self.nonlinear_basis(z, values, xp)[:, 0] * c[-1]
        if self.background != "wet":
            return x
        return self._wet.basis(z) @ c[:-1] + x

    # -- conveniences -----------------------------------------------------------
    def x_fraction(self, lo: float, hi: float, m_X: float, width_X: float = 0.0) -> float:
        """Fraction of the X rate with ``lo <= q² <= hi`` (exact)."""
        return float(breit_wigner_fraction(lo, hi, m_X, width_X, self.q2_max))

    def sm_branching_ratio(self, q2_range: tuple[float, float] | None = None) -> float:
        """The B -> K nu nu branching ratio of the background at its defaults (the SM)."""
        return self._wet.branching_ratio(None, q2_range)
