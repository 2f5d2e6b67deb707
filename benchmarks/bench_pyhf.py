"""Plain pyhf floor: the published workspaces without any reweighting.

The synthetic and Belle II workspaces as published (signal strength ``mu``,
no theory), numpy backend and ``pyhf.infer.mle.fit`` with Minuit -- the cost of
the likelihood itself, which no reinterpretation can go below.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import common
import numpy as np
import pyhf

pyhf.set_backend("numpy", "minuit")


def build(workspace: dict[str, Any]) -> tuple[Any, list[float]]:
    ws = pyhf.Workspace(workspace)
    model = ws.model()
    return model, ws.data(model)


def mle(model: Any, data: Any, init: Any, fixed: Any) -> dict[str, Any]:
    best, twice_nll, res = pyhf.infer.mle.fit(
        data,
        model,
        init_pars=list(init),
        fixed_params=fixed,
        return_fitted_val=True,
        return_result_obj=True,
    )
    return {
        "x": np.asarray(best),
        "twice_nll": float(twice_nll),
        "converged": bool(res.success),
        "nfev": int(getattr(res, "nfev", -1)),
    }


def bench(workspace: dict[str, Any], cfg: dict[str, Any], *, scan: list[float] | None) -> dict[str, Any]:
    res: dict[str, Any] = {}
    res["build"] = common.median_time(lambda i: build(workspace), cfg["build_repeats"])
    model, data = build(workspace)
    res["npars"] = model.config.npars
    p0 = np.asarray(model.config.suggested_init(), dtype=float)
    poi = model.config.poi_index

    def lp(i: int) -> Any:
        p = p0.copy()
        p[poi] = 1.0 + 1e-3 * i
        return model.logpdf(p, data)

    res["logpdf"] = common.median_time(lp, cfg["repeats"], min_total=cfg["min_total"])
    fixed = model.config.suggested_fixed()
    if cfg["fit_repeats"] == 0:
        return res
    fits = [common.timed(lambda: mle(model, data, p0, fixed)) for _ in range(cfg["fit_repeats"])]
    best = fits[-1][1]
    res["fit"] = {
        "median_s": float(np.median([t for t, _ in fits])),
        "n": len(fits),
        "twice_nll": best["twice_nll"],
        "mu_hat": float(best["x"][poi]),
        "converged": best["converged"],
        "nfev": best["nfev"],
    }
    if scan is not None:
        fx = list(fixed)
        fx[poi] = True

        def one(v: float) -> float:
            p = best["x"].copy()
            p[poi] = v
            return mle(model, data, p, fx)["twice_nll"]

        t, prof = common.timed(lambda: [one(v) for v in scan])
        res["scan1d"] = {
            "points_run": len(scan),
            "points_nominal": len(scan),
            "total_s": t,
            "per_point_s": t / len(scan),
            "extrapolated_s": t,
            "values": scan,
            "twice_nll": prof,
        }
    return res


def belle2_rss() -> dict[str, Any]:
    before = common.peak_rss_mib()
    ws, _, _ = common.load_belle2()
    model, data = build(ws)
    model.logpdf(np.asarray(model.config.suggested_init()), data)
    return {"after_imports_mib": before, "peak_mib": common.peak_rss_mib()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(common.OUT / "synthetic.json"))
    ap.add_argument("--out", default=str(common.OUT / "pyhf.json"))
    ap.add_argument("--config", default="{}")
    ap.add_argument("--rss", action="store_true")
    args = ap.parse_args()
    if args.rss:
        common.write_json(args.out, belle2_rss())
        return
    cfg = json.loads(args.config)
    c = {**cfg["common"], **cfg.get("pyhf", {})}
    d = common.load_synthetic(args.model)
    out: dict[str, Any] = {"package": f"pyhf {pyhf.__version__}", "env": common.env_info()}
    print("[pyhf] synthetic", flush=True)
    out["synthetic"] = bench(d["workspace"], c, scan=list(np.linspace(0.0, 4.0, 21)))
    print("[pyhf] Belle II", flush=True)
    ws, _, _ = common.load_belle2()
    out["belle2"] = bench(ws, {**c, "fit_repeats": 1 if c["belle2_fit"] else 0}, scan=None)
    common.write_json(args.out, out)


if __name__ == "__main__":
    main()
