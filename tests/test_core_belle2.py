"""Consistency of the WET reinterpretation with the published signal-strength fit.

With only cVL free (cSL = cTL = 0, form factors central), every kinematic weight
inside the cutoff equals (cVL / cVL_SM)^2, while the published [-1, 0] sentinel
column (non-zero only in the HTA density) keeps weight 1. The reinterpreted
likelihood must therefore equal -- exactly, at every nuisance-parameter point --
the published likelihood in which the signal is split into an "underflow" part
that is not scaled and the rest that is scaled by mu = (cVL / cVL_SM)^2.
``redist.demo.sentinel_split_workspace`` builds it with plain pyhf modifiers only.
"""

from __future__ import annotations

import numpy as np
import pyhf
import pytest

from redist.demo import belle2_data, belle2_model, sentinel_split_workspace
from redist.theory import get_theory

SM_CVL = get_theory("wet").reference_point()["cVL"]


@pytest.fixture(scope="module")
def models():
    pyhf.set_backend("numpy")
    return belle2_model(parameters=("cVL",), nuisance_groups=False), sentinel_split_workspace(prune_form_factors=True)


def test_staterror_not_shared_with_other_samples():
    workspace, densities, _ = belle2_data()
    for ch in workspace["channels"]:
        names = {}
        for s in ch["samples"]:
            for m in s["modifiers"]:
                if m["type"] == "staterror":
                    names.setdefault(m["name"], []).append(s["name"])
        for samples in names.values():
            if any((ch["name"], s) in densities for s in samples):
                assert len(samples) == 1


def test_cvl_only_model_equals_split_published_model(models):
    rm, split = models
    ours = rm.model
    theirs = split.model()
    data_ours = rm.data
    data_theirs = split.data(theirs)
    rng = np.random.default_rng(11)
    for _ in range(4):
        cvl = rng.uniform(1, 20)
        p_ours = ours.config.suggested_init()
        p_ours = np.asarray(p_ours, dtype=float)
        p_theirs = np.asarray(theirs.config.suggested_init(), dtype=float)
        for name in ours.config.par_order:
            sl = ours.config.par_slice(name)
            if name == "cVL":
                p_ours[sl] = cvl
                p_theirs[theirs.config.par_slice("mu")] = (cvl / SM_CVL) ** 2
                continue
            lo, hi = np.array(ours.config.suggested_bounds()[sl]).T
            pert = np.clip(p_ours[sl] + rng.normal(0, 0.3, size=sl.stop - sl.start), lo, hi)
            p_ours[sl] = pert
            p_theirs[theirs.config.par_slice(name)] = pert
        a = ours.logpdf(p_ours, data_ours)[0]
        b = theirs.logpdf(p_theirs, data_theirs)[0]
        assert a == pytest.approx(b, rel=1e-12, abs=1e-10)
