"""`redist theory` command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from redist.cli import main
from redist.cli.theory import theory
from theories.twobody import TwoBodyInvisible
from theories.wet import PROCESSES, WET

# the deprecated two-body theory is still tested here (superseded by bkx, tests/test_bkx.py)
pytestmark = pytest.mark.filterwarnings("ignore:theory 'two-body':DeprecationWarning")

SM_CVL = WET().reference_point()["cVL"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run_json(runner: CliRunner, *args: str) -> dict:
    res = runner.invoke(theory, list(args))
    assert res.exit_code == 0, res.output + res.stderr
    return json.loads(res.stdout)


def test_list(runner: CliRunner) -> None:
    out = run_json(runner, "list", "--json")
    assert {"wet", "two-body"} <= set(out["theories"])
    assert set(out["processes"]) == {*PROCESSES, "B+->K+X", "B0->K0X", "B0->KSX"}
    text = runner.invoke(theory, ["list"]).stdout
    assert "B0->K*0nunu" in text
    assert "wet" in text


def test_rate_with_complex_coefficients(runner: CliRunner) -> None:
    out = run_json(runner, "rate", "B+->K+nunu", "--q2", "0.5,1,5",
                   "--set", "cVL=7", "--set", "cTL=2", "--set", "cSL=1.5+0.5j", "--json")  # fmt: skip
    assert out["process"] == "B+->K+nunu"
    assert out["q2"] == [0.5, 1.0, 5.0]
    ref = WET("B+->K+nunu").dbr_dq2_direct(
        [0.5, 1.0, 5.0], {"cVL": 7.0, "cTL": 2.0, "cSL": 1.5, "cSL_im": 0.5}
    )
    assert out["dBR_dq2"] == pytest.approx(ref.tolist(), rel=1e-13)


def test_rate_through_main_group_and_form_factors(runner: CliRunner) -> None:
    res = runner.invoke(main, ["theory", "rate", "B0->K0nunu", "--q2", "3",
                               "--form-factors", "HPQCD2022", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    ref = WET("B0->K0nunu", form_factors="HPQCD2022").rate([3.0])[0]
    assert json.loads(res.stdout)["dBR_dq2"] == [pytest.approx(ref, rel=1e-14)]


def test_rate_table_output(runner: CliRunner) -> None:
    res = runner.invoke(theory, ["rate", "B0->K*0nunu", "--q2", "1,2"])
    assert res.exit_code == 0
    assert "dBR/dq2" in res.stdout
    assert len(res.stdout.strip().splitlines()) == 4


@pytest.mark.parametrize(
    ("args", "value"),
    [
        ((), 4.5974e-6),
        (("--set", f"cVL={SM_CVL + 3}"), 9.715e-6),
        (("--set", "cSL=5"), 1.2695e-5),
        (("--set", "cTL=3"), 7.934e-6),
        (("--set", "cTL=1.8+2.4j"), 7.934e-6),  # |cTL| = 3
    ],
)
def test_br_reference_points(runner: CliRunner, args: tuple[str, ...], value: float) -> None:
    out = run_json(runner, "br", "B+->K+nunu", *args, "--json")
    assert out == {"process": "B+->K+nunu", "BR": pytest.approx(value, rel=2e-4)}


def test_br_range(runner: CliRunner) -> None:
    out = run_json(runner, "br", "B0->K*0nunu", "--q2-range", "1,6", "--set", "cVR=1", "--json")
    ref = WET("B0->K*0nunu").branching_ratio({"cVR": 1.0}, (1.0, 6.0))
    assert out["BR"] == pytest.approx(ref, rel=1e-14)


def test_two_body(runner: CliRunner) -> None:
    out = run_json(runner, "br", "B+->K+X", "--theory", "two-body", "--option", "m_X=1.5",
                   "--option", "include_sm=false", "--set", "BR_X=12", "--json")  # fmt: skip
    assert out == {"process": "B+->K+X", "BR": pytest.approx(12e-6, rel=1e-12)}
    out = run_json(runner, "rate", "B+->K+X", "--theory", "two-body", "--option", "m_X=2",
                   "--option", "width=0.1", "--set", "BR_X=1", "--q2", "4", "--json")  # fmt: skip
    ref = TwoBodyInvisible(m_X=2.0, width=0.1).rate([4.0], {"BR_X": 1.0})[0]
    assert out["dBR_dq2"] == [pytest.approx(ref, rel=1e-14)]


def test_bkx_picked_for_b_to_k_x(runner: CliRunner) -> None:
    """``B+->K+X`` selects ``bkx``; mass and width are parameters (``--set``), not settings."""
    out = run_json(runner, "rate", "B+->K+X", "--setting", "background=none", "--set", "m_X=2",
                   "--set", "width_X=0.1", "--set", "BR_X=1", "--q2", "4", "--json")  # fmt: skip
    ref = TwoBodyInvisible(m_X=2.0, width=0.1, include_sm=False).rate([4.0], {"BR_X": 1.0})[0]
    assert out["dBR_dq2"] == [pytest.approx(ref, rel=1e-12)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rate", "B+->K+mumu", "--q2", "1"], "valid processes: B+->K+X, B0->K0X, B0->KSX, B+->K+nunu"),
        (["br", "B+->K+nunu", "--set", "cXL=1"], "valid parameters: cVL, cVR"),
        (["br", "B+->K+nunu", "--set", "cVL"], "KEY=VALUE"),
        (["br", "B+->K+nunu", "--set", "cVL=__import__('os')"], "not a real or complex number"),
        (["br", "B+->K+nunu", "--set", "cVL=nan"], "finite"),
        (["br", "B+->K+X", "--set", "BR_X=1+1j"], "is real"),
        (["br", "B+->K+X", "--set", "m_X=9"], "m_X = 9.0 GeV outside the physical range"),
        (["rate", "B+->K+nunu", "--q2", "a,b"], "comma-separated numbers"),
        (["br", "B+->K+nunu", "--q2-range", "5,1"], "LOW < HIGH"),
        (["br", "B+->K+nunu", "--form-factors", "XYZ"], "'XYZ' is not one of GKvD2018, HPQCD2022"),
        (["br", "B+->K+nunu", "--setting", "form_factors=XYZ"], "'XYZ' is not one of GKvD2018, HPQCD2022"),
        (["br", "B+->K+nunu", "--theory", "nope"], "valid theories:"),
        (["br", "B+->K+X", "--theory", "two-body", "--option", "m_X=9"], "outside the physical range"),
        (["br", "B+->K+X", "--theory", "two-body", "--option", "colour=red"], "no setting 'colour'; valid settings: m_X, width"),
        (["br", "B+->K+X", "--theory", "two-body", "--setting", "m_x=1"], "no setting 'm_x' (did you mean 'm_X'?)"),
        (["br", "B+->K+X", "--theory", "two-body", "--setting", "m_X=heavy"], "'heavy' is not a float"),
        (["br", "B+->K+X", "--theory", "two-body", "--setting", "include_sm=maybe"], "not a boolean"),
        (["br", "B+->K+nunu", "--theory", "two-body"], "describes B+->K+X, not 'B+->K+nunu'"),
        (["br", "B+->K+nunu", "--setting", "process=B0->K0nunu"], "contradicts --setting process"),
        (["br"], "give a PROCESS or a theory"),
        (["br", "--theory", "toy-plugin", "--set", "a=1+2j"], "is real"),
    ],
)
def test_errors(runner: CliRunner, args: list[str], message: str) -> None:
    if "toy-plugin" in args:
        pytest.importorskip("redist_toy_plugin", reason="pip install ./tests/plugin_pkg")
    res = runner.invoke(theory, args)
    assert res.exit_code != 0
    assert message in res.stderr
    assert res.stdout == ""


def test_settings_for_any_theory_and_deprecated_spellings(runner: CliRunner) -> None:
    new = run_json(runner, "br", "B+->K+X", "--theory", "two-body", "--setting", "m_X=1.5",
                   "--setting", "include_sm=false", "--set", "BR_X=12", "--json")  # fmt: skip
    res = runner.invoke(theory, ["br", "B+->K+X", "--theory", "two-body", "--option", "m_X=1.5",
                                 "--option", "include_sm=false", "--set", "BR_X=12", "--json"])  # fmt: skip
    assert res.exit_code == 0 and json.loads(res.stdout) == new
    assert "--option KEY=VALUE is deprecated; use --setting KEY=VALUE" in res.stderr
    res = runner.invoke(theory, ["br", "B0->K0nunu", "--form-factors", "HPQCD2022", "--json"])
    assert "--form-factors NAME is deprecated" in res.stderr
    ref = WET("B0->K0nunu", form_factors="HPQCD2022").branching_ratio()
    assert json.loads(res.stdout)["BR"] == pytest.approx(ref, rel=1e-14)
    same = run_json(runner, "br", "--theory", "wet", "--setting", "process=B0->K0nunu",
                    "--setting", "form_factors=HPQCD2022", "--json")  # fmt: skip
    assert same["BR"] == pytest.approx(ref, rel=1e-14)


def test_plugin_theory_through_the_cli(runner: CliRunner) -> None:
    """The toy plug-in (tests/plugin_pkg) declares no process: PROCESS is a label."""
    pytest.importorskip("redist_toy_plugin", reason="pip install ./tests/plugin_pkg")
    res = runner.invoke(main, ["theory", "br", "B+->K+nunu", "--theory", "toy-plugin",
                               "--setting", "q2_max=12", "--set", "b=1", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    # rate = a^2 (1-t)^2 + 2ab t(1-t) + b^2 t on [0, 12]: 12 (1/3 + 2/6 + 1/2) at a = b = 1
    assert json.loads(res.stdout) == {"process": "B+->K+nunu", "BR": pytest.approx(14.0, rel=1e-12)}
    out = run_json(runner, "rate", "--theory", "toy-plugin", "--setting", "q2_max=12", "--q2", "6", "--json")
    assert out["q2"] == [6.0] and out["dBR_dq2"] == [pytest.approx(0.25, rel=1e-14)]
    d = run_json(runner, "describe", "toy-plugin", "--setting", "q2_max=12", "--json")
    assert d["settings"] == {"q2_max": 12.0}
    assert d["settings_schema"] == [{"name": "q2_max", "type": "float", "default": 10.0, "choices": None,
                                     "description": "", "process": False}]  # fmt: skip
    assert [p["name"] for p in d["parameters"]] == ["a", "b"] and d["reference_point"] == {"a": 1.0, "b": 0.0}
    assert d["kinematics"] == [{"name": "q2", "low": 0.0, "high": 12.0, "unit": "GeV^2"}]


def test_describe_wet(runner: CliRunner) -> None:
    d = run_json(runner, "describe", "wet", "--json")
    assert d["processes"] == list(PROCESSES)
    assert d["reference_point"]["cVL"] == SM_CVL and d["reference_point"]["cTL"] == 0.0
    schema = {s["name"]: s for s in d["settings_schema"]}
    assert schema["process"]["process"] and schema["form_factors"]["choices"] == ["GKvD2018", "HPQCD2022"]
    assert d["groups"][0]["name"] == "ff_BtoK_GKvD2018" and len(d["groups"][0]["sigma"]) == 8
    text = runner.invoke(theory, ["describe", "two-body"]).stdout
    assert "m_X" in text and "B+->K+X" in text and "BR_X" in text
