"""Physics and numerics of the shipped theories against the reference numbers of PHYSICS.md."""

from __future__ import annotations

import json
import math
from importlib.resources import files
from typing import Any

import numpy as np
import pytest
from scipy import integrate

from redist.kernels import BinKernel
from redist.testing import random_values
from redist.theory import CorrelatedGroup, Kinematic, Parameter
from theories.callable import CallableTheory
from theories.twobody import TwoBodyInvisible
from theories.wet import PROCESSES, SM_CVL, WET

# the deprecated two-body theory is still tested here (superseded by bkx, tests/test_bkx.py)
pytestmark = pytest.mark.filterwarnings("ignore:theory 'two-body':DeprecationWarning")

WILSON = ("cVL", "cVR", "cSL", "cSR", "cTL")


def belle2_edges() -> np.ndarray:
    text = files("redist").joinpath("data/belle2/binning.json").read_text(encoding="utf-8")
    return np.asarray(json.loads(text)["kinematic_bin_edges"])


def wilson_zero(**kw: float) -> dict[str, float]:
    out = {c: 0.0 for c in WILSON} | {f"{c}_im": 0.0 for c in WILSON}
    out.update(kw)
    return out


# --- PHYSICS.md section 8: SM branching ratios --------------------------------------------
SM_BR = [
    ("B+->K+nunu", "GKvD2018", 4.5974e-6),
    ("B0->K0nunu", "GKvD2018", 4.2464e-6),
    ("B0->KSnunu", "GKvD2018", 2.1232e-6),
    ("B0->K*0nunu", "GKvD2018", 8.5209e-6),
    ("B+->K*+nunu", "GKvD2018", 9.1988e-6),
    ("B+->K+nunu", "HPQCD2022", 4.8400e-6),
    ("B0->K0nunu", "HPQCD2022", 4.4702e-6),
    ("B0->KSnunu", "HPQCD2022", 2.2351e-6),
]


@pytest.mark.parametrize(("process", "ff", "expected"), SM_BR)
def test_sm_branching_ratio(process: str, ff: str, expected: float) -> None:
    th = WET(process, form_factors=ff)
    assert th.branching_ratio() == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("process", list(PROCESSES))
def test_branching_ratio_matches_adaptive_quadrature(process: str) -> None:
    # the sqrt-substituted Gauss-Legendre rule against scipy's adaptive QUADPACK
    th = WET(process)
    ref, _ = integrate.quad(lambda q2: th.rate([q2])[0], 0.0, th.q2_max, epsabs=0, epsrel=1e-11,
                            limit=200)  # fmt: skip
    assert th.branching_ratio() == pytest.approx(ref, rel=1e-9)


def test_neutral_ks_is_half_k0() -> None:
    v = {"cSL": 2.0, "cTL_im": 1.5}
    assert WET("B0->KSnunu").branching_ratio(v) == pytest.approx(
        0.5 * WET("B0->K0nunu").branching_ratio(v), rel=1e-14
    )


# --- PHYSICS.md section 8: EOS sample points (B+ -> K+, BSZ2015) ------------------------
@pytest.mark.parametrize(
    ("values", "quoted"),
    [
        ({"cVL": SM_CVL + 3}, "9.715e-06"),
        ({"cSL": 5.0}, "1.2695e-05"),
        ({"cTL": 3.0}, "7.934e-06"),
    ],
)
def test_eos_sample_points(values: dict[str, float], quoted: str) -> None:
    digits = len(quoted.split("e")[0].split(".")[1])
    assert f"{WET('B+->K+nunu').branching_ratio(values):.{digits}e}" == quoted


def test_sign_flip_of_cvl_gives_sm() -> None:
    th = WET("B+->K+nunu")
    assert th.branching_ratio({"cVL": -SM_CVL}) == pytest.approx(th.branching_ratio(), rel=1e-14)


# --- PHYSICS.md section 6: integrated BR per unit |combination|^2 -------------------------
UNIT = [
    ("B+->K+nunu", wilson_zero(cVL=1.0), "1.0512e-07"),  # |cVL + cVR|^2 = 1
    ("B+->K+nunu", wilson_zero(cSL=1.0), "3.2392e-07"),  # |cSL + cSR|^2 = 1
    ("B+->K+nunu", wilson_zero(cTL=1.0), "3.7070e-07"),
    ("B0->K*0nunu", wilson_zero(cVL=0.5, cVR=0.5), "3.5392e-08"),  # V only
    ("B0->K*0nunu", wilson_zero(cVL=0.5, cVR=-0.5), "1.5945e-07"),  # A only
    ("B0->K*0nunu", wilson_zero(cSR=1.0), "1.0080e-07"),  # |cSR - cSL|^2 = 1
    ("B0->K*0nunu", wilson_zero(cTL=1.0), "5.6984e-06"),
]


