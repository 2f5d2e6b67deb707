"""The B+ -> K+ X study: asymptotic CLs helpers, and the committed study outputs (examples/b2kx)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from redist.b2kx import _cls_qtilde, _hpd, _limit_from_point, _wald_limit

RESULTS = Path(__file__).resolve().parents[1] / "examples" / "b2kx" / "results.json"


def test_cls_qtilde_closed_forms():
    # q~ = mu^2 / sigma^2 (mu_hat = 0): CLs = 2 (1 - Phi(mu / sigma))
    mu, sigma = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.5])
    got = _cls_qtilde((mu / sigma) ** 2, mu, sigma)
    np.testing.assert_allclose(got, 2 * (1 - norm.cdf(mu / sigma)), rtol=1e-12)
    # q~ above mu^2/sigma^2 (negative mu_hat): Cowan et al. eq. 66 branch
    q = np.array([9.0])
    qa = 4.0
    ref = (1 - norm.cdf((q + qa) / (2 * math.sqrt(qa)))) / (1 - norm.cdf((q - qa) / (2 * math.sqrt(qa))))
    np.testing.assert_allclose(_cls_qtilde(q, np.array([2.0]), np.array([1.0])), ref, rtol=1e-12)


def test_wald_limit_at_zero_signal_is_the_median_expected():
    sigma = np.array([0.5, 1.0, 7.0])
    np.testing.assert_allclose(_wald_limit(np.zeros(3), sigma), norm.ppf(0.975) * sigma, rtol=1e-8)
    # an excess raises the observed limit by the best fit
    assert _wald_limit(np.array([2.0]), np.array([1.0]))[0] > 2.0 + norm.ppf(0.95) - 1e-6


def test_limit_from_one_exact_point_reproduces_wald():
    mu_hat, sigma = np.array([0.0, 1.5, 3.0]), np.array([1.0, 2.0, 0.7])
    wald = _wald_limit(mu_hat, sigma)
    mu0 = wald * 1.2  # a point away from the limit, with the Wald q~ there
    q = ((mu0 - mu_hat) / sigma) ** 2
    np.testing.assert_allclose(_limit_from_point(q, mu0, sigma), wald, rtol=1e-8)


def test_hpd_of_a_gaussian():
    x = np.linspace(-6, 6, 4001)
    lo, hi = _hpd(x, norm.pdf(x))
    assert lo == pytest.approx(-1.0, abs=5e-3) and hi == pytest.approx(1.0, abs=5e-3)


@pytest.mark.skipif(not RESULTS.exists(), reason="study outputs not generated")
def test_committed_study_outputs_have_the_issue_keys():
    r = json.loads(RESULTS.read_text())
    for key in ("q0", "z_local", "z_global", "ln_bayes_factor"):
        assert isinstance(r[key], float), key
    assert 0.0 < r["best"]["m_X"] < 4.79 and r["best"]["BR_X"] > 0
    assert r["z_local"] == pytest.approx(math.sqrt(r["q0"]))
    assert {"m_X", "width_X", "observed", "expected"} <= set(r["limits"][0])
    widths = {d["width_X"] for d in r["limits"]}
    assert widths == {0.0, 0.1}
    assert all(sum(d["width_X"] == w for d in r["limits"]) >= 100 for w in widths)
    for p in ("m_X", "BR_X"):
        lo, hi = r["posterior"][p]["hpd68"]
        assert lo < hi
    # the asymptotic-validity checks: yields linear in BR_X, non-zero Asimov Fisher information
    chk = r["asymptotics_check"]
    assert chk["yields_linear_in_BR_X_second_difference_rel"] < 1e-10
    assert chk["width_0"]["fisher_information_BR_X_at_0_min"] > 0
    for f in r["figures"]:
        assert (RESULTS.parents[2] / f).exists(), f


@pytest.mark.parametrize("flag", ["--output", "--output-dir"])
def test_cli_study_output_directory(monkeypatch, tmp_path, flag):
    """``redist demo --study b2kx --output DIR`` (the issue's spelling) and ``--output-dir DIR``."""
    from click.testing import CliRunner

    import redist.b2kx as mod
    from redist.cli import main

    calls = {}

    def fake_run(out, *, results_file, **kw):
        calls.update(out=out, results_file=results_file, **kw)
        r = json.loads(RESULTS.read_text()) if RESULTS.exists() else None
        if r is None:
            pytest.skip("study outputs not generated")
        results_file.write_text(json.dumps(r))
        return r

    monkeypatch.setattr(mod, "run", fake_run)
    target = tmp_path / "study"
    res = CliRunner().invoke(main, ["demo", "--study", "b2kx", flag, str(target), "--n-toys", "20",
                                    "--no-nuts", "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert calls["out"] == target and calls["results_file"] == target / "results.json"
    assert calls["n_toys"] == 20 and calls["nuts"] is False
    assert "is deprecated" not in res.output
    assert "Z_local" in res.stdout


def test_unconverged_nuts_cross_check_reports_no_interval():
    # a NUTS run with R-hat > 1.01 is not a result: the table names it, with its diagnostics,
    # and prints no interval (the committed outputs, with converged flipped)
    from redist.b2kx import b2kx_tables

    res = json.loads(RESULTS.read_text())
    nuts = res["posterior_nuts"]
    nuts["converged"] = False
    nuts["m_X"]["rhat"], nuts["m_X"]["ess_bulk"] = 1.034, 136.0
    rows = dict(b2kx_tables(res)[0].rows)
    key = f"NUTS cross-check (width {nuts['width_X']:g})"
    assert rows[key].startswith("NOT CONVERGED") and "1.034" in rows[key] and "136" in rows[key]
    assert not any(k.startswith("NUTS m_X HPD") for k in rows)
    nuts["converged"] = True
    rows = dict(b2kx_tables(res)[0].rows)
    assert key not in rows and any(k.startswith("NUTS m_X HPD") for k in rows)
