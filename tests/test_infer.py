"""Fits, scans, limits, posteriors, combination, plots and CLI of redist.infer (issue 4)."""

from __future__ import annotations

import json
import math

import numpy as np
import pyhf
import pytest
from click.testing import CliRunner

from redist.density import JointDensity
from redist.exceptions import FileFormatError, ModelSpecError, RedistError
from redist.infer import (
    FitResult,
    FormFactorNormal,
    ScanResult,
    Uniform,
    combine,
    delta_level,
    fit,
    sample,
    scan,
    upper_limit,
)
from redist.infer.bayes import hpd_interval
from redist.modifier import Reweighting
from redist.reinterpret import reinterpret
from redist.theory import get_theory

SM_CVL = get_theory("wet").reference_point()["cVL"]


def toy_model(suffix="", bounds=(0.0, 20.0)):
    edges = np.array([0.0, 4.0, 8.0, 12.0, 16.0, 22.885])
    mig = np.array(
        [[60, 25, 8, 3, 1], [20, 50, 25, 8, 3], [5, 20, 50, 30, 10], [1, 5, 17, 59, 86]], float
    )
    dens = JointDensity.from_array(mig, edges, z_names=("q2",))
    ch = "SR" + suffix
    ws = {
        "channels": [
            {
                "name": ch,
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
                            {"name": "bkg_norm" + suffix, "type": "normsys",
                             "data": {"hi": 1.1, "lo": 0.9}},
                            {"name": "stat" + suffix, "type": "staterror",
                             "data": [3.0, 3.0, 2.5, 2.0]},
                        ],
                    },
                ],
            }
        ],
        "observations": [{"name": ch, "data": [75.0, 80.0, 70.0, 55.0]}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    params = ("cVL", "cSL", "cTL")
    rw = Reweighting(
        "wet",
        get_theory("wet", process="B+->K+nunu"),
        [edges],
        parameters=params,
        bounds={k: bounds for k in params},
        inits={"cVL": SM_CVL},
        cutoff=[(0.0, 22.885)],
    )
    return reinterpret(ws, {(ch, "signal"): dens}, rw, prune=["mu"])


@pytest.fixture(scope="module")
def toy():
    return toy_model()


@pytest.fixture(scope="module")
def best(toy):
    return fit(toy)


# -- fits ------------------------------------------------------------------------------------
@pytest.mark.jax
def test_fit_all_theory_parameters_reports_flat_directions(best):
    assert best.converged
    # B -> K sees |cSL|^2 and |cTL|^2: at 0 on the bound the first derivative vanishes
    flat = {next(iter(f["parameters"])) for f in best.flat_directions
            if f["kind"] == "stationary_at_bound"}
    assert flat == {"cSL", "cTL"}
    assert best.values["cSL"] == 0.0 and best.values["cTL"] == 0.0
    assert set(best.at_limit) >= {"cSL", "cTL"}
    # the exact Hessian there is positive definite: a minimum on the bound, no interior retries
    assert best.n_starts == 1 and "no retries" in best.message


@pytest.mark.jax
def test_minimum_on_bound_needs_no_retry_and_a_saddle_gets_one(toy, best):
    # skipping the retries lost nothing: fits started inside end at the same minimum
    for init in ({"cSL": 5.0, "cTL": 5.0}, {"cSL": 12.0, "cTL": 0.5}):
        assert fit(toy, init=init).twice_nll == pytest.approx(best.twice_nll, abs=1e-6)
    # without cVL the excess needs a rate from cSL or cTL: the profile along cTL = 0 (cSL free)
    # is 36.67, the global minimum (cTL ~ 4.1, cSL = 0) 32.73; started at cSL = 5, cTL = 0,
    # Migrad stops with cTL on its bound, where the derivative vanishes and the curvature is
    # negative (a saddle): the fit must retry from inside and find the global minimum
    ref = min(fit(toy, fixed={"cVL": 0.0}, init={"cSL": a, "cTL": b}).twice_nll
              for a, b in ((0.0, 6.0), (6.0, 6.0), (12.0, 12.0)))
    cut = fit(toy, fixed={"cVL": 0.0, "cTL": 0.0})
    assert cut.twice_nll > ref + 1.0
    res = fit(toy, fixed={"cVL": 0.0}, init={"cSL": 5.0, "cTL": 0.0})
    assert res.n_starts > 1 and "retried" in res.message
    assert res.twice_nll == pytest.approx(ref, abs=1e-6)
    assert res.values["cTL"] > 1.0


@pytest.mark.jax
def test_fit_by_name_fixed_init_and_vectors(toy, best):
    res = fit(toy, fixed={"cSL": 0.0, "cTL": 0.0, "ff_BtoK_GKvD2018": None}, init={"cVL": 10.0})
    assert res.converged
    assert res.values["ff_BtoK_GKvD2018"] == [0.0] * 8
    assert res.errors["ff_BtoK_GKvD2018"] == [0.0] * 8
    assert "ff_BtoK_GKvD2018[3]" in res.fixed
    # fixing the group at its central value can only increase -2lnL
    assert res.twice_nll >= best.twice_nll - 1e-9
    same = fit(toy, fixed={"cSL": 0.0, "cTL": 0.0}, fix_groups=True, init={"cVL": 10.0})
    assert same.twice_nll == pytest.approx(res.twice_nll, abs=1e-8)
    with pytest.raises(RedistError, match="cXX"):
        fit(toy, fixed={"cXX": 1.0})
    with pytest.raises(ModelSpecError, match="8"):
        fit(toy, fixed={"ff_BtoK_GKvD2018": [0.0, 1.0]})


def test_fit_result_json_roundtrip(toy, backend):
    best = fit(toy, fixed={"cSL": 0.0, "cTL": 0.0}, fix_groups=True, backend=backend)
    assert best.backend == backend and best.converged
    doc = json.loads(best.to_json())
    assert doc["parameter_names"] == best.parameter_names
    back = FitResult.from_dict(doc)
    assert back.layout == best.layout and back.labels == best.labels
    with pytest.raises(FileFormatError, match="layout"):
        FitResult.from_dict({k: v for k, v in doc.items() if k != "layout"})
    np.testing.assert_array_equal(back.bestfit, best.bestfit)
    np.testing.assert_array_equal(back.covariance, best.covariance)
    assert back.values == best.values
    corr = best.correlation()
    assert np.allclose(np.diag(corr)[np.diag(best.covariance) > 0], 1.0)


# -- scans -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scan1d(toy):
    return scan(toy, {"cVL": np.linspace(4.0, 16.0, 25)}, fixed={"cSL": 0.0, "cTL": 0.0})


@pytest.mark.jax
def test_scan_1d_interval_matches_gaussian_and_fits(toy, scan1d):
    assert scan1d.converged.all()
    ref = fit(toy, fixed={"cSL": 0.0, "cTL": 0.0})
    assert scan1d.twice_nll_min == pytest.approx(ref.twice_nll, abs=1e-6)
    (lo, hi), = scan1d.interval(0.6827)
    # nearly Gaussian: the 68 % interval is close to best fit +- Hessian error
    assert lo == pytest.approx(ref.values["cVL"] - ref.errors["cVL"], abs=0.1)
    assert hi == pytest.approx(ref.values["cVL"] + ref.errors["cVL"], abs=0.1)
    (lo95, hi95), = scan1d.interval(0.95)
    assert lo95 < lo and hi95 > hi
    # every grid point is an independent conditional fit
    k = 7
    cond = fit(toy, fixed={"cSL": 0.0, "cTL": 0.0, "cVL": scan1d.grid[0][k]}, errors=False)
    assert scan1d.twice_nll[k] == pytest.approx(cond.twice_nll, abs=1e-5)
    back = ScanResult.from_dict(json.loads(scan1d.to_json()))
    np.testing.assert_array_equal(back.twice_nll, scan1d.twice_nll)


def test_delta_levels():
    assert delta_level(0.6827, 1) == pytest.approx(1.0, abs=1e-3)
    assert delta_level(0.6827, 2) == pytest.approx(2.30, abs=1e-2)
    assert delta_level(0.95, 2) == pytest.approx(5.991, abs=1e-3)


@pytest.mark.dask
def test_scan_2d_serial_equals_dask_and_contour(toy):
    from distributed import Client, LocalCluster

    pars = ["cVL:2:16:5", "cTL:0:12:4"]
    serial = scan(toy, pars, fixed={"cSL": 0.0})
    with LocalCluster(processes=False, n_workers=2, dashboard_address=":0") as cl, Client(cl) as c:
        par = scan(toy, pars, fixed={"cSL": 0.0}, dask=c)
    np.testing.assert_array_equal(serial.twice_nll, par.twice_nll)
    np.testing.assert_array_equal(serial.converged, par.converged)
    assert serial.twice_nll.shape == (5, 4)
    lines = serial.contour(0.6827, dof=2)
    assert lines and all(line.shape[1] == 2 for line in lines)


# -- limits ----------------------------------------------------------------------------------
def test_upper_limit_matches_pyhf_infer():
    model = pyhf.simplemodels.uncorrelated_background([12.0, 11.0], [50.0, 52.0], [3.0, 7.0])
    data = [51.0, 48.0, *model.config.auxdata]
    grid = np.linspace(0.1, 5, 25)
    res = upper_limit(model, "mu", scan=grid, data=data)
    obs, exp = pyhf.infer.intervals.upper_limits.upper_limit(
        pyhf.tensorlib.astensor(data), model, grid, level=0.05, test_stat="qtilde"
    )
    assert res.observed == pytest.approx(float(obs), rel=1e-6)
    np.testing.assert_allclose(res.expected, [float(e) for e in exp], rtol=1e-6)
    assert res.expected == sorted(res.expected)


# -- posteriors ------------------------------------------------------------------------------
def test_posterior_gaussian_limit_and_dask():
    pytest.importorskip("arviz")  # posterior diagnostics (the stats extra)
    # large counts: the posterior of mu with a flat prior is ~ Normal(mu_hat, sigma_hat)
    model = pyhf.simplemodels.uncorrelated_background([200.0], [1000.0], [10.0])
    data = [1300.0, *model.config.auxdata]
    ref = fit(model, data=data)
    res = sample(model, data=data, priors={"mu": Uniform(0.0, 5.0)}, n_samples=3000,
                 n_burn=1000, n_chains=4, thin=2, seed=1, sampler="mh")
    s = res.summary["mu"]
    assert s["mean"] == pytest.approx(ref.values["mu"], abs=0.15 * ref.errors["mu"])
    assert s["std"] == pytest.approx(ref.errors["mu"], rel=0.1)
    lo, hi = s["hpd95"]
    assert lo == pytest.approx(ref.values["mu"] - 1.96 * ref.errors["mu"], abs=0.25 * ref.errors["mu"])
    assert hi == pytest.approx(ref.values["mu"] + 1.96 * ref.errors["mu"], abs=0.25 * ref.errors["mu"])
    assert all(0.1 < a < 0.6 for a in res.acceptance)


@pytest.mark.dask
def test_posterior_serial_equals_dask(toy):
    pri = {"cVL": Uniform(0, 20), "cSL": Uniform(0, 20), "cTL": Uniform(0, 20),
           "ff_BtoK_GKvD2018": FormFactorNormal()}
    kw = {"priors": pri, "n_samples": 100, "n_burn": 100, "n_chains": 4, "chains_per_task": 2, "sampler": "mh"}
    a = sample(toy, **kw)
    b = sample(toy, dask=True, **kw)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert set(a.summary) == {"cVL", "cSL", "cTL"}
    with pytest.raises(ModelSpecError, match="constrained"):
        sample(toy, priors={"bkg_norm": Uniform(-1, 1)})


@pytest.mark.dask
@pytest.mark.jax
def test_nuts_serial_equals_dask_process_workers(toy):
    # NUTS chains as tasks on process workers: the chain function holds jax arrays, which a
    # worker must unpickle with float64 on (else float32: different draws)
    pytest.importorskip("blackjax")
    pytest.importorskip("arviz")
    from distributed import Client, LocalCluster

    pri = {"cVL": Uniform(0, 20), "cSL": Uniform(0, 20), "cTL": Uniform(0, 20)}
    kw = {"priors": pri, "n_samples": 30, "n_burn": 30, "n_chains": 2, "seed": 5}
    a = sample(toy, **kw)
    with LocalCluster(processes=True, n_workers=1, threads_per_worker=1, dashboard_address=":0") as cl, \
            Client(cl) as c:
        b = sample(toy, dask=c, **kw)
    assert a.sampler == b.sampler == "nuts"
    np.testing.assert_array_equal(a.samples, b.samples)


def test_hpd_interval_normal():
    x = np.random.default_rng(0).normal(3.0, 2.0, 200_000)
    lo, hi = hpd_interval(x, 0.95)
    assert lo == pytest.approx(3.0 - 1.96 * 2.0, abs=0.05)
    assert hi == pytest.approx(3.0 + 1.96 * 2.0, abs=0.05)


# -- combination -----------------------------------------------------------------------------
@pytest.mark.jax
def test_combination_of_independent_copies(toy):
    other = toy_model("_2")
    comb = combine([toy, other])
    # theory parameters shared, the form-factor group shared, analysis nuisances separate
    names = comb.model.config.par_order
    assert names.count("cVL") == 1 and "ff_BtoK_GKvD2018" in names and "stat_2" in names
    single = fit(toy, fixed={"cSL": 0.0, "cTL": 0.0}, fix_groups=True)
    both = fit(comb, fixed={"cSL": 0.0, "cTL": 0.0}, fix_groups=True)
    # the shared 8-dim unit-normal form-factor constraint (at 0) enters once, not twice
    ff_term = -2 * 8 * (-0.5 * math.log(2 * math.pi))
    assert both.twice_nll == pytest.approx(2 * single.twice_nll - ff_term, abs=1e-5)
    assert both.values["cVL"] == pytest.approx(single.values["cVL"], rel=1e-4)
    assert both.errors["cVL"] == pytest.approx(single.errors["cVL"] / math.sqrt(2), rel=1e-3)
    with pytest.raises(ModelSpecError, match="channel 'SR'"):
        combine([toy, toy_model()])
    with pytest.raises(ModelSpecError, match="cVL"):
        combine([toy, toy_model("_3", bounds=(0.0, 30.0))])


# -- plots -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def numpy_best(toy):
    return fit(toy, fixed={"cSL": 0.0, "cTL": 0.0}, fix_groups=True, backend="numpy")


def test_plots_show_the_results(toy, numpy_best):
    """Every plot function draws what the result holds: data, labels and legend entries."""
    from matplotlib.figure import Figure

    from redist.infer import LimitResult, PosteriorResult
    from redist.infer.plot import plot_contour, plot_limit, plot_posterior, plot_profile, plot_templates

    best = numpy_best
    lay = best.layout
    axes = Figure().subplots(1, 5)
    x = np.linspace(4.0, 16.0, 13)
    conv = np.ones(13, bool)
    conv[3] = False
    s1 = ScanResult(parameters=["cVL"], indices=[lay.index("cVL")], grid=[x], twice_nll=(x - 10) ** 2 / 4 + 3,
                    converged=conv, twice_nll_min=3.0, bestfit=best)  # fmt: skip
    art = plot_profile(s1, ax=axes[0])
    np.testing.assert_array_equal(art.curve.get_xdata(), x)
    np.testing.assert_allclose(art.curve.get_ydata(), (x - 10) ** 2 / 4)
    assert [ln.get_ydata()[0] for ln in art.levels] == pytest.approx([1.0, 3.841], abs=1e-3)
    assert art.failed.get_xdata().tolist() == [x[3]] and art.failed.get_label() == "fit not converged"
    assert axes[0].get_xlabel() == "cVL" and axes[0].get_ylabel() == r"$-2\Delta\ln L$"

    s2 = ScanResult(
        parameters=["a", "b"], indices=[lay.index("cVL"), lay.index("bkg_norm")],
        grid=[np.linspace(-2, 2, 21), np.linspace(-3, 3, 31)],
        twice_nll=np.add.outer(np.linspace(-2, 2, 21) ** 2, (np.linspace(-3, 3, 31) / 1.5) ** 2),
        converged=np.ones((21, 31), bool), twice_nll_min=0.0, bestfit=best,
    )  # fmt: skip
    c = plot_contour(s2, ax=axes[1], sm=(0.5, 0.5))
    assert (axes[1].get_xlabel(), axes[1].get_ylabel()) == ("a", "b")
    assert c.bestfit.get_xydata().tolist() == [[best.values["cVL"], best.values["bkg_norm"]]]
    assert c.sm.get_xydata().tolist() == [[0.5, 0.5]] and c.sm.get_label() == "SM"
    # the 1-sigma 2-dof contour of a unit Gaussian in a and (b/1.5) is an ellipse
    line = s2.contour(0.6827, dof=2)[0]
    r2 = line[:, 0] ** 2 + (line[:, 1] / 1.5) ** 2
    assert np.allclose(r2, delta_level(0.6827, 2), rtol=0.05)

    t = plot_templates(toy, "SR", pars=best.bestfit, ax=axes[2])
    assert [p.get_label() for p in t.stacks] == ["bkg", "signal"] and axes[2].get_title(loc="left") == "SR"
    total = np.asarray(toy.model.expected_actualdata(best.bestfit))
    np.testing.assert_allclose(t.stacks[-1].get_data().values, total, rtol=1e-12)
    np.testing.assert_array_equal(t.data.lines[0].get_ydata(), [75.0, 80.0, 70.0, 55.0])

    scan_values = np.linspace(0.5, 5.0, 10)
    lim = LimitResult(parameter="cTL", cl=0.95, observed=3.0, expected=[1.0, 2.0, 3.0, 4.0, 5.0],
                      scan=scan_values, cls_observed=np.exp(-scan_values),
                      cls_expected=np.array([np.exp(-k * scan_values) for k in (0.5, 0.75, 1.0, 1.25, 1.5)]))  # fmt: skip
    la = plot_limit(lim, ax=axes[3])
    np.testing.assert_allclose(la.observed.get_ydata(), np.exp(-scan_values))
    np.testing.assert_allclose(la.expected.get_ydata(), np.exp(-scan_values))
    assert la.level.get_ydata()[0] == pytest.approx(0.05)
    assert axes[3].get_xlabel() == "cTL" and axes[3].get_ylabel() == "CLs"
    assert {la.band1.get_label(), la.band2.get_label()} == {r"expected $\pm 1\sigma$", r"expected $\pm 2\sigma$"}

    samples = np.random.default_rng(2).normal(10.0, 1.0, (4000, 1))
    post = PosteriorResult(labels=["cVL"], indices=[lay.index("cVL")], samples=samples,
                           log_posterior=np.zeros(4000), acceptance=[0.3],
                           summary={"cVL": {"mode": 10.1}}, map_point={"cVL": 10.0}, sampler="mh",
                           bestfit=best)  # fmt: skip
    pa = plot_posterior(post, "cVL", ax=axes[4])
    assert pa.mode.get_xdata()[0] == 10.1 and axes[4].get_xlabel() == "cVL"
    lo, hi = hpd_interval(samples[:, 0], 0.95)
    np.testing.assert_allclose([pa.hpd.get_x(), pa.hpd.get_x() + pa.hpd.get_width()], [lo, hi])


# -- CLI -------------------------------------------------------------------------------------
@pytest.mark.jax  # the toy CLs limit of cTL and NUTS run on the compiled engine
def test_cli_fit_scan_limit_sample(toy, tmp_path):
    """The commands' JSON (--json, -o) holds the same numbers as the library; tables otherwise."""
    import redist
    from redist.cli import main

    path = tmp_path / "toy.json"
    redist.save(path, toy)
    runner = CliRunner()
    r = runner.invoke(main, ["fit", str(path), "--fix", "cSL=0", "--fix", "cTL=0", "--backend", "numpy",
                             "--json", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    ref = fit(toy, fixed={"cSL": 0.0, "cTL": 0.0})
    assert doc["kind"] == "fit" and "covariance" not in doc  # covariances only in files
    assert doc["values"]["cVL"] == pytest.approx(ref.values["cVL"], rel=1e-3)
    png = tmp_path / "scan.png"
    out = tmp_path / "scan.json"
    r = runner.invoke(main, ["scan", str(path), "--par", "cVL=4:16:7", "--fix", "cSL=0", "--fix",
                             "cTL=0", "--backend", "numpy", "--plot", str(png), "-o", str(out), "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Profile-likelihood scan" in r.stdout and "68.27 % CL" in r.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # content: test_plots_show_the_results
    doc = json.loads(out.read_text())
    assert doc["kind"] == "scan" and doc["provenance"]["inputs"][str(path)]["sha256"]
    assert len(doc["twice_nll"]) == 7 and doc["intervals"]["0.6827"]
    r = runner.invoke(main, ["limit", str(path), "--par", "cTL=1:20:5", "--fix", "cSL=0",
                             "--fix", "cVL=init", "--fix-groups", "--n-toys", "40", "--json", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["observed"] > 0
    r = runner.invoke(main, ["sample", str(path), "--prior", "cVL=uniform:0:20", "--fix", "cSL=0",
                             "--fix", "cTL=0", "--fix-groups", "--n-samples", "200",
                             "--n-burn", "100", "--chains", "2", "--backend", "numpy", "--method", "mh",
                             "--allow-unconverged", "--json", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "hpd95" in json.loads(r.stdout)["summary"]["cVL"]
    r = runner.invoke(main, ["scan", str(path), "--par", "cVL"])
    assert r.exit_code == 2 and "NAME=LO:HI:N" in r.output


def test_posterior_emcee_gaussian_limit():
    pytest.importorskip("emcee")
    model = pyhf.simplemodels.uncorrelated_background([200.0], [1000.0], [10.0])
    data = [1300.0, *model.config.auxdata]
    ref = fit(model, data=data)
    kw = {"data": data, "priors": {"mu": Uniform(0.0, 5.0)}, "sampler": "emcee", "n_chains": 8,
          "n_samples": 1500, "n_burn": 300, "thin": 2, "seed": 4}
    res = sample(model, **kw)
    s = res.summary["mu"]
    assert s["mean"] == pytest.approx(ref.values["mu"], abs=0.2 * ref.errors["mu"])
    assert s["std"] == pytest.approx(ref.errors["mu"], rel=0.15)
    np.testing.assert_array_equal(sample(model, **kw).samples, res.samples)  # seeded
