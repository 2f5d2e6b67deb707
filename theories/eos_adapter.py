r"""EOS as a redist theory: b -> s nu nubar rates evaluated by EOS itself.

Needs the optional ``eos`` extra (``pip install 'redist[eos]'``, PyPI package
``eoshep``); EOS is imported only when a theory is constructed.

The adapter follows the advice of ``docs/physics.md`` (section 9): the EOS
``Observable`` is built **once**, the ``Parameter`` objects of the ten real
Wilson-coefficient inputs ``sbnunu::Re{cVL}`` ... ``sbnunu::Im{cTL}`` and the
``q2`` kinematic variable are bound **once**, and each evaluation only sets
values. Since the rate is a quadratic form in these ten numbers,
:class:`redist.pointwise.PointwiseTheory` turns EOS into an exact basis theory:
EOS is called :math:`55 + 1` times per quadrature node when the bin kernel is
built, never again during a fit.

Parameter names are those of :class:`theories.wet.WET` (``cVL``, ``cVL_im``,
...), EOS values are *full* coefficients with :math:`\alpha_e = 1/133`
(SM: the reference point of :class:`theories.wet.WET`). Form-factor parameters are fixed at the
EOS central values, or at the values given in ``eos_parameters``.

* ``B0->K0nunu``: EOS's ``B->Knunu`` observable forces ``q=u``, so the B+ and
  K+ masses and the B+ lifetime are set to the B0/K0 values (the form factors
  are isospin symmetric).
* ``B0->KSnunu``: one half of ``B0->K0nunu``.
* ``B->K^*nunu`` is built with ``I=1/2`` and ``q=u`` or ``q=d``. EOS returns NaN
  for it at exactly ``q2 = 0`` (a removable 0/0); the adapter evaluates
  ``q2 < 1e-12`` at ``1e-12``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from redist.exceptions import TheoryError
from redist.pointwise import PointwiseTheory, import_external
from redist.theory import Kinematic, Parameter, Setting

from .wet import assign_complex

__all__ = ["EOS_NAMES", "EOS_PROCESSES", "EOSTheory"]

#: redist parameter name -> EOS parameter name
EOS_NAMES: dict[str, str] = {
    **{c: f"sbnunu::Re{{{c}}}" for c in ("cVL", "cVR", "cSL", "cSR", "cTL")},
    **{f"{c}_im": f"sbnunu::Im{{{c}}}" for c in ("cVL", "cVR", "cSL", "cSR", "cTL")},
}

#: EOS's B -> K* rate is 0/0 (NaN) at exactly q2 = 0 although its limit is finite; points
#: below this value are evaluated here (a relative change of ~1e-13 of the rate).
_Q2_MIN = 1e-12

_NEUTRAL = {"mass::B_u": "mass::B_d", "mass::K_u": "mass::K_d", "life_time::B_u": "life_time::B_d"}

# (spectator quark, K*?) -> EOS names of the B and final-meson masses; for the neutral
# B -> K mode the B0/K0 values are copied into the B_u/K_u slots, which are read here.
_MASS_NAMES = {
    ("u", False): ("mass::B_u", "mass::K_u"),
    ("u", True): ("mass::B_u", "mass::K_u^*"),
    ("d", True): ("mass::B_d", "mass::K_d^*"),
}

#: process -> (EOS observable, options, parameters copied from other parameters, factor)
EOS_PROCESSES: dict[str, tuple[str, dict[str, str], dict[str, str], float]] = {
    "B+->K+nunu": ("B->Knunu::dBR/dq2", {}, {}, 1.0),
    "B0->K0nunu": ("B->Knunu::dBR/dq2", {}, _NEUTRAL, 1.0),
    "B0->KSnunu": ("B->Knunu::dBR/dq2", {}, _NEUTRAL, 0.5),
    "B+->K*+nunu": ("B->K^*nunu::dBR/dq2", {"q": "u", "I": "1/2"}, {}, 1.0),
    "B0->K*0nunu": ("B->K^*nunu::dBR/dq2", {"q": "d", "I": "1/2"}, {}, 1.0),
}


class EOSTheory(PointwiseTheory):
    """b -> s nu nubar differential branching ratio dBR/dq² computed by EOS.

    Parameters
    ----------
    process : str
        One of :data:`EOS_PROCESSES` (the process names of :class:`theories.wet.WET`).
    form_factors : str
        EOS ``form-factors`` option (default ``"BSZ2015"``).
    eos_parameters : mapping of str to float, optional
        EOS parameters to override, by EOS name (for instance form-factor
        coefficients ``B->K::alpha^f+_0@BSZ2015``).

    Raises
    ------
    redist.pointwise.MissingExternalCode
        If EOS is not installed.
    redist.exceptions.TheoryError
        If the process is unknown or EOS rejects the set-up.
    """

    name: ClassVar[str] = "eos"
    version: ClassVar[str] = "1.0"
    #: an alternative implementation of the WET processes: ``--theory auto`` picks ``wet``
    auto_select: ClassVar[bool] = False

    @classmethod
    def settings_schema(cls) -> tuple[Setting, ...]:
        """The process (one of :data:`EOS_PROCESSES`) and the constructor's other settings."""
        rest = tuple(s for s in super().settings_schema() if s.name != "process")
        return (Setting("process", "str", "B+->K+nunu", tuple(EOS_PROCESSES), "b -> s nu nu process",
                        process=True), *rest)  # fmt: skip

    def assign(self, name: str, value: complex) -> dict[str, float]:
        """Complex coefficients as in :meth:`theories.wet.WET.assign` (``cX`` and ``cX_im``)."""
        return assign_complex(self, name, value)

    def __init__(
        self,
        process: str = "B+->K+nunu",
        form_factors: str = "BSZ2015",
        eos_parameters: Mapping[str, float] | None = None,
    ) -> None:
        if process not in EOS_PROCESSES:
            msg = f"unknown process {process!r}; valid processes: {', '.join(EOS_PROCESSES)}"
            raise TheoryError(msg)
        eos = import_external("eos", package="eoshep", extra="eos")
        observable, options, copies, factor = EOS_PROCESSES[process]
        self.process = process
        self.form_factors = form_factors
        self.eos_parameters = {str(k): float(v) for k, v in (eos_parameters or {}).items()}
        self.factor = factor
        self._q2_min = _Q2_MIN if "K^*" in observable else 0.0
        try:
            params = eos.Parameters()
            for target, source in copies.items():
                params[target].set(params[source].evaluate())
            for key, val in self.eos_parameters.items():
                params[key].set(val)
            self._kin = eos.Kinematics({"q2": 1.0})
            opts = eos.Options({"model": "WET", "form-factors": form_factors, **options})
            self._obs = eos.Observable.make(observable, params, self._kin, opts)
            self._q2 = self._kin["q2"]
            self._bound = {n: params[e] for n, e in EOS_NAMES.items()}
            defaults = {n: float(p.evaluate()) for n, p in self._bound.items()}
            b_name, m_name = _MASS_NAMES[options.get("q", "u"), "K^*" in observable]
            q2_max = (params[b_name].evaluate() - params[m_name].evaluate()) ** 2
        except Exception as err:  # EOS raises its own exception types
            msg = f"EOS could not set up {observable} for {process}: {err}"
            raise TheoryError(msg) from err
        parameters = [
            Parameter(n, defaults[n], (-50.0, 50.0), f"{EOS_NAMES[n]} (EOS, full coefficient)")
            for n in EOS_NAMES
        ]
        super().__init__(self._evaluate, parameters, [Kinematic("q2", 0.0, q2_max, "GeV^2")], name="eos")
        self.metadata = {
            "process": process,
            "basis": "WET sbnunu (EOS), full coefficients, alpha_e = 1/133",
            "form_factors": f"EOS {form_factors}",
            "references": f"EOS {getattr(eos, '__version__', '?')}: {observable}",
        }

    def _evaluate(self, q2: float, **values: float) -> float:
        self._q2.set(max(q2, self._q2_min))
        for n, v in values.items():
            self._bound[n].set(v)
        return self.factor * float(self._obs.evaluate())

    def settings(self) -> dict[str, Any]:
        """Settings that rebuild this theory."""
        return {
            "process": self.process,
            "form_factors": self.form_factors,
            "eos_parameters": dict(self.eos_parameters),
        }
