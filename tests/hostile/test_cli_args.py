"""Command-line arguments that must fail early, with one line naming the bad value (issue 15 item 4, issue 16).

Every case runs the real ``redist`` group (``CliRunner``) on a small model file and
checks: exit status 2, an ``Error:`` line naming the culprit, no traceback, and --
where a model is involved -- that nothing was compiled or fitted (the progress
reporter's ``compile`` and ``minimise`` phases never started).
"""

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
from redist.cli import main
from redist.density import JointDensity
from redist.modifier import Reweighting
from redist.reinterpret import reinterpret
from redist.theory import get_theory


def toy_model():
    """One channel, four bins, the WET signal reweighted (cVL, cSL, cTL in [0, 20], form factors)."""
    edges = np.array([0.0, 4.0, 8.0, 12.0, 16.0, 22.885])
    mig = np.array([[60, 25, 8, 3, 1], [20, 50, 25, 8, 3], [5, 20, 50, 30, 10], [1, 5, 17, 59, 86]], float)
    ws = {
        "channels": [
            {
                "name": "SR",
                "samples": [
                    {
                        "name": "signal",
                        "data": [10.0, 14.0, 16.0, 12.0],
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {
                        "name": "bkg",
                        "data": [50.0, 45.0, 40.0, 30.0],
                        "modifiers": [
                            {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}
                        ],
                    },
                ],
            }
        ],
        "observations": [{"name": "SR", "data": [75.0, 80.0, 70.0, 55.0]}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    params = ("cVL", "cSL", "cTL")
    rw = Reweighting(
        "wet",
        get_theory("wet", process="B+->K+nunu"),
        [edges],
        parameters=params,
        bounds={k: (0.0, 20.0) for k in params},
        cutoff=[(0.0, 22.885)],
    )
    dens = JointDensity.from_array(mig, edges, z_names=("q2",))
    return reinterpret(ws, {("SR", "signal"): dens}, rw, prune=["mu"])


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "toy.json"
    redist.save(path, toy_model())
    return str(path)


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def assert_named_error(r, *needles: str) -> None:
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    err = r.stderr
    assert "Error:" in err, err
    for n in needles:
        assert n in err, (n, err)
    # rejected before any work: the phases after loading never started
    assert "compile" not in err and "minimise" not in err, err


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["scan", "{m}", "--par", "cvl=0:20:11"], ["did you mean 'cVL'", "valid:", "cTL"]),
        (["fit", "{m}", "--fix", "ctl=0"], ["did you mean 'cTL'"]),
        (["fit", "{m}", "--init", "cVl=3"], ["did you mean 'cVL'"]),
        (["sample", "{m}", "--prior", "cvl=uniform:0:20"], ["did you mean 'cVL'"]),
        (["limit", "{m}", "--par", "nope"], ["'nope'", "valid:"]),
        (["impacts", "{m}", "--poi", "cvl"], ["did you mean 'cVL'"]),
        (["scan", "{m}", "--par", "cVL=20:0:3"], ["LO must be below HI", "20", "0"]),
        (["scan", "{m}", "--par", "cVL=0:30:4"], ["30", "outside the bounds [0, 20]"]),
        (["scan", "{m}", "--par", "cVL:nan:20:3"], ["'nan' is not a finite number"]),
        (["scan", "{m}", "--par", "cVL=0:inf:3"], ["'inf' is not a finite number"]),
        (["scan", "{m}", "--par", "cVL=1,1,2"], ["the value 1 is given more than once"]),
        (["scan", "{m}", "--par", "cVL=0:20:1"], ["at least 2 points"]),
        (["scan", "{m}", "--par", "cVL=0:20:10000000000"], ["grid points", "max_grid_points"]),
        (["scan", "{m}", "--par", "cVL=0:20:3", "--par", "cVL=0:20:4"], ["given twice"]),
        (["scan", "{m}", "--par", "cVL=0:20:3", "--fix", "cVL=1"], ["also given in --fix"]),
        (["fit", "{m}", "--fix", "cVL=nan"], ["--fix cVL", "'nan' is not a finite number"]),
        (["fit", "{m}", "--fix", "cVL=1", "--fix", "cVL=2"], ["'cVL' is given twice"]),
        (["fit", "{m}", "--fix", "cVL=25"], ["cVL = 25 is outside its bounds [0, 20]"]),
        (["fit", "{m}", "--init", "cTL=-1"], ["cTL = -1 is outside its bounds"]),
        (["fit", "{m}", "--fix", "ff_BtoK_GKvD2018=1,2"], ["2 values for a parameter of 8 components"]),
        (["fit", "{m}", "--fix", "cVL"], ["must look like NAME=VALUE"]),
        (["sample", "{m}", "--prior", "cVL=normal:1:0"], ["must be positive"]),
        (["sample", "{m}", "--prior", "cVL=uniform:0:nan"], ["'nan' is not a finite number"]),
        (["limit", "{m}", "--par", "cTL=5:1:3"], ["LO must be below HI"]),
        (["limit", "{m}", "--par", "cTL", "--cl", "1.5"], ["--cl must be in (0, 1)"]),
        (
            ["patchset", "{m}", "--grid", "cVL=1,1", "--hepdata", "ins2947386"],
            ["the value 1 is given more than once"],
        ),
        (
            ["patchset", "{m}", "--grid", "cVL=0:40:3", "--hepdata", "ins2947386"],
            ["40", "outside the bounds"],
        ),
        (["patchset", "{m}", "--grid", "cvl=1,2", "--hepdata", "ins2947386"], ["did you mean 'cVL'"]),
    ],
)
def test_bad_model_arguments_fail_before_any_work(model_file, args, needles):
    r = run(*[a.replace("{m}", model_file) for a in args])
    assert_named_error(r, *needles)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["theory", "rate", "B+->K+nunu", "--q2", "30"], ["30 is outside the physical range", "[0, 22.9"]),
        (["theory", "rate", "B+->K+nunu", "--q2", "-5"], ["-5 is outside the physical range"]),
        (["theory", "br", "B+->K+nunu", "--q2-range", "0,30"], ["30 is outside"]),
        (["theory", "br", "B+->K+nunu", "--set", "cVL=1", "--set", "cVL=2"], ["cVL", "given twice"]),
        (["theory", "br", "B+->K+nunu", "--set", "cVL=nan"], ["must be finite", "'nan'"]),
        (["theory", "br", "B+->K+X", "--theory", "two-body", "--setting", "include_sm=maybe"],
         ["'maybe' is not a boolean"]),
        (["theory", "br", "B+->K+X", "--set", "width_X=inf"], ["width_X", "must be finite"]),
        (["theory", "br", "B+->K+nunu", "--set", "cvl=1"], ["did you mean 'cVL'"]),
    ],
)
def test_bad_theory_arguments(args, needles):
    r = run(*args)
    assert r.exit_code == 2, r.output
    for n in needles:
        assert n in r.output, (n, r.output)
    assert "Traceback" not in r.output


