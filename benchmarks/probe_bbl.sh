#!/usr/bin/env bash
# Which BIG-bench Lite tasks can a model do at all? Reference instruction only, 30 items per task,
# in both answer formats (docs/replication.md: how the replication's tasks were picked).
# Usage: bash benchmarks/probe_bbl.sh MODEL [OUT_DIR]
# Needs the task folders in benchmarks/data/bigbench: python benchmarks/fetch_bigbench.py SOURCE copies them from
# your BIG-bench copy (SOURCE: a checkout of github.com/google/BIG-bench or a copy of bigbench-1.0.0.tar.gz).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
MODEL=$1; OUT=${2:-/tmp/bbl-probe}; mkdir -p "$OUT"
D=$PWD/benchmarks/data/bigbench
ls -d "$D"/*/ >/dev/null 2>&1 || { echo "probe_bbl.sh: no task folders in benchmarks/data/bigbench: first run python benchmarks/fetch_bigbench.py SOURCE (SOURCE: a checkout of github.com/google/BIG-bench or a copy of bigbench-1.0.0.tar.gz)" >&2; exit 2; }
for t in code_line_description strategyqa vitaminc_fact_verification winowhy bbq_lite_json/age_disambig novel_concepts \
    strange_stories/multiple_choice strange_stories/boolean play_dialog_same_or_different \
    formal_fallacies_syllogisms_negation logical_deduction/three_objects conceptual_combinations/contradictions \
    emoji_movie known_unknowns hindu_knowledge language_identification logic_grid_puzzle misconceptions_russian \
    symbol_interpretation/plain; do
  n=${t//\//_}
  for f in letters texts; do
    { echo "name: ${n}_$f"; echo "items: $D/$t"; echo "limit: 30"; echo "format: $f"; echo "show_choices: true"
      [ $f = texts ] && echo "length_norm: chars"
      echo 'reference_instruction: "Answer the following multiple choice question."'; } > "$OUT/${n}_$f.yaml"
  done
done
for f in letters texts; do
  nice -n 5 $PY -m promptcheck run "$OUT"/*_$f.yaml --no-default-instructions --allow-outside-paths --model "$MODEL" --json "$OUT/$f.json" >"$OUT/$f.out" 2>&1
done
$PY - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
runs = {f: {t["name"].rsplit("_", 1)[0]: t for t in json.load(open(f"{out}/{f}.json"))["tasks"]} for f in ("texts", "letters")}
print("| task | items | chance % | texts (acc_norm) % | letters % |\n|---|---|---|---|---|")
for name, t in sorted(runs["texts"].items()):
    print(f"| {name} | {t['n_items']} | {100 * t['chance_accuracy']:.0f} | {100 * t['reference_accuracy']:.0f} | "
          f"{100 * runs['letters'][name]['reference_accuracy']:.0f} |")
PY
