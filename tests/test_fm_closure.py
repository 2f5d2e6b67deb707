"""The reweighting closure test can fail: negative controls (numpy only, engineered-feature x).

Nominal: eps(x|q2) is theory-independent in the simulator, so reweighting SM signal to an
NP point by q2 alone reproduces NP signal simulated directly, and chi2 ~ chi2(ndf).
Controls: (1) a theory-dependent detector effect (``tune={"theory_control": ...}``), and
(2) a reweighting binning too coarse to resolve the q2 dependence of the efficiency. Both
must be flagged. Each claim is checked on two independent seed pairs; the control effects
are many standard deviations, so the assertions hold for any seed.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from redist.fm.baseline import LogisticBaseline
from redist.fm.densities import closure_test, fit_bins
from redist.fm.eta import fit_eta
from redist.simulate import ENGINEERED_FEATURES, simulate
from redist.theory import get_theory

N_SIG = 12000
NP = {"cSL": 10.0}
ETA_EDGES = (0.25, 0.5, 0.75, 1.0)
Q2REC_EDGES = (-np.inf, 4.0, 8.0, np.inf)
N_X = 9
COARSE = np.array([-1.0, 0.0, 8.0, 16.0, 22.885])
Q2I = ENGINEERED_FEATURES.index("q2_rec")


@pytest.fixture(scope="module")
def wet():
    return get_theory("wet", process="B+->K+nunu")


@pytest.fixture(scope="module")
def scorer():
    lab = simulate(6000, kind="mixed", signal_fraction=0.5, q2_shape="flat", seed=401)
    lab = lab.select(lab.presel)
    base = LogisticBaseline.fit(lab.features, lab.label)
    eta = fit_eta(base(lab.features), lab)
    return base, eta


def _x(sample, scorer):
    base, eta = scorer
    e = np.where(sample.presel, eta(base(sample.features)), -1.0)
    return fit_bins(e, sample.features[:, Q2I], sample.presel, ETA_EDGES, Q2REC_EDGES)


@pytest.fixture(scope="module", params=[0, 1])
def run(request, wet, scorer):
    s = request.param
    a = simulate(N_SIG, kind="signal", theory=wet, seed=500 + 3 * s)
    b = simulate(N_SIG, kind="signal", theory=wet, values=NP, seed=501 + 3 * s)
    c = simulate(N_SIG, kind="signal", theory=wet, values=NP, seed=502 + 3 * s, tune={"theory_control": 0.15})
    xa, xb, xc = (_x(t, scorer) for t in (a, b, c))

    def close(xo, other, z_edges=None):
        return closure_test(xa, a.q2_true, xo, other.q2_true, N_X, wet, {}, NP, z_edges=z_edges)

    return {"nominal": close(xb, b), "detector": close(xc, c), "coarse": close(xb, b, COARSE)}


def test_nominal_closure_passes(run):
    r = run["nominal"]
    assert r["ndf"] == N_X
    assert r["chi2"] < stats.chi2.ppf(0.999, r["ndf"]), r


def test_theory_dependent_detector_effect_fails(run):
    r = run["detector"]
    assert r["chi2"] > stats.chi2.ppf(0.999, r["ndf"]), r


def test_coarse_z_bins_fail(run):
    r = run["coarse"]
    assert r["chi2"] > stats.chi2.ppf(0.999, r["ndf"]), r
