#!/bin/sh
# Bayes factor WET vs SM on the Belle II B+ -> K+ nu nu likelihood (see examples/belle2_evidence.py):
#   H0 (SM):  cVL at its SM value (the model's initial value), cSL = cTL = 0;
#   H1 (WET): cVL, cSL, cTL uniform on [0, 20];
# every nuisance parameter (form factors included) integrated by the Laplace approximation.
# ln Z(WET) by nested sampling (dynesty, random slices, 100 live points) with two seeds, and by
# Gauss-Legendre quadrature as a cross-check; one step at a time, niced, one thread.
# Outputs: examples/output/belle2_evidence_{sm,wet_grid,wet_seed0,wet_seed1}.json, belle2_evidence.json
set -e
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
for STEP in sm grid "nested --seed 0" "nested --seed 1" summary; do
  # shellcheck disable=SC2086
  nice -n 15 .venv/bin/python examples/belle2_evidence.py $STEP
done
