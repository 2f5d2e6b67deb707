"""Filling n(x, z) from events: numpy reference, Parquet, ROOT, dask; per-event weights."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from redist import Reweighting, get_theory
from redist.exceptions import RedistError, ZeroNullRate
from redist.fill import FillError, event_weights, fill, fill_dask, fill_parquet, fill_root, parquet_to_dask

EDGES = np.concatenate([[-1.0], np.linspace(0.0, 22.885, 21)])


@pytest.fixture(scope="module")
def events():
    rng = np.random.default_rng(7)
    n = 20_000
    x = rng.integers(-1, 6, n)  # -1 = not selected
    z = rng.uniform(-1.0, 22.885, n)
    w = rng.integers(1, 16, n) / 8.0  # dyadic: sums are exact in any order
    return x, z, w


def _reference(x, z, w, n_x):
    sel = (x >= 0) & (x < n_x)
    vals, _ = np.histogramdd((x[sel], z[sel]), bins=(np.arange(n_x + 1) - 0.5, EDGES), weights=w[sel])
    var, _ = np.histogramdd((x[sel], z[sel]), bins=(np.arange(n_x + 1) - 0.5, EDGES), weights=w[sel] ** 2)
    return vals, var


def test_fill_matches_numpy(events):
    x, z, w = events
    d = fill(x, z, n_x=6, z_edges=EDGES, weights=w)
    vals, var = _reference(x, z, w, 6)
    np.testing.assert_array_equal(d.values(), vals)
    np.testing.assert_array_equal(d.variances(), var)
    chunked = fill(x, z, n_x=6, z_edges=EDGES, weights=w, chunk_size=3000, progress=True)
    np.testing.assert_array_equal(chunked.values(), d.values())


def test_fill_two_z_axes():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, 500)
    z = rng.uniform(0, 1, (500, 2))
    d = fill(x, z, n_x=3, z_edges=[[0, 0.5, 1], [0, 0.2, 0.7, 1]], z_names=("a", "b"))
    ref, _ = np.histogramdd((x, z[:, 0], z[:, 1]), bins=([-0.5, 0.5, 1.5, 2.5], [0, 0.5, 1], [0, 0.2, 0.7, 1]))
    np.testing.assert_array_equal(d.values(flat=False), ref)
    np.testing.assert_array_equal(d.values(), ref.reshape(3, -1))  # C-order flattening


def test_fill_errors():
    with pytest.raises(FillError, match=r"event 1 has q2 = 30\.0, outside the z binning"):
        fill([0, 1], [1.0, 30.0], n_x=2, z_edges=[0, 10, 20])
    with pytest.raises(FillError, match="3 weights for 2 events"):
        fill([0, 1], [1.0, 2.0], n_x=2, z_edges=[0, 10], weights=[1, 2, 3])
    with pytest.raises(FillError, match="weight of event 1 is nan"):
        fill([0, 1], [1.0, 2.0], n_x=2, z_edges=[0, 10], weights=[1, np.nan])
    with pytest.raises(FillError, match="integers"):
        fill([0.5, 1], [1.0, 2.0], n_x=2, z_edges=[0, 10])
    with pytest.raises(FillError, match="1 z values for 2 events"):
        fill([0, 1], [[1.0, 2.0]], n_x=2, z_edges=[0, 10])
    assert issubclass(FillError, RedistError)


def test_parquet(events, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    x, z, w = events
    pq.write_table(pa.table({"bin": x, "q2_true": z, "w": w}), tmp_path / "e.parquet", row_group_size=4000)
    d = fill_parquet(tmp_path / "e.parquet", x="bin", z=["q2_true"], weight="w", n_x=6, z_edges=EDGES,
                     batch_size=2500)
    np.testing.assert_array_equal(d.values(), _reference(x, z, w, 6)[0])
    assert d.z_names == ("q2_true",)
    with pytest.raises(FillError, match="missing column 'q2'"):
        fill_parquet(tmp_path / "e.parquet", x="bin", z=["q2"], n_x=6, z_edges=EDGES)


def test_root_tree(events, tmp_path):
    uproot = pytest.importorskip("uproot")
    x, z, w = events
    with uproot.recreate(tmp_path / "e.root") as f:
        f["t"] = {"bin": x.astype(np.int32), "q2": z, "w": w}
    d = fill_root(tmp_path / "e.root", "t", x="bin", z=["q2"], weight="w", n_x=6, z_edges=EDGES, step_size=3000)
    vals, var = _reference(x, z, w, 6)
    np.testing.assert_array_equal(d.values(), vals)
    np.testing.assert_array_equal(d.variances(), var)
    with pytest.raises(FillError, match="missing column 'weight'"):
        fill_root(tmp_path / "e.root", "t", x="bin", z=["q2"], weight="weight", n_x=6, z_edges=EDGES)
    with pytest.raises(FillError, match="no TTree 'u'"):
        fill_root(tmp_path / "e.root", "u", x="bin", z=["q2"], n_x=6, z_edges=EDGES)


@pytest.mark.dask
def test_dask_equals_in_memory(events, tmp_path):
    da = pytest.importorskip("dask.array")
    pytest.importorskip("dask_histogram")
    distributed = pytest.importorskip("distributed")
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    x, z, w = events
    mem = fill(x, z, n_x=6, z_edges=EDGES, weights=w)
    pq.write_table(pa.table({"bin": x, "q2": z, "w": w}), tmp_path / "e.parquet", row_group_size=3000)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster):
        lazy = fill_dask(da.from_array(x, chunks=3000), da.from_array(z, chunks=3000), n_x=6,
                         z_edges=EDGES, weights=da.from_array(w, chunks=3000))
        cols = parquet_to_dask(tmp_path / "e.parquet", ["bin", "q2", "w"])
        from_file = fill_dask(cols["bin"], cols["q2"], n_x=6, z_edges=EDGES, weights=cols["w"])
        with pytest.raises(FillError, match="outside the z binning"):
            fill_dask(da.from_array(x, chunks=3000), da.from_array(z + 5, chunks=3000), n_x=6, z_edges=EDGES)
    for d in (lazy, from_file):
        np.testing.assert_array_equal(d.values(), mem.values())
        np.testing.assert_array_equal(d.variances(), mem.variances())


def test_event_weights_against_rates():
    th = get_theory("wet", process="B+->K+nunu")
    rw = Reweighting("wet", th, [EDGES], cutoff=[(0.0, 20.0)])
    z = np.array([-0.5, 0.3, 5.0, 19.9, 21.0, 22.8])
    point = {"cVL": 3.0, "cTL": 4.0}
    w = event_weights(rw, z, point)
    inside = (z >= 0) & (z <= 20)
    ratio = th.rate(z[inside], th.resolve(point)) / th.rate(z[inside])
    np.testing.assert_allclose(w[inside], ratio, rtol=1e-14)
    np.testing.assert_array_equal(w[~inside], 1.0)
    # integrating the per-event weight against the null rate over a bin gives the bin weight
    lo, hi = EDGES[5], EDGES[6]
    num = integrate.quad(lambda q: th.rate([q], th.resolve(point))[0], lo, hi, epsabs=0, epsrel=1e-12)[0]
    den = integrate.quad(lambda q: th.rate([q])[0], lo, hi, epsabs=0, epsrel=1e-12)[0]
    assert rw.weights_at(point)[5] == pytest.approx(num / den, rel=1e-10)


def test_event_weights_zero_null():
    th = get_theory("wet", process="B+->K+nunu")
    null = get_theory("wet", process="B+->K+nunu")
    rw = Reweighting("wet", th, [EDGES], null=null, null_values={"cVL": 0.0, "cVR": 0.0},
                     cutoff=[(0.0, 20.0)])
    with pytest.raises(ZeroNullRate, match="event 0"):
        event_weights(rw, [1.0], {"cVL": 1.0})
    with pytest.raises(FillError, match="non-finite"):
        event_weights(Reweighting("wet", th, [EDGES]), [np.nan])