@pytest.mark.parametrize(("process", "values", "quoted"), UNIT)
def test_unit_combination_branching_ratios(process: str, values: dict[str, float],
                                           quoted: str) -> None:  # fmt: skip
    assert f"{WET(process).branching_ratio(values):.4e}" == quoted


def test_scalar_structure_differs_between_k_and_kstar() -> None:
    # cSL = cSR: maximal scalar effect in B -> K, none in B -> K*
    k, ks = WET("B+->K+nunu"), WET("B0->K*0nunu")
    zero = wilson_zero()
    assert ks.branching_ratio(wilson_zero(cSL=2.0, cSR=2.0)) == 0.0
    assert k.branching_ratio(wilson_zero(cSL=1.0, cSR=1.0)) == pytest.approx(
        4 * k.branching_ratio(wilson_zero(cSL=1.0)), rel=1e-13
    )
    assert k.branching_ratio(zero) == 0.0


def test_complex_coefficients_enter_through_moduli() -> None:
    th = WET("B0->K*0nunu")
    a = th.branching_ratio(wilson_zero(cVL=3.0, cTL=0.6, cSL=2.0))
    b = th.branching_ratio(wilson_zero(cVL_im=3.0, cTL=0.36, cTL_im=0.48, cSL=1.2, cSL_im=1.6))
    assert a == pytest.approx(b, rel=1e-13)


# --- kernels against direct quadrature ----------------------------------------------------
@pytest.mark.parametrize("process", ["B+->K+nunu", "B0->K*0nunu"])
def test_kernel_rates_equal_direct_quadrature_on_belle2_binning(process: str) -> None:
    th = WET(process)
    edges = belle2_edges()
    kernel = BinKernel(th, [edges], cutoff=[(0.0, edges[-1])])
    assert kernel.n_bins == 101
    assert not kernel.inside[0]  # the sentinel bin [-1, 0] is never reweighted
    rng = np.random.default_rng(11)
    for _ in range(5):
        values = th.resolve(random_values(th, rng))
        k, q = kernel.rates(values), kernel.quadrature_rates(values)
        np.testing.assert_allclose(k, q, rtol=1e-12, atol=0)


def test_kernel_sum_is_branching_ratio() -> None:
    th = WET("B+->K+nunu")
    kernel = BinKernel(th, [np.linspace(0.0, th.q2_max, 201)], order=40)
    assert kernel.rates(th.defaults()).sum() == pytest.approx(th.branching_ratio(), rel=1e-7)


# --- jax gradients vs finite differences ----------------------------------------------------
@pytest.mark.jax
@pytest.mark.parametrize("process", ["B+->K+nunu", "B0->K*0nunu"])
def test_jax_gradient_every_parameter(process: str, jax: Any) -> None:
    jnp = jax.numpy
    th = WET(process)
    names = th.parameter_names
    assert len(names) == 10 + len(th.groups[0].parameters)
    kernel = BinKernel(th, [np.linspace(0.0, 20.0, 11)])
    proj = np.linspace(1.0, 2.0, int(kernel.inside.sum()))
    rng = np.random.default_rng(5)
    x0 = np.array([random_values(th, rng)[n] for n in names])

    def f(x, xp):
        return xp.sum(xp.asarray(proj) * kernel.rates({n: x[i] for i, n in enumerate(names)}, xp))

    with jax.enable_x64(True):
        grad = np.asarray(jax.jit(jax.grad(lambda x: f(x, jnp)))(jnp.asarray(x0)))
    for i, n in enumerate(names):
        h = 1e-6 * max(1.0, abs(x0[i]))
        up, down = x0.copy(), x0.copy()
        up[i] += h
        down[i] -= h
        fd = (f(up, np) - f(down, np)) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-9 * np.abs(grad).max()), n


