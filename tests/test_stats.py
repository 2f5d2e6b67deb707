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
