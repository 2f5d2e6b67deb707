"""Where the time of the issue-12 benchmarks goes (Belle II WET model): the profiles of docs/benchmarks.md.

Usage::

    python benchmarks/profile_engine.py [--cache DIR]

Prints, with ``uptime`` beside each block:

1. the phases of ``redist fit model.json`` in one process (wall and CPU seconds):
   imports, model load, engine build, loading or compiling value+gradient and the
   Hessian, the Minuit fit, with the persistent cache at ``--cache`` (run twice: the
   first run fills it);
2. value+gradient: the dispatch floor of a trivial compiled call with the same
   arguments, the full executable, the same without the reweighting block, and the
   number of XLA kernels (fusions and products) of each;
3. one Newton iteration of the batched minimiser: gradient + compressed Hessian,
   Cholesky and solve (one BLAS thread), 16 line-search values.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

PHASES = r'''
import sys, time
T = [(time.perf_counter(), time.process_time())]
def mark(name):
    w, c = time.perf_counter(), time.process_time()
    print(f"    {name:34s} wall {w - T[-1][0]:6.2f} s   cpu {c - T[-1][1]:6.2f} s")
    T.append((w, c))
import redist.cli; mark("import redist.cli")
import pyhf; mark("import pyhf (scipy.stats)")
import jax; mark("import jax")
from redist.cli._common import load_input
L = load_input(sys.argv[1]); mark("load model file (ReinterpretedModel)")
from redist.infer._objective import objective
o = objective(L.model); mark("engine tensors + likelihood")
t = o.engine.tensors
o.value_and_grad(t.init, t.data); mark("value+gradient: load or compile")
o.hessian(t.init, t.data); mark("Hessian: load or compile")
from redist.infer import fit
r = fit(L.model); mark("fit (Minuit, 3 starts, errors)")
print(f"    {'total':34s} wall {T[-1][0] - T[0][0]:6.2f} s   cpu {T[-1][1] - T[0][1]:6.2f} s"
      f"   ({r.nfcn} evaluations, {r.n_starts} starts)")
'''


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def best_us(fn: Any, n: int = 500, repeat: int = 9) -> tuple[float, float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t0) / n * 1e6)
    return min(out), statistics.median(out)


def kernels(exe: Any) -> dict[str, int]:
    txt = exe.as_text()
    entry = txt[txt.find("ENTRY"):]
    c = Counter(re.findall(r"= \S+ (\w+)\(", entry))
    return {k: c[k] for k in ("fusion", "dot", "concatenate", "scatter", "gather") if c[k]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=None, help="compile cache directory (default: the user's)")
    args = ap.parse_args()
    from redist import engine, save
    from redist.demo import belle2_model

    rm = belle2_model()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "redist-profile-model.json"
    save(tmp, rm)
    env = dict(os.environ)
    if args.cache:
        env["REDIST_COMPILE_CACHE"] = args.cache
    for label in ("first run (fills the cache if empty)", "second run (warm cache)"):
        print(f"1. phases of `redist fit`, {label}   [{uptime()}]", flush=True)
        subprocess.run([sys.executable, "-c", PHASES, str(tmp)], check=True, env=env)

    import jax
    import jax.numpy as jnp

    import redist.engine._likelihood as lk

    lik = engine.likelihood(rm)
    t = lik.tensors
    p, d = t.init.copy(), t.data
    print(f"2. value+gradient (us, min / median of 9 x 500 calls)   [{uptime()}]", flush=True)
    full = lik.executable("vg_flat")
    triv = jax.jit(lambda q, dd: jnp.concatenate([jnp.sum(q)[None], q])).lower(p, d).compile()
    orig = lk.reweighting_factors
    lk.reweighting_factors = lambda rw, b, mig: (lambda pars, xp: xp.ones(mig.shape[0]) * pars[0])
    try:
        _, lp = lk.make_functions(t)
    finally:
        lk.reweighting_factors = orig
    norw = jax.jit(jax.value_and_grad(lambda q, dd: -2.0 * lp(q, dd))).lower(p, d).compile()
    for name, exe in (("trivial call (dispatch floor)", triv), ("without the reweighting block", norw),
                      ("full value+gradient", full)):
        lo, med = best_us(lambda exe=exe: exe(p, d))
        print(f"    {name:34s} {lo:7.1f} / {med:7.1f}   kernels {kernels(exe)}")
    lo, med = best_us(lambda: lik.value_and_grad(p, d))
    print(f"    {'Likelihood.value_and_grad':34s} {lo:7.1f} / {med:7.1f}   (numpy in, numpy out)")

    print(f"3. one Newton iteration (ms, min of 9 x 20)   [{uptime()}]", flush=True)
    from redist.engine._minimize import _single_threaded_lapack

    gh = jax.jit(lik.grad_and_hessian_fn).lower(p, d).compile()
    h = np.asarray(gh(p, d)[1])
    a = h + np.eye(h.shape[0]) * 1e-3
    cs = jax.jit(lambda a, b: jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(a), True), b))
    vals = jax.jit(jax.vmap(lik.twice_nll_fn, in_axes=(0, None)))
    cand = np.tile(p, (16, 1))
    with _single_threaded_lapack():
        for name, fn in (("gradient + compressed Hessian", lambda: jax.block_until_ready(gh(p, d))),
                         ("Cholesky + solve (239 x 239)", lambda: jax.block_until_ready(cs(a, p))),
                         ("16 line-search values", lambda: jax.block_until_ready(vals(cand, d)))):
            fn()
            lo, med = best_us(fn, n=20)
            print(f"    {name:34s} {lo / 1e3:7.2f} / {med / 1e3:7.2f}")
    print(f"   [{uptime()}]")


if __name__ == "__main__":
    main()
