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


# ----------------------------------------------------------------------------- limits, reader, writer
def test_limits_override_env_and_table(monkeypatch):
    from redist.exceptions import ConfigError, InputLimitError
    from redist.io import limits

    assert limits.current() == limits.defaults()
    monkeypatch.setenv("REDIST_LIMITS", "max_z_bins=2K, max_file_bytes=1G")
    assert limits.current().max_z_bins == 2048
    assert limits.current().max_file_bytes == 1 << 30
    with limits.override(max_z_bins=10):  # the context manager wins over the environment
        assert limits.current().max_z_bins == 10
        with pytest.raises(InputLimitError, match=r"where: 11 z bins exceed the limit max_z_bins = 10"):
            limits.check("max_z_bins", 11, what="z bins", where="where")
    assert limits.current().max_z_bins == 2048
    monkeypatch.setenv("REDIST_LIMITS", "max_nope=3")
    with pytest.raises(ConfigError, match="unknown limit 'max_nope'"):
        limits.current()
    monkeypatch.setenv("REDIST_LIMITS", "max_depth=-1")
    with pytest.raises(ConfigError, match="max_depth"):
        limits.current()
    monkeypatch.delenv("REDIST_LIMITS")
    names = [row[0] for row in limits.table()]
    assert names == [f.name for f in __import__("dataclasses").fields(limits.Limits)]
    assert all(row[1] == row[2] for row in limits.table())


def test_trusted_override_lets_a_big_density_through():
    from redist.density import JointDensity
    from redist.exceptions import InputLimitError
    from redist.io import limits

    edges = np.linspace(0.0, 1.0, 12)
    with limits.override(max_z_bins=10), pytest.raises(InputLimitError, match="max_z_bins"):
        JointDensity.from_array(np.ones((1, 11)), edges)
    assert JointDensity.from_array(np.ones((1, 11)), edges).z_shape == (11,)


def test_strict_json_and_yaml():
    from redist.io.reader import parse_json, parse_yaml

    with pytest.raises(FileFormatError, match=r"x.json: non-finite number at /a/1"):
        parse_json('{"a": [1, 1e400]}', where="x.json")
    with pytest.raises(FileFormatError, match="duplicate key 'k'"):
        parse_json('{"k": 1, "k": 2}', where="x.json")
    with pytest.raises(FileFormatError, match=r"not valid JSON \(Expecting value at line 1, column 1\)"):
        parse_json("root:$6$hash", where="x.json")
    assert parse_yaml("a: {b: [1, 2.5, x]}", where="y") == {"a": {"b": [1, 2.5, "x"]}}
    for text, match in [("a: !!binary aGVsbG8=", "binary value at /a"), ("a: .inf", "non-finite number at /a"),
                        ("? [1, 2]\n: x", "key .* is not a string|unhashable|not valid YAML"),
                        ("a: !!python/object:os.system x", "not valid YAML")]:
        with pytest.raises(FileFormatError, match=match):
            parse_yaml(text, where="y")


def test_reader_refuses_non_regular_files(tmp_path):
    from redist.io.reader import read_bytes, regular_file

    with pytest.raises(FileFormatError, match=r"not a regular file \(a directory\)"):
        read_bytes(tmp_path)
    with pytest.raises(FileFormatError, match=r"not a regular file \(a device\)"):
        regular_file("/dev/null")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    (tmp_path / "target").write_bytes(b"{}")
    assert read_bytes(tmp_path / "link") == b"{}"


def test_read_npz_round_trip_and_refusals(tmp_path):
    from redist.io import read_npz

    a = np.arange(12.0).reshape(3, 4)
    b = np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))
    np.savez_compressed(tmp_path / "ok.npz", a=a, b=b, c=np.array([True, False]))
    got = read_npz(tmp_path / "ok.npz")
    assert sorted(got) == ["a", "b", "c"]
    np.testing.assert_array_equal(got["a"], a)
    np.testing.assert_array_equal(got["b"], b)
    assert got["b"].dtype == np.int32 and got["c"].dtype == bool
    np.savez(tmp_path / "obj.npz", o=np.array(["x", "yy"]))
    with pytest.raises(FileFormatError, match=r"dtype <U2 is not a plain numeric type"):
        read_npz(tmp_path / "obj.npz")
    with pytest.raises(FileFormatError, match="vetoed: too many"):
        read_npz(tmp_path / "ok.npz", allowed=lambda name, dtype, shape: "vetoed: too many" if name == "a" else None)
    (tmp_path / "not.npz").write_bytes(b"PK\x03\x04 nope")
    with pytest.raises(FileFormatError, match=r"not an .npz \(zip\) archive"):
        read_npz(tmp_path / "not.npz")


def test_atomic_writer_and_output_checks(tmp_path):
    import os
    import stat

    from redist.exceptions import OutputPathError
    from redist.io import atomic_path, atomic_write_text, check_output

    target = tmp_path / "out.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the mode of the file it replaces
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["out.json"]
    with pytest.raises(OutputPathError, match="directory .*missing does not exist"):
        check_output(tmp_path / "missing" / "x.json")
    with pytest.raises(OutputPathError, match="output is a directory"):
        check_output(tmp_path)
    with pytest.raises(OutputPathError, match="also an input of this command"):
        check_output(target, inputs=[tmp_path / "." / "out.json"])
    with pytest.raises(OutputPathError, match="not a regular file"):
        check_output("/dev/null")
    with pytest.raises(OutputPathError, match="cannot write"):
        atomic_write_text(tmp_path / "missing" / "x.json", "x")
    assert check_output("-").name == "-"


def test_save_is_atomic_and_refuses_a_directory(saved, tmp_path):
    from redist.exceptions import OutputPathError

    rm, _ = saved
    with pytest.raises(OutputPathError):
        redist.save(tmp_path, rm)
