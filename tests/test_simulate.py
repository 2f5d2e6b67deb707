from __future__ import annotations

import numpy as np
import pytest

from redist.exceptions import RedistError
from redist.simulate import (
    ENGINEERED_FEATURES,
    PARTICLE_FEATURES,
    SQRT_S,
    EventSample,
    SimulationError,
    _boost,
    _nbody,
    q2_sampler,
    simulate,
)
from redist.theory import get_theory

Q2REC = ENGINEERED_FEATURES.index("q2_rec")


@pytest.fixture(scope="module")
def wet():
    return get_theory("wet", process="B+->K+nunu")


@pytest.fixture(scope="module")
def mixed():
    return simulate(4000, kind="mixed", seed=3)


def test_shapes_and_truth(mixed):
    n = len(mixed)
    assert mixed.particles.shape == (n, 32, len(PARTICLE_FEATURES))
    assert mixed.mask.shape == (n, 32) and mixed.mask.dtype == bool
    assert mixed.features.shape == (n, len(ENGINEERED_FEATURES))
    sig = mixed.label == 1
    assert 0.2 < sig.mean() < 0.4
    assert np.all(np.isfinite(mixed.q2_true[sig])) and np.all(np.isnan(mixed.q2_true[~sig]))
    assert np.all((mixed.process == 0) == sig)
    # padding is zero, real particles are contiguous from slot 0
    assert np.all(mixed.particles[~mixed.mask] == 0)
    cnt = mixed.mask.sum(axis=1)
    assert np.array_equal(mixed.mask, np.arange(32)[None, :] < cnt[:, None])
    assert np.all(cnt == np.minimum(mixed.n_particles, 32))
    # the kaon candidate, when there is one, sits in slot 0
    kc = PARTICLE_FEATURES.index("is_k_candidate")
    assert np.all(mixed.particles[mixed.has_candidate, 0, kc] == 1)
    assert np.all(mixed.particles[:, 1:, kc] == 0)
    assert np.all(mixed.features[mixed.presel, ENGINEERED_FEATURES.index("n_tracks")] >= 4)


def test_deterministic():
    a = simulate(500, kind="mixed", seed=7)
    b = simulate(500, kind="mixed", seed=7)
    c = simulate(500, kind="mixed", seed=8)
    for name in EventSample._ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.particles, c.particles)


