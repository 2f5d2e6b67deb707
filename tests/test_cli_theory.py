"""`redist theory` command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from redist.cli import main
from redist.cli.theory import theory
from theories.twobody import TwoBodyInvisible
from theories.wet import PROCESSES, SM_CVL, WET


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
    assert out["processes"] == [*PROCESSES, "B+->K+X"]
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
    out = run_json(runner, "br", "B+->K+X", "--option", "m_X=1.5", "--option", "include_sm=false",
                   "--set", "BR_X=12", "--json")  # fmt: skip
    assert out == {"process": "B+->K+X", "BR": pytest.approx(12e-6, rel=1e-12)}
    out = run_json(runner, "rate", "B+->K+X", "--option", "m_X=2", "--option", "width=0.1",
                   "--set", "BR_X=1", "--q2", "4", "--json")  # fmt: skip
    ref = TwoBodyInvisible(m_X=2.0, width=0.1).rate([4.0], {"BR_X": 1.0})[0]
    assert out["dBR_dq2"] == [pytest.approx(ref, rel=1e-14)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rate", "B+->K+mumu", "--q2", "1"], "valid processes: B+->K+nunu"),
        (["br", "B+->K+nunu", "--set", "cXL=1"], "valid parameters: cVL, cVR"),
        (["br", "B+->K+nunu", "--set", "cVL"], "KEY=VALUE"),
        (["br", "B+->K+nunu", "--set", "cVL=__import__('os')"], "not a real or complex number"),
        (["br", "B+->K+nunu", "--set", "cVL=nan"], "finite"),
        (["br", "B+->K+X", "--set", "BR_X=1+1j"], "is real"),
        (["rate", "B+->K+nunu", "--q2", "a,b"], "comma-separated numbers"),
        (["br", "B+->K+nunu", "--q2-range", "5,1"], "LOW < HIGH"),
        (["br", "B+->K+nunu", "--form-factors", "XYZ"], "valid: ['GKvD2018', 'HPQCD2022']"),
        (["br", "B+->K+nunu", "--theory", "nope"], "valid theories:"),
        (["br", "B+->K+X", "--option", "m_X=9"], "outside the physical range"),
        (["br", "B+->K+X", "--option", "colour=red"], "does not accept the settings"),
    ],
)
def test_errors(runner: CliRunner, args: list[str], message: str) -> None:
    res = runner.invoke(theory, args)
    assert res.exit_code != 0
    assert message in res.stderr
    assert res.stdout == ""
