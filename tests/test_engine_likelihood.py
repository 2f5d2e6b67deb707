"""redist.engine's fused likelihood equals pyhf's logpdf (issue 12, item 1).

References: pyhf's numpy backend ``Model.logpdf`` (values, 1e-10 relative),
pyhf's jax backend ``jax.grad`` of ``Model.logpdf`` and central finite
differences of pyhf's numpy logpdf (gradients), and the engine's own
gradient differentiated by finite differences (Hessian, HVP).
"""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pyhf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redist import engine

#: every test here compiles with jax (the `jax` marker skips them without it)
pytestmark = pytest.mark.jax

RTOL = 1e-10


def _close(a: float, b: float, rtol: float = RTOL) -> bool:
    return a == b or (np.isnan(a) and np.isnan(b)) or abs(a - b) <= rtol * max(abs(b), 1.0)


# ------------------------------------------------------------------ generated workspaces
SAMPLES = ("sig", "bkg1", "bkg2", "bkg3")


@st.composite
def workspaces(draw: st.DrawFn) -> tuple[dict, dict, list[np.ndarray]]:
    """A pyhf workspace exercising every modifier type, shared/vector parameters,
    zero-yield samples, masked staterror/shapesys bins and undefined samples;
    the modifier settings (interpolation codes); parameter points to test at."""
    n_ch = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    channels, observations = [], []
    lumi = False
    for c in range(n_ch):
        ch = f"ch{c}"
        nb = draw(st.integers(1, 4))
        present = [s for s in SAMPLES if (s == "sig" and c == 0) or draw(st.booleans())] or ["bkg1"]
        samples = []
        for s in present:
            zero = s != "sig" and draw(st.integers(0, 5)) == 0  # a zero-yield sample
            nom = np.zeros(nb) if zero else rng.uniform(0.0, 40.0, nb) * (rng.uniform(size=nb) > 0.15)
            mods: list[dict] = []
            if s == "sig":
                mods.append({"name": "mu", "type": "normfactor", "data": None})
            if draw(st.booleans()):
                mods.append({"name": "k_norm", "type": "normfactor", "data": None})
            if draw(st.booleans()):
                lumi = True
                mods.append({"name": "lumi", "type": "lumi", "data": None})
            for name in ("n1", "n2"):
                if draw(st.booleans()):
                    hi, lo = rng.uniform(1.01, 1.4), rng.uniform(0.6, 0.99)
                    if draw(st.booleans()):
                        hi, lo = lo, hi  # anti-correlated variation
                    mods.append({"name": name, "type": "normsys", "data": {"hi": hi, "lo": lo}})
            for name in ("h1", "h2"):
                if draw(st.booleans()):
                    mods.append(
                        {
                            "name": name,
                            "type": "histosys",
                            "data": {
                                "hi_data": (nom * rng.uniform(0.7, 1.4, nb) + rng.uniform(0, 1, nb)).tolist(),
                                "lo_data": (nom * rng.uniform(0.6, 1.3, nb)).tolist(),
                            },
                        }
                    )
            if draw(st.booleans()):
                unc = rng.uniform(0.0, 3.0, nb) * (rng.uniform(size=nb) > 0.2)
                mods.append({"name": f"stat_{ch}", "type": "staterror", "data": unc.tolist()})
            if draw(st.integers(0, 3)) == 0:
                unc = rng.uniform(0.0, 3.0, nb) * (rng.uniform(size=nb) > 0.2)
                mods.append({"name": f"ss_{ch}_{s}", "type": "shapesys", "data": unc.tolist()})
            if draw(st.integers(0, 3)) == 0:
                mods.append({"name": f"sf_{ch}", "type": "shapefactor", "data": None})
            samples.append({"name": s, "data": nom.tolist(), "modifiers": mods})
        channels.append({"name": ch, "samples": samples})
        observations.append({"name": ch, "data": rng.poisson(20.0, nb).astype(float).tolist()})
    params = []
    if lumi:
        params.append({"name": "lumi", "auxdata": [1.0], "sigmas": [0.05], "bounds": [[0.5, 1.5]], "inits": [1.0]})
    spec = {
        "channels": channels,
        "observations": observations,
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": params}}],
        "version": "1.0.0",
    }
    settings_ = {
        "normsys": {"interpcode": draw(st.sampled_from(["code1", "code4"]))},
        "histosys": {"interpcode": draw(st.sampled_from(["code0", "code4p"]))},
    }
    return spec, settings_, [rng.uniform(size=64) for _ in range(3)]


