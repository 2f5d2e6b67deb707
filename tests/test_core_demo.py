"""`redist demo` (what `make demo` runs) end to end, checked against Belle II's published numbers."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from redist.theory import get_theory


@pytest.mark.jax
def test_demo_writes_results_and_figures(tmp_path):
    from redist.cli import main

    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "cVL" in result.stdout and "best fit" in result.stdout
    assert re.search(r"\ncVL +6\.613 ", result.stdout)  # the table (SM column) is printed from the results
    res = json.loads((out / "results.json").read_text())
    assert res["sm_point"] == {k: v for k, v in get_theory("wet").reference_point().items()
                               if k in ("cVL", "cSL", "cTL")}  # fmt: skip
    best = res["best_fit"]
    assert best["converged"]
    # arXiv:2507.12393 (same likelihood, Bayesian): mode (|cVL+cVR|, |cSL+cSR|, |cTL|) = (11.3, 0.0, 8.2);
    # a profile-likelihood maximum agrees with it within a fraction of the ~3.4 uncertainties
    assert best["values"]["cVL"] == pytest.approx(11.3, abs=1.0)
    assert best["values"]["cSL"] == pytest.approx(0.0, abs=0.5)
    assert best["values"]["cTL"] == pytest.approx(8.2, abs=1.5)
    assert "cSL" in best["at_limit"]
    # published mu_hat = 4.6 +- 1.3 (PRD 109, 112006); see docs/belle2.md for the small residual
    assert res["cVL_only_mu_equivalent"] == pytest.approx(4.6, abs=0.05)
    assert res["minus_two_delta_lnL_vs_SM"] > 0
    # the figures' content is tested in test_demo_plots.py; here: they were written as PNGs
    for name in ("weights_q2.png", "templates_A.png", "templates_B.png", "templates_sgn1.png", "pulls.png",
                 "correlation.png"):  # fmt: skip
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert res["kind"] == "demo" and "pulls.png" in res["figures"]
    # the demo's HTML report: its table and every figure, embedded
    page = (out / "report.html").read_text()
    assert "Belle II B+ -&gt; K+ nu nu, reinterpreted in WET" in page
    assert page.count("data:image/png;base64,") == len(res["figures"])
