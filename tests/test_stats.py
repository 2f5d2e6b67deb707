"""Statistics you can trust (issue 13): NUTS posteriors and diagnostics, summaries,
evidences and Bayes factors, valid limits (Fisher guard, toy CLs).

Every check compares with an independent expectation: an analytic posterior, a known
evidence, an asymptotic formula where it holds.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyhf
import pytest
from click.testing import CliRunner
from scipy import stats

from redist.exceptions import RedistError
from redist.infer import sample
from redist.infer.bayes import hpd_interval, isj_bandwidth, marginal_mode, summarize_draws

pytestmark = pytest.mark.jax


def counting_model(s: float = 5.0, b: float = 3.0, hi: float = 10.0) -> pyhf.pdf.Model:
    """One bin, signal strength ``mu`` in [0, hi], no nuisance parameter."""
    spec = {
        "channels": [
            {
                "name": "SR",
                "samples": [
                    {
                        "name": "sig",
                        "data": [s],
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {"name": "bkg", "data": [b], "modifiers": []},
                ],
            }
        ],
        "parameters": [{"name": "mu", "bounds": [[0.0, hi]]}],
    }
    return pyhf.Model(spec, poi_name="mu", validate=False)


def truncated_gamma_posterior(n: int, s: float, b: float, hi: float) -> stats.rv_continuous:
    """Posterior of mu for a flat prior on [0, hi]: lambda = s mu + b ~ Gamma(n + 1) truncated."""
    g = stats.gamma(n + 1)
    lo_c, hi_c = g.cdf(b), g.cdf(s * hi + b)

    class _Post:
        def ppf(self, q: np.ndarray) -> np.ndarray:
            return (g.ppf(lo_c + np.asarray(q) * (hi_c - lo_c)) - b) / s

        def mean(self) -> float:
            x = np.linspace(0, hi, 200001)
            w = stats.gamma(n + 1).pdf(s * x + b)
            return float(np.sum(x * w) / np.sum(w))

    return _Post()  # type: ignore[return-value]


@pytest.fixture(scope="module")
def counting_posterior():
    model = counting_model()
    return model, sample(model, data=[10.0], n_samples=1500, n_burn=500, seed=3)


def test_nuts_matches_the_analytic_posterior(counting_posterior):
    """Flat prior, Poisson likelihood: the posterior of mu is a truncated Gamma, known exactly."""
    _, res = counting_posterior
    post = truncated_gamma_posterior(10, 5.0, 3.0, 10.0)
    s = res.summary["mu"]
    assert res.sampler == "nuts" and res.converged is True
    assert res.n_chains == 4 and res.chains.shape == (4, 1500, 1)
    assert res.diagnostics["divergences"] == 0
    assert s["rhat"] < 1.01 and s["ess_bulk"] > 1000
    # central 95 % interval and the mean within 4 Monte Carlo standard errors of the truth
    lo, hi = post.ppf([0.025, 0.975])
    assert abs(s["central95"][0] - lo) < 4 * s["mcse_central95"][0] + 0.01
    assert abs(s["central95"][1] - hi) < 4 * s["mcse_central95"][1] + 0.01
    assert abs(s["mean"] - post.mean()) < 4 * s["mcse_mean"] + 0.005
    # mode of lambda^10 e^-lambda: lambda = 10, mu = 7/5
    assert s["mode"] == pytest.approx(1.4, abs=max(0.15, 4 * s["mcse_mode"]))
    assert not s["flat"]


def test_inference_data_export(counting_posterior, tmp_path):
    _, res = counting_posterior
    from redist.infer.bayes import _arviz

    az = _arviz()
    path = res.to_netcdf(tmp_path / "post.nc")
    idata = az.from_netcdf(str(path))
    np.testing.assert_allclose(idata.posterior["mu"].values, res.chains[:, :, 0])
    assert idata.sample_stats["diverging"].shape == (4, 1500)
    # ArviZ computes the same diagnostics from the exported draws
    assert float(az.rhat(idata, method="rank")["mu"]) == pytest.approx(res.summary["mu"]["rhat"])


def test_unconverged_run_is_flagged():
    model = counting_model()
    res = sample(model, data=[10.0], n_samples=30, n_burn=20, n_chains=2, seed=0)
    assert res.converged is False and res.diagnostics["not_converged"] == ["mu"]


def test_summaries_report_flat_marginals_and_errors():
    rng = np.random.default_rng(7)
    flat = summarize_draws(rng.uniform(0.0, 10.0, (4, 2000)), (0.0, 10.0))
    assert flat["flat"] and "varies < 20 %" in flat["note"]
    assert flat["plateau"][0] < 1.0 and flat["plateau"][1] > 9.0
    assert flat["hpd95"][1] - flat["hpd95"][0] == pytest.approx(9.5, abs=0.15)
    peaked = summarize_draws(rng.normal(3.0, 1.0, (4, 2000)))
    assert not peaked["flat"]
    assert peaked["hpd95"] == pytest.approx([3 - 1.96, 3 + 1.96], abs=0.12)
    # independent draws: the batch-means MCSE of the mean is about sigma / sqrt(N)
    assert peaked["mcse_mean"] == pytest.approx(1.0 / math.sqrt(8000), rel=0.5)
    assert peaked["ess_bulk"] > 5000 and peaked["rhat"] < 1.01


def test_bandwidth_and_mode_are_data_driven():
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 2.0, 20000)
    assert isj_bandwidth(x) == pytest.approx(1.06 * 2.0 * 20000**-0.2, rel=0.2)
    # a half-normal piles up at its bound: the reflected KDE puts the mode there,
    # where a KDE without reflection would put it about one bandwidth inside
    half = np.abs(x)
    assert marginal_mode(half, (0.0, math.inf)) < 0.25
    lo, hi = hpd_interval(half, 0.95)
    assert lo == pytest.approx(0.0, abs=0.01) and hi == pytest.approx(2.0 * 1.96, rel=0.03)


def test_cli_sample_exit_status_and_keys(tmp_path):
    """`redist sample -o` writes the issue's keys; unconverged: exit 3 unless --allow-unconverged."""
    from redist.cli import main

    model = counting_model()
    ws = {
        "channels": model.spec["channels"],
        "observations": [{"name": "SR", "data": [10.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": model.spec["parameters"]}}],
        "version": "1.0.0",
    }
    path = tmp_path / "ws.json"
    path.write_text(json.dumps(ws))
    out = tmp_path / "post.json"
    runner = CliRunner()
    args = ["sample", str(path), "--n-samples", "30", "--n-burn", "20", "--chains", "2", "-q", "-o", str(out)]
    r = runner.invoke(main, args)
    assert r.exit_code == 3, r.output
    assert "NOT converged" in r.stderr
    doc = json.loads(out.read_text())
    assert doc["sampler"] == "nuts" and doc["converged"] is False and doc["wall_s"] > 0
    keys = {"mode", "hpd95", "central95", "hpd68", "rhat", "ess_bulk", "ess_tail", "mcse_hpd95"}
    assert keys <= set(doc["summary"]["mu"])
    r = runner.invoke(main, [*args, "--allow-unconverged"])
    assert r.exit_code == 0, r.output


# -- limits ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wet_toy():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_infer import toy_model

    return toy_model()


def test_fisher_guard_linear_versus_quadratic(wet_toy):
    """A signal strength has I(0) = sum s^2 / b; a Wilson coefficient (rate ~ c^2) has I(0) = 0."""
    from redist.exceptions import AsymptoticsInvalid
    from redist.infer import upper_limit
    from redist.infer.limits import fisher_information

    lin = pyhf.simplemodels.uncorrelated_background([12.0, 11.0], [50.0, 52.0], [3.0, 7.0])
    f = fisher_information(lin, "mu", reference=5.0)
    assert f["linear"] and f["info_null"] == pytest.approx(12**2 / 50 + 11**2 / 52, rel=1e-6)
    assert f["info_reference"] == pytest.approx(12**2 / 110 + 11**2 / 107, rel=1e-6)
    q = fisher_information(wet_toy, "cTL", fixed={"cSL": 0.0})
    assert not q["linear"] and q["info_null"] < 1e-12 * q["info_reference"]
    with pytest.raises(AsymptoticsInvalid, match="'cTL'.*toys.*linear"):
        upper_limit(wet_toy, "cTL", method="asymptotic", fixed={"cSL": 0.0})


def test_toy_cls_agrees_with_asymptotics_on_a_linear_parameter():
    """Large counts, linear POI: the asymptotic formulae hold, so toys must reproduce them."""
    from redist.infer import upper_limit

    model = pyhf.simplemodels.uncorrelated_background([30.0, 25.0], [200.0, 180.0], [8.0, 7.0])
    data = [205.0, 178.0, *model.config.auxdata]
    grid = np.linspace(0.2, 1.4, 7)
    asy = upper_limit(model, "mu", scan=grid, data=data)
    toys = upper_limit(model, "mu", scan=grid, data=data, method="toys", n_toys=400, seed=2)
    assert asy.method == "asymptotic" and toys.method == "toys"
    assert toys.in_range and toys.failed_fits == 0
    # 400 toys resolve CLs ~ 0.05 to about 20 %, the limit to about 10 %
    assert toys.observed == pytest.approx(asy.observed, rel=0.15)
    assert toys.expected[2] == pytest.approx(asy.expected[2], rel=0.15)
    assert toys.expected == sorted(toys.expected)
    # the observed CLs curves agree within a few Monte Carlo errors where CLs is resolved
    ok = toys.cls_observed > 0.02
    assert np.all(np.abs(toys.cls_observed - asy.cls_observed)[ok] < 4 * toys.cls_observed_err[ok] + 0.02)


def test_limit_outside_the_tested_range_is_not_a_limit(tmp_path):
    from redist.cli import main
    from redist.infer import upper_limit

    model = pyhf.simplemodels.uncorrelated_background([12.0, 11.0], [50.0, 52.0], [3.0, 7.0])
    data = [51.0, 48.0, *model.config.auxdata]
    res = upper_limit(model, "mu", scan=[0.1, 0.2, 0.3], data=data)
    assert not res.in_range and math.isnan(res.observed)  # never the edge value 0.3
    ws = pyhf.Workspace.build(model, data)
    path = tmp_path / "ws.json"
    path.write_text(json.dumps(dict(ws)))
    out = tmp_path / "limit.json"
    r = CliRunner().invoke(main, ["limit", str(path), "--par", "mu=0.1:0.3:3", "-q", "-o", str(out)])
    assert r.exit_code == 3 and "does not cross" in r.stderr
    doc = json.loads(out.read_text())
    assert {"parameter", "method", "observed", "expected", "in_range"} <= set(doc)
    assert doc["in_range"] is False and doc["observed"] is None and doc["method"] == "asymptotic"


# -- evidence --------------------------------------------------------------------------------
def one_bin_with_nuisance() -> pyhf.pdf.Model:
    spec = {
        "channels": [
            {
                "name": "SR",
                "samples": [
                    {
                        "name": "sig",
                        "data": [20.0],
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {
                        "name": "bkg",
                        "data": [100.0],
                        "modifiers": [{"name": "bn", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}],
                    },
                ],
            }
        ],
        "parameters": [{"name": "mu", "bounds": [[0.0, 4.0]]}],
    }
    return pyhf.Model(spec, poi_name="mu", validate=False)


def _quadrature_ln_z(model, data, mu_values):
    """ln of the integral over the nuisance (fine grid) and over mu (uniform prior) of L.

    ln L on the grid comes from the engine's batched logpdf (equal to pyhf's, tested in
    test_engine_likelihood); the integration is plain quadrature, independent of the
    Laplace approximation and of nested sampling.
    """
    from scipy.special import logsumexp

    from redist import engine

    alpha = np.linspace(-6.0, 6.0, 601)
    mu = np.asarray(mu_values, dtype=float)
    pars = np.stack(np.meshgrid(mu, alpha, indexing="ij"), axis=-1).reshape(-1, 2)
    lp = engine.likelihood(model).batch("logpdf", pars, np.asarray(data, dtype=float))
    rows = logsumexp(lp.reshape(mu.size, alpha.size), axis=1) + math.log(alpha[1] - alpha[0])
    if mu.size == 1:
        return float(rows[0])
    return float(logsumexp(rows) + math.log(mu[1] - mu[0]) - math.log(mu[-1] - mu[0]))


def test_evidence_and_bayes_factor_against_quadrature():
    """ln Z (nested sampling over mu, Laplace over the nuisance) equals the 2D integral."""
    from redist.infer import bayes_factor, evidence

    model = one_bin_with_nuisance()
    data = [130.0, 0.0]
    z1 = evidence(model, {"mu": (0.0, 4.0)}, data=data, n_live=100, seed=1)
    z0 = evidence(model, fixed={"mu": 0.0}, data=data)
    q1 = _quadrature_ln_z(model, data, np.linspace(0.0, 4.0, 201))
    q0 = _quadrature_ln_z(model, data, [0.0])
    assert z0.method == "laplace" and z0.ln_z_err == 0.0
    assert z0.ln_z == pytest.approx(q0, abs=2e-3)  # Laplace over one nearly Gaussian nuisance
    assert z1.method == "nested+laplace" and 0.0 < z1.ln_z_err < 0.15
    assert abs(z1.ln_z - q1) < 3 * z1.ln_z_err + 0.01
    bf = bayes_factor(z1, z0)
    assert bf.ln_b == pytest.approx(z1.ln_z - z0.ln_z) and bf.ln_b_err == pytest.approx(z1.ln_z_err)
    assert abs(bf.ln_b - (q1 - q0)) < 3 * bf.ln_b_err + 0.01
    with pytest.raises(RedistError, match="'mu' have no prior|mu have no prior"):
        evidence(model, data=data)  # mu neither sampled nor fixed


def test_evidence_grid_against_quadrature():
    """Gauss-Legendre quadrature of the Laplace integrand equals the independent 2D integral;
    its profile-likelihood companion equals the grid integral of max over the nuisance."""
    from scipy.special import logsumexp

    from redist import engine
    from redist.infer.evidence import evidence_grid

    model = one_bin_with_nuisance()
    data = [130.0, 0.0]
    g = evidence_grid(model, {"mu": (0.0, 4.0)}, data=data, nodes=(12, 16))
    mu = np.linspace(0.0, 4.0, 201)
    q1 = _quadrature_ln_z(model, data, mu)
    assert g.method == "grid+laplace" and 0.0 <= g.ln_z_err < 1e-3
    assert g.ln_z == pytest.approx(q1, abs=5e-3)  # the Laplace error, as for the point hypothesis
    # profile: ln max_alpha L(mu, alpha) on a fine alpha grid, trapezoid in mu
    alpha = np.linspace(-3.0, 3.0, 1201)
    pars = np.stack(np.meshgrid(mu, alpha, indexing="ij"), axis=-1).reshape(-1, 2)
    lp = engine.likelihood(model).batch("logpdf", pars, np.asarray(data)).reshape(mu.size, alpha.size)
    prof = lp.max(axis=1)
    w = np.full(mu.size, mu[1] - mu[0])
    w[[0, -1]] *= 0.5
    assert g.profile_ln_z == pytest.approx(float(logsumexp(prof, b=w / 4.0)), abs=2e-3)


def test_evidence_grid_checks_its_symmetries():
    """even= and steps= are checked on the likelihood, not assumed; steps= integrates a flat direction exactly."""
    from redist.infer.evidence import evidence_grid

    model = one_bin_with_nuisance()
    data = [130.0, 0.0]
    with pytest.raises(RedistError, match="not even in mu"):
        evidence_grid(model, {"mu": (0.0, 4.0)}, data=data, even=["mu"])
    with pytest.raises(RedistError, match="not constant between the steps of mu"):
        evidence_grid(model, {"mu": (0.0, 4.0)}, data=data, steps={"mu": [1.0, 2.0]})
    with pytest.raises(RedistError, match="nodes must be two increasing"):
        evidence_grid(model, {"mu": (0.0, 4.0)}, data=data, nodes=(16, 12))
    # a second parameter on a sample with no yield: the likelihood does not depend on it, so the
    # evidence over (mu, d) equals the one over mu alone, whatever the steps
    spec = one_bin_with_nuisance().spec
    spec["channels"][0]["samples"].append(
        {"name": "dead", "data": [0.0], "modifiers": [{"name": "d", "type": "normfactor", "data": None}]}
    )
    spec["parameters"].append({"name": "d", "bounds": [[0.0, 3.0]]})
    two = pyhf.Model(spec, poi_name="mu", validate=False)
    g1 = evidence_grid(model, {"mu": (0.0, 4.0)}, data=data, nodes=(12, 16))
    g2 = evidence_grid(
        two, {"mu": (0.0, 4.0), "d": (0.0, 3.0)}, data=data, nodes=(12, 16), steps={"d": [0.7, 2.0]}
    )
    assert g2.ln_z == pytest.approx(g1.ln_z, abs=1e-7)


def test_evidence_and_limit_check_the_data_shape():
    """One owner (mle.resolve_data) checks the data vector of fits, evidences and limits."""
    from redist.infer import evidence, upper_limit

    model = one_bin_with_nuisance()
    with pytest.raises(RedistError, match=r"data has shape \(1,\), the model expects \(2,\)"):
        evidence(model, fixed={"mu": 0.0}, data=[130.0])
    with pytest.raises(RedistError, match=r"data has shape \(1,\)"):
        upper_limit(model, "mu", data=[130.0])
    with pytest.raises(RedistError, match="needs data="):
        evidence(model, fixed={"mu": 0.0})


def test_cli_evidence_with_bayes_factor(tmp_path):
    from redist.cli import main

    model = one_bin_with_nuisance()
    ws = pyhf.Workspace.build(model, [130.0, 0.0])
    path = tmp_path / "ws.json"
    path.write_text(json.dumps(dict(ws)))
    h0 = tmp_path / "h0.json"
    runner = CliRunner()
    r = runner.invoke(main, ["evidence", str(path), "--fix", "mu=0", "-q", "-o", str(h0)])
    assert r.exit_code == 0, r.output
    h1 = tmp_path / "h1.json"
    r = runner.invoke(main, ["evidence", str(path), "--par", "mu=0:4", "--n-live", "60", "--versus", str(h0),
                             "-o", str(h1)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "ln B" in r.stdout
    d0, d1 = json.loads(h0.read_text()), json.loads(h1.read_text())
    assert d1["kind"] == "evidence" and d1["bayes_factor"]["ln_b"] == pytest.approx(d1["ln_z"] - d0["ln_z"])
    r = runner.invoke(main, ["show", str(h1)])
    assert r.exit_code == 0 and "Evidence" in r.stdout


# -- result kinds ------------------------------------------------------------------------------
def test_result_kinds_render_limit_and_evidence():
    """`redist show/plot/report` read limits (with method and range) and evidences by their kind."""
    from redist.infer.evidence import EvidenceResult
    from redist.infer.limits import LimitResult
    from redist.report import registry

    scan = np.linspace(1.0, 4.0, 4)
    lim = LimitResult(parameter="cTL", cl=0.95, observed=math.nan, expected=[math.nan] * 5, scan=scan,
                      cls_observed=np.array([0.9, 0.5, 0.3, 0.2]), cls_expected=np.tile([0.9, 0.5, 0.3, 0.2], (5, 1)),
                      method="toys", in_range=False, n_toys=50)  # fmt: skip
    kind = registry.get(registry.kind_of(lim.to_dict()))
    back = kind.from_dict(json.loads(json.dumps(lim.to_dict())))
    assert back.method == "toys" and back.in_range is False and math.isnan(back.observed)
    table = kind.tables(back)[0]
    assert "toys" in table.title and table.rows[0][1] == "not in tested range" and table.warn[0]
    (name, fig), = kind.figures(back)
    ax = fig.axes[0]
    assert name == "cls" and "no observed limit in the tested range" in ax.get_title(loc="left")
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.9, 0.5, 0.3, 0.2])  # observed curve

    ev = EvidenceResult(ln_z=-4.4, ln_z_err=0.06, parameters={"mu": [0.0, 4.0]}, n_live=100, n_calls=2000)
    doc = {**ev.to_dict(), "bayes_factor": {"ln_b": 1.3, "ln_b_err": 0.06, "ln_z_1": -4.4, "ln_z_0": -5.7}}
    kind = registry.get(registry.kind_of(doc))
    assert EvidenceResult.from_dict(doc) == ev
    t = kind.tables(kind.from_dict(doc))[0]
    assert t.title == "Evidence" and t.column("value")[0].startswith("-4.4 ±")
    assert t.rows[1][0].startswith("ln B") and "mu ~ U[0, 4]" in dict(t.summary)["hypothesis"]
