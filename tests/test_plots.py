"""Figures: what they show (labels, legend entries, plotted data, visibility), never file sizes."""

from __future__ import annotations

import numpy as np
import pyhf
import pytest
from matplotlib.figure import Figure

from redist.infer import fit
from redist.infer.impacts import impacts
from redist.infer.plot import (
    SIGNAL_COLOR,
    channel_labels,
    plot_contour,
    plot_corner,
    plot_correlation,
    plot_impacts,
    plot_profile,
    plot_pulls,
    plot_templates,
    sample_colors,
    style,
    yield_uncertainty,
)
from redist.infer.scan import ScanResult, delta_level

DATA = [62.0, 75.0, 25.0]


@pytest.fixture(scope="module")
def model():
    return pyhf.simplemodels.correlated_background(
        [5.0, 10.0, 3.0], [50.0, 60.0, 20.0], [55.0, 66.0, 21.0], [45.0, 54.0, 19.0]
    )


@pytest.fixture(scope="module")
def best(model):
    return fit(model, data=[*DATA, *model.config.auxdata], backend="numpy")


def _scan1d(best):
    x = np.linspace(0.0, 4.0, 41)
    i = best.layout.index("mu")
    return ScanResult(
        parameters=["mu"],
        indices=[i],
        grid=[x],
        twice_nll=(x - 1.5) ** 2 / 0.25 + 7.0,
        converged=np.ones(41, bool),
        twice_nll_min=7.0,
        bestfit=best,
    )


def test_profile_labels_thresholds_and_marks_intervals(best):
    s = _scan1d(best)
    ax = Figure().subplots()
    art = plot_profile(s, ax=ax)
    assert [t.get_text().strip() for t in art.level_labels] == ["68.27 % CL", "95 % CL"]
    assert [ln.get_ydata()[0] for ln in art.levels] == pytest.approx([1.0, 3.841], abs=1e-3)
    # Δ(-2lnL) = ((mu-1.5)/0.5)^2: the 68 % interval is 1.5 -+ 0.5, the 95 % one 1.5 -+ 0.98
    segs = [seg.get_xdata() for seg in art.intervals]
    assert segs[0] == pytest.approx([1.0, 2.0], abs=1e-4)  # linear interpolation on a 0.1 grid
    assert segs[1] == pytest.approx([1.5 - 0.98, 1.5 + 0.98], abs=0.01)
    labels = [h.get_label() for h in art.intervals]
    assert labels == ["68.27 % CL interval", "95 % CL interval"]
    assert art.bestfit.get_xdata()[0] == pytest.approx(best.values["mu"])


def _scan2d(best):
    a, b = np.linspace(0, 4, 21), np.linspace(-2, 2, 31)
    z = np.add.outer(((a - 2.0) / 0.8) ** 2, (b / 0.9) ** 2)
    idx = [best.layout.index("mu"), best.layout.index("correlated_bkg_uncertainty")]
    return ScanResult(
        parameters=["mu", "bkg"],
        indices=idx,
        grid=[a, b],
        twice_nll=z,
        converged=np.ones(z.shape, bool),
        twice_nll_min=0.0,
        bestfit=best,
    )


def test_contour_legend_and_sm_star_fully_visible(best):
    s = _scan2d(best)
    ax = Figure().subplots()
    art = plot_contour(s, ax=ax, sm=(0.0, 0.0))  # the star sits on the grid's left edge
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["68.27 % CL", "95 % CL", "best fit", "SM"]
    assert not art.sm.get_clip_on() and not art.bestfit.get_clip_on()
    x0, x1 = ax.get_xlim()
    assert x0 < 0.0 < x1 and (0.0 - x0) > 0.03 * (x1 - x0)  # margin around the star
    # the 68 % (2 dof) line is the ellipse ((a-2)/0.8)^2 + (b/0.9)^2 = 2.30
    seg = art.lines.allsegs[0][0]
    r2 = ((seg[:, 0] - 2) / 0.8) ** 2 + (seg[:, 1] / 0.9) ** 2
    assert np.allclose(r2, delta_level(0.6827, 2), rtol=0.03)


def test_templates_ratio_band_and_fixed_colours(best, model):
    fig = Figure()
    ax, rax = fig.subplots(2, 1)
    art = plot_templates(
        model,
        "single_channel",
        pars=best.bestfit,
        covariance=best.covariance,
        ax=ax,
        ratio_ax=rax,
        signal=["signal"],
        data=DATA,
    )
    labels = [p.get_label() for p in art.stacks]
    assert labels == ["background", "signal"]  # signal on top
    assert art.stacks[-1].get_facecolor()[:3] == pytest.approx(
        tuple(int(SIGNAL_COLOR[k : k + 2], 16) / 255 for k in (1, 3, 5))
    )
    total = np.asarray(model.expected_actualdata(best.bestfit))
    np.testing.assert_allclose(art.stacks[-1].get_data().values, total, rtol=1e-12)
    # band = ±(propagated uncertainty); ratio points = data / total
    unc = yield_uncertainty(model, best.bestfit, best.covariance)
    band = art.band.get_data()
    np.testing.assert_allclose(band.values - band.baseline, 2 * unc, rtol=1e-10)
    np.testing.assert_allclose(art.ratio_data.lines[0].get_ydata(), np.asarray(DATA) / total, rtol=1e-12)
    assert rax.get_ylabel() == "data / exp." and rax.get_xlabel() == "bin index"
    # one colour per sample, whatever the channel
    c1 = sample_colors(["b", "a", "sig"], ["sig"])
    c2 = sample_colors(["sig", "a"], ["sig"])
    assert c1["a"] == c2["a"] and c1["sig"] == SIGNAL_COLOR


