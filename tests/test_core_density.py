from __future__ import annotations

import hist
import numpy as np
import pytest

from redist.density import JointDensity
from redist.exceptions import DensityError


def test_from_events_matches_histogramdd():
    rng = np.random.default_rng(1)
    x = rng.integers(-1, 4, size=2000)
    z = rng.uniform(-1, 10, size=2000)
    w = rng.uniform(0.5, 1.5, size=2000)
    edges = [-1.0, 0.0, 2.5, 5.0, 7.5, 10.0]
    d = JointDensity.from_events(x, z, n_x=4, z_edges=edges, weights=w)
    sel = x >= 0
    ref, _, _ = np.histogram2d(x[sel], z[sel], bins=[np.arange(5), edges], weights=w[sel])
    ref2, _, _ = np.histogram2d(x[sel], z[sel], bins=[np.arange(5), edges], weights=w[sel] ** 2)
    np.testing.assert_allclose(d.values(), ref, rtol=1e-12)
    np.testing.assert_allclose(d.variances(), ref2, rtol=1e-12)


def test_csv_layout_and_efficiency(tmp_path):
    vals = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 0.0]])
    p = tmp_path / "n.csv"
    np.savetxt(p, vals, delimiter=",")
    d = JointDensity.from_csv(p, [-1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(d.values(), vals)
    eff = d.efficiency([2.0, 4.0, 0.0])
    np.testing.assert_array_equal(eff, [[0.0, 0.25, 0.0], [0.5, 0.25, 0.0]])


def test_from_plottable_histogram_multi_dim():
    h = hist.Hist(
        hist.axis.Integer(0, 2, name="bin"),
        hist.axis.Regular(3, 0, 3, name="q2"),
        hist.axis.Regular(2, -1, 1, name="cost"),
        storage=hist.storage.Weight(),
    )
    h.fill(bin=[0, 1, 1], q2=[0.5, 1.5, 2.5], cost=[-0.5, 0.5, 0.5], weight=[1.0, 2.0, 3.0])
    d = JointDensity.from_hist(h)
    assert d.z_names == ("q2", "cost")
    assert d.values().shape == (2, 6)
    assert d.values(flat=False)[1, 2, 1] == 3.0
    assert d.variances(flat=False)[1, 1, 1] == 4.0


def test_roundtrip_dict():
    d = JointDensity.from_array([[1.0, 2.0]], [0.0, 0.3, 1.0], variances=[[0.1, 0.2]])
    e = JointDensity.from_dict(d.to_dict())
    np.testing.assert_array_equal(e.values(), d.values())
    np.testing.assert_array_equal(e.variances(), d.variances())
    np.testing.assert_array_equal(e.z_edges[0], d.z_edges[0])


@pytest.mark.parametrize(
    ("values", "edges", "match"),
    [
        ([[1.0, np.nan]], [0, 1, 2], "non-finite entry nan at fit bin 0, z bin 1"),
        ([[1.0, -1.0]], [0, 1, 2], "negative entry"),
        ([[1.0, 1.0], [0.0, 0.0]], [0, 1, 2], "fit bin 1 has no entries"),
        ([[1.0, 1.0, 1.0]], [0, 1, 2], "do not match z binning"),
        ([[1.0, 1.0]], [0, 2, 1], "strictly increasing"),
    ],
)
def test_bad_density(values, edges, match):
    with pytest.raises(DensityError, match=match):
        JointDensity.from_array(values, edges, source="mine.csv")


def test_wrong_rows_for_channel_names_channel():
    d = JointDensity.from_array([[1.0, 2.0]], [0, 1, 2])
    with pytest.raises(DensityError, match="channel 'A'.*1 fit-bin rows but the channel has 3"):
        d.check(n_bins=3, where="channel 'A'")


def test_unreadable_csv(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("1,2\nfoo,3\n")
    with pytest.raises(DensityError, match="bad.csv"):
        JointDensity.from_csv(p, [0, 1, 2])
