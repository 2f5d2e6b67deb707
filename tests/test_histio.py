"""Density file formats: round trips, independent readers, and layout checks."""

from __future__ import annotations

import json

import hist
import numpy as np
import pytest

from redist import histio
from redist.demo import belle2_data
from redist.density import JointDensity
from redist.exceptions import RedistError
from redist.histio import DensityFileError

uproot = pytest.importorskip("uproot")
yaml = pytest.importorskip("yaml")


@pytest.fixture(scope="module")
def belle2():
    _, dens, edges = belle2_data()
    return dens, edges


@pytest.fixture
def dens2d():
    rng = np.random.default_rng(3)
    vals = rng.uniform(0.1, 2.0, size=(4, 3, 2))
    return JointDensity.from_array(
        vals, [[0.0, 1.0, 2.5, 4.0], [-1.0, 0.0, 1.0]], variances=vals / 10, z_names=("q2", "cos")
    )


def _same(a: JointDensity, b: JointDensity, variances: bool = True) -> None:
    assert a.z_names == b.z_names and a.n_x == b.n_x
    for e, f in zip(a.z_edges, b.z_edges):
        np.testing.assert_array_equal(e, f)
    np.testing.assert_array_equal(a.values(), b.values())
    if variances:
        np.testing.assert_allclose(a.variances(), b.variances(), rtol=1e-15)


@pytest.mark.parametrize("suffix", ["uhi", "csv", "yaml", "json", "root"])
def test_round_trip(dens2d, tmp_path, suffix):
    if suffix == "uhi":
        p = histio.write_uhi(tmp_path / "d.json", dens2d)
        got = histio.read_uhi(p)
    elif suffix == "csv":
        p = histio.write_csv(tmp_path / "d.csv", dens2d)
        got = histio.read_csv(p)
    elif suffix == "root":
        p = histio.write_root(tmp_path / "d.root", {"sig": dens2d})
        got = histio.read_root(p, "sig")
    else:
        p = histio.write_hepdata(tmp_path / f"d.{suffix}", dens2d)
        got = histio.read_hepdata(p)
    _same(dens2d, got, variances=suffix != "csv")


def test_published_csv_matches_shipped_data(belle2):
    dens, edges = belle2
    ch = "sgn1_had"
    got = histio.read_csv("redist/data/belle2/number_density_hta.csv", edges, n_x=6)
    raw = np.loadtxt("redist/data/belle2/number_density_hta.csv", delimiter=",")
    np.testing.assert_array_equal(got.values(), raw)
    np.testing.assert_array_equal(got.values(), dens[(ch, "sgn_1_had")].values())


def test_uhi_file_is_plain_uhi(dens2d, tmp_path):
    """Readable by hist without redist; validates against uhi's schema; states the layout."""
    from importlib.resources import files

    import jsonschema

    p = histio.write_uhi(tmp_path / "d.json", {"A/signal": dens2d})
    doc = json.loads(p.read_text())
    meta = doc["A/signal"]["metadata"]
    assert meta["redist_axis_order"] == "x,q2,cos" and meta["redist_flattening"] == "C"
    h = hist.Hist._from_uhi_(doc["A/signal"])
    np.testing.assert_array_equal(h.values(), dens2d.values(flat=False))
    schema = json.loads((files("uhi") / "resources" / "histogram.schema.json").read_text())
    schema.pop("$id")
    jsonschema.validate(doc["A/signal"], schema)
    _same(histio.read_uhi(p, "A/signal"), dens2d)


def test_uhi_foreign_axis_order(dens2d, tmp_path):
    """A hist written by someone else with z first is transposed on request."""
    h = dens2d.hist.project("q2", "cos", "x")
    (tmp_path / "f.json").write_text(json.dumps({"h": hist.Hist._to_uhi_(h)}, default=lambda o: o.tolist()))
    with pytest.raises(DensityFileError, match=r"axis 2 \('x'\) must be a continuous .* axis_order"):
        histio.read_uhi(tmp_path / "f.json", n_x=4)
    got = histio.read_uhi(tmp_path / "f.json", axis_order=["x", "q2", "cos"])
    _same(got, dens2d)


