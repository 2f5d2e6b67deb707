"""PointwiseTheory: exact Wilson-coefficient kernels from a point-by-point code."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from redist.exceptions import TheoryError, UnknownParameter
from redist.kernels import BinKernel
from redist.pointwise import MissingExternalCode, PointwiseTheory, import_external
from redist.testing import random_values
from redist.theory import Kinematic, Parameter
from theories.wet import WET


class Counting:
    """WET's direct formula, one q2 and one parameter point per call (as EOS is used)."""

    def __init__(self, wet: WET) -> None:
        self.wet = wet
        self.calls = 0

    def __call__(self, q2: float, **values: float) -> float:
        assert isinstance(q2, float)
        self.calls += 1
        return float(self.wet.dbr_dq2_direct(np.array([q2]), values)[0])


@pytest.fixture(scope="module", params=["B+->K+nunu", "B0->K*0nunu"])
def wrapped(request: pytest.FixtureRequest) -> tuple[WET, PointwiseTheory, Counting]:
    wet = WET(request.param)
    fn = Counting(wet)
    # the Wilson coefficients are quadratic; the form factors stay at their central values
    th = PointwiseTheory(fn, wet.parameters, wet.kinematics, name="wet-pointwise")
    return wet, th, fn


def test_kernel_matches_wet_kernel(wrapped: tuple[WET, PointwiseTheory, Counting]) -> None:
    wet, th, fn = wrapped
    edges = [np.array([0.0, 2.0, 8.0, 16.0, 23.0])]  # the last bin ends beyond q2_max
    before = fn.calls
    kp = BinKernel(th, edges)
    n_nodes = kp.nodes.shape[0] * kp.nodes.shape[1]
    assert fn.calls - before == n_nodes * (10 * 11 // 2 + 1)  # e_a, e_a + e_b, and 0
    kw = BinKernel(wet, edges)
    rng = np.random.default_rng(2)
    before = fn.calls
    for _ in range(6):
        values = random_values(th, rng)
        full = wet.resolve(values)  # form factors at their central values
        np.testing.assert_allclose(kp.rates(th.resolve(values)), kw.rates(full), rtol=1e-12)
    assert fn.calls == before  # new parameter points cost no evaluation of the code


def test_direct_rate_is_one_call_per_point(wrapped: tuple[WET, PointwiseTheory, Counting]) -> None:
    wet, th, fn = wrapped
    q2 = np.linspace(0.0, wet.q2_max, 7)
    values = {"cVL": 2.0, "cSR_im": 1.5, "cTL": -0.7}
    before = fn.calls
    np.testing.assert_allclose(th.rate(q2, values), wet.rate(q2, values), rtol=1e-13)
    assert fn.calls - before == 7
    np.testing.assert_allclose(th.basis(q2) @ th.coefficients(th.resolve(values)),
                               wet.rate(q2, values), rtol=1e-12)  # fmt: skip


@pytest.mark.jax
def test_coefficients_are_jax_traceable(wrapped: tuple[WET, PointwiseTheory, Counting], jax: Any) -> None:
    jnp = jax.numpy
    _, th, _ = wrapped
    kernel = BinKernel(th, [np.array([1.0, 3.0])])
    names = th.parameter_names
    x0 = np.array([th.defaults()[n] for n in names]) + 0.5

    def f(x, xp):
        return kernel.rates({n: x[i] for i, n in enumerate(names)}, xp)[0]

    with jax.enable_x64(True):
        grad = np.asarray(jax.jit(jax.grad(lambda x: f(x, jnp)))(jnp.asarray(x0)))
    for i in range(len(names)):
        up, down = x0.copy(), x0.copy()
        up[i] += 1e-5
        down[i] -= 1e-5
        assert grad[i] == pytest.approx((f(up, np) - f(down, np)) / 2e-5, rel=1e-6, abs=1e-20)


def test_fixed_parameters_are_passed_at_their_defaults() -> None:
    seen: list[float] = []

    def f(q2: float, c: float, scale: float) -> float:
        seen.append(scale)
        return scale * c**2 * (1 + q2)

    th = PointwiseTheory(
        f, [Parameter("c", 1.0), Parameter("scale", 2.5)], [Kinematic("q2", 0.0, 4.0)],
        quadratic_in=["c"],
    )  # fmt: skip
    assert th.parameter_names == ("c",)
    assert th.fixed == {"scale": 2.5}
    assert th.basis([1.0]).tolist() == [[5.0]]
    assert set(seen) == {2.5}
    with pytest.raises(UnknownParameter, match="scale"):
        th.rate([1.0], {"scale": 3.0})


def test_non_quadratic_code_is_rejected() -> None:
    th = PointwiseTheory(
        lambda q2, c: 1.0 + c**2, [Parameter("c", 1.0)], [Kinematic("q2", 0.0, 4.0)], name="affine"
    )
    with pytest.raises(TheoryError, match=r"'affine'.*q2=1.*not a homogeneous quadratic form"):
        th.basis([1.0])


def test_non_finite_output_names_the_point() -> None:
    th = PointwiseTheory(
        lambda q2, c: c**2 / (q2 - 1.0) if q2 != 1.0 else float("nan"),
        [Parameter("c", 1.0)], [Kinematic("q2", 0.0, 4.0)],
    )  # fmt: skip
    with pytest.raises(TheoryError, match=r"returned nan at q2=1"):
        th.rate([1.0])


def test_construction_errors() -> None:
    k = [Kinematic("q2", 0.0, 1.0)]
    with pytest.raises(UnknownParameter, match="'d'.*parameters: c"):
        PointwiseTheory(lambda q2, c: c, [Parameter("c")], k, quadratic_in=["d"])
    with pytest.raises(TheoryError, match="duplicate"):
        PointwiseTheory(lambda q2, c: c, [Parameter("c"), Parameter("c")], k)
    with pytest.raises(TheoryError, match="distinct"):
        PointwiseTheory(lambda q2, c: c, [Parameter("c")], k, quadratic_in=["c", "c"])
    with pytest.raises(TheoryError, match="kinematic"):
        PointwiseTheory(lambda c: c, [Parameter("c")], [])


def test_import_external_hint() -> None:
    with pytest.raises(MissingExternalCode, match=r"pip install 'redist\[eos\]'") as info:
        import_external("redist_no_such_module_xyz", package="eoshep", extra="eos")
    assert isinstance(info.value, ImportError)
    with pytest.raises(MissingExternalCode, match="pip install flavio"):
        import_external("redist_no_such_module_xyz", package="flavio")
