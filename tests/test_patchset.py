"""Patchsets of reweighted templates: pyhf schema, pyhf CLI, and agreement with redist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyhf
import pytest
from click.testing import CliRunner

import redist
from redist.demo import belle2_model
from redist.exceptions import RedistError
from redist.patchset import (
    PatchsetError,
    grid_points,
    make_patchset,
    parse_grid,
    patch_name,
    plain_workspace,
)

PYHF = str(Path(sys.executable).with_name("pyhf"))
FF = "ff_BtoK_GKvD2018"
HTA = "sgn1_had"


@pytest.fixture(scope="module")
def rm():
    return belle2_model()


@pytest.fixture(scope="module")
def result(rm):
    return make_patchset(
        rm, {"cVL": [0.0, 10.0], "cTL": [0.0, 5.0]}, hepdata="ins2947386", ff_histosys=True
    )


def _sample(ws, channel, sample):
    ch = next(c for c in ws["channels"] if c["name"] == channel)
    return next(s for s in ch["samples"] if s["name"] == sample)


def test_parse_grid():
    assert parse_grid("cVL=0:20:11")[1].tolist() == np.linspace(0, 20, 11).tolist()
    assert parse_grid("cTL=1,2,3")[1].tolist() == [1.0, 2.0, 3.0]
    assert parse_grid(" cSL = 4")[0] == "cSL"
    for bad in ("cVL", "cVL=", "=1", "cVL=1:2", "cVL=a,b", "cVL=0:1:0", "cVL=nan", "cVL=0:1:1"):
        with pytest.raises(PatchsetError):
            parse_grid(bad)


def test_grid_points_and_names():
    pts = grid_points({"a": [1, 2], "b": [3.5, -1e-5]})
    assert pts == [{"a": 1, "b": 3.5}, {"a": 1, "b": -1e-5}, {"a": 2, "b": 3.5}, {"a": 2, "b": -1e-5}]
    assert [patch_name(p) for p in pts][1] == "a_1_b_m1em05"


def test_patchset_schema_and_digest(result):
    ps = result.patchset
    pyhf.schema.validate(ps, "patchset.json")
    assert ps["metadata"]["labels"] == ["cVL", "cTL"]
    assert ps["metadata"]["digests"]["sha256"] == pyhf.utils.digest(result.bkg_only)
    assert [p["metadata"]["values"] for p in ps["patches"]] == [[0, 0], [0, 5], [10, 0], [10, 5]]
    pyhf.PatchSet(ps).verify(result.bkg_only)
    # every op replaces an existing path of the background-only workspace
    for op in ps["patches"][0]["patch"]:
        assert op["op"] == "replace"


@pytest.mark.slow
def test_pyhf_cli_apply_and_cls(rm, result, tmp_path):
    bkg, psf, wsf = tmp_path / "bkgonly.json", tmp_path / "patchset.json", tmp_path / "ws.json"
    bkg.write_text(json.dumps(result.bkg_only))
    psf.write_text(json.dumps(result.patchset))
    subprocess.run(
        [PYHF, "patchset", "apply", str(bkg), str(psf), "--name", "cVL_10_cTL_5", "--output-file", str(wsf)],
        check=True,
        capture_output=True,
    )
    ws = json.loads(wsf.read_text())
    point = {"cVL": 10.0, "cTL": 5.0}
    # patched signal yields = redist's own template evaluation
    for (channel, sample), tpl in rm.templates(point).items():
        got = np.asarray(_sample(ws, channel, sample)["data"])
        np.testing.assert_allclose(got, tpl, rtol=1e-10, atol=0)
    # the patched workspace is the plain workspace at that point
    ref = dict(plain_workspace(rm, point, ff_histosys=True))
    assert json.dumps(ws, sort_keys=True) == json.dumps(ref, sort_keys=True)
    # full expected data of plain pyhf = redist model at the theory point (nuisances at 0)
    model = pyhf.Workspace(ws).model()
    assert model.config.channels == rm.model.config.channels
    plain = model.expected_actualdata(model.config.suggested_init())
    red = rm.model.expected_actualdata(rm.init_pars(cVL=10.0, cTL=5.0, cSL=0.0))
    np.testing.assert_allclose(plain, red, rtol=1e-10, atol=0)
    # pyhf cls on the patched workspace; the full 232-parameter Belle II fit takes minutes,
    # so the ITA channels are pruned with pyhf's own CLI first (HTA only, 49 parameters)
    from pyhf.cli import cli as pyhf_cli

    others = [c for c in model.config.channels if c != HTA]
    pruned = tmp_path / "hta.json"
    args = ["prune", str(wsf), "--output-file", str(pruned)]
    for c in others:
        args += ["-c", c]
    runner = CliRunner()
    assert runner.invoke(pyhf_cli, args).exit_code == 0
    out = runner.invoke(pyhf_cli, ["cls", str(pruned)])
    assert out.exit_code == 0, out.output
    cls = json.loads(out.output)
    assert 0.0 < cls["CLs_obs"] <= 1.0
    assert len(cls["CLs_exp"]) == 5


def test_ff_histosys_matches_redist_nuisances(rm):
    """hi_data of {group}_eig{k} = redist's template with the FF eigen-nuisance k at +1."""
    point = {"cVL": 8.0}
    ws = plain_workspace(rm, point, ff_histosys=True)
    model = ws.model()
    for k in (0, 5):
        pars = np.array(model.config.suggested_init())
        pars[model.config.par_slice(f"{FF}_eig{k}")] = 1.0
        plain = model.expected_actualdata(pars)
        rpars = rm.init_pars(cVL=8.0, cSL=0.0, cTL=0.0)
        eta = np.zeros(8)
        eta[k] = 1.0
        rpars[rm.model.config.par_slice(FF)] = eta
        red = rm.model.expected_actualdata(rpars)
        np.testing.assert_allclose(plain, red, rtol=1e-10, atol=0)
        # and the variation is not trivial
        assert np.max(np.abs(plain / model.expected_actualdata(model.config.suggested_init()) - 1)) > 1e-3


