#!/bin/sh
# NUTS posterior of the Belle II B+ -> K+ nu nu likelihood in WET (cVL, cSL, cTL uniform on
# [0, 20], every nuisance sampled), with the defaults of `redist sample`, for two seeds.
# Outputs: examples/output/belle2_posterior_seed{0,1}.json (and the load beside the timing).
set -e
cd "$(dirname "$0")/.."
OUT=examples/output
mkdir -p "$OUT"
MODEL=$(mktemp -d)/belle2.json
.venv/bin/python -c "import redist, redist.demo as d; redist.save('$MODEL', d.belle2_model())"
for SEED in 0 1; do
  uptime > "$OUT/belle2_posterior_seed$SEED.load"
  nice -n 10 .venv/bin/redist sample "$MODEL" --seed "$SEED" -o "$OUT/belle2_posterior_seed$SEED.json" \
    > "$OUT/belle2_posterior_seed$SEED.txt" 2>&1 || echo "exit $?" >> "$OUT/belle2_posterior_seed$SEED.txt"
  uptime >> "$OUT/belle2_posterior_seed$SEED.load"
done
