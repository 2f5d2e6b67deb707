"""Consistency of the WET reinterpretation with the published signal-strength fit.

With only cVL free (cSL = cTL = 0, form factors central), every kinematic weight
inside the cutoff equals (cVL / cVL_SM)^2, while the published [-1, 0] sentinel
column (non-zero only in the HTA density) keeps weight 1. The reinterpreted
likelihood must therefore equal -- exactly, at every nuisance-parameter point --
the published likelihood in which the signal is split into an "underflow" part
that is not scaled and the rest that is scaled by mu = (cVL / cVL_SM)^2.
This is an independent construction with plain pyhf modifiers.
"""

from __future__ import annotations

import copy

import numpy as np
import pyhf
import pytest

from redist.demo import SM_CVL, belle2_data, belle2_model


def _split_workspace():
    workspace, densities, _ = belle2_data()
    spec = copy.deepcopy(workspace)
    for ch in spec["channels"]:
        for s in list(ch["samples"]):
            s["modifiers"] = [m for m in s["modifiers"] if not m["name"].startswith("corr_ff_c")]
            if (ch["name"], s["name"]) not in densities:
                continue
            n = densities[(ch["name"], s["name"])].values()
            u = n[:, 0] / n.sum(axis=1)  # underflow share per fit bin
            if not np.any(u):
                continue
            under = copy.deepcopy(s)
            under["name"] = s["name"] + "_underflow"
            under["modifiers"] = [m for m in under["modifiers"] if m["name"] != "mu"]
            for part, share in ((s, 1 - u), (under, u)):
                part["data"] = (np.asarray(part["data"]) * share).tolist()
                for m in part["modifiers"]:
                    if m["type"] == "histosys":
                        for k in ("lo_data", "hi_data"):
                            m["data"][k] = (np.asarray(m["data"][k]) * share).tolist()
                    elif m["type"] == "staterror":  # keeps sqrt(sum sigma^2) per bin
                        m["data"] = (np.asarray(m["data"]) * np.sqrt(share)).tolist()
            ch["samples"].append(under)
    return pyhf.Workspace(spec)


@pytest.fixture(scope="module")
def models():
    pyhf.set_backend("numpy")
    return belle2_model(parameters=("cVL",), nuisance_groups=False), _split_workspace()


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
