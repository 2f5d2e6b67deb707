#!/bin/sh
# Bayes factor WET vs SM on the Belle II B+ -> K+ nu nu likelihood:
#   H0 (SM):  cVL at its SM value (the model's initial value), cSL = cTL = 0;
#   H1 (WET): cVL, cSL, cTL uniform on [0, 20];
# every nuisance parameter (form factors included) integrated by the Laplace approximation.
# H1 with two seeds (run in parallel; 60 live points: each likelihood call is a Laplace
# integral over 236 nuisances, about 0.1 CPU-second).
# Outputs: examples/output/belle2_evidence_{sm,wet_seed0,wet_seed1}.{json,txt}
set -e
cd "$(dirname "$0")/.."
OUT=examples/output
mkdir -p "$OUT"
MODEL=$(mktemp -d)/belle2.json
NLIVE=${NLIVE:-60}
.venv/bin/python -c "import redist, redist.demo as d; redist.save('$MODEL', d.belle2_model())"
uptime > "$OUT/belle2_evidence.load"
if [ ! -f "$OUT/belle2_evidence_sm.json" ]; then
  nice -n 10 .venv/bin/redist evidence "$MODEL" --fix cVL=init --fix cSL=0 --fix cTL=0 \
    -o "$OUT/belle2_evidence_sm.json" > "$OUT/belle2_evidence_sm.txt" 2>&1
fi
for SEED in 0 1; do
  nice -n 10 .venv/bin/redist evidence "$MODEL" --par cVL=0:20 --par cSL=0:20 --par cTL=0:20 \
    --n-live "$NLIVE" --seed "$SEED" --versus "$OUT/belle2_evidence_sm.json" \
    -o "$OUT/belle2_evidence_wet_seed$SEED.json" > "$OUT/belle2_evidence_wet_seed$SEED.txt" 2>&1 &
done
wait
uptime >> "$OUT/belle2_evidence.load"
