"""Demo figures: what they show (axes, legends, plotted data), not their file size."""

from __future__ import annotations

import matplotlib.colors
import numpy as np
import pytest

from redist.demo import belle2_data, belle2_model
from redist.demo_plots import templates_figure, weights_figure


@pytest.fixture(scope="module")
def rm():
    return belle2_model()


def test_weights_figure_shows_the_weights(rm):
    pars = rm.layout.to_vector({"cVL": 11.5, "cSL": 0.0, "cTL": 8.9})
    fig = weights_figure(rm, pars)
    (ax,) = fig.axes
    assert ax.get_xlabel() == r"$q^2_\mathrm{true}$ [GeV$^2$]"
    assert "weight" in ax.get_ylabel() and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["best fit", "cSL = 10", "cTL = 8", "cVL = 2 x SM"]
    rw = rm.reweightings["wet"]
    steps = {p.get_label(): p for p in ax.patches}
    # the drawn values are the weights at each point (sentinel column left out)
    np.testing.assert_allclose(steps["best fit"].get_data().values,
                               rw.weights_at({"cVL": 11.5, "cTL": 8.9})[1:], rtol=1e-14)  # fmt: skip
    np.testing.assert_allclose(steps["cVL = 2 x SM"].get_data().values, 4.0, rtol=1e-12)
    np.testing.assert_array_equal(steps["cTL = 8"].get_data().edges, rw.z_edges[0][1:])


def test_templates_figure_stacks_samples_data_band_and_ratio(rm):
    from redist.infer import fit
    from redist.infer.plot import SIGNAL_COLOR

    workspace, _, _ = belle2_data()
    ch = "sgn1_had"
    best = fit(rm, fixed={"cSL": 0.0, "cTL": 0.0}, fix_groups=True, backend="numpy")
    fig = templates_figure(rm, ch, best)
    top_left, top_right, ratio_left, ratio_right = fig.axes[:4]
    assert (top_left.get_title(loc="left"), top_right.get_title(loc="left")) == ("pre-fit (SM)", "post-fit")
    assert ratio_left.get_xlabel() == ratio_right.get_xlabel() == "fit bin"
    assert top_left.get_ylabel() == "events / bin"
    assert ratio_left.get_ylabel() == "data / exp."
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"data", "sgn_1_had", "total uncertainty"} <= set(legend)
    # the top of the stack equals the total expected yield; the points are the observed data
    cfg = rm.model.config
    pre = rm.layout.inits
    total = np.asarray(rm.model.expected_actualdata(pre))[cfg.channel_slices[ch]]
    stacks = [p for p in top_left.patches if p.get_label() in cfg.samples]
    np.testing.assert_allclose(stacks[-1].get_data().values, total, rtol=1e-12)
    observed = next(o["data"] for o in workspace["observations"] if o["name"] == ch)
    np.testing.assert_array_equal(top_left.containers[0].lines[0].get_ydata(), observed)
    # the reweighted signal sample is drawn last (on top), in the signal colour, in both panels
    for ax in (top_left, top_right):
        sig = [p for p in ax.patches if p.get_label() == "sgn_1_had"]
        assert sig and ax.patches.index(sig[0]) == max(ax.patches.index(p) for p in ax.patches
                                                       if p.get_label() in cfg.samples)  # fmt: skip
        assert matplotlib.colors.to_hex(sig[0].get_facecolor()) == SIGNAL_COLOR
    # the ratio is data / total expected
    np.testing.assert_allclose(ratio_left.containers[0].lines[0].get_ydata(), np.asarray(observed) / total,
                               rtol=1e-12)  # fmt: skip
    # a background sample has the same colour in every channel
    a, c = (templates_figure(rm, cfg.channels[k], best).axes[0] for k in (0, 2))
    col_a = {p.get_label(): matplotlib.colors.to_hex(p.get_facecolor()) for p in a.patches}
    col_c = {p.get_label(): matplotlib.colors.to_hex(p.get_facecolor()) for p in c.patches}
    shared = set(col_a) & set(col_c) & set(cfg.samples)
    assert shared >= {"ccbar", "uubar", "taupair"}
    assert all(col_a[s] == col_c[s] for s in shared)
    assert len(set(col_a.values())) == len(col_a)  # different samples, different colours
