#!/bin/sh
# Limits on cTL of the Belle II WET likelihood (cVL, cSL profiled, every nuisance profiled):
#  1. `redist limit --method asymptotic` refuses (the rate is quadratic in cTL);
#  2. `redist limit` (auto -> toys, q~mu, expected bands from background-only toys);
#     the result holds the observed q~ (profile -2 Delta ln L with the q~ convention) and the
#     toy-calibrated threshold at every tested value.
# Outputs: examples/output/belle2_limit_cTL.{json,txt,png,load}, belle2_limit_asymptotic.txt
set -e
export OMP_NUM_THREADS=1 XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
cd "$(dirname "$0")/.."
OUT=examples/output
mkdir -p "$OUT"
MODEL=$(mktemp -d)/belle2.json
.venv/bin/python -c "import redist, redist.demo as d; redist.save('$MODEL', d.belle2_model())"
.venv/bin/redist limit "$MODEL" --par cTL --method asymptotic > "$OUT/belle2_limit_asymptotic.txt" 2>&1 \
  || echo "exit status $?" >> "$OUT/belle2_limit_asymptotic.txt"
uptime > "$OUT/belle2_limit_cTL.load"
nice -n 15 .venv/bin/redist limit "$MODEL" --par cTL=8:20:7 --n-toys 200 --seed 1 \
  -o "$OUT/belle2_limit_cTL.json" --plot "$OUT/belle2_limit_cTL.png" > "$OUT/belle2_limit_cTL.txt" 2>&1 \
  || echo "exit status $?" >> "$OUT/belle2_limit_cTL.txt"
uptime >> "$OUT/belle2_limit_cTL.load"