def test_yield_uncertainty_is_linear_error_propagation(model, best):
    """For a model linear in its parameters the ±1σ method is exact: compare with J C J^T."""
    unc = yield_uncertainty(model, best.bestfit, best.covariance)
    eps = 1e-6
    p = np.asarray(best.bestfit)
    jac = np.array(
        [
            (
                np.asarray(model.expected_actualdata(p + eps * np.eye(2)[i]))
                - np.asarray(model.expected_actualdata(p - eps * np.eye(2)[i]))
            )
            / (2 * eps)
            for i in range(2)
        ]
    )
    ref = np.sqrt(np.einsum("ib,ij,jb->b", jac, best.covariance, jac))
    np.testing.assert_allclose(unc, ref, rtol=2e-3)


def test_channel_labels_keep_the_prefix():
    names = [
        "A__Bsig_H_reco_q2_zoomSR_Y4S",
        "B__Bsig_H_reco_q2_zoomCR_Y4S",
        "C__Bsig_H_reco_q2_zoomSR_offres",
        "sgn1_had",
    ]
    lab = channel_labels(names)
    assert lab == {
        names[0]: "A: zoomSR Y4S",
        names[1]: "B: zoomCR Y4S",
        names[2]: "C: zoomSR offres",
        "sgn1_had": "sgn1_had",
    }


def test_pulls_correlation_and_impacts(model, best):
    ax = Figure().subplots()
    p = plot_pulls(best, ax=ax)
    assert p.labels == ["correlated_bkg_uncertainty"]  # mu is unconstrained: no pull
    theta = best.values["correlated_bkg_uncertainty"]
    assert p.points.lines[0].get_xdata()[0] == pytest.approx(theta)  # width 1: pull = value
    fig = Figure()
    c = plot_correlation(best, ax=fig.subplots())
    assert c.labels == list(best.layout.labels)  # model order
    assert c.matrix[0, 1] == pytest.approx(best.correlation()[0, 1]) and abs(c.matrix[0, 1]) > 0.1
    r = impacts(model, "mu", result=best, data=[*DATA, *model.config.auxdata], backend="numpy", top=1)
    art = plot_impacts(r, ax=Figure().subplots())
    assert art.labels == ["correlated_bkg_uncertainty"]
    assert [b.get_width() for b in art.up] == pytest.approx(list(r.impact_up))
    # one nuisance, Gaussian-like: the refitted impact is close to the linear estimate
    assert abs(r.impact_up[0]) == pytest.approx(abs(r.estimate[0]), rel=0.2)
    assert np.sign(r.impact_up[0]) == -np.sign(r.impact_down[0])


def test_corner_shades_hpd_regions(best):
    from redist.infer import PosteriorResult

    rng = np.random.default_rng(3)
    samples = rng.normal([1.0, 0.0], [0.3, 1.0], size=(20000, 2))
    lay = best.layout
    post = PosteriorResult(
        labels=["mu", "correlated_bkg_uncertainty"],
        samples=samples,
        indices=[lay.index("mu"), lay.index("correlated_bkg_uncertainty")],
        log_posterior=np.zeros(20000),
        acceptance=[0.3],
        summary={},
        map_point={},
        sampler="mh",
        bestfit=best,
    )
    fig = Figure()
    axes = plot_corner(post, ["mu", "correlated_bkg_uncertainty"], fig=fig)
    diag = axes[0, 0]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["68.27 % HPD", "95 % HPD"]
    # the shaded regions end exactly at the HPD interval ends; for a normal(1, 0.3): about 1 -+ 0.3
    from redist.infer.bayes import hpd_interval

    shaded = {p.get_label(): p.get_data().edges for p in diag.patches if "HPD" in str(p.get_label())}
    for cl in (0.6827, 0.95):
        lo, hi = hpd_interval(samples[:, 0], cl)
        edges = shaded[f"{cl * 100:.4g} % HPD"]
        assert (edges[0], edges[-1]) == pytest.approx((lo, hi), abs=1e-12)
    e68 = shaded["68.27 % HPD"]
    assert e68[0] == pytest.approx(0.7, abs=0.02) and e68[-1] == pytest.approx(1.3, abs=0.02)
    assert axes[1, 0].get_xlabel() == "mu" and axes[1, 0].get_ylabel() == "correlated_bkg_uncertainty"
    assert len(axes[1, 0].collections) >= 2  # filled HPD regions and their lines


def test_style_changes_nothing_outside_the_block():
    import matplotlib

    before = dict(matplotlib.rcParams)
    with style():
        assert matplotlib.rcParams["xtick.direction"] == "in"
    assert dict(matplotlib.rcParams) == before
