#!/usr/bin/env bash
# The paper's measurement on BIG-bench Lite tasks (docs/replication.md).
# Needs: the task data, copied by python benchmarks/fetch_bigbench.py SOURCE from your BIG-bench copy (SOURCE: a
# checkout of github.com/google/BIG-bench or a copy of bigbench-1.0.0.tar.gz), and python benchmarks/fetch_qwen.py.
# Usage: bash benchmarks/replicate.sh [MODEL_LABEL=MODEL ...]   (default: qwen and the default model)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DAY=$(date -u +%Y-%m-%d)
for t in bbq_lite_json code_line_description emoji_movie novel_concepts; do
  [ -d benchmarks/data/bigbench/$t ] || { echo "replicate.sh: no benchmarks/data/bigbench/$t: first run python benchmarks/fetch_bigbench.py SOURCE (SOURCE: a checkout of github.com/google/BIG-bench or a copy of bigbench-1.0.0.tar.gz)" >&2; exit 2; }
done
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
