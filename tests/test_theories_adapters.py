"""The optional EOS and flavio adapters (skipped unless eoshep / flavio are installed).

Without the packages only the install hints are tested. With them, the adapters are
validated against theories/wet.py (EOS: same inputs, so to rounding) and against the
reference numbers of PHYSICS.md (flavio: its own inputs and form factors).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

from redist.kernels import BinKernel
from redist.pointwise import MissingExternalCode
from redist.testing import check_theory
from redist.theory import available_theories, register_theory
from theories.wet import PROCESSES, SM_CVL, WET

HAS_EOS = importlib.util.find_spec("eos") is not None
HAS_FLAVIO = importlib.util.find_spec("flavio") is not None
WILSON = ("cVL", "cVR", "cSL", "cSR", "cTL")


def np_points(rng: np.random.Generator, names: tuple[str, ...], n: int) -> list[dict[str, float]]:
    """NP points: each operator alone (complex), then all of them together (complex)."""
    pts = []
    for c in WILSON:
        if c in names:
            pts.append({c: float(rng.normal(0, 4)), f"{c}_im": float(rng.normal(0, 4))})
    for _ in range(n):
        pts.append({k: float(rng.normal(0, 4)) for k in names})
    return pts


@pytest.mark.skipif(HAS_EOS, reason="eoshep is installed")
def test_eos_missing_gives_install_hint() -> None:
    from theories.eos_adapter import EOSTheory

    with pytest.raises(MissingExternalCode, match=r"pip install 'redist\[eos\]'"):
        EOSTheory("B+->K+nunu")


@pytest.mark.skipif(HAS_FLAVIO, reason="flavio is installed")
def test_flavio_missing_gives_install_hint() -> None:
    from theories.flavio_adapter import FlavioTheory

    with pytest.raises(MissingExternalCode, match="pip install flavio"):
        FlavioTheory("B+->K+nunu")


def test_unknown_process_is_rejected_before_import() -> None:
    from redist.exceptions import TheoryError
    from theories.eos_adapter import EOSTheory
    from theories.flavio_adapter import FlavioTheory

    for cls in (EOSTheory, FlavioTheory):
        with pytest.raises(TheoryError, match="valid processes: B\\+->K\\+nunu"):
            cls("B+->pi+nunu")


# --- EOS ------------------------------------------------------------------------------------
needs_eos = pytest.mark.skipif(not HAS_EOS, reason="needs eoshep (pip install 'redist[eos]')")


@needs_eos
@pytest.mark.parametrize("process", list(PROCESSES))
def test_eos_matches_wet_pointwise(process: str) -> None:
    from theories.eos_adapter import EOSTheory

    eos, wet = EOSTheory(process), WET(process)
    assert eos.defaults()["cVL"] == SM_CVL
    assert eos.kinematics[0].high == pytest.approx(wet.q2_max, rel=1e-15)
    q2 = np.concatenate([[0.0, 1e-4], np.linspace(0.1, wet.q2_max - 1e-4, 30)])
    rng = np.random.default_rng(17)
    for values in [{}, *np_points(rng, wet.parameter_names[:10], 4)]:
        a, b = eos.rate(q2, values), wet.dbr_dq2_direct(q2, values)
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=0)


@needs_eos
@pytest.mark.parametrize("process", ["B+->K+nunu", "B0->K*0nunu"])
def test_eos_kernel_matches_wet_kernel(process: str) -> None:
    from theories.eos_adapter import EOSTheory

    eos, wet = EOSTheory(process), WET(process)
    edges = [np.linspace(0.0, 22.885, 11)]
    ke, kw = BinKernel(eos, edges), BinKernel(wet, edges)
    rng = np.random.default_rng(4)
    for values in np_points(rng, wet.parameter_names[:10], 3):
        np.testing.assert_allclose(ke.rates(eos.resolve(values)), kw.rates(wet.resolve(values)),
                                   rtol=1e-10)  # fmt: skip


@needs_eos
def test_eos_conforms_and_round_trips() -> None:
    from theories.eos_adapter import EOSTheory

    if "eos" not in available_theories():  # entry point not installed (scratch environment)
        register_theory("eos", EOSTheory)
    th = EOSTheory("B0->KSnunu")
    assert "registry" in check_theory(th, n_points=8, n_bins=3, n_random=2)


# --- flavio ---------------------------------------------------------------------------------
needs_flavio = pytest.mark.skipif(not HAS_FLAVIO, reason="needs flavio")


@pytest.fixture(scope="module")
def flavio_module():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import flavio

    return flavio


FLAVIO_SM = [
    ("B+->K+nunu", 4.7061e-6),
    ("B0->K0nunu", 4.3546e-6),
    ("B0->KSnunu", 2.1773e-6),
    ("B0->K*0nunu", 9.8127e-6),
    ("B+->K*+nunu", 10.578e-6),
]


@needs_flavio
@pytest.mark.parametrize(("process", "expected"), FLAVIO_SM)
def test_flavio_sm_branching_ratio(flavio_module, process: str, expected: float) -> None:  # type: ignore[no-untyped-def]
    from theories.flavio_adapter import ALPHA_EOS, FlavioTheory

    th = FlavioTheory(process)
    # translation constants of PHYSICS.md section 1
    assert th.alpha_flavio == pytest.approx(0.007569085, rel=1e-7)
    assert th.defaults()["cVL"] * ALPHA_EOS == pytest.approx(0.049419, rel=1e-4)
    kernel = BinKernel(th, [np.linspace(0.0, th.kinematics[0].high, 5)])
    assert kernel.rates(th.defaults()).sum() == pytest.approx(expected, rel=1e-4)


@needs_flavio
@pytest.mark.parametrize("process", ["B+->K+nunu", "B0->K*0nunu"])
def test_flavio_np_points(flavio_module, process: str) -> None:  # type: ignore[no-untyped-def]
    from theories.flavio_adapter import FlavioTheory

    flavio = flavio_module
    th = FlavioTheory(process)
    obs = {"B+->K+nunu": "dBR/dq2(B+->Knunu)", "B0->K*0nunu": "dBR/dq2(B0->K*nunu)"}[process]
    q2 = np.array([0.5, 4.0, 11.0, 17.0])
    rng = np.random.default_rng(8)
    alpha_ratio = 0.007569084895987922 * 133.0
    cl_sm = th.cl_sm
    for values in np_points(rng, th.parameter_names, 2):
        full = th.resolve(values)
        cvl, cvr = complex(full["cVL"], full["cVL_im"]), complex(full["cVR"], full["cVR_im"])
        wc = flavio.WilsonCoefficients()
        shifts = {}
        for f in ("nuenue", "numunumu", "nutaunutau"):
            shifts[f"CL_bs{f}"] = -cvl / alpha_ratio - cl_sm
            shifts[f"CR_bs{f}"] = -cvr / alpha_ratio
        wc.set_initial(shifts, 4.8, eft="WET", basis="flavio")
        ref = [flavio.np_prediction(obs, wc, q2=x) for x in q2]
        np.testing.assert_allclose(th.rate(q2, values), ref, rtol=1e-8)
        np.testing.assert_allclose(th.basis(q2) @ th.coefficients(full), ref, rtol=1e-8)
    if process == "B+->K+nunu":  # B -> K: the rate is proportional to |cVL + cVR|^2
        sm = th.defaults()["cVL"]
        r = th.rate(q2, {"cVL": sm + 3.0, "cVR": 1.0, "cVR_im": 2.0}) / th.rate(q2)
        np.testing.assert_allclose(r, ((sm + 4.0) ** 2 + 4.0) / sm**2, rtol=1e-10)
