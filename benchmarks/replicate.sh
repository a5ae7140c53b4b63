#!/usr/bin/env bash
# The paper's measurement on BIG-bench Lite tasks (docs/replication.md).
# Needs: python benchmarks/fetch_bigbench.py (task data) and python benchmarks/fetch_qwen.py (the stronger model).
# Usage: bash benchmarks/replicate.sh [MODEL_LABEL=MODEL ...]   (default: qwen and the default model)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DAY=$(date -u +%Y-%m-%d)
QWEN=$($PY benchmarks/fetch_qwen.py | tail -1)
MODELS=("$@")
[ ${#MODELS[@]} -eq 0 ] && MODELS=("qwen2.5-coder-0.5b=$QWEN" "default=default")
for spec in "${MODELS[@]}"; do
  label=${spec%%=*}; model=${spec#*=}
  out=benchmarks/results/replication-$label-$DAY.json
  start=$(date +%s)
  nice -n 5 $PY -m promptcheck run benchmarks/replication/*.yaml --allow-outside-paths --model "$model" \
      --json "$out" --verbose | tee "benchmarks/results/replication-$label-$DAY.txt"
  echo "wall time $label: $(( $(date +%s) - start )) s" | tee -a "benchmarks/results/replication-$label-$DAY.txt"
done
