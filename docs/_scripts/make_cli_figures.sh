#!/usr/bin/env bash
# The figures and the report screenshot of docs/_static/cli_*.png, made with the commands users run.
# Usage: bash docs/_scripts/make_cli_figures.sh [WORKDIR]   (about 5 minutes on 2 loaded cores)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/docs/_static"
W="${1:-$(mktemp -d)}"
mkdir -p "$W" && cd "$W"
export MPLBACKEND=Agg
python -c "import redist, redist.demo; redist.save('model.json', redist.demo.belle2_model())"
redist fit model.json -o fit.json -q
redist plot fit.json --model model.json --output-dir . -q                      # pulls, correlation, templates
redist scan model.json --par cVL=0:20:21 -o scan_cVL.json --plot profile.png -q
redist scan model.json --par cVL=0:20:11 --par cTL=0:15:11 -o scan_2d.json --plot contour.png -q
redist impacts model.json --poi cVL --top 10 -o impacts.json --plot impacts.png -q
redist sample model.json --prior cVL=uniform:0:20 --prior cSL=uniform:0:20 --prior cTL=uniform:0:20 \
    --n-samples 3000 --n-burn 1000 --chains 4 --thin 5 -o posterior.json --plot corner.png -q
# CLs on the full 239-parameter model takes minutes in pyhf: the CLs figure uses the HTA channel alone
python - <<'PY'
import pyhf, redist, redist.demo
from redist.modifier import Reweighting
from redist.theory import get_theory
ws, dens, edges = redist.demo.belle2_data()
others = [c["name"] for c in ws["channels"] if c["name"] != "sgn1_had"]
hta = dict(pyhf.Workspace(ws).prune(channels=others))
rw = Reweighting(name="wet", theory=get_theory("wet", process="B+->K+nunu"), z_edges=[edges],
                 parameters=("cVL", "cTL"), bounds={"cVL": (0.0, 20.0), "cTL": (0.0, 20.0)},
                 nuisance_groups=False, cutoff=list(redist.demo.BELLE2_CUTOFF))
rm = redist.reinterpret(hta, {k: v for k, v in dens.items() if k[0] == "sgn1_had"}, rw,
                        prune=list(redist.demo.BELLE2_PRUNE))
redist.save("model_hta.json", rm)
PY
redist limit model_hta.json --par cTL=0.5:15:16 --fix cVL=init -o limit.json --plot cls.png -q
redist report fit.json scan_cVL.json scan_2d.json impacts.json posterior.json limit.json -o report.html -q
for f in fit_templates_postfit fit_pulls fit_correlation profile contour impacts corner cls; do
  cp "$f.png" "$OUT/cli_$f.png"
done
# the report as a browser shows it (headless Chromium, like the browser test)
python - "$W/report.html" "$OUT/cli_report.png" <<'PY'
import shutil, sys
from playwright.sync_api import sync_playwright
exe = shutil.which("chromium") or shutil.which("chromium-browser")
with sync_playwright() as pw:
    b = pw.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu"])
    page = b.new_page(viewport={"width": 1280, "height": 1400})
    page.goto("file://" + sys.argv[1])
    page.screenshot(path=sys.argv[2])
    b.close()
PY
echo "wrote $OUT/cli_*.png (work directory $W)"
