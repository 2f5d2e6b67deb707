"""The parameter layout: one map from names to vector slots to theory values."""

from __future__ import annotations

import json

import numpy as np
import pyhf
import pytest

from redist.exceptions import ModelSpecError, UnknownParameter
from redist.layout import ParameterKind, ParameterLayout


@pytest.fixture(scope="module")
def rm():
    from redist.demo import belle2_model

    return belle2_model()


def test_layout_follows_pyhf_order_and_labels(rm):
    cfg = rm.model.config
    lay = rm.layout
    assert lay.names == tuple(cfg.par_order)
    assert lay.labels == tuple(cfg.par_names)  # pyhf's own labels, component by component
    assert lay.size == cfg.npars == 239
    for n in cfg.par_order:
        assert lay.slice(n) == cfg.par_slice(n)
    np.testing.assert_array_equal(lay.inits, cfg.suggested_init())
    np.testing.assert_array_equal(lay.bounds, cfg.suggested_bounds())
    np.testing.assert_array_equal(lay.fixed, cfg.suggested_fixed())
    assert lay.poi == "cVL"
    with pytest.raises(ValueError):
        lay.inits[0] = 3.0  # read-only


def test_kinds_and_constraints(rm):
    lay = rm.layout
    assert lay.names_of(ParameterKind.THEORY) == ("cVL", "cSL", "cTL")
    assert lay.names_of(ParameterKind.THEORY_GROUP) == ("ff_BtoK_GKvD2018",)
    ff = lay.entry("ff_BtoK_GKvD2018")
    assert ff.size == 8 and ff.constraint == "normal" and not ff.scalar
    assert len(ff.members) == 8 and ff.members[0].startswith("B->K::alpha^")
    assert lay.entry("cVL").constraint is None and lay.entry("cVL").linear
    for e in lay.entries:
        if e.kind is ParameterKind.NUISANCE:
            assert e.constraint in ("normal", "poisson")
            assert e.modifiers  # every analysis parameter comes from a workspace modifier


def test_to_vector_and_back(rm):
    lay = rm.layout
    v = lay.to_vector({"cVL": 9.0, "ff_BtoK_GKvD2018": 0.5})
    assert v[lay.index("cVL")] == 9.0
    np.testing.assert_array_equal(v[lay.slice("ff_BtoK_GKvD2018")], 0.5)
    m = lay.to_mapping(v)
    assert m["cVL"] == 9.0 and m["ff_BtoK_GKvD2018"] == [0.5] * 8
    np.testing.assert_array_equal(lay.to_vector(m), v)
    assert lay.index("ff_BtoK_GKvD2018", 3) == lay.slice("ff_BtoK_GKvD2018").start + 3
    with pytest.raises(ModelSpecError, match="has 8 components; pass component="):
        lay.index("ff_BtoK_GKvD2018")
    with pytest.raises(ModelSpecError, match="has 3 components, the parameter has 8"):
        lay.to_vector({"ff_BtoK_GKvD2018": [1.0, 2.0, 3.0]})


def test_unknown_names_list_every_valid_name_and_suggest(rm):
    lay = rm.layout
    with pytest.raises(UnknownParameter) as err:
        lay.check("cVl", ParameterKind.THEORY)
    assert str(err.value) == "model has no theory parameter 'cVl' (did you mean 'cVL'?); valid: cVL, cSL, cTL"
    with pytest.raises(UnknownParameter, match="display label: pass the name 'ff_BtoK_GKvD2018' and component 3"):
        lay.index("ff_BtoK_GKvD2018[3]")
    with pytest.raises(UnknownParameter, match="'corr_lumi_c1' is a nuisance parameter, not a theory"):
        lay.check("corr_lumi_c1", ParameterKind.THEORY)
    # the full list of names, not a truncated one
    with pytest.raises(UnknownParameter) as err:
        lay.check("nope")
    assert all(n in str(err.value) for n in lay.names)


@pytest.mark.jax
def test_theory_values_numpy_jax_and_group_mapping(rm, jax):
    lay = rm.layout
    rw = rm.reweightings["wet"]
    g = rw.theory.groups[0]
    eta = np.linspace(-1.0, 1.0, 8)
    v = lay.to_vector({"cVL": 8.0, "cTL": 2.0, "ff_BtoK_GKvD2018": eta})
    vals = lay.theory_values(v)["wet"]
    assert vals["cVL"] == 8.0 and vals["cTL"] == 2.0 and vals["cVR"] == 0.0
    phys = np.asarray(g.mean) + g.transform @ eta  # independent of CorrelatedGroup.physical
    np.testing.assert_allclose([vals[p] for p in g.parameters], phys, rtol=1e-15)
    traced = jax.jit(lambda x: lay.theory_values(x, jax.numpy)["wet"]["cTL"] * 2.0)(v)
    assert float(traced) == 4.0
    jv = jax.jit(lambda x: jax.numpy.stack([lay.theory_values(x, jax.numpy)["wet"][p] for p in g.parameters]))(v)
    np.testing.assert_allclose(np.asarray(jv), phys, rtol=1e-14)
    assert rm.physical_values(v)["cVL"] == 8.0


def test_layout_round_trips_through_json(rm):
    lay = rm.layout
    back = ParameterLayout.from_dict(json.loads(json.dumps(lay.to_dict())))
    assert back == lay
    v = lay.to_vector({"cVL": 3.0, "ff_BtoK_GKvD2018": 0.3})
    assert back.theory_values(v) == lay.theory_values(v)


def test_plain_pyhf_layout_and_fix():
    m = pyhf.simplemodels.uncorrelated_background([5.0, 3.0], [10.0, 4.0], [2.0, 1.0])
    lay = ParameterLayout.from_pyhf(m.config)
    assert lay.kind("mu") is ParameterKind.NORMFACTOR
    assert lay.entry("uncorr_bkguncrt").constraint == "poisson"
    assert lay.theory_values(lay.inits) == {}
    vec, mask = lay.fix({"mu": 2.0})
    assert vec.tolist() == [2.0, 1.0, 1.0] and mask.tolist() == [True, False, False]
    vec, mask = lay.fix(["uncorr_bkguncrt"], kinds=[ParameterKind.NORMFACTOR])
    assert mask.all() and vec.tolist() == [1.0, 1.0, 1.0]
