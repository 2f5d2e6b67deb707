"""redist model files: round trip, validation and bad files."""

from __future__ import annotations

import json

import numpy as np
import pyhf
import pytest

import redist
from redist.demo import belle2_model
from redist.exceptions import FileFormatError


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    pyhf.set_backend("numpy")
    rm = belle2_model()
    path = tmp_path_factory.mktemp("io") / "model.json"
    redist.save(path, rm)
    return rm, path


def test_roundtrip_bit_identical_logpdf(saved):
    rm, path = saved
    back = redist.load(path)
    rng = np.random.default_rng(3)
    for _ in range(3):
        pars = rm.init_pars(cVL=rng.uniform(0, 20), cSL=rng.uniform(0, 20), cTL=rng.uniform(0, 20))
        pars[rm.model.config.par_slice("ff_BtoK_GKvD2018")] = rng.normal(size=8)
        assert back.logpdf(pars) == rm.logpdf(pars)
    assert back.model.config.par_order == rm.model.config.par_order
    assert back.poi == "cVL"


def _write(tmp_path, doc, name="m.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return p


def test_wrong_version(saved, tmp_path):
    doc = json.loads(saved[1].read_text())
    doc["version"] = "0.9.0"
    with pytest.raises(FileFormatError, match="unsupported redist model file version '0.9.0'"):
        redist.load(_write(tmp_path, doc))


def test_schema_violation_names_location(saved, tmp_path):
    doc = json.loads(saved[1].read_text())
    key = next(iter(doc["densities"]))
    doc["densities"][key]["values"][0][3] = "1.0"
    p = _write(tmp_path, doc, "bad_density.json")
    with pytest.raises(FileFormatError, match=f"bad_density.json: schema violation at densities/{key}/values/0/3"):
        redist.load(p)


def test_unknown_theory_in_file(saved, tmp_path):
    doc = json.loads(saved[1].read_text())
    doc["reweightings"]["wet"]["theory"]["name"] = "no-such-theory"
    with pytest.raises(FileFormatError, match="no theory named 'no-such-theory'"):
        redist.load(_write(tmp_path, doc))


def test_changed_covariance_detected(saved, tmp_path):
    doc = json.loads(saved[1].read_text())
    doc["reweightings"]["wet"]["groups"][0]["covariance"][0][0] *= 2
    with pytest.raises(FileFormatError, match="nuisance group 'ff_BtoK_GKvD2018' in the file differs"):
        redist.load(_write(tmp_path, doc))


def test_unknown_parameter_in_file(saved, tmp_path):
    doc = json.loads(saved[1].read_text())
    doc["reweightings"]["wet"]["parameters"].append("cQQ")
    with pytest.raises(FileFormatError, match="no parameter 'cQQ'"):
        redist.load(_write(tmp_path, doc))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "not valid JSON"),
        ("[" * 100000 + "]" * 100000, "not valid JSON"),
        ('{"format": "redist-model", "version": "1.0.0", "x": NaN}', "not valid JSON"),
        ("[]", "top level must be a JSON object"),
        ('{"format": "other"}', "not a redist model file"),
        ('{"format": "redist-model", "version": "1.0.0"}', "schema violation at <root>"),
    ],
)
def test_malformed_files(tmp_path, text, match):
    with pytest.raises(FileFormatError, match=match):
        redist.load(_write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="nope.json: cannot read"):
        redist.load(tmp_path / "nope.json")