def test_add_mode(rm):
    res = make_patchset(rm, [{"cSL": 3.0}], hepdata="ins2947386", signal="add")
    names = {s["name"] for ch in res.bkg_only["channels"] for s in ch["samples"]}
    assert "signal" not in names and "sgn_1_had" not in names
    ws = res.apply("cSL_3")
    for (channel, sample), tpl in rm.templates({"cSL": 3.0}).items():
        np.testing.assert_allclose(_sample(ws, channel, sample)["data"], tpl, rtol=1e-12)
    assert pyhf.Workspace(ws).model().config.npars == plain_workspace(rm, {"cSL": 3.0}).model().config.npars


def test_errors(rm):
    with pytest.raises(PatchsetError, match="INSPIRE"):
        make_patchset(rm, [{"cVL": 1.0}], hepdata="2947386")
    with pytest.raises(PatchsetError, match="same|order"):
        make_patchset(rm, [{"cVL": 1.0}, {"cTL": 1.0}], hepdata="ins2947386")
    with pytest.raises(PatchsetError, match="label"):
        make_patchset(rm, [{"c-VL": 1.0}], hepdata="ins2947386")
    with pytest.raises(PatchsetError, match="no theory nuisance group"):
        make_patchset(rm, [{"cVL": 1.0}], hepdata="ins2947386", ff_histosys=["nope"])
    with pytest.raises(RedistError, match="nope"):
        make_patchset(rm, [{"nope": 1.0}], hepdata="ins2947386")


def test_cli_patchset(rm, tmp_path):
    from redist.cli import main

    model = tmp_path / "model.json"
    redist.save(model, rm)
    runner = CliRunner()
    out = runner.invoke(
        main,
        ["patchset", str(model), "--grid", "cVL=0:20:3", "--grid", "cTL=0:15:2", "--hepdata", "ins2947386",
         "-o", str(tmp_path / "ps.json"), "--bkg-only", str(tmp_path / "bkg.json")],
    )
    assert out.exit_code == 0, out.output
    ps = pyhf.PatchSet(json.loads((tmp_path / "ps.json").read_text()))
    bkg = pyhf.Workspace(json.loads((tmp_path / "bkg.json").read_text()))
    assert len(ps.patches) == 6
    ws = ps.apply(bkg, "cVL_20_cTL_15")
    tpl = rm.templates({"cVL": 20.0, "cTL": 15.0})[(HTA, "sgn_1_had")]
    np.testing.assert_allclose(_sample(ws, HTA, "sgn_1_had")["data"], tpl, rtol=1e-10)
    bad = runner.invoke(main, ["patchset", str(model), "--grid", "cVL=x", "--hepdata", "ins2947386"])
    assert bad.exit_code != 0 and "cVL=x" in bad.output
