"""The redist pyhf modifier on the published Belle II likelihood."""

from __future__ import annotations

import copy

import numpy as np
import pyhf
import pytest
from scipy.integrate import quad

import redist
from redist.demo import BELLE2_CUTOFF, belle2_data, belle2_model
from redist.exceptions import ModelSpecError, UnknownParameter, ZeroNullRate
from redist.modifier import Reweighting
from redist.theory import Kinematic, Parameter

SM_CVL = redist.get_theory("wet").reference_point()["cVL"]


@pytest.fixture(scope="module")
def rm():
    return belle2_model()


def test_sm_point_reproduces_published_nominal_yields(rm):
    """At the SM point the reweighted yields equal the published nominal signal yields (1e-9)."""
    workspace, _, _ = belle2_data()
    published = pyhf.Workspace(workspace).model()
    pub_pars = np.array(published.config.suggested_init())
    pub_by_sample = np.asarray(published.main_model.expected_data(pub_pars, return_by_sample=True))
    ours = np.asarray(rm.model.main_model.expected_data(rm.init_pars(), return_by_sample=True))
    assert rm.model.config.samples == published.config.samples
    assert rm.model.config.channels == published.config.channels
    mask = pub_by_sample != 0
    np.testing.assert_allclose(ours[mask], pub_by_sample[mask], rtol=1e-9, atol=0)
    np.testing.assert_array_equal(ours[~mask], 0.0)
    # and the direct template evaluation
    for (ch, s), t in rm.templates().items():
        nominal = next(x for c in workspace["channels"] if c["name"] == ch for x in c["samples"] if x["name"] == s)
        np.testing.assert_allclose(t, nominal["data"], rtol=1e-9, atol=0)


def test_weights_equal_independent_quadrature(rm):
    """Kernel weights vs scipy.quad of the direct WET formula in a few q² bins."""
    rw = rm.reweightings["wet"]
    point = {"cVL": 9.0, "cSL": 4.0, "cTL": 3.0}
    w = rw.weights_at(point)
    th = rw.theory
    edges = rw.z_edges[0]
    assert w[0] == 1.0  # the [-1, 0] sentinel column is outside the cutoff
    for j in (1, 30, 77, 100):
        lo, hi = edges[j], edges[j + 1]
        num = quad(lambda q: th.dbr_dq2_direct(q, point), lo, hi, epsabs=0, epsrel=1e-13)[0]
        den = quad(lambda q: th.dbr_dq2_direct(q, {}), lo, hi, epsabs=0, epsrel=1e-13)[0]
        assert w[j] == pytest.approx(num / den, rel=1e-10)


@pytest.mark.jax
def test_numpy_and_jax_logpdf_agree(rm, jax):
    rng = np.random.default_rng(7)
    pars = rm.init_pars(cVL=10.0, cSL=3.0, cTL=5.0)
    ff = rm.model.config.par_slice("ff_BtoK_GKvD2018")
    pars[ff] = rng.normal(size=8)
    ref = float(rm.logpdf(pars))
    pyhf.set_backend("jax")
    model, data = rm.model, rm.data
    other = float(jax.jit(lambda p: model.logpdf(p, data)[0])(pars))
    assert other == pytest.approx(ref, rel=1e-10)
    assert np.isfinite(ref)


@pytest.mark.jax
def test_jax_grad_matches_finite_differences(rm, jax):
    pyhf.set_backend("jax")
    model, data = rm.model, rm.data
    pars = rm.init_pars(cVL=10.0, cSL=3.0, cTL=5.0)
    pars[model.config.par_slice("ff_BtoK_GKvD2018")] = 0.3

    @jax.jit
    def f(p):
        return model.logpdf(p, data)[0]

    grad = np.asarray(jax.jit(jax.grad(f))(jax.numpy.asarray(pars)))
    cfg = model.config
    idx = [cfg.par_slice(n).start for n in ("cVL", "cSL", "cTL")]
    idx += list(range(cfg.par_slice("ff_BtoK_GKvD2018").start, cfg.par_slice("ff_BtoK_GKvD2018").stop))
    idx += [cfg.par_slice(cfg.par_order[0]).start]  # an analysis nuisance
    for i in idx:
        h = 1e-5
        up, dn = pars.copy(), pars.copy()
        up[i] += h
        dn[i] -= h
        fd = (float(f(jax.numpy.asarray(up))) - float(f(jax.numpy.asarray(dn)))) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-7), cfg.par_names[i]


