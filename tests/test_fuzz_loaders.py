"""Fuzzing every loader with random and hostile JSON: only redist exceptions may escape."""

from __future__ import annotations

import contextlib
import functools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import redist
from redist import Reweighting, get_theory, histio, reinterpret
from redist.config import build_model, load_config
from redist.density import JointDensity
from redist.exceptions import RedistError

#: no shrinking: a failure reports its (unshrunk) example at once instead of minutes later
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "belle2_config.json"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)
KEYS = ["uhi_schema", "axes", "storage", "metadata", "independent_variables", "dependent_variables",
        "values", "header", "name", "low", "high", "value", "version", "densities", "workspace", "z",
        "format", "reweightings", "edges", "type"]
keyed = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=6),
    max_leaves=30,
)

HOSTILE = [
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    "1e999",
    '{"values": [1e999, -1e999]}',
    "9" * 5000,
    '{"uhi_schema": 1, "axes": [], "storage": {"type": "double", "values": 1e999}}',
    "NaN",
    '{"version": "1.0", "workspace": "' + "a" * 5000 + '"}',
    "\x00\xff",
    "",
]


def _small_model():
    """A one-channel WET reinterpretation (fast to load, unlike the Belle II model)."""
    ws = {
        "channels": [{"name": "c", "samples": [
            {"name": "sig", "data": [5.0, 3.0], "modifiers": [
                {"name": "mu", "type": "normfactor", "data": None},
                {"name": "stat", "type": "staterror", "data": [0.5, 0.4]}]},
            {"name": "bkg", "data": [10.0, 10.0], "modifiers": []}]}],
        "observations": [{"name": "c", "data": [15.0, 14.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    dens = JointDensity.from_array([[1.0, 2.0, 0.5], [0.2, 1.0, 3.0]], [0.0, 5.0, 12.0, 22.0])
    rw = Reweighting("wet", get_theory("wet", process="B+->K+nunu"), [[0.0, 5.0, 12.0, 22.0]],
                     parameters=("cVL",))
    return reinterpret(ws, {("c", "sig"): dens}, rw, prune=["mu"])


@functools.cache
def _valid_text(tmp: Path) -> dict[str, str]:
    d = JointDensity.from_array([[1.0, 2.0], [3.0, 4.0]], [0.0, 1.0, 2.0])
    histio.write_uhi(tmp / "u.json", d)
    histio.write_hepdata(tmp / "h.json", d)
    redist.save(tmp / "m.json", _small_model())
    return {"uhi": (tmp / "u.json").read_text(), "hepdata": (tmp / "h.json").read_text(),
            "config": EXAMPLE.read_text(), "model": (tmp / "m.json").read_text()}


def _valid_docs(tmp: Path) -> dict[str, object]:
    return {k: json.loads(v) for k, v in _valid_text(tmp).items()}


def _loaders(tmp: Path):
    return {
        "read_uhi": lambda p: histio.read_uhi(p),
        "read_hepdata": lambda p: histio.read_hepdata(p),
        "read_csv": lambda p: histio.read_csv(p, [0.0, 1.0, 2.0]),
        "load_config": lambda p: load_config(p),
        "build_model": lambda p: build_model(p),
        "redist.load": lambda p: redist.load(p),
    }


def _call(loader, path: Path) -> None:
    with contextlib.suppress(RedistError):
        loader(path)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_inputs(workdir, text):
    p = workdir / "hostile.json"
    p.write_bytes(text.encode("utf-8", "surrogatepass"))
    for name, loader in _loaders(workdir).items():
        with pytest.raises(RedistError):
            loader(p)
            pytest.fail(f"{name} accepted hostile input {text[:40]!r}")


@settings(max_examples=60, deadline=None, derandomize=True, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=json_values | keyed)
def test_random_json(workdir, doc):
    p = workdir / "random.json"
    p.write_text(json.dumps(doc))
    for loader in _loaders(workdir).values():
        _call(loader, p)


@settings(max_examples=120, deadline=None, derandomize=True, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["uhi", "hepdata", "config", "model"]), data=st.data())
def test_mutated_valid_documents(workdir, which, data):
    """Replace one subtree of a valid document by random JSON: still only redist exceptions."""
    if which == "model":
        assert redist.load(workdir / "m.json") is not None if _valid_text(workdir) else False
    doc = _valid_docs(workdir)[which]
    node = doc
    path = []
    while isinstance(node, (dict, list)) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict) else list(range(len(node)))))
        path.append(key)
        node = node[key]
    replacement = data.draw(json_values)
    if path:
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        parent[path[-1]] = replacement
    p = workdir / ("mut.yaml" if which == "hepdata" and data.draw(st.booleans()) else "mut.json")
    p.write_text(json.dumps(doc))
    loaders = _loaders(workdir)
    names = {"uhi": ["read_uhi"], "hepdata": ["read_hepdata"], "config": ["load_config"],
             "model": ["redist.load"]}[which]
    for name in names:
        _call(loaders[name], p)


