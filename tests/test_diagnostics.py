"""Binning diagnostics: bin-averaged versus per-event reweighting."""

from __future__ import annotations

import numpy as np
import pytest

from redist import Reweighting, get_theory
from redist.diagnostics import BinningReport, binning_error, compare_binnings

QMAX = 22.885
POINT = {"cVL": 2.0, "cTL": 6.0}


@pytest.fixture(scope="module")
def setup():
    th = get_theory("wet", process="B+->K+nunu")
    # events distributed like the null (SM) rate: quantile midpoints of its CDF (nearly noise-free)
    grid = np.linspace(0.0, QMAX, 200_001)
    pdf = th.rate(grid)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    n = 40_000
    z = np.interp((np.arange(n) + 0.5) / n, cdf, grid)
    x = (z > 7.3).astype(int)  # efficiency step at 7.3 GeV^2
    rw = Reweighting("wet", th, [np.linspace(0.0, QMAX, 11)])
    return th, rw, x, z


def test_report_against_direct_computation(setup):
    th, rw, x, z = setup
    w = np.linspace(0.5, 1.5, len(z))
    rep = binning_error(rw, x, z, [POINT, {"cSL": 3.0}], n_x=2, weights=w)
    assert isinstance(rep, BinningReport)
    r = th.rate(z, th.resolve(POINT)) / th.rate(z)
    exact = [np.sum((w * r)[x == i]) for i in (0, 1)]
    np.testing.assert_allclose(rep.exact[0], exact, rtol=1e-12)
    edges = rw.z_edges[0]
    n = np.array([np.histogram(z[x == i], edges, weights=w[x == i])[0] for i in (0, 1)])
    np.testing.assert_allclose(rep.binned[0], n @ rw.weights_at(POINT), rtol=1e-12)
    np.testing.assert_allclose(rep.nominal, [w[x == 0].sum(), w[x == 1].sum()], rtol=1e-12)
    assert rep.max_per_fit_bin.shape == (2,)
    assert rep.max_rel_deviation == pytest.approx(np.max(np.abs(rep.binned / rep.exact - 1)))
    assert "fit bin" in str(rep) and "cTL=6" in rep.table()


def test_aligned_binning_is_exact_and_misaligned_is_not(setup):
    _, rw, x, z = setup
    aligned = np.sort(np.concatenate([np.linspace(0.0, QMAX, 11), [7.3]]))
    reps = compare_binnings(
        rw, x, z, {"coarse": np.linspace(0.0, QMAX, 6), "aligned": aligned, "fine": np.linspace(0, QMAX, 201)},
        POINT, n_x=2,
    )
    # with the efficiency constant inside every bin, bin averaging is exact (up to sampling)
    assert reps["aligned"].max_rel_deviation < 1e-4
    # a bin straddling the efficiency step is not, and finer bins reduce the error
    assert reps["coarse"].max_rel_deviation > 1e-2
    assert reps["fine"].max_rel_deviation < reps["coarse"].max_rel_deviation / 10
    # at the reference point every weight is 1
    assert binning_error(rw, x, z, None, n_x=2).max_rel_deviation < 1e-12