def test_unknown_parameter_lists_every_valid_name_and_suggests(model_file):
    """The whole list (no truncation after 30 names) is in the message, theory parameters included."""
    r = run("scan", model_file, "--par", "CVL=0:20:3")
    assert_named_error(r, "did you mean 'cVL'")
    layout = redist.load(model_file).layout
    listed = r.stderr.split("valid:", 1)[1]
    assert all(name in listed for name in layout.names)


def test_plain_workspace_is_not_a_model_for_patchset(tmp_path):
    ws = tmp_path / "ws.json"
    m = pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [2.0])
    ws.write_text(
        json.dumps(
            {
                "channels": m.spec["channels"],
                "observations": [{"name": "singlechannel", "data": [15.0]}],
                "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
                "version": "1.0.0",
            }
        )
    )
    r = run("patchset", str(ws), "--grid", "mu=1,2", "--hepdata", "ins2947386")
    assert r.exit_code == 2 and "plain pyhf workspace" in r.stderr and "redist build" in r.stderr


def test_output_into_a_missing_directory_fails_first(model_file, tmp_path):
    r = run("fit", model_file, "-o", str(tmp_path / "nope" / "fit.json"))
    assert_named_error(r, "does not exist")


def test_empty_stdin(model_file):
    r = run("fit", "-", input="")
    assert r.exit_code == 2 and "empty input" in r.stderr


def test_debug_shows_the_traceback(model_file):
    r = run("--debug", "scan", model_file, "--par", "cvl=0:20:3")
    assert r.exit_code != 0 and r.exception is not None and "cvl" in str(r.exception)


def test_misspelt_scan_parameter_in_a_fresh_process(model_file):
    """As a user runs it (the Belle II timing is in the report: no timing assertions in unit tests)."""
    proc = subprocess.run(
        [sys.executable, "-m", "redist.cli", "scan", model_file, "--par", "cvl=0:20:11"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith("Error: model has no parameter 'cvl' (did you mean 'cVL'?)")
    )


def test_bounds_with_low_above_high_are_refused_when_the_model_is_built():
    from redist.exceptions import ModelSpecError

    with pytest.raises(
        ModelSpecError, match=r"bounds of 'cVL' must be finite with low < high, got \[10, 5\]"
    ):
        Reweighting(
            "wet", get_theory("wet"), [np.linspace(0, 20, 5)], parameters=("cVL",), bounds={"cVL": (10, 5)}
        )
    with pytest.raises(ModelSpecError, match=r"initial value 30 of 'cVL' is outside its bounds \[0, 20\]"):
        Reweighting(
            "wet",
            get_theory("wet"),
            [np.linspace(0, 20, 5)],
            parameters=("cVL",),
            bounds={"cVL": (0, 20)},
            inits={"cVL": 30.0},
        )


def test_to_workspace_outside_the_bounds():
    from redist.exceptions import ModelSpecError

    with pytest.raises(ModelSpecError, match=r"cTL = 25 is outside its bounds \[0, 20\]"):
        toy_model().to_workspace({"cTL": 25.0})


def test_names_read_from_the_document_equal_the_models(model_file, tmp_path):
    """The early check (no pyhf) knows exactly the model's parameter names."""
    from redist.cli._common import REDIST_MODIFIER_TYPE, quick_names
    from redist.demo import belle2_model
    from redist.modifier import MODIFIER_TYPE

    assert REDIST_MODIFIER_TYPE == MODIFIER_TYPE
    big = tmp_path / "belle2.json"
    redist.save(big, belle2_model())
    for path in (model_file, big):
        doc = json.loads(Path(path).read_text())
        assert sorted(quick_names(doc)) == sorted(redist.load(path).layout.names)
