r"""B+ -> K+ X with an invisible particle X, for dark-sector reinterpretations.

The decay is two-body, so the dineutrino-like invariant mass is fixed,
:math:`q^2 = m_X^2`, smeared by the width of X. The q² shape is a relativistic
Breit-Wigner in q², :math:`\frac{1}{\pi}\frac{m_X\Gamma_X}{(q^2-m_X^2)^2 + m_X^2\Gamma_X^2}`,
normalised to one on the physical range, times the branching ratio parameter
``BR_X`` (in units of 1e-6). Its bin integrals are analytic (arctangents),
so the narrow-width limit is exact: the whole rate lands in the bin holding m_X².

With ``include_sm=True`` (default) the SM B+ -> K+ nu nu rate (EOS, GKvD2018
central form factors) is added, so the model describes "SM + X" and the
reweighting of an SM template measures BR_X directly.

.. deprecated:: 0.2
   Use the theory ``bkx`` (:class:`theories.bkx.BKX`): there ``m_X`` and
   ``width_X`` are fit parameters (exact gradients) instead of construction
   settings, so a mass scan needs no model rebuilds. ``two-body`` with
   ``m_X=m, width=w`` equals ``bkx`` with ``m_X=m, width_X=w`` fixed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from redist.exceptions import TheoryError
from redist.theory import Kinematic, Parameter, Theory

from .wet import WET

__all__ = ["TwoBodyInvisible"]


class TwoBodyInvisible(Theory):
    """B+ -> K+ X, X invisible, with mass ``m_X`` and width ``width`` (GeV).

    Parameters
    ----------
    m_X : float
        Mass of X in GeV, ``0 < m_X < m_B - m_K``.
    width : float
        Total width of X in GeV (default 1e-4: narrow).
    include_sm : bool
        Add the SM B+ -> K+ nu nu rate.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     th = TwoBodyInvisible(m_X=2.0)
    >>> th.bin_integral(3.9, 4.1, {"BR_X": 1.0}) > 0.99e-6
    True
    """

    name: ClassVar[str] = "two-body"
    version: ClassVar[str] = "1.0"
    has_basis: ClassVar[bool] = True
    processes: ClassVar[tuple[str, ...]] = ("B+->K+X",)
    auto_select: ClassVar[bool] = False  # superseded by ``bkx``

    def __init__(self, m_X: float = 1.0, width: float = 1e-4, include_sm: bool = True) -> None:
        warnings.warn(
            "theory 'two-body' (theories.twobody.TwoBodyInvisible) is deprecated; use 'bkx' "
            "(theories.bkx.BKX), where m_X and width_X are fit parameters",
            DeprecationWarning,
            stacklevel=2,
        )
        self._sm = WET("B+->K+nunu")
        q2max = self._sm.q2_max
        if not (0 < m_X < math.sqrt(q2max)):
            msg = f"m_X = {m_X} GeV outside the physical range (0, {math.sqrt(q2max):.4f})"
            raise TheoryError(msg)
        if not width > 0:
            msg = f"width must be positive, got {width}"
            raise TheoryError(msg)
        self.m_X, self.width, self.include_sm = float(m_X), float(width), bool(include_sm)
        self.parameters = (Parameter("BR_X", 0.0, (0.0, 1000.0), "BR(B+ -> K+ X) / 1e-6"),)
        self.kinematics = (Kinematic("q2", 0.0, q2max, "GeV^2"),)
        self.metadata = {
            "process": "B+->K+X",
            "basis": "two-body invisible scalar, Breit-Wigner in q2",
            "references": "Belle II, arXiv:2311.14647 (sect. on two-body), PRD 109 112006",
        }
        m2, mg = self.m_X**2, self.m_X * self.width
        self._norm = (math.atan((q2max - m2) / mg) - math.atan(-m2 / mg)) / math.pi

    def settings(self) -> dict[str, Any]:
        """Settings that rebuild this theory."""
        return {"m_X": self.m_X, "width": self.width, "include_sm": self.include_sm}

    def _shape(self, q2: np.ndarray) -> np.ndarray:
        m2, mg = self.m_X**2, self.m_X * self.width
        return mg / math.pi / ((q2 - m2) ** 2 + mg**2) / self._norm

    def basis(self, z: np.ndarray) -> np.ndarray:
        """Columns: X shape per unit BR_X (1e-6), SM rate (if included)."""
        q2 = np.asarray(z, dtype=float).reshape(-1)
        cols = [1e-6 * self._shape(q2)]
        if self.include_sm:
            cols.append(self._sm.rate(q2))
        return np.stack(cols, axis=-1)

    def basis_integrals(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Exact bin integrals of the X column (arctangent); NaN marks columns left to quadrature."""
        m2, mg = self.m_X**2, self.m_X * self.width
        x = 1e-6 * (np.arctan((hi - m2) / mg) - np.arctan((lo - m2) / mg)) / math.pi / self._norm
        cols = [x] + ([np.full_like(x, np.nan)] if self.include_sm else [])
        return np.stack(cols, axis=-1)

    def coefficients(self, values: Mapping[str, Any], xp: ModuleType = np) -> Any:
        """Coefficients of :meth:`basis`."""
        br = xp.asarray(values["BR_X"])
        return xp.stack([br, xp.ones_like(br)]) if self.include_sm else xp.stack([br])

    def _rate(self, z: np.ndarray, values: Mapping[str, Any], xp: ModuleType) -> Any:
        return self.basis(z) @ self.coefficients(values, xp)

    def bin_integral(self, lo: float, hi: float, values: Mapping[str, Any]) -> float:
        """Rate integrated over ``[lo, hi]`` (exact for the X part)."""
        from redist.kernels import BinKernel

        k = BinKernel(self, [np.array([lo, hi])])
        return float(k.rates(self.resolve(values))[0])