def test_npz_roundtrip_without_pickle(tmp_path, mixed):
    path = mixed.save(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    back = EventSample.load(path)
    for name in EventSample._ARRAYS:
        np.testing.assert_array_equal(getattr(back, name), getattr(mixed, name))
    assert back.meta == mixed.meta
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(RedistError, match=r"bad\.npz"):
        EventSample.load(tmp_path / "bad.npz")


def test_phase_space_conserves_four_momentum():
    rng = np.random.default_rng(0)
    masses = [0.4937, 0.1396, 0.1396, 0.135]
    p = _nbody(rng, np.full(1000, 1.86484), masses)
    tot = p.sum(axis=1)
    np.testing.assert_allclose(tot[:, 0], 1.86484, atol=1e-9)
    np.testing.assert_allclose(tot[:, 1:], 0.0, atol=1e-9)
    m2 = p[..., 0] ** 2 - np.sum(p[..., 1:] ** 2, axis=-1)
    np.testing.assert_allclose(m2, np.broadcast_to(np.square(masses), m2.shape), atol=1e-9)
    # boost and back
    beta = np.array([0.0, 0.0, 3.0 / 11.0])
    q = _boost(_boost(p, beta), -beta)
    np.testing.assert_allclose(q, p, atol=1e-9)
    # 7 x 4 GeV beams: sqrt(s) and the c.m. boost
    lab = _boost(np.array([SQRT_S, 0.0, 0.0, 0.0]), beta)
    np.testing.assert_allclose(lab, [11.0, 0.0, 0.0, 3.0], atol=1e-12)


@pytest.mark.parametrize("values", [{}, {"cSL": 10.0}, {"cTL": 8.0}])
def test_q2_follows_theory(wet, values):
    """Signal q2 histogram matches the bin-integrated theory rate (chi2 test)."""
    s = simulate(20000, kind="signal", theory=wet, values=values, seed=1)
    edges = np.linspace(0.0, 22.9, 21)
    counts, _ = np.histogram(s.q2_true, edges)
    grid = np.linspace(0, wet.kinematics[0].high, 20001)
    rate = wet.rate(grid, values)
    cdf = np.concatenate([[0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(grid))])
    expected = np.diff(np.interp(edges, grid, cdf)) / cdf[-1] * len(s)
    ok = expected > 5
    chi2 = np.sum((counts[ok] - expected[ok]) ** 2 / expected[ok])
    assert chi2 / ok.sum() < 2.0
    # branching ratio from the sampler equals the theory's
    _, _, br = q2_sampler(wet, values)
    assert br == pytest.approx(wet.branching_ratio(values), rel=1e-4)


def test_flat_q2_weights_reproduce_theory(wet):
    s = simulate(20000, kind="signal", theory=wet, values={"cSL": 10.0}, q2_shape="flat", seed=2)
    edges = np.linspace(0.0, 22.0, 12)
    h_flat, _ = np.histogram(s.q2_true, edges)
    assert h_flat.std() / h_flat.mean() < 0.05
    h_w, _ = np.histogram(s.q2_true, edges, weights=s.weight)
    d = simulate(20000, kind="signal", theory=wet, values={"cSL": 10.0}, seed=4)
    h_d, _ = np.histogram(d.q2_true, edges)
    err = np.sqrt(np.histogram(s.q2_true, edges, weights=s.weight**2)[0] + h_d)
    chi2 = np.sum((h_w - h_d) ** 2 / err**2)
    assert chi2 / len(h_d) < 2.5


def test_signal_kinematics_and_q2_rec():
    s = simulate(5000, kind="signal", seed=5)
    sel = s.presel & s.k_match
    q2rec = s.features[sel, Q2REC]
    # q2_rec tracks true q2 (B motion in the c.m. frame smears it by about 1-2 GeV^2)
    assert np.corrcoef(q2rec, s.q2_true[sel])[0, 1] > 0.9
    assert abs(np.median(q2rec - s.q2_true[sel])) < 0.5
    # signal has more missing energy than generic B decays
    b = simulate(5000, kind="bbbar_charged", seed=6)
    em = ENGINEERED_FEATURES.index("E_miss")
    assert np.median(s.features[s.presel, em]) > np.median(b.features[b.presel, em]) + 1.0
    # efficiency falls with q2 (soft kaons), as in the published map
    lo = s.presel[s.q2_true < 6].mean()
    hi = s.presel[s.q2_true > 16].mean()
    assert lo > hi


def test_efficiency_is_theory_independent_engineered(wet):
    """eps(x|q2) with an engineered x agrees between SM and cTL = 8 samples within statistics."""
    from redist.fm.densities import efficiency, fit_bins

    edges = np.concatenate([[-1.0], np.linspace(0, 22.885, 11)])
    maps = []
    for values, seed in (({}, 10), ({"cTL": 8.0}, 11)):
        s = simulate(30000, kind="signal", theory=wet, values=values, seed=seed)
        eta = np.clip(s.features[:, ENGINEERED_FEATURES.index("E_miss")] / 8.0, 0, 1)
        x = fit_bins(eta, s.features[:, Q2REC], s.presel, (0.0, 0.5, 1.0), (-np.inf, 8.0, np.inf))
        maps.append(efficiency(x, s.q2_true, 4, z_edges=edges))
    va, vb = maps[0].values(), maps[1].values()
    var = maps[0].variances() + maps[1].variances()
    ok = var > 0
    chi2 = np.sum((va[ok] - vb[ok]) ** 2 / var[ok])
    assert chi2 / ok.sum() < 1.8


def test_errors():
    with pytest.raises(SimulationError, match="unknown kind 'tau'"):
        simulate(10, kind="tau")
    with pytest.raises(SimulationError, match="n_events"):
        simulate(-1)
    with pytest.raises(SimulationError, match="q2_shape"):
        simulate(10, q2_shape="steep")
    assert len(simulate(0)) == 0
