"""Tables, the result-kind registry, show/plot/report/inspect, and the HTML report's content."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import redist
from redist._optional import has_module
from redist.cli import main
from redist.exceptions import FileFormatError
from redist.report import registry
from redist.report.tables import Table, fit_tables, format_value_error

from .hostile.test_cli_args import toy_model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A toy model file and the results of fit, scan (1D and 2D) and limit written with -o."""
    if not has_module("jax"):  # the toy CLs limit of a Wilson coefficient runs on the engine
        pytest.skip("the limit result needs jax (toys on the compiled engine)")
    d = tmp_path_factory.mktemp("report")
    model = d / "toy.json"
    redist.save(model, toy_model())
    runner = CliRunner()
    common = ["--fix", "cSL=0", "--backend", "numpy", "-q"]
    out = {"model": model}
    for name, args in {
        "fit": ["fit", str(model), *common],
        "scan": ["scan", str(model), "--par", "cVL=2:18:9", *common, "--fix", "cTL=0", "--fix-groups"],
        "scan2d": ["scan", str(model), "--par", "cVL=2:18:5", "--par", "cTL=0:12:4", *common, "--fix-groups"],
        "limit": [
            "limit",
            str(model),
            "--par",
            "cTL=1:20:5",
            "--fix",
            "cSL=0",
            "--fix",
            "cVL=init",
            "--fix-groups",
            "--n-toys",
            "40",
            "-q",
        ],
    }.items():
        path = d / f"{name}.json"
        r = runner.invoke(main, [*args, "-o", str(path)])
        assert r.exit_code == 0, r.output
        out[name] = path
        out[name + "_stdout"] = r.stdout
    return out


@pytest.mark.parametrize(
    ("value", "error", "expected"),
    [
        (11.4837, 3.4412, ("11.5", "3.4")),
        (0.0123, 0.00456, ("0.0123", "0.0046")),
        (1234.5, 56.0, ("1234", "56")),
        (2.0, None, ("2", "")),
        (float("nan"), 1.0, ("nan", "1")),
        (3.2e6, 4.1e4, ("3.200e+06", "0.041e+06")),
    ],
)
def test_value_error_rounding(value, error, expected):
    assert format_value_error(value, error) == expected


def test_fit_output_is_a_table_and_show_reprints_it(files):
    text = files["fit_stdout"]
    assert "Maximum-likelihood fit" in text
    for name in ("cVL", "cTL", "ff_BtoK_GKvD2018[0]", "bkg_norm"):
        assert name in text
    assert "fixed" in text  # cSL was fixed
    doc = json.loads(files["fit"].read_text())
    assert doc["kind"] == "fit" and len(doc["covariance"]) == len(doc["bestfit"])  # covariance in the file
    assert doc["provenance"]["inputs"][str(files["model"])]["sha256"] == _sha(files["model"])
    assert {"redist", "pyhf", "numpy"} <= set(doc["provenance"]["versions"])
    r = CliRunner().invoke(main, ["show", str(files["fit"])])
    assert r.exit_code == 0
    assert r.stdout == text  # the same table from the saved result


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fit_table_flags_and_pulls(files):
    from redist.infer import FitResult

    res = FitResult.from_dict(json.loads(files["fit"].read_text()))
    (t,) = fit_tables(res)
    rows = {r[0]: r for r in t.rows}
    assert rows["cSL"][-1] == "fixed" and rows["cSL"][3] == ""  # no error for a fixed parameter
    value, error = format_value_error(res.values["cVL"], res.errors["cVL"])
    assert rows["cVL"][2:4] == (value, error)
    pull = res.values["bkg_norm"] / 1.0  # normsys: width 1, init 0
    assert float(rows["bkg_norm"][4]) == pytest.approx(pull, rel=0.05)
    assert dict(t.summary)["status"] in ("converged", "NOT CONVERGED")


def test_scan_and_limit_tables(files):
    text = files["scan_stdout"]
    assert "68.27 % CL" in text and "95 % CL" in text
    doc = json.loads(files["scan"].read_text())
    lo, hi = doc["intervals"]["0.6827"][0]
    assert f"{lo:.3g}" in text and f"{hi:.3g}" in text
    assert "expected median" in files["limit_stdout"]
    assert "region spans" in files["scan2d_stdout"]


def test_json_output_is_pure_json(files):
    r = CliRunner().invoke(
        main, ["fit", str(files["model"]), "--fix", "cSL=0", "--backend", "numpy", "--json"]
    )
    assert r.exit_code == 0
    doc = json.loads(r.stdout)  # nothing but JSON on stdout; status lines went to stderr
    assert doc["kind"] == "fit" and "covariance" not in doc
    assert "✓" in r.stderr  # progress on stderr


