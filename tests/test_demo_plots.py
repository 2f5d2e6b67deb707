"""Demo figures: what they show (axes, legends, plotted data), not their file size."""

from __future__ import annotations

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


def test_templates_figure_stacks_samples_and_data(rm):
    workspace, _, _ = belle2_data()
    ch = "sgn1_had"
    pre = rm.layout.inits
    fig = templates_figure(rm, ch, pre)
    left, right = fig.axes[:2]
    assert (left.get_title(), right.get_title()) == ("pre-fit (SM)", "post-fit")
    assert left.get_xlabel() == "fit bin" and left.get_ylabel() == "events"
    legend = [t.get_text() for t in right.get_legend().get_texts()]
    assert "data" in legend and "sgn_1_had" in legend
    # the top of the stack equals the total expected yield; the points are the observed data
    cfg = rm.model.config
    total = np.asarray(rm.model.expected_actualdata(pre))[cfg.channel_slices[ch]]
    top = max(left.patches, key=lambda p: np.sum(p.get_data().values))
    np.testing.assert_allclose(top.get_data().values, total, rtol=1e-12)
    observed = next(o["data"] for o in workspace["observations"] if o["name"] == ch)
    np.testing.assert_array_equal(left.containers[0].lines[0].get_ydata(), observed)
    # the signal sample is drawn last (on top)
    assert left.patches[-1].get_label() == "sgn_1_had"