def _points(model: pyhf.pdf.Model, uniforms: list[np.ndarray]) -> list[np.ndarray]:
    """Suggested init plus points spread inside the bounds (alphas beyond +-1 included)."""
    cfg = model.config
    init = np.asarray(cfg.suggested_init(), dtype=float)
    bounds = np.asarray(cfg.suggested_bounds(), dtype=float)
    out = [init]
    for u in uniforms:
        u = np.resize(u, init.size)
        span = np.minimum(bounds[:, 1], init + 2.5) - np.maximum(bounds[:, 0], init - 2.5)
        out.append(np.maximum(bounds[:, 0], init - 2.5) + u * span)
    return out


# bounded: each example builds a pyhf model and compiles one executable (about 0.3 s idle)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspaces())
def test_generated_workspaces_equal_pyhf(case: tuple[dict, dict, list[np.ndarray]]) -> None:
    pytest.importorskip("jax")
    spec, mod_settings, uniforms = case
    ws = pyhf.Workspace(spec)
    model = ws.model(modifier_settings=mod_settings)
    data = np.asarray(ws.data(model), dtype=float)
    t = engine.model_tensors(model)
    assert t.names == tuple(model.config.par_order)
    np.testing.assert_array_equal(t.init, model.config.suggested_init())
    np.testing.assert_array_equal(t.fixed, model.config.suggested_fixed())
    import jax

    points = np.asarray(_points(model, uniforms))
    f = jax.jit(jax.vmap(engine.make_logpdf(t), in_axes=(0, None)))  # one compilation per example
    got = np.asarray(f(points, data))
    for p, g in zip(points, got):
        ref = float(model.logpdf(p, data)[0])
        assert _close(float(g), ref), (float(g), ref, mod_settings)


def test_every_modifier_and_code_is_generated() -> None:
    """The strategy above really produces each modifier type and code (no vacuous pass)."""
    seen_types: set[str] = set()
    seen_codes: set[str] = set()

    @settings(max_examples=60, deadline=None, database=None)
    @given(workspaces())
    def collect(case: tuple[dict, dict, list[np.ndarray]]) -> None:
        spec, mod_settings, _ = case
        seen_codes.update(v["interpcode"] for v in mod_settings.values())
        for ch in spec["channels"]:
            for s in ch["samples"]:
                seen_types.update(m["type"] for m in s["modifiers"])

    collect()
    assert seen_types == {"normfactor", "lumi", "normsys", "histosys", "staterror", "shapesys", "shapefactor"}
    assert seen_codes == {"code0", "code1", "code4", "code4p"}


