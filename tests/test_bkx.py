"""Non-linear theory parameters and the B -> K X theory (issue 14, acceptance checks)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import redist
from redist.kernels import BinKernel
from redist.testing import check_theory
from theories.bkx import BKX, breit_wigner_fraction

EDGES = np.concatenate([[-1.0], np.linspace(0.0, 22.885, 101)])
CUTOFF = [(0.0, 22.885)]


def _x_integrals(th: BKX, edges: np.ndarray, m: float, w: float, cutoff=CUTOFF) -> np.ndarray:
    k = BinKernel(th, [edges], cutoff)
    return np.asarray(k.nonlinear_integrals(th.resolve({"m_X": m, "width_X": w}), np))[:, 0]


def _richardson(f, h):
    def c(s):
        return (f(s) - f(-s)) / (2 * s)

    return (4 * c(h / 2) - c(h)) / 3


def test_registered_and_declared():
    th = redist.get_theory("bkx")
    assert isinstance(th, BKX)
    d = th.describe()
    lin = {p.name: p.linear for p in d.parameters}
    assert lin["m_X"] is False and lin["width_X"] is False and lin["BR_X"] is True
    assert d.reference_point["BR_X"] == 0.0
    assert set(BKX.supported_processes()) == {"B+->K+X", "B0->K0X", "B0->KSX"}
    from redist.theory import find_theories

    assert "bkx" in find_theories("B+->K+X")
    # at BR_X = 0 the theory is the SM B+ -> K+ nu nu (PHYSICS.md section 8: 4.5974e-6)
    assert th.sm_branching_ratio() == pytest.approx(4.5974e-6, rel=1e-4)


@pytest.mark.jax  # the gradient checks of the kit trace the basis with jax
def test_conformance_kit_runs_the_nonlinear_checks():
    done = check_theory(BKX(background="none"), n_random=2)
    assert {"basis", "kernel", "jax", "nonlinear", "registry"} <= set(done)


def test_total_rate_is_sm_plus_br_x():
    th = BKX()
    full = np.array([0.0, th.q2_max])
    k = BinKernel(th, [full])
    for m, w in ((0.7, 0.0), (2.3, 0.1), (4.5, 0.4)):
        x = k.rates(th.resolve({"m_X": m, "width_X": w, "BR_X": 3.0}))[0] - k.rates(th.resolve({}))[0]
        assert x == pytest.approx(3.0e-6, rel=1e-12)
    ks = BKX(process="B0->KSX", background="none")
    kk = BinKernel(ks, [full])
    assert kk.rates(ks.resolve({"m_X": 2.0, "BR_X": 1.0}))[0] == pytest.approx(0.5e-6, rel=1e-12)


@pytest.mark.parametrize(("m", "w"), [(2.1, 0.1), (1.37, 0.02), (3.3, 0.5), (0.4, 0.1), (4.7, 0.05)])
def test_gradients_equal_finite_differences(m, w):
    """d/dm_X and d/dwidth_X of every bin integral (jax) equal finite differences to 1e-6."""
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    th = BKX(background="none")
    k = BinKernel(th, [EDGES], CUTOFF)
    base = th.resolve({"BR_X": 1.0})

    def ints(x, xp):
        return k.nonlinear_integrals({**base, "m_X": x[0], "width_X": x[1]}, xp)[:, 0]

    x0 = np.array([m, w])
    with jax.enable_x64(True):
        jac = np.asarray(jax.jit(jax.jacfwd(lambda x: ints(x, jnp)))(jnp.asarray(x0)))
    for i in range(2):
        fd = _richardson(lambda t, i=i: ints(x0 + t * np.eye(2)[i], np), 1e-4 * x0[i])
        big = np.abs(fd) > 1e-3 * np.max(np.abs(fd))  # bins that carry the derivative
        assert big.sum() >= 2
        np.testing.assert_allclose(jac[big, i], fd[big], rtol=1e-6)
        np.testing.assert_allclose(jac[~big, i], fd[~big], atol=1e-6 * np.max(np.abs(fd)))


def test_narrow_width_limit_is_exact():
    th = BKX(background="none")
    for m in (0.3, 1.0, 2.2, 3.7, 4.75):
        m2 = m * m
        step = ((EDGES[1:] > m2) & (EDGES[:-1] < m2)).astype(float)[1:]  # inside bins only
        zero = _x_integrals(th, EDGES, m, 0.0)
        tiny = _x_integrals(th, EDGES, m, 1e-13)
        np.testing.assert_allclose(zero, step, rtol=0, atol=1e-15)
        np.testing.assert_allclose(tiny, step, rtol=0, atol=1e-10)
    # on a bin edge (m_X^2 = 4 exactly): half in each neighbour
    half = _x_integrals(th, np.linspace(0.0, 8.0, 9), 2.0, 0.0, cutoff=None)
    assert half.tolist() == [0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.0]


def test_physical_boundaries():
    th = BKX(background="none")
    q2max = th.q2_max
    full = np.linspace(0.0, q2max, 41)
    # m_X -> 0: everything in the first bin, continuously
    for m, w in ((0.0, 0.0), (1e-9, 0.0), (1e-9, 0.1), (0.0, 0.2)):
        f = _x_integrals(th, full, m, w, cutoff=None)
        assert f[0] == pytest.approx(1.0, abs=1e-9) and f.sum() == pytest.approx(1.0, abs=1e-12)
    # m_X -> m_B - m_K: everything in the last bin
    for m in (math.sqrt(q2max), math.sqrt(q2max) - 1e-9):
        f = _x_integrals(th, full, m, 0.0, cutoff=None)
        assert f[-1] == pytest.approx(1.0, abs=1e-9)
    # a wide X straddling many bins: the fractions sum to one on the physical range
    for m, w in ((2.0, 1.0), (4.7, 0.5), (0.2, 1.0)):
        f = _x_integrals(th, full, m, w, cutoff=None)
        assert f.sum() == pytest.approx(1.0, abs=1e-12) and np.all(f >= 0)
    # beyond the reweighted range (q2 > 22.885): nothing lands inside the cutoff
    assert _x_integrals(th, EDGES, 4.7855, 0.0).sum() == 0.0
    # gradients stay finite at the ends
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    with jax.enable_x64(True):
        for m, w in ((0.0, 0.1), (0.0, 0.0), (math.sqrt(q2max), 0.1), (math.sqrt(q2max), 0.0)):
            g = jax.jacfwd(lambda x: breit_wigner_fraction(
                jnp.asarray(full[:-1]), jnp.asarray(full[1:]), x[0], x[1], q2max, jnp))(
                jnp.asarray([m, w]))  # fmt: skip
            assert np.all(np.isfinite(np.asarray(g)))


def test_rate_density_matches_integrals():
    """The pointwise Breit-Wigner is the derivative of the analytic bin integrals."""
    th = BKX(background="none")
    v = th.resolve({"m_X": 2.0, "width_X": 0.3, "BR_X": 2.0})
    q2 = np.array([1.0, 3.9, 4.0, 4.2, 10.0])
    h = 1e-4
    up = np.array([breit_wigner_fraction(0.0, x + h, 2.0, 0.3, th.q2_max) for x in q2])
    dn = np.array([breit_wigner_fraction(0.0, x - h, 2.0, 0.3, th.q2_max) for x in q2])
    np.testing.assert_allclose(th.rate(q2, v), 2e-6 * (up - dn) / (2 * h), rtol=1e-7)


@pytest.fixture(scope="module")
def model():
    from redist.b2kx import b2kx_model

    return b2kx_model(width_X=None)


def test_model_parameters_and_file_round_trip(model, tmp_path):
    lay = model.layout
    for name in ("m_X", "width_X", "BR_X"):
        assert lay.kind(name).value == "theory"
    assert lay.entry("m_X").linear is False and lay.entry("BR_X").linear is True
    p = lay.to_vector({"BR_X": 20.0, "m_X": 2.1, "width_X": 0.1})
    target = tmp_path / "bkx.json"
    redist.save(target, model)
    doc = json.loads(target.read_text())
    assert doc["reweightings"]["bkx"]["parameters"] == ["BR_X", "m_X", "width_X"]
    back = redist.load(target)
    assert back.layout == lay
    a = np.asarray(model.model.logpdf(p, np.asarray(model.data)))
    b = np.asarray(back.model.logpdf(p, np.asarray(back.data)))
    assert a.tolist() == b.tolist()
    # the mass matters: moving the resonance changes the likelihood
    q = lay.to_vector({"BR_X": 20.0, "m_X": 3.5, "width_X": 0.1})
    assert np.asarray(model.model.logpdf(q, np.asarray(model.data)))[0] != a[0]


def test_engine_factors_gradient(model):
    """The engine's reweighting factors: jax gradient wrt m_X, width_X = finite differences."""
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    from redist.engine import model_tensors, reweighting_factors

    t = model_tensors(model)
    (block,) = t.reweightings
    f = reweighting_factors(block.reweighting, block.binding, block.migration)
    lay = model.layout
    p = lay.to_vector({"BR_X": 20.0, "m_X": 2.1, "width_X": 0.1})
    # the numpy and jax paths agree with the pyhf modifier's weights
    rw = block.reweighting
    w = rw.weights(lay.theory_values(p)["bkx"], np)
    np.testing.assert_allclose(f(p, np), block.migration @ w, rtol=1e-12)
    proj = np.linspace(0.5, 1.5, len(block.cells))
    with jax.enable_x64(True):
        g = np.asarray(jax.jit(jax.grad(lambda x: jnp.sum(jnp.asarray(proj) * f(x, jnp))))(jnp.asarray(p)))
    for name in ("m_X", "width_X", "BR_X"):
        i = lay.index(name)
        fd = _richardson(lambda s, i=i: float(np.sum(proj * f(p + s * np.eye(len(p))[i], np))), 1e-4)
        assert g[i] == pytest.approx(fd, rel=1e-6)


def test_two_body_is_deprecated_and_equals_bkx():
    from theories.twobody import TwoBodyInvisible

    with pytest.warns(DeprecationWarning, match="use 'bkx'"):
        old = TwoBodyInvisible(m_X=2.0, width=0.1, include_sm=False)
    new = BKX(background="none")
    lo, hi = EDGES[2:-1], EDGES[3:]
    a = old.basis_integrals(lo, hi)[:, 0]
    b = 1e-6 * breit_wigner_fraction(lo, hi, 2.0, 0.1, new.q2_max)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-22)