# ----------------------------------------------------------------------------- every reader, any bytes
def _byte_readers():
    from redist.fill import fill_parquet, fill_root
    from redist.io import read_npz

    def parquet(p):
        pytest.importorskip("pyarrow")
        return fill_parquet(p, x="x", z=["q2"], n_x=2, z_edges=[0.0, 1.0, 2.0])

    def root_tree(p):
        pytest.importorskip("uproot")
        return fill_root(p, "t", x="x", z=["q2"], n_x=2, z_edges=[0.0, 1.0, 2.0])

    def root_hist(p):
        pytest.importorskip("uproot")
        return histio.read_root(p, "density")

    return {
        ".json": [lambda p: histio.read_uhi(p), lambda p: histio.read_hepdata(p), load_config, redist.load],
        ".yaml": [lambda p: histio.read_hepdata(p), load_config],
        ".csv": [lambda p: histio.read_csv(p, [0.0, 1.0, 2.0])],
        ".npz": [read_npz],
        ".parquet": [parquet],
        ".root": [root_hist, root_tree],
    }


@settings(max_examples=40, deadline=None, derandomize=True, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".json", ".yaml", ".csv", ".npz", ".parquet",
                                                             ".root"]))
def test_random_bytes_every_reader(workdir, data, suffix):
    p = workdir / f"bytes{suffix}"
    p.write_bytes(data)
    for reader in _byte_readers()[suffix]:
        _call(reader, p)


yaml_text = st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#%@`,? \n\t01.e+~")), max_size=300)


@settings(max_examples=80, deadline=None, derandomize=True, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=yaml_text)
def test_random_yaml(workdir, text):
    """YAML built from YAML's syntax characters (anchors, aliases, tags, flow and block styles)."""
    p = workdir / "random.yaml"
    p.write_text(text)
    for reader in _byte_readers()[".yaml"]:
        _call(reader, p)


@settings(max_examples=60, deadline=None, derandomize=True, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("0123456789.,-+e#\n naifx:")), max_size=300))
def test_random_csv(workdir, text):
    p = workdir / "random.csv"
    p.write_text(text)
    _call(lambda q: histio.read_csv(q), p)
    _call(lambda q: histio.read_csv(q, [0.0, 1.0, 2.0]), p)


@pytest.fixture(scope="module")
def valid_binaries(tmp_path_factory):
    """A valid .npz, Parquet and ROOT file of each kind the package reads."""
    import numpy as np

    d = tmp_path_factory.mktemp("binaries")
    out = {}
    np.savez_compressed(d / "v.npz", a=np.arange(10.0), b=np.ones((3, 2), dtype=np.int32))
    out[".npz"] = (d / "v.npz").read_bytes()
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"x": [0, 1, 1], "q2": [0.5, 1.5, 0.2]}), d / "v.parquet")
        out[".parquet"] = (d / "v.parquet").read_bytes()
    except ImportError:
        pass
    try:
        import uproot

        dens = JointDensity.from_array([[1.0, 2.0], [3.0, 4.0]], [0.0, 1.0, 2.0])
        histio.write_root(d / "v.root", {"density": dens})
        with uproot.update(d / "v.root") as f:
            f["t"] = {"x": np.array([0, 1], dtype=np.int32), "q2": np.array([0.5, 1.5])}
        out[".root"] = (d / "v.root").read_bytes()
    except ImportError:
        pass
    return out


@settings(max_examples=60, deadline=None, derandomize=True, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_binaries(workdir, valid_binaries, data):
    """Valid .npz/Parquet/ROOT files with random bytes overwritten or truncated: only redist errors."""
    suffix = data.draw(st.sampled_from(sorted(valid_binaries)))
    blob = bytearray(valid_binaries[suffix])
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    p = workdir / f"corrupt{suffix}"
    p.write_bytes(bytes(blob))
    for reader in _byte_readers()[suffix]:
        _call(reader, p)