def test_uhi_mismatches(dens2d, tmp_path):
    p = histio.write_uhi(tmp_path / "d.json", dens2d)
    with pytest.raises(DensityFileError, match=r"axis 2 is named 'cos', expected 'phi'"):
        histio.read_uhi(p, z_names=["q2", "phi"])
    with pytest.raises(DensityFileError, match=r"axis 1 \('q2'\) has bin edges"):
        histio.read_uhi(p, z_edges=[[0.0, 1.0, 2.0, 4.0], [-1.0, 0.0, 1.0]])
    with pytest.raises(DensityFileError, match="declares axis order"):
        histio.read_uhi(p, axis_order=["x", "cos", "q2"])
    doc = json.loads(p.read_text())
    doc["density"]["metadata"]["redist_axis_order"] = "x,cos,q2"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(DensityFileError, match=r"bad.json.*declares axes \['x', 'cos', 'q2'\]"):
        histio.read_uhi(tmp_path / "bad.json")
    doc["density"]["metadata"]["redist_axis_order"] = "x,q2,cos"
    doc["density"]["metadata"]["redist_flattening"] = "F"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(DensityFileError, match="flattening 'F'"):
        histio.read_uhi(tmp_path / "bad.json")
    doc["density"]["storage"]["values"] = "nonsense"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(DensityFileError, match="bad.json"):
        histio.read_uhi(tmp_path / "bad.json")
    (tmp_path / "two.json").write_text(json.dumps({"a": doc["density"], "b": doc["density"]}))
    with pytest.raises(DensityFileError, match="2 histograms"):
        histio.read_uhi(tmp_path / "two.json")


def test_csv_flattening(dens2d, tmp_path):
    """A Fortran-flattened table is read correctly when declared, and refused when it contradicts."""
    vals = dens2d.values(flat=False)
    body = "\n".join(",".join(repr(float(v)) for v in row.reshape(-1, order="F")) for row in vals)
    (tmp_path / "f.csv").write_text("# flattening: F\n" + body + "\n")
    edges = dens2d.z_edges
    got = histio.read_csv(tmp_path / "f.csv", edges, z_names=("q2", "cos"))
    np.testing.assert_array_equal(got.values(flat=False), vals)
    with pytest.raises(DensityFileError, match="declares flattening 'F'.*expected 'C'"):
        histio.read_csv(tmp_path / "f.csv", edges, z_names=("q2", "cos"), flattening="C")
    (tmp_path / "plain.csv").write_text(body + "\n")
    wrong = histio.read_csv(tmp_path / "plain.csv", edges, z_names=("q2", "cos"))  # assumed C
    assert not np.array_equal(wrong.values(flat=False), vals)


def test_csv_errors(dens2d, tmp_path, belle2):
    _, edges = belle2
    p = histio.write_csv(tmp_path / "d.csv", dens2d)
    with pytest.raises(DensityFileError, match=r"axis 1 \('q2'\) edges in the file"):
        histio.read_csv(p, [[0.0, 1.0, 2.0, 4.0], [-1.0, 0.0, 1.0]], z_names=("q2", "cos"))
    with pytest.raises(DensityFileError, match="declares axis order"):
        histio.read_csv(p, z_names=("cos", "q2"))
    with pytest.raises(DensityFileError, match=r"101 columns, but the z binning \{'q2': 100\}"):
        histio.read_csv("redist/data/belle2/number_density_hta.csv", edges[:-1])
    (tmp_path / "ragged.csv").write_text("1,2,3\n4,5\n")
    with pytest.raises(DensityFileError, match="row 1 .* 2 columns"):
        histio.read_csv(tmp_path / "ragged.csv", [0, 1, 2, 3])
    (tmp_path / "text.csv").write_text("1,2,x\n")
    with pytest.raises(DensityFileError, match="row 0"):
        histio.read_csv(tmp_path / "text.csv", [0, 1, 2, 3])
    (tmp_path / "neg.csv").write_text("1,2,-3\n")
    with pytest.raises(DensityFileError, match="negative entry"):
        histio.read_csv(tmp_path / "neg.csv", [0, 1, 2, 3])
    with pytest.raises(DensityFileError, match="no z bin edges"):
        histio.read_csv(tmp_path / "neg.csv")
    with pytest.raises(DensityFileError, match="cannot read"):
        histio.read_csv(tmp_path / "missing.csv", [0, 1])


def _table(tmp_path, dens):
    p = histio.write_hepdata(tmp_path / "t.yaml", dens)
    return p, yaml.safe_load(p.read_text())


def test_hepdata_row_order_irrelevant(dens2d, tmp_path):
    _, doc = _table(tmp_path, dens2d)
    perm = np.random.default_rng(1).permutation(len(doc["dependent_variables"][0]["values"]))
    for col in doc["independent_variables"] + doc["dependent_variables"]:
        col["values"] = [col["values"][i] for i in perm]
    (tmp_path / "s.json").write_text(json.dumps(doc))
    _same(histio.read_hepdata(tmp_path / "s.json"), dens2d)


