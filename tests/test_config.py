"""Build configs: the shipped Belle II config, YAML, relative/package paths, errors, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import redist
from redist import histio
from redist.config import ConfigError, build_model, load_config, resolve_path
from redist.demo import belle2_data, belle2_model

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "belle2_config.json"
HTA = "sgn1_had"


@pytest.fixture(scope="module")
def reference():
    return belle2_model()


@pytest.fixture
def config():
    return json.loads(EXAMPLE.read_text())


def test_example_equals_demo_model(reference):
    rm = build_model(EXAMPLE)
    pars = reference.init_pars(cVL=9.0, cSL=1.0, cTL=3.0)
    assert rm.model.config.par_order == reference.model.config.par_order
    assert rm.logpdf(pars) == reference.logpdf(pars)


def test_yaml_relative_paths_and_other_layouts(tmp_path, config, reference):
    """Copy the inputs next to a YAML config, in three different layouts, with relative paths."""
    yaml = pytest.importorskip("yaml")
    pytest.importorskip("uproot")  # one layout is a ROOT file (io extra)
    _, dens, edges = belle2_data()
    (tmp_path / "data").mkdir()
    shutil.copy(resolve_path("package:data/belle2/combined_likelihood.json", "."), tmp_path / "data" / "ws.json")
    entries = []
    for i, ((ch, s), d) in enumerate(dens.items()):
        if i == 0:
            histio.write_uhi(tmp_path / "data" / "d0.json", {"sig": d})
            entries.append({"channel": ch, "sample": s, "file": "data/d0.json", "layout": "uhi", "key": "sig"})
        elif i == 1:
            histio.write_hepdata(tmp_path / "data" / "d1.yaml", d)
            entries.append({"channel": ch, "sample": s, "file": "data/d1.yaml", "layout": "hepdata"})
        else:
            histio.write_root(tmp_path / "data" / "d2.root", {"n": d})
            entries.append({"channel": ch, "sample": s, "file": "data/d2.root", "layout": "root", "key": "n"})
    config.update(workspace="data/ws.json", densities=entries, z={"names": ["q2"], "edges": [list(edges)]})
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config))
    rm = build_model(tmp_path / "cfg.yaml")
    pars = reference.init_pars(cVL=4.0, cTL=8.0)
    assert rm.logpdf(pars) == pytest.approx(reference.logpdf(pars), rel=1e-13)


def test_package_paths():
    assert resolve_path("package:data/belle2/binning.json", "/nowhere").is_file()
    with pytest.raises(ConfigError, match="inside the redist package"):
        resolve_path("package:../pyproject.toml", ".")
    assert resolve_path("a/b.json", "/base") == Path("/base/a/b.json")


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda c: c.update(version="2.0"), "unsupported config version '2.0'"),
        (lambda c: c.pop("theory"), "'theory' is a required property"),
        (lambda c: c["densities"][0].update(layout="xml"), "config invalid at densities/0/layout"),
        (lambda c: c.update(bounds={"cVL": [0]}), "bounds/cVL"),
        (lambda c: c["densities"][1].update(options={"flattening": "C", "bogus": 1}), "option 'bogus'"),
        (lambda c: c["densities"].append(dict(c["densities"][0])), "two densities for channel"),
        (lambda c: c.update(cutoff=[[0, 1], [0, 1]]), "cutoff has 2 ranges for 1 z axes"),
        (lambda c: c.update(surprise=True), "Additional properties"),
    ],
)
def test_schema_errors(tmp_path, config, mutate, match):
    mutate(config)
    (tmp_path / "c.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=match):
        load_config(tmp_path / "c.json")


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda c: c["densities"][2].update(channel="nope"), "density for unknown channel 'nope'"),
        (lambda c: c["densities"][2].update(file="missing.csv"), r"densities/2 \(channel 'sgn1_had'.*cannot read"),
        (lambda c: c["densities"][2].update(file="package:data/belle2/number_density_ita_regB.csv"),
         "density has 3 fit-bin rows but the channel has 6"),
        (lambda c: c["z"]["edges_from"].update(pointers=["/kinematic_edges"]), "does not resolve"),
        (lambda c: c.update(parameters=["cXX"]), "no parameter 'cXX'"),
        (lambda c: c.update(prune=["mu", "nonexistent"]), "nonexistent"),
        (lambda c: c["theory"].update(name="nope"), "no theory named 'nope'"),
        (lambda c: c.update(z={"names": ["q2"], "edges": [[0, 1, 2]]}), "101 columns"),
    ],
)
def test_build_errors(tmp_path, config, mutate, match):
    mutate(config)
    (tmp_path / "c.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=match):
        build_model(tmp_path / "c.json")


def test_cli_build(tmp_path, reference):
    from redist.cli import main

    out = CliRunner().invoke(main, ["build", str(EXAMPLE), "-o", str(tmp_path / "m.json")])
    assert out.exit_code == 0, out.output
    rm = redist.load(tmp_path / "m.json")
    pars = reference.init_pars(cVL=9.0)
    assert rm.logpdf(pars) == reference.logpdf(pars)
    (tmp_path / "bad.json").write_text("{}")
    bad = CliRunner().invoke(main, ["build", str(tmp_path / "bad.json"), "-o", str(tmp_path / "x.json")])
    assert bad.exit_code == 2 and "unsupported config version" in bad.output
    assert np.isfinite(rm.logpdf(pars))
