#!/bin/sh
# Bayes factor WET vs SM on the Belle II B+ -> K+ nu nu likelihood:
#   H0 (SM):  cVL at its SM value (the model's initial value), cSL = cTL = 0;
#   H1 (WET): cVL, cSL, cTL uniform on [0, 20];
# every nuisance parameter (form factors included) integrated by the Laplace approximation.
# H1 is run with two seeds. Outputs: examples/output/belle2_evidence_{sm,wet_seed0,wet_seed1}.json
set -e
cd "$(dirname "$0")/.."
OUT=examples/output
mkdir -p "$OUT"
MODEL=$(mktemp -d)/belle2.json
.venv/bin/python -c "import redist, redist.demo as d; redist.save('$MODEL', d.belle2_model())"
uptime > "$OUT/belle2_evidence.load"
nice -n 10 .venv/bin/redist evidence "$MODEL" --fix cVL=init --fix cSL=0 --fix cTL=0 \
  -o "$OUT/belle2_evidence_sm.json" > "$OUT/belle2_evidence_sm.txt" 2>&1
for SEED in 0 1; do
  nice -n 10 .venv/bin/redist evidence "$MODEL" --par cVL=0:20 --par cSL=0:20 --par cTL=0:20 \
    --n-live 250 --seed "$SEED" --versus "$OUT/belle2_evidence_sm.json" \
    -o "$OUT/belle2_evidence_wet_seed$SEED.json" > "$OUT/belle2_evidence_wet_seed$SEED.txt" 2>&1
  uptime >> "$OUT/belle2_evidence.load"
done
