"""The compiled fast path equals plain pyhf on the same model (issue 8)."""

from __future__ import annotations

import sys

import numpy as np
import pyhf
import pytest

from redist.density import JointDensity
from redist.infer import JaxUnavailableWarning, fit, objective
from redist.infer import _objective as objective_module
from redist.modifier import Reweighting
from redist.reinterpret import reinterpret
from redist.theory import get_theory

pytestmark = pytest.mark.jax  # every test here compares against or needs the compiled jax path

SM_CVL = get_theory("wet").reference_point()["cVL"]


def toy_model():
    edges = np.array([0.0, 4.0, 8.0, 12.0, 16.0, 22.885])
    mig = np.array(
        [[60, 25, 8, 3, 1], [20, 50, 25, 8, 3], [5, 20, 50, 30, 10], [1, 5, 17, 59, 86]], float
    )
    dens = JointDensity.from_array(mig, edges, z_names=("q2",))
    ws = {
        "channels": [
            {
                "name": "SR",
                "samples": [
                    {
                        "name": "signal",
                        "data": [10.0, 14.0, 16.0, 12.0],
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {
                        "name": "bkg",
                        "data": [50.0, 45.0, 40.0, 30.0],
                        "modifiers": [
                            {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}},
                            {"name": "stat", "type": "staterror", "data": [3.0, 3.0, 2.5, 2.0]},
                        ],
                    },
                ],
            }
        ],
        "observations": [{"name": "SR", "data": [75.0, 80.0, 70.0, 55.0]}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    params = ("cVL", "cSL", "cTL")
    rw = Reweighting(
        "wet",
        get_theory("wet", process="B+->K+nunu"),
        [edges],
        parameters=params,
        bounds={k: (0.0, 20.0) for k in params},
        inits={"cVL": SM_CVL},
        cutoff=[(0.0, 22.885)],
    )
    return reinterpret(ws, {("SR", "signal"): dens}, rw, prune=["mu"])


def plain_pyhf_fit(rm, fixed_names, init):
    """pyhf.infer.mle.fit on the numpy backend with Minuit (tight tolerance)."""
    old = pyhf.get_backend()
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-5, strategy=1))
    try:
        m = rm.model
        fixed = list(m.config.suggested_fixed())
        for n in fixed_names:
            fixed[m.config.par_slice(n).start] = True
        bf, twice = pyhf.infer.mle.fit(
            np.asarray(rm.data), m, init_pars=init.tolist(), fixed_params=fixed,
            return_uncertainties=True, return_fitted_val=True,
        )
        free = np.flatnonzero(~np.asarray(fixed))
        x = np.asarray(bf)[:, 0]
        # independent error reference: central finite-difference Hessian of pyhf's numpy logpdf
        d = np.asarray(rm.data)

        def f(p):
            return float(-2 * m.logpdf(p, d)[0])

        h = np.zeros((free.size, free.size))
        step = 1e-3 * np.maximum(1.0, np.abs(x[free]))
        for a, i in enumerate(free):
            for b, j in enumerate(free[: a + 1]):
                vals = []
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    p = x.copy()
                    p[i] += si * step[a]
                    p[j] += sj * step[b]
                    vals.append(f(p))
                h[a, b] = h[b, a] = (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * step[a] * step[b])
        fd_err = np.sqrt(np.diag(2 * np.linalg.inv(h)))
        return x, np.asarray(bf)[:, 1], float(twice), free, fd_err
    finally:
        pyhf.set_backend(*old)


def check_equal(res, x, hesse_err, twice, free, fd_err):
    err = np.sqrt(np.diag(res.covariance))
    # −2 ln L to 1e-6 absolute
    assert res.twice_nll == pytest.approx(twice, abs=1e-6)
    # best-fit values: 1e-4 relative (relative to the uncertainty for parameters near zero)
    scale = np.maximum(np.abs(x[free]), err[free])
    assert np.max(np.abs(res.bestfit[free] - x[free]) / scale) < 1e-4
    # uncertainties: 1e-3 relative to the exact finite-difference Hessian of pyhf's logpdf
    assert np.max(np.abs(err[free] - fd_err) / fd_err) < 1e-3
    # Minuit's HESSE (what pyhf returns) is itself only good to a few per mille here
    assert np.max(np.abs(err[free] - hesse_err[free]) / hesse_err[free]) < 2e-2