def test_hepdata_reco_ranges_as_fit_bins(tmp_path):
    """Fit bins given as two reconstructed ranges (3 eta x 2 q2_rec) are flattened in C order."""
    rows = []
    for i, eta in enumerate([(0.9, 0.92), (0.92, 0.96), (0.96, 1.0)]):
        for j, qr in enumerate([(0.0, 4.0), (4.0, 8.0)]):
            for k, qt in enumerate([(0.0, 2.0), (2.0, 8.0)]):
                rows.append((eta, qr, qt, 100 * i + 10 * j + k + 1))
    doc = {
        "independent_variables": [
            {"header": {"name": n}, "values": [{"low": r[c][0], "high": r[c][1]} for r in rows]}
            for c, n in enumerate(["eta", "q2_rec", "q2_true"])
        ],
        "dependent_variables": [{"header": {"name": "n"}, "values": [{"value": r[3]} for r in rows]}],
    }
    (tmp_path / "t.json").write_text(json.dumps(doc))
    d = histio.read_hepdata(tmp_path / "t.json", x=["eta", "q2_rec"], z=["q2_true"])
    assert d.values().tolist()[3] == [111.0, 112.0]  # eta bin 1, q2_rec bin 1
    assert d.n_x == 6 and d.z_names == ("q2_true",)


def test_hepdata_errors(dens2d, tmp_path):
    _, doc = _table(tmp_path, dens2d)

    def check(mod, match, **kw):
        d = json.loads(json.dumps(doc))
        mod(d)
        (tmp_path / "e.json").write_text(json.dumps(d))
        with pytest.raises(DensityFileError, match=match):
            histio.read_hepdata(tmp_path / "e.json", **kw)

    check(lambda d: None, "missing column 'phi'", z=["phi"])
    check(lambda d: d.pop("dependent_variables"), "dependent_variables")
    check(lambda d: d["independent_variables"][1]["values"].pop(), "column 'q2' has 23 points")
    check(lambda d: d["dependent_variables"][0]["values"][0].pop("value"), "needs a 'value'")

    def dup(d):
        for col in d["independent_variables"] + d["dependent_variables"]:
            col["values"][1] = col["values"][0]

    check(dup, "duplicate point for fit bin 0")

    def gap(d):
        for v in d["independent_variables"][1]["values"]:
            if v["low"] == 2.5:
                v["low"] = 2.6

    check(gap, "axis 'q2' has a gap between bins")
    d = json.loads(json.dumps(doc))
    d["dependent_variables"][0]["values"][0]["value"] = "HUGE"
    (tmp_path / "e.json").write_text(json.dumps(d).replace('"HUGE"', "1e999"))
    with pytest.raises(DensityFileError, match="non-finite number at /dependent_variables/0/values/0/value"):
        histio.read_hepdata(tmp_path / "e.json")
    (tmp_path / "e.yaml").write_text("independent_variables: [\n")
    with pytest.raises(DensityFileError, match="not valid YAML"):
        histio.read_hepdata(tmp_path / "e.yaml")


def test_root_written_by_hist_via_uproot(tmp_path):
    """A TH2 written by uproot from a plain hist (no redist) reads back; flow bins are refused."""
    h = hist.Hist(hist.axis.Regular(3, 0, 3, label="x"), hist.axis.Variable([0, 1, 3], label="q2"),
                  storage=hist.storage.Weight())
    h.fill([0.5, 1.5, 2.5, 2.5], [0.5, 2, 2, 2], weight=[1, 2, 3, 4])
    with uproot.recreate(tmp_path / "f.root") as f:
        f["n"] = h
    d = histio.read_root(tmp_path / "f.root", "n", n_x=3, z_names=["q2"], z_edges=[[0, 1, 3]])
    np.testing.assert_array_equal(d.values(), [[1, 0], [0, 2], [0, 7]])
    np.testing.assert_array_equal(d.variances(), [[1, 0], [0, 4], [0, 25]])
    with pytest.raises(DensityFileError, match=r"f.root:n: axis 1 is named 'q2', expected 'z'"):
        histio.read_root(tmp_path / "f.root", "n", z_names=["z"])
    h.fill([0.5], [5.0])
    with uproot.recreate(tmp_path / "g.root") as f:
        f["n"] = h
    with pytest.raises(DensityFileError, match="under/overflow"):
        histio.read_root(tmp_path / "g.root", "n")
    with pytest.raises(DensityFileError, match="no object 'm'"):
        histio.read_root(tmp_path / "g.root", "m")


def test_read_density_dispatch(dens2d, tmp_path):
    p = histio.write_uhi(tmp_path / "d.json", dens2d)
    _same(histio.read_density(p, "uhi", z_names=("q2", "cos")), dens2d)
    with pytest.raises(DensityFileError, match="unknown density layout 'xml'"):
        histio.read_density(p, "xml")
    assert issubclass(DensityFileError, RedistError)