def _rich_workspace() -> tuple[pyhf.Workspace, dict]:
    case = {
        "channels": [
            {
                "name": "A",
                "samples": [
                    {
                        "name": "sig",
                        "data": [5.0, 8.0, 0.0],
                        "modifiers": [
                            {"name": "mu", "type": "normfactor", "data": None},
                            {"name": "lumi", "type": "lumi", "data": None},
                            {"name": "h1", "type": "histosys",
                             "data": {"hi_data": [6.0, 9.0, 0.5], "lo_data": [4.5, 7.0, 0.0]}},
                            {"name": "statA", "type": "staterror", "data": [1.0, 1.5, 0.0]},
                        ],
                    },
                    {
                        "name": "bkg",
                        "data": [30.0, 20.0, 0.0],
                        "modifiers": [
                            {"name": "n1", "type": "normsys", "data": {"hi": 1.2, "lo": 0.85}},
                            {"name": "h1", "type": "histosys",
                             "data": {"hi_data": [33.0, 21.0, 0.0], "lo_data": [28.0, 19.5, 0.0]}},
                            {"name": "statA", "type": "staterror", "data": [2.0, 1.0, 0.0]},
                            {"name": "ssA", "type": "shapesys", "data": [3.0, 0.0, 1.0]},
                        ],
                    },
                ],
            },
            {
                "name": "B",
                "samples": [
                    {
                        "name": "bkg",
                        "data": [12.0, 9.0],
                        "modifiers": [
                            {"name": "n1", "type": "normsys", "data": {"hi": 1.1, "lo": 0.95}},
                            {"name": "sfB", "type": "shapefactor", "data": None},
                            {"name": "lumi", "type": "lumi", "data": None},
                        ],
                    },
                ],
            },
        ],
        "observations": [{"name": "A", "data": [40.0, 25.0, 0.0]}, {"name": "B", "data": [11.0, 10.0]}],
        "measurements": [
            {
                "name": "m",
                "config": {
                    "poi": "mu",
                    "parameters": [{"name": "lumi", "auxdata": [1.0], "sigmas": [0.02], "bounds": [[0.8, 1.2]],
                                    "inits": [1.0]}],
                },
            }
        ],
        "version": "1.0.0",
    }
    return pyhf.Workspace(case), {"normsys": {"interpcode": "code4"}, "histosys": {"interpcode": "code4p"}}


def test_masked_bins_and_fixed_components_follow_pyhf() -> None:
    ws, mod_settings = _rich_workspace()
    model = ws.model(modifier_settings=mod_settings)
    t = engine.model_tensors(model)
    # staterror bin with zero total yield, shapesys bins with zero uncertainty or zero yield:
    # fixed, as pyhf; shapesys Poisson factors (nominal / uncertainty)^2, 1 where masked
    assert t.fixed.tolist() == list(model.config.suggested_fixed())
    assert [t.labels[i] for i in np.flatnonzero(t.fixed)] == ["ssA[1]", "ssA[2]", "statA[2]"]
    assert t.pois_factor.tolist() == [100.0, 1.0, 1.0]


def test_gradients_equal_pyhf_jax() -> None:
    jax = pytest.importorskip("jax")
    ws, mod_settings = _rich_workspace()
    data = None
    rng = np.random.default_rng(3)
    with pyhf_backend("jax"):
        model = ws.model(modifier_settings=mod_settings)
        data = np.asarray(ws.data(model), dtype=float)
        lik = engine.Likelihood(engine.model_tensors(model))
        init = np.asarray(model.config.suggested_init())
        for _ in range(3):
            p = init + rng.uniform(-1.5, 1.5, init.size) * np.where(init == 0.0, 1.0, 0.2)
            ref = np.asarray(jax.grad(lambda q: -2.0 * model.logpdf(q, data)[0])(jax.numpy.asarray(p)))
            _, got = lik.value_and_grad(p, data)
            np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)


def test_hessian_and_hvp_match_finite_differences_of_the_gradient() -> None:
    pytest.importorskip("jax")
    ws, mod_settings = _rich_workspace()
    model = ws.model(modifier_settings=mod_settings)
    data = np.asarray(ws.data(model), dtype=float)
    lik = engine.Likelihood(engine.model_tensors(model))
    p = np.asarray(model.config.suggested_init()) + 0.13
    h = lik.hessian(p, data)
    eps = 1e-6
    fd = np.stack(
        [(lik.value_and_grad(p + eps * e, data)[1] - lik.value_and_grad(p - eps * e, data)[1]) / (2 * eps)
         for e in np.eye(p.size)]
    )
    np.testing.assert_allclose(h, fd, rtol=1e-6, atol=1e-5)
    v = np.linspace(-1.0, 1.0, p.size)
    np.testing.assert_allclose(lik.hvp(p, data, v), h @ v, rtol=1e-10, atol=1e-9)


