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
