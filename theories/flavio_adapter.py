r"""flavio as a redist theory: b -> s nu nubar rates evaluated by flavio.

Needs the optional package ``flavio`` (``pip install flavio``; flavio 2.7.1
needs ``particle==0.24.0``). flavio is imported only when a theory is
constructed.

flavio's WCxf basis has only the vector operators ``CL_bsnuXnuX`` and
``CR_bsnuXnuX`` (no scalar or tensor ones), which are **NP shifts** normalised
with flavio's running :math:`\alpha_e(\mu)`, with the SM part
:math:`C_L^{SM}` added internally. The adapter exposes the EOS-normalised *full*
coefficients of :class:`theories.wet.WET` instead (``cVL``, ``cVR`` and their
imaginary parts, :math:`\alpha_e = 1/133`), translated flavour-universally as
in ``docs/physics.md`` section 1:

.. math::

    c_{VL}^{EOS} = -\frac{\alpha_{fl}(\mu)}{\alpha_{EOS}}\,(C_L^{SM} + C_L^{NP}),
    \qquad
    c_{VR}^{EOS} = -\frac{\alpha_{fl}(\mu)}{\alpha_{EOS}}\, C_R^{NP},

with :math:`\mu = 4.8` GeV (flavio's ``bpll``/``bvll`` scale,
:math:`\alpha_{fl}(4.8\,\text{GeV}) = 0.007569085`). The default ``cVL`` is
flavio's SM value in this normalisation (6.5729, not the reference point of WET), so the
default point reproduces flavio's SM prediction. Form factors and all other
inputs are flavio's central values.

The rate is a quadratic form in the four real parameters, so
:class:`redist.pointwise.PointwiseTheory` calls flavio 11 times per
quadrature node while the bin kernel is built (about 2 ms per call), and not
during fits. flavio divides by ``sqrt(q2)``; points below ``q2 = 1e-12`` are
evaluated at ``1e-12``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from redist.exceptions import TheoryError
from redist.pointwise import PointwiseTheory, import_external
from redist.theory import Kinematic, Parameter, Setting

from .wet import assign_complex

__all__ = ["ALPHA_EOS", "FLAVIO_PROCESSES", "FlavioTheory"]

#: EOS's fixed QED coupling
ALPHA_EOS = 1.0 / 133.0

_Q2_MIN = 1e-12

#: process -> (flavio observable, B meson, final meson, factor)
FLAVIO_PROCESSES: dict[str, tuple[str, str, str, float]] = {
    "B+->K+nunu": ("dBR/dq2(B+->Knunu)", "B+", "K+", 1.0),
    "B0->K0nunu": ("dBR/dq2(B0->Knunu)", "B0", "K0", 1.0),
    "B0->KSnunu": ("dBR/dq2(B0->Knunu)", "B0", "K0", 0.5),
    "B+->K*+nunu": ("dBR/dq2(B+->K*nunu)", "B+", "K*+", 1.0),
    "B0->K*0nunu": ("dBR/dq2(B0->K*nunu)", "B0", "K*0", 1.0),
}

_FLAVOURS = ("nuenue", "numunumu", "nutaunutau")


class FlavioTheory(PointwiseTheory):
    """b -> s nu nubar differential branching ratio dBR/dq² computed by flavio.

    Parameters
    ----------
    process : str
        One of :data:`FLAVIO_PROCESSES` (the process names of :class:`theories.wet.WET`).

    Raises
    ------
    redist.pointwise.MissingExternalCode
        If flavio is not installed.
    redist.exceptions.TheoryError
        If the process is unknown.
    """

    name: ClassVar[str] = "flavio"
    version: ClassVar[str] = "1.0"
    #: an alternative implementation of the WET processes: ``--theory auto`` picks ``wet``
    auto_select: ClassVar[bool] = False

    @classmethod
    def settings_schema(cls) -> tuple[Setting, ...]:
        """The process (one of :data:`FLAVIO_PROCESSES`) and the constructor's other settings."""
        rest = tuple(s for s in super().settings_schema() if s.name != "process")
        return (Setting("process", "str", "B+->K+nunu", tuple(FLAVIO_PROCESSES), "b -> s nu nu process",
                        process=True), *rest)  # fmt: skip

    def assign(self, name: str, value: complex) -> dict[str, float]:
        """Complex coefficients as in :meth:`theories.wet.WET.assign` (``cX`` and ``cX_im``)."""
        return assign_complex(self, name, value)

    def __init__(self, process: str = "B+->K+nunu") -> None:
        if process not in FLAVIO_PROCESSES:
            msg = f"unknown process {process!r}; valid processes: {', '.join(FLAVIO_PROCESSES)}"
            raise TheoryError(msg)
        flavio = import_external("flavio", package="flavio", note="flavio 2.7.1 needs particle==0.24.0")
        from flavio.physics.bdecays.wilsoncoefficients import CL_SM
        from flavio.physics.running.running import get_alpha

        observable, b_meson, meson, factor = FLAVIO_PROCESSES[process]
        self.process = process
        self.factor = factor
        self.scale = float(flavio.config["renormalization scale"]["bpll"])
        self._par = flavio.default_parameters.get_central_all()
        self._obs = flavio.classes.Observable[observable]
        self._wc = flavio.WilsonCoefficients()
        self.alpha_flavio = float(get_alpha(self._par, self.scale)["alpha_e"])
        self.cl_sm = float(CL_SM(self._par, self.scale))
        self.ratio = self.alpha_flavio / ALPHA_EOS
        q2_max = (self._par[f"m_{b_meson}"] - self._par[f"m_{meson}"]) ** 2
        sm = -self.ratio * self.cl_sm
        parameters = [
            Parameter("cVL", sm, (-50.0, 50.0), "Re cVL (EOS normalisation, full coefficient)"),
            Parameter("cVR", 0.0, (-50.0, 50.0), "Re cVR (EOS normalisation)"),
            Parameter("cVL_im", 0.0, (-50.0, 50.0), "Im cVL"),
            Parameter("cVR_im", 0.0, (-50.0, 50.0), "Im cVR"),
        ]
        super().__init__(self._evaluate, parameters, [Kinematic("q2", 0.0, q2_max, "GeV^2")], name="flavio")
        self.metadata = {
            "process": process,
            "basis": "WET sbnunu in EOS normalisation, translated to flavio CL/CR shifts",
            "form_factors": "flavio defaults",
            "references": f"flavio {flavio.__version__}: {observable}",
        }

    def flavio_coefficients(self, values: dict[str, float]) -> dict[str, complex]:
        """Flavio's WCxf ``CL_bsnuXnuX``/``CR_bsnuXnuX`` shifts for EOS-normalised values."""
        cvl = complex(values["cVL"], values["cVL_im"])
        cvr = complex(values["cVR"], values["cVR_im"])
        cl_np = -cvl / self.ratio - self.cl_sm
        cr_np = -cvr / self.ratio
        out: dict[str, complex] = {}
        for f in _FLAVOURS:
            out[f"CL_bs{f}"] = cl_np
            out[f"CR_bs{f}"] = cr_np
        return out

    def _evaluate(self, q2: float, **values: float) -> float:
        self._wc.set_initial(self.flavio_coefficients(values), self.scale, eft="WET",
                             basis="flavio")  # fmt: skip
        rate = self._obs.prediction_par(self._par, self._wc, q2=max(q2, _Q2_MIN))
        return self.factor * float(rate)

    def settings(self) -> dict[str, Any]:
        """Settings that rebuild this theory."""
        return {"process": self.process}