# ------------------------------------------------------------------ Belle II
@pytest.fixture(scope="module")
def belle2():
    from redist.demo import belle2_model

    rm = belle2_model()
    return rm, engine.likelihood(rm)


def test_belle2_logpdf_equals_pyhf(belle2) -> None:
    pytest.importorskip("jax")
    rm, lik = belle2
    t = lik.tensors
    model = rm.model
    assert t.npars == 239 and t.n_main == 30
    data = t.data
    np.testing.assert_array_equal(data, np.asarray(rm.data, dtype=float))
    rng = np.random.default_rng(12)
    points = [t.init]
    for _ in range(6):
        p = t.init + rng.normal(0.0, 0.7, t.npars) * np.where(t.init == 0.0, 1.0, 0.05)
        points.append(np.clip(p, t.bounds[:, 0], t.bounds[:, 1]))
    # the best fit of the published analysis (cVL, cTL large, cSL on its bound)
    best = t.init.copy()
    for name, value in (("cVL", 11.48), ("cSL", 0.0), ("cTL", 8.91)):
        best[t.slices[name]] = value
    points.append(best)
    for p in points:
        ref = float(model.logpdf(p, data)[0])
        assert _close(lik.logpdf(p, data), ref), (lik.logpdf(p, data), ref)
        assert _close(lik.value(p, data), -2.0 * ref)


def test_belle2_gradient_matches_pyhf_finite_differences(belle2) -> None:
    pytest.importorskip("jax")
    rm, lik = belle2
    t = lik.tensors
    model = rm.model
    data = t.data
    p = t.init.copy()
    for name, value in (("cVL", 10.0), ("cSL", 3.0), ("cTL", 5.0)):
        p[t.slices[name]] = value
    p[t.slices[t.names[0]]] += 0.3
    _, g = lik.value_and_grad(p, data)
    labels = list(t.labels)
    picks = ["cVL", "cSL", "cTL", labels[0], *[lab for lab in labels if lab.startswith("BSZ")][:3]]
    picks += [lab for lab in labels if lab.startswith("staterror")][:2]
    for lab in picks:
        i = labels.index(lab)
        h = 1e-5 * max(1.0, abs(p[i]))
        e = np.zeros_like(p)
        e[i] = h
        fd = -2.0 * (float(model.logpdf(p + e, data)[0]) - float(model.logpdf(p - e, data)[0])) / (2 * h)
        assert abs(g[i] - fd) <= 1e-5 * max(1.0, abs(fd)), (lab, g[i], fd)


def test_reweighting_factors_equal_the_modifier(belle2) -> None:
    """The adapter's folded kernel path equals Reweighting.weights + migration (the pyhf modifier)."""
    _rm, lik = belle2
    from redist.engine import reweighting_factors

    t = lik.tensors
    block = t.reweightings[0]
    rw = block.reweighting
    f = reweighting_factors(rw, block.binding, block.migration)
    p = _rm.layout.to_vector({"cVL": 9.0, "cSL": 4.0, "cTL": 2.0})
    ref = block.migration @ rw.weights(_rm.layout.theory_values(p, np)[rw.name], np)
    np.testing.assert_allclose(f(p, np), ref, rtol=1e-13)


def test_unsupported_interpolation_code_is_named() -> None:
    from redist.exceptions import ModelSpecError

    ws, _ = _rich_workspace()
    model = ws.model(modifier_settings={"normsys": {"interpcode": "code4"}, "histosys": {"interpcode": "code2"}})
    with pytest.raises(ModelSpecError, match="code2"):
        engine.model_tensors(model)


def test_importing_engine_does_not_import_jax() -> None:
    code = "import redist, redist.engine, sys; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ helpers
