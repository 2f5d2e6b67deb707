"""Seed-to-seed check of the Belle II NUTS posteriors written by ``belle2_posterior.sh``.

For cVL, cSL and cTL it recomputes the summaries from the stored draws (the code of
:func:`redist.infer.bayes.summarize_draws`, as ``redist sample`` does), draws the
corner plot of seed 0 (``docs/_static/stat_corner.png``), compares the two seeds
(difference / combined Monte Carlo error), and rewrites the two JSON files
without the draws (``"samples"`` dropped, ~2 MB each) so that they can be committed.

Run: ``.venv/bin/python examples/belle2_posterior_summary.py``.
Output: ``examples/output/belle2_posterior_seeds.json``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from redist.infer.bayes import PosteriorResult, summarize_draws
from redist.report.figures import corner_figure, save_figure

OUT = Path(__file__).parent / "output"
NAMES = ("cVL", "cSL", "cTL")
KEYS = ("mode", "hpd95", "hpd68", "central95")


def main() -> None:
    docs = {s: json.loads((OUT / f"belle2_posterior_seed{s}.json").read_text()) for s in (0, 1)}
    summaries = {}
    for seed, doc in docs.items():
        if "samples" not in doc:  # already stripped: keep its summary
            summaries[seed] = doc["summary"]
            continue
        res = PosteriorResult.from_dict(doc)
        for name in NAMES:
            j = res.labels.index(name)
            s = summarize_draws(res.chains[:, :, j], (0.0, 20.0))
            doc["summary"][name] = {k: v for k, v in s.items()}
        summaries[seed] = doc["summary"]
        if seed == 0:
            save_figure(corner_figure(res, list(NAMES)), Path("docs/_static/stat_corner.png"))
        for k in ("samples", "log_posterior"):
            doc.pop(k, None)
        text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
        (OUT / f"belle2_posterior_seed{seed}.json").write_text(text)
    comparison: dict[str, dict[str, object]] = {}
    for name in NAMES:
        a, b = summaries[0][name], summaries[1][name]
        row: dict[str, object] = {}
        for key in KEYS:
            va, vb = np.atleast_1d(a[key]), np.atleast_1d(b[key])
            ea = np.atleast_1d(a.get(f"mcse_{key}", np.nan))
            eb = np.atleast_1d(b.get(f"mcse_{key}", np.nan))
            pull = np.abs(va - vb) / np.hypot(ea, eb)
            row[key] = {"seed0": va.tolist(), "seed1": vb.tolist(), "pull": [float(p) for p in pull]}
        row["rhat"] = [a["rhat"], b["rhat"]]
        row["ess_bulk"] = [a["ess_bulk"], b["ess_bulk"]]
        comparison[name] = row
    worst = max(p for r in comparison.values() for k in KEYS for p in r[k]["pull"] if math.isfinite(p))  # type: ignore[index]
    out = {
        "comparison": comparison,
        "max_pull": worst,
        "wall_s": [docs[s]["wall_s"] for s in (0, 1)],
        "converged": [docs[s]["converged"] for s in (0, 1)],
    }
    (OUT / "belle2_posterior_seeds.json").write_text(json.dumps(out, indent=1) + "\n")
    for name, r in comparison.items():
        print(name, {k: (r[k]["seed0"], r[k]["seed1"], [round(p, 2) for p in r[k]["pull"]]) for k in KEYS})  # type: ignore[index]
    print("largest |difference| / combined MCSE:", round(worst, 2))


if __name__ == "__main__":
    main()
