"""Several reweightings in one model (B -> K and B -> K* samples sharing Wilson coefficients)."""

from __future__ import annotations

import numpy as np
import pyhf
import pytest

import redist
from redist.exceptions import ModelSpecError


def _workspace():
    def chan(name, sig):
        return {
            "name": name,
            "samples": [
                {"name": "signal", "data": sig, "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
                {"name": "bkg", "data": [50.0, 40.0, 30.0],
                 "modifiers": [{"name": f"bkg_{name}", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}]},
            ],
        }

    return {
        "channels": [chan("K", [5.0, 6.0, 2.0]), chan("Kstar", [3.0, 4.0, 1.0])],
        "observations": [{"name": "K", "data": [60, 45, 33]}, {"name": "Kstar", "data": [55, 41, 31]}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


def _density(seed, edges):
    rng = np.random.default_rng(seed)
    return redist.JointDensity.from_array(rng.uniform(0.1, 1.0, size=(3, len(edges) - 1)), edges)


def test_two_processes_share_parameters():
    pyhf.set_backend("numpy")
    ek = np.linspace(0, 22.0, 12)
    es = np.linspace(0, 19.0, 10)
    par = ("cVL", "cTL")
    rw_k = redist.Reweighting("bk", redist.get_theory("wet", process="B+->K+nunu"), [ek], parameters=par)
    rw_s = redist.Reweighting("bks", redist.get_theory("wet", process="B0->K*0nunu"), [es], parameters=par)
    dk, ds = _density(1, ek), _density(2, es)
    rm = redist.reinterpret(
        _workspace(), {("K", "signal"): dk, ("Kstar", "signal"): ds},
        {("K", "signal"): rw_k, ("Kstar", "signal"): rw_s}, prune=["mu"],
    )
    cfg = rm.model.config
    assert cfg.par_order.count("cVL") == 1
    assert {"ff_BtoK_GKvD2018", "ff_BtoKstar_GKvD2018"} <= set(cfg.par_order)
    point = {"cVL": 9.0, "cTL": 1.5}
    exp = rm.model.main_model.expected_data(rm.init_pars(**point), return_by_sample=True)
    sig = cfg.samples.index("signal")
    for ch, rw, d, nom in (("K", rw_k, dk, [5.0, 6.0, 2.0]), ("Kstar", rw_s, ds, [3.0, 4.0, 1.0])):
        n = d.values()
        want = np.asarray(nom) * (n @ rw.weights_at(point)) / n.sum(axis=1)
        np.testing.assert_allclose(exp[sig][cfg.channel_slices[ch]], want, rtol=1e-12)
    # the tensor term dominates K*: same cTL, much larger relative effect there
    f = rm.factors({"cTL": 3.0})
    assert f[("Kstar", "signal")].min() > f[("K", "signal")].max()


def test_conflicting_shared_parameter_settings():
    e = np.linspace(0, 19.0, 5)
    th = redist.get_theory("wet")
    rw1 = redist.Reweighting("a", th, [e], parameters=("cVL",), bounds={"cVL": (0, 20)})
    rw2 = redist.Reweighting("b", th, [e], parameters=("cVL",), bounds={"cVL": (-5, 20)})
    with pytest.raises(ModelSpecError, match="'cVL' is shared by several reweightings with different settings"):
        redist.reinterpret(
            _workspace(), {("K", "signal"): _density(1, e), ("Kstar", "signal"): _density(2, e)},
            {("K", "signal"): rw1, ("Kstar", "signal"): rw2}, prune=["mu"],
        )