# --- two-body model -------------------------------------------------------------------------
@pytest.mark.parametrize("m_x", [0.7, 1.5, 3.3, 4.5])
def test_two_body_narrow_width_fills_one_bin(m_x: float) -> None:
    width = 1e-8
    th = TwoBodyInvisible(m_X=m_x, width=width, include_sm=False)
    edges = belle2_edges()
    kernel = BinKernel(th, [edges], cutoff=[(0.0, edges[-1])])
    rates = kernel.rates(th.resolve({"BR_X": 7.0}))
    j = int(np.searchsorted(edges, m_x**2)) - 1  # bin holding m_X^2 in the full binning
    full = np.zeros(kernel.n_bins)
    full[kernel.inside] = rates
    # Lorentzian tails beyond distances d1, d2 from the peak hold (m Gamma / pi)(1/d1 + 1/d2)
    d1, d2 = m_x**2 - edges[j], edges[j + 1] - m_x**2
    tails = m_x * width / math.pi * (1 / d1 + 1 / d2)
    assert tails < 1e-6
    assert full[j] == pytest.approx(7e-6, rel=1.01 * tails)
    assert np.sum(np.delete(full, j)) <= 1.01 * tails * 7e-6
    assert np.sum(full) == pytest.approx(7e-6, rel=1e-12)


@pytest.mark.parametrize("width", [1e-4, 0.05, 1.0])
def test_two_body_normalisation_is_br_x(width: float) -> None:
    th = TwoBodyInvisible(m_X=2.0, width=width, include_sm=False)
    kernel = BinKernel(th, [np.linspace(0.0, th.kinematics[0].high, 13)])
    assert kernel.rates(th.resolve({"BR_X": 3.0})).sum() == pytest.approx(3e-6, rel=1e-12)
    # the analytic bin integrals agree with adaptive quadrature of the shape on a wide X
    if width >= 0.05:
        ref, _ = integrate.quad(lambda q2: th.rate([q2], {"BR_X": 3.0})[0], 0.0, 4.0,
                                points=[4.0], epsabs=0, epsrel=1e-12, limit=400)  # fmt: skip
        assert th.bin_integral(0.0, 4.0, {"BR_X": 3.0}) == pytest.approx(ref, rel=1e-9)


def test_two_body_includes_sm() -> None:
    th = TwoBodyInvisible(m_X=1.0)
    kernel = BinKernel(th, [np.linspace(0.0, th.kinematics[0].high, 9)])
    total = kernel.rates(th.resolve({"BR_X": 2.0})).sum()
    assert total == pytest.approx(2e-6 + WET("B+->K+nunu").branching_ratio(), rel=1e-6)


# --- CallableTheory in two dimensions ------------------------------------------------------
def _angular(z: np.ndarray, a: float, b: float, mix: float) -> np.ndarray:
    q2, c = z[:, 0], z[:, 1]
    return (1 + a * q2) * (1 - c**2) + b * np.exp(-q2 / 4) * (1 + mix * c) ** 2


def test_callable_two_dimensional_kernel_vs_dblquad() -> None:
    group = CorrelatedGroup("shape", ("a", "b"), (0.3, 1.0), ((0.01, 0.002), (0.002, 0.04)))
    th = CallableTheory(
        lambda z, a, b, mix: _angular(z, a, b, mix),
        [Parameter("mix", 0.2, (-1.0, 1.0))],
        [Kinematic("q2", 0.0, 10.0, "GeV^2"), Kinematic("cos_theta", -1.0, 1.0)],
        groups=[group],
        name="angular",
    )
    q2_edges, c_edges = np.array([0.0, 1.5, 4.0, 10.0, 12.0]), np.array([-1.0, -0.2, 0.5, 1.0])
    kernel = BinKernel(th, [q2_edges, c_edges], order=12)
    assert kernel.n_bins == 12
    assert kernel.inside.sum() == 9  # the q2 bin [10, 12] is outside the physical range
    values = th.resolve({"mix": -0.4, "a": 0.25, "b": 1.3})
    rates = kernel.rates(values)
    i = 0
    for j in range(len(q2_edges) - 1):
        for k in range(len(c_edges) - 1):
            if not kernel.inside[j * (len(c_edges) - 1) + k]:
                continue
            ref, _ = integrate.dblquad(
                lambda c, q2: _angular(np.array([[q2, c]]), 0.25, 1.3, -0.4)[0],
                q2_edges[j], min(q2_edges[j + 1], 10.0), c_edges[k], c_edges[k + 1],
                epsabs=0, epsrel=1e-12,
            )  # fmt: skip
            assert rates[i] == pytest.approx(ref, rel=1e-11)
            i += 1
    assert math.isclose(float(np.sum(rates)), float(np.sum(kernel.quadrature_rates(values))),
                        rel_tol=1e-13)  # fmt: skip
