"""B+ -> K+ X from the Belle II B+ -> K+ nu nu likelihood, through the Python API.

The same study as ``redist demo --study b2kx --output examples/b2kx`` (whose outputs are
committed in ``examples/b2kx/``), step by step:

1. the theory ``bkx``: m_X and width_X are non-linear parameters with exact gradients;
2. the model: the published likelihood with its signal reweighted to SM + X;
3. one fit with the mass free, gradients checked against finite differences;
4. the whole study (profile, q0, local and global significance, CLs limits vs m_X for a
   narrow X and Gamma_X = 0.1 GeV, posterior and Bayes factor): :func:`redist.b2kx.run`.

Run: ``python examples/b2kx_study.py [OUTPUT_DIR] [--quick]`` (``--quick``: 30 mass points and
40 toys, a couple of minutes; the default is the full study, see docs/b2kx.md for timings).
"""

from __future__ import annotations

import json
import sys

import numpy as np

import redist
from redist import engine
from redist.b2kx import b2kx_model, run
from redist.kernels import BinKernel
from redist.progress import StreamProgress


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    out = args[0] if args else "b2kx-study"

    # 1. the theory: SM B+ -> K+ nu nu (WET at its defaults) + a Breit-Wigner X in q2
    th = redist.get_theory("bkx", process="B+->K+X")
    print("non-linear parameters:", th.nonlinear_parameters)
    k = BinKernel(th, [np.linspace(0.0, 22.885, 101)])
    v = th.resolve({"m_X": 2.0, "width_X": 0.0, "BR_X": 9.0})
    x_part = np.asarray(k.rates(v)) - np.asarray(k.rates(th.resolve({})))
    print(f"narrow X at 2 GeV: {x_part.sum():.3e} of BR in bin {int(np.argmax(x_part))} (q2 = 4 GeV^2)")

    # 2. the model: m_X, width_X and BR_X are ordinary parameters of the pyhf/redist model
    rm = b2kx_model(width_X=None)  # m_X and width_X free
    lay = rm.layout
    print("theory parameters:", [n for n in lay.names if n in ("m_X", "width_X", "BR_X")])

    # 3. one fit with the compiled likelihood (batched Newton minimiser), mass and width free
    lik = engine.likelihood(rm)
    start = lay.to_vector({"m_X": 2.1, "width_X": 0.1, "BR_X": 8.0})
    res = engine.minimize(lik, init=start)
    best = dict(zip(("m_X", "width_X", "BR_X"), (float(res.x[0, lay.index(n)]) for n in
                                                   ("m_X", "width_X", "BR_X"))))  # fmt: skip
    print("best fit (width free):", {n: round(x, 3) for n, x in best.items()})
    # exact gradients: d(-2 ln L)/d m_X equals a finite difference (away from the minimum)
    p = np.array(start, dtype=float)
    _, g = lik.value_and_grad(p, rm.data)
    i, h = lay.index("m_X"), 1e-5
    e = np.eye(len(p))[i] * h
    fd = (lik.value(p + e, rm.data) - lik.value(p - e, rm.data)) / (2 * h)
    print(f"d(-2lnL)/dm_X: jax {g[i]:.6g}, finite difference {fd:.6g}")

    # 4. the study (writes OUTPUT_DIR/results.json and the figures)
    kw = {"n_masses": 30, "n_toys": 40, "n_toy_masses": 8, "nuts": False} if quick else {}
    results = run(out, progress=StreamProgress(every=10.0), **kw)
    keys = ("best", "q0", "z_local", "z_global", "ln_bayes_factor")
    print(json.dumps({key: results[key] for key in keys}, indent=1))
    print("posterior m_X HPD68:", results["posterior"]["m_X"]["hpd68"],
          "BR_X HPD68:", results["posterior"]["BR_X"]["hpd68"])  # fmt: skip


if __name__ == "__main__":
    main()