def test_to_workspace_is_plain_pyhf_and_matches_model(rm):
    point = {"cVL": 8.0, "cSL": 5.0, "cTL": 2.0}
    ws = rm.to_workspace(point)
    pyhf.schema.validate(dict(ws), "workspace.json")  # plain pyhf
    plain = ws.model()
    p_plain = np.array(plain.config.suggested_init())
    ours = rm.init_pars(**point)
    np.testing.assert_allclose(
        plain.expected_actualdata(p_plain), rm.model.expected_actualdata(ours), rtol=1e-12
    )


def test_unknown_channel_sample_and_parameter():
    workspace, densities, edges = belle2_data()
    th = redist.get_theory("wet")
    rw = Reweighting("wet", th, [edges], parameters=("cVL",), cutoff=list(BELLE2_CUTOFF))
    (ch, s), d = next(iter(densities.items()))
    with pytest.raises(ModelSpecError, match="unknown channel 'nope'"):
        redist.reinterpret(workspace, {("nope", s): d}, rw)
    with pytest.raises(ModelSpecError, match=f"channel '{ch}' has no sample 'ghost'"):
        redist.reinterpret(workspace, {(ch, "ghost"): d}, rw)
    with pytest.raises(UnknownParameter, match="no parameter 'cXY'"):
        Reweighting("wet", th, [edges], parameters=("cXY",))
    with pytest.raises(ModelSpecError, match="not found in the workspace: \\['mu_typo'\\]"):
        redist.reinterpret(workspace, densities, rw, prune=["mu_typo"])


def test_density_rows_must_match_channel():
    workspace, densities, edges = belle2_data()
    rw = Reweighting("wet", redist.get_theory("wet"), [edges], parameters=("cVL",), cutoff=list(BELLE2_CUTOFF))
    key = next(k for k in densities if k[1] == "sgn_1_had")
    bad = dict(densities)
    bad[key] = redist.JointDensity.from_array(densities[key].values()[:5], edges)
    with pytest.raises(redist.exceptions.DensityError, match="sgn1_had.*5 fit-bin rows but the channel has 6"):
        redist.reinterpret(workspace, bad, rw, prune=["mu"])


def test_zero_null_rate_inside_cutoff_is_an_error():
    from theories.callable import CallableTheory

    th = CallableTheory(
        lambda z, a: np.where(z[:, 0] < 2.0, 0.0, 1.0 + a * z[:, 0]),
        [Parameter("a", 0.0)],
        [Kinematic("q2", 0.0, 10.0)],
    )
    rw = Reweighting("toy", th, [[0.0, 1.0, 2.0, 5.0, 10.0]], parameters=("a",))
    with pytest.raises(ZeroNullRate, match=r"kinematic bin \[0\] - \[1\]"):
        _ = rw.null_rates
    ok = Reweighting("toy", th, [[0.0, 1.0, 2.0, 5.0, 10.0]], parameters=("a",), cutoff=[(2.0, 10.0)])
    np.testing.assert_array_equal(ok.weights_at({"a": 0.0}), 1.0)


def test_cvl_only_shape_is_pure_normalisation(rm):
    """Scaling cVL multiplies every reweighted bin by (cVL/SM)^2 except the HTA underflow share."""
    rw = rm.reweightings["wet"]
    w = rw.weights_at({"cVL": 2 * SM_CVL})
    np.testing.assert_allclose(w[1:], 4.0, rtol=1e-13)
    _, densities, _ = belle2_data()
    fac = rm.factors({"cVL": 2 * SM_CVL})
    for key, f in fac.items():
        n = densities[key].values()
        under = n[:, 0] / n.sum(axis=1)
        np.testing.assert_allclose(f, 4.0 - 3.0 * under, rtol=1e-13)


def test_batched_model_matches_unbatched(rm):
    batched = rm.build_model(batch_size=3)
    pars = np.stack([rm.init_pars(cVL=v) for v in (5.0, 7.0, 12.0)])
    data = copy.deepcopy(rm.data)
    got = batched.logpdf(pars, data)
    want = [rm.logpdf(p) for p in pars]
    np.testing.assert_allclose(got, want, rtol=1e-12)