def test_model_from_stdin(files):
    text = files["model"].read_text()
    r = CliRunner().invoke(
        main, ["fit", "-", "--fix", "cSL=0", "--backend", "numpy", "--json", "-q"], input=text
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["provenance"]["inputs"]["-"]["sha256"] == _sha(files["model"])
    r = CliRunner().invoke(main, ["inspect", "-", "--json"], input=text)
    assert json.loads(r.stdout)["kind"] == "model"


def test_plot_writes_every_figure_of_a_result(files, tmp_path):
    runner = CliRunner()
    r = runner.invoke(
        main, ["plot", str(files["fit"]), "--output-dir", str(tmp_path), "--model", str(files["model"]), "-q"]
    )
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "fit_correlation.png",
        "fit_pulls.png",
        "fit_templates_postfit.png",
        "fit_templates_prefit.png",
    ]
    r = runner.invoke(main, ["plot", str(files["scan2d"]), "-o", str(tmp_path / "c.svg"), "-q"])
    assert r.exit_code == 0 and (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")
    r = runner.invoke(main, ["plot", str(files["scan"]), "--figure", "nope"])
    assert r.exit_code == 2 and "profile" in r.stderr


def test_report_is_self_contained(files, tmp_path):
    out = tmp_path / "report.html"
    r = CliRunner().invoke(
        main,
        [
            "report",
            str(files["fit"]),
            str(files["scan"]),
            str(files["scan2d"]),
            str(files["limit"]),
            "-o",
            str(out),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert page.count("<table>") >= 4
    assert (
        len(re.findall(r'<img src="data:image/png;base64,', page)) == 5
    )  # pulls, correlation, profile, contour, CLs
    for title in ("Maximum-likelihood fit", "Profile-likelihood scan", "CLs upper limit"):
        assert title in page
    assert _sha(files["model"]) in page  # provenance: the model file's hash
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from elsewhere
    assert "<script" not in page


def test_registry_dispatch_and_extension(tmp_path):
    assert {"fit", "scan", "limit", "posterior", "impacts", "demo"} <= set(registry.kinds())
    assert registry.kind_of({"grid": [], "twice_nll": [], "bestfit": {}}) == "scan"  # untagged, older file
    with pytest.raises(FileFormatError, match="model file"):
        registry.kind_of({"workspace": {}, "reweightings": {}})
    kind = registry.ResultKind(
        "toy-study", "Toy study", dict, lambda d: [Table("toys", ("n",), [(str(d["n"]),)])]
    )
    registry.register(kind)
    try:
        path = tmp_path / "toys.json"
        path.write_text(json.dumps({"kind": "toy-study", "n": 17}))
        r = CliRunner().invoke(main, ["show", str(path)])
        assert r.exit_code == 0 and "toys" in r.stdout and "17" in r.stdout
        with pytest.raises(FileFormatError, match="already registered"):
            registry.register(registry.ResultKind("toy-study", "x", dict, lambda d: []))
    finally:
        registry._REGISTERED.pop("toy-study", None)
    path.write_text(json.dumps({"kind": "nope"}))
    r = CliRunner().invoke(main, ["show", str(path)])
    assert r.exit_code == 2 and "unknown result kind 'nope'" in r.stderr and "fit" in r.stderr


def test_inspect_belle2(tmp_path):
    from redist.demo import belle2_model

    path = tmp_path / "model.json"
    redist.save(path, belle2_model())
    r = CliRunner().invoke(main, ["inspect", str(path), "--json"])
    info = json.loads(r.stdout)
    pars = info["parameters"]
    assert [p["name"] for p in pars["theory"]] == ["cVL", "cSL", "cTL"]
    assert [(g["name"], g["size"]) for g in pars["theory_groups"]] == [("ff_BtoK_GKvD2018", 8)]
    assert pars["nuisances"]["components"] == 228 and pars["nuisances"]["parameters"] == 78
    assert pars["size"] == 3 + 8 + 228
    assert info["theories"][0]["settings"] == {"process": "B+->K+nunu", "form_factors": "GKvD2018"}
    chans = {c["label"]: c for c in info["channels"]}
    assert set(chans) == {
        "A: zoomSR Y4S",
        "B: zoomCR Y4S",
        "C: zoomSR offres",
        "D: zoomCR offres",
        "sgn1_had",
    }
    assert [s["name"] for s in chans["sgn1_had"]["samples"] if s["reweighted"]] == ["sgn_1_had"]
    ws, _, _ = __import__("redist.demo", fromlist=["belle2_data"]).belle2_data()
    obs = {o["name"]: sum(o["data"]) for o in ws["observations"]}
    assert all(c["observed"] == pytest.approx(obs[c["name"]]) for c in info["channels"])
    text = CliRunner().invoke(main, ["inspect", str(path)]).stdout
    assert "cVL" in text and "ff_BtoK_GKvD2018" in text and "78 parameters" in text and "228" in text
    assert np.isfinite(info["channels"][0]["expected"])


def test_posterior_file_redraws_the_corner_plot(files, tmp_path):
    """`sample -o` keeps the samples of the summarised parameters only; `plot` draws the corner from them."""
    out = tmp_path / "post.json"
    r = CliRunner().invoke(main, ["sample", str(files["model"]), "--prior", "cVL=uniform:0:20", "--prior",
                                  "cTL=uniform:0:20", "--fix", "cSL=0", "--fix-groups", "--n-samples", "300",
                                  "--n-burn", "100", "--chains", "2", "--thin", "2", "--backend", "numpy",
                                  "--method", "mh", "--allow-unconverged", "-o", str(out), "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["kind"] == "posterior" and doc["labels"] == ["cVL", "cTL"]
    assert np.asarray(doc["samples"]).shape == (2 * 300 // 2, 2)
    assert "68 % HPD" in r.stdout
    r = CliRunner().invoke(main, ["plot", str(out), "-o", str(tmp_path / "corner.png"), "-q"])
    assert r.exit_code == 0, r.output