@pytest.fixture(scope="module")
def toy():
    return toy_model()


def test_fast_path_equals_plain_pyhf_small(toy):
    init = toy.init_pars(cVL=8.0)
    res = fit(toy, fixed={"cSL": 0.0, "cTL": 0.0}, init={"cVL": 8.0}, backend="jax")
    assert res.converged and res.backend == "jax"
    assert res.ngrad > 0
    check_equal(res, *plain_pyhf_fit(toy, ["cSL", "cTL"], init))


def test_compiled_once_and_cached(toy):
    obj = objective(toy, "jax")
    assert objective(toy, "jax") is obj
    t = obj.compile_time_s
    fit(toy, fixed={"cSL": 0.0, "cTL": 0.0}, backend="jax")
    fit(toy, fixed={"cSL": 1.0}, backend="jax")  # other fixed set: same executables
    assert obj.compile_time_s == t


def test_batched_matches_single(toy):
    obj = objective(toy, "jax")
    rng = np.random.default_rng(3)
    p = obj.layout.inits + 0.1 * rng.standard_normal((3, obj.npars))
    vals, grads = obj.batched_value_and_grad(3)(p, obj.data)
    for k in range(3):
        v, g = obj.value_and_grad(p[k], obj.data)
        assert float(vals[k]) == pytest.approx(v, rel=1e-12)
        np.testing.assert_allclose(np.asarray(grads[k]), g, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(obj.batched_value(3)(p, obj.data), np.asarray(vals), rtol=1e-12)


def test_numpy_fallback_without_jax(monkeypatch):
    model = pyhf.simplemodels.uncorrelated_background([5.0, 8.0], [40.0, 30.0], [4.0, 3.0])
    data = [50.0, 41.0, *model.config.auxdata]
    ref = fit(model, data=data, backend="jax")
    monkeypatch.setitem(sys.modules, "jax", None)  # `import jax` now raises ImportError
    monkeypatch.setattr(objective_module, "_WARNED", False)
    with pytest.warns(JaxUnavailableWarning, match="numpy backend"):
        res = fit(model, data=data, backend="auto")
    assert res.backend == "numpy"
    assert res.values["mu"] == pytest.approx(ref.values["mu"], rel=1e-3)
    assert res.twice_nll == pytest.approx(ref.twice_nll, abs=1e-4)
    assert res.errors["mu"] == pytest.approx(ref.errors["mu"], rel=1e-2)
    # only once
    fit(model, data=data, backend="auto")


@pytest.mark.slow
def test_fast_path_equals_plain_pyhf_belle2():
    from redist.demo import belle2_model

    rm = belle2_model()
    res = fit(rm, fixed={"cSL": 0.0, "cTL": 0.0}, init={"cVL": 10.0}, backend="jax")
    assert res.converged
    x, hesse_err, twice, free, _ = plain_pyhf_fit(rm, ["cSL", "cTL"], rm.init_pars(cVL=10.0))
    i = rm.model.config.par_slice("cVL").start
    assert res.values["cVL"] == pytest.approx(x[i], rel=1e-4)
    assert res.twice_nll == pytest.approx(twice, abs=1e-6)
    err = np.sqrt(np.diag(res.covariance))
    assert np.max(np.abs(res.bestfit[free] - x[free]) / np.maximum(np.abs(x[free]), err[free])) < 1e-3
    # published mu = 4.61 +- 1.32 corresponds to (cVL / cVL_SM)**2
    assert (res.values["cVL"] / SM_CVL) ** 2 == pytest.approx(4.61, abs=0.02)
    # exact error against the profile-likelihood curvature (independent of any Hessian)
    d = 0.2
    up = fit(rm, fixed={"cSL": 0.0, "cTL": 0.0, "cVL": x[i] + d}, errors=False).twice_nll
    dn = fit(rm, fixed={"cSL": 0.0, "cTL": 0.0, "cVL": x[i] - d}, errors=False).twice_nll
    sigma_profile = np.sqrt(2 * d * d / (up + dn - 2 * res.twice_nll))
    assert res.errors["cVL"] == pytest.approx(sigma_profile, rel=2e-3)
    assert hesse_err[i] == pytest.approx(res.errors["cVL"], rel=2e-2)