class pyhf_backend:
    """Switch pyhf's backend (64-bit) for a block and restore it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        self.old = pyhf.get_backend()
        pyhf.set_backend(self.name, precision="64b")

    def __exit__(self, *exc: object) -> None:
        pyhf.set_backend(*self.old)


def test_workspace_source_brings_data() -> None:
    ws, _ = _rich_workspace()
    t = engine.model_tensors(copy.deepcopy(ws))
    model = ws.model()
    np.testing.assert_array_equal(t.data, ws.data(model))


def _plain_hessian(lik, p, data):
    import jax

    h = np.asarray(jax.jit(jax.jacfwd(jax.grad(lik.twice_nll_fn)))(p, data))
    return 0.5 * (h + h.T)


def test_compressed_hessian_equals_the_plain_one(belle2) -> None:
    """Parameters that share no bin share a tangent (65 instead of 239 on Belle II); exact entries."""
    pytest.importorskip("jax")
    from redist.engine._tensors import hessian_seed

    _, lik = belle2
    t = lik.tensors
    seeds = hessian_seed(t)
    assert seeds is not None and seeds[0].shape[0] < 80
    rng = np.random.default_rng(3)
    for p in (t.init, np.clip(t.init + rng.uniform(-0.4, 0.4, t.npars), t.bounds[:, 0], t.bounds[:, 1])):
        ref = _plain_hessian(lik, p, t.data)
        np.testing.assert_allclose(lik.hessian(p, t.data), ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    # a generated-style model with per-bin staterror and shapesys: compressed as well
    ws, mod_settings = _rich_workspace()
    model = ws.model(modifier_settings=mod_settings)
    data = np.asarray(ws.data(model), dtype=float)
    small = engine.Likelihood(engine.model_tensors(model))
    p = np.asarray(model.config.suggested_init()) + 0.21
    ref = _plain_hessian(small, p, data)
    np.testing.assert_allclose(small.hessian(p, data), ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


# ------------------------------------------------------------------ compile once, reuse everywhere
def test_traced_functions_are_reused_across_likelihoods(tmp_path, monkeypatch) -> None:
    """A second likelihood of the same model (a new process, a Dask worker) loads the traced
    function from the cache directory instead of tracing; a different model does not."""
    pytest.importorskip("jax")
    from jax import export as jex

    from redist.engine import _cache

    model = pyhf.simplemodels.uncorrelated_background([5.0, 3.0], [10.0, 8.0], [2.0, 1.0])
    data = np.array([15.0, 11.0, *model.config.auxdata])
    p = np.array([1.2, 1.01, 0.98])
    engine.configure_compile_cache(directory=tmp_path)
    try:
        first = engine.Likelihood(engine.model_tensors(model))
        ref = first.value_and_grad(p, data)
        stored = list(tmp_path.glob(f"*/{_cache.EXPORT_DIR}/*.jaxexport"))
        assert len(stored) == 1
        calls = []
        real = jex.export
        monkeypatch.setattr(jex, "export", lambda *a, **k: calls.append(1) or real(*a, **k))
        again = engine.Likelihood(engine.model_tensors(model))
        got = again.value_and_grad(p, data)
        assert calls == []  # loaded, not traced
        assert got[0] == ref[0]
        np.testing.assert_array_equal(got[1], ref[1])
        other = pyhf.simplemodels.uncorrelated_background([5.0, 3.0], [10.0, 8.5], [2.0, 1.0])
        engine.Likelihood(engine.model_tensors(other)).value_and_grad(p, data)
        assert calls == [1]  # another model: traced (different fingerprint)
    finally:
        engine.configure_compile_cache()


def test_no_cache_option_turns_the_cache_off(monkeypatch) -> None:
    from click.testing import CliRunner

    from redist.cli import main
    from redist.engine import _cache

    before = engine.compile_cache_dir()
    seen = []
    real = _cache.configure_compile_cache
    monkeypatch.setattr(_cache, "configure_compile_cache", lambda *a, **k: seen.append(k) or real(*a, **k))
    result = CliRunner().invoke(main, ["--no-cache", "theory", "list"])
    assert result.exit_code == 0, result.output
    assert seen[0] == {"enabled": False}
    assert engine.compile_cache_dir() == before  # restored for the rest of the process
