#!/bin/sh
# Limits on cTL of the Belle II WET likelihood (cVL, cSL profiled, every nuisance profiled):
#  1. `redist limit --method asymptotic` refuses (the rate is quadratic in cTL);
#  2. `redist limit` (auto -> toys, q~mu, expected bands from background-only toys);
#  3. the profile -2 Delta ln L of cTL (`redist scan`), to compare with the toy-calibrated threshold.
# Outputs: examples/output/belle2_limit_cTL.{json,txt,png}, belle2_limit_asymptotic.txt,
#          belle2_scan_cTL.json
set -e
cd "$(dirname "$0")/.."
OUT=examples/output
mkdir -p "$OUT"
MODEL=$(mktemp -d)/belle2.json
.venv/bin/python -c "import redist, redist.demo as d; redist.save('$MODEL', d.belle2_model())"
.venv/bin/redist limit "$MODEL" --par cTL --method asymptotic > "$OUT/belle2_limit_asymptotic.txt" 2>&1 \
  || echo "exit status $?" >> "$OUT/belle2_limit_asymptotic.txt"
uptime > "$OUT/belle2_limit_cTL.load"
nice -n 10 .venv/bin/redist limit "$MODEL" --par cTL=4:20:9 --n-toys 100 --seed 0 \
  -o "$OUT/belle2_limit_cTL.json" --plot "$OUT/belle2_limit_cTL.png" > "$OUT/belle2_limit_cTL.txt" 2>&1 \
  || echo "exit status $?" >> "$OUT/belle2_limit_cTL.txt"
uptime >> "$OUT/belle2_limit_cTL.load"
nice -n 10 .venv/bin/redist scan "$MODEL" --par cTL=0:20:21 -o "$OUT/belle2_scan_cTL.json" -q
