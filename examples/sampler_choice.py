"""blackjax or numpyro for NUTS? The same log density, the same algorithm, measured.

Both run window adaptation (diagonal mass matrix, target acceptance 0.8) and NUTS
on the Belle II WET posterior (cVL, cSL, cTL uniform on [0, 20], all 239
parameters sampled on the real line) built by :mod:`redist.infer.nuts`, from the
same starting point, one chain after the other. Reported: compile + first chain,
the later chains, and the bulk ESS per second of cVL, cSL, cTL.

Run: ``nice -n 10 .venv/bin/python examples/sampler_choice.py`` (numpyro must be
importable; it is not a dependency of redist). Output:
``examples/output/sampler_choice.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np

from redist import engine
from redist.demo import belle2_model
from redist.infer.nuts import Transform, chain_function, make_logdensity, run_chain

N_CHAINS, N_WARM, N_DRAW = 2, 500, 500
OUT = Path(__file__).parent / "output" / "sampler_choice.json"


def main() -> None:
    rm = belle2_model()
    lik = engine.likelihood(rm)
    t = lik.tensors
    free = np.flatnonzero(~np.asarray(t.fixed, bool))
    b = np.asarray(t.bounds)[free]
    tr = Transform(b[:, 0], b[:, 1])
    logdensity = make_logdensity(lik.logpdf_fn, t.data, np.asarray(t.init, float), free, tr)
    cols = [int(np.flatnonzero(free == rm.layout.index(n))[0]) for n in ("cVL", "cSL", "cTL")]
    x0 = np.asarray(t.init, float)[free].copy()
    x0[cols] = [8.0, 5.0, 5.0]
    u0 = tr.inverse(x0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az

    def ess(draws: np.ndarray) -> list[float]:
        x = np.array([[tr.forward(q)[0][cols] for q in c] for c in draws])
        ds = az.convert_to_dataset({"v": x})
        return [float(v) for v in az.ess(ds, method="bulk")["v"].values]

    result: dict[str, object] = {"load_before": os.getloadavg()[0], "chains": N_CHAINS,
                                 "warmup": N_WARM, "draws": N_DRAW}  # fmt: skip
    # blackjax (what redist uses)
    fn = chain_function(logdensity, N_WARM, N_DRAW)
    times, draws = [], []
    for c in range(N_CHAINS):
        t0 = time.perf_counter()
        out = run_chain(fn, 0, c, u0)
        times.append(time.perf_counter() - t0)
        draws.append(out.position)
    e = ess(np.array(draws))
    result["blackjax"] = {"first_chain_s": times[0], "later_chain_s": float(np.mean(times[1:])),
                          "ess_bulk": e, "ess_per_s_later": [v / sum(times[1:]) * (N_CHAINS - 1) / N_CHAINS
                                                             for v in e]}  # fmt: skip
    # numpyro, same potential (minus the log density on the real line)
    try:
        import jax
        from numpyro.infer import MCMC, NUTS
    except ImportError:
        result["numpyro"] = "not installed"
    else:
        times, draws = [], []
        kernel = NUTS(potential_fn=lambda u: -logdensity(u), target_accept_prob=0.8)
        mcmc = MCMC(kernel, num_warmup=N_WARM, num_samples=N_DRAW, num_chains=1, progress_bar=False)
        for c in range(N_CHAINS):
            t0 = time.perf_counter()
            mcmc.run(jax.random.key(c), init_params=jax.numpy.asarray(u0))
            pos = np.asarray(mcmc.get_samples())
            times.append(time.perf_counter() - t0)
            draws.append(pos)
        e = ess(np.array(draws))
        result["numpyro"] = {"first_chain_s": times[0], "later_chain_s": float(np.mean(times[1:])),
                             "ess_bulk": e, "ess_per_s_later": [v / sum(times[1:]) * (N_CHAINS - 1) / N_CHAINS
                                                                for v in e]}  # fmt: skip
    result["load_after"] = os.getloadavg()[0]
    result["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
