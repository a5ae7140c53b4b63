#!/usr/bin/env bash
# "Done means" check of issue 15: promptcheck run on each of the 24 BIG-bench Lite task folders with --limit 50
# (reference instruction only, to keep the compute small). Prints one line per folder: exit code and the outcome.
# Needs the task folders in benchmarks/data/bigbench: python benchmarks/fetch_bigbench.py SOURCE copies them from
# your BIG-bench copy (SOURCE: a checkout of github.com/google/BIG-bench or a copy of bigbench-1.0.0.tar.gz).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
ls -d benchmarks/data/bigbench/*/ >/dev/null 2>&1 || { echo "run_bbl_loop.sh: no task folders in benchmarks/data/bigbench: first run python benchmarks/fetch_bigbench.py SOURCE (SOURCE: a checkout of github.com/google/BIG-bench or a copy of bigbench-1.0.0.tar.gz)" >&2; exit 2; }
for d in benchmarks/data/bigbench/*/; do
  t=$(basename "$d")
  start=$(date +%s)
  nice -n 5 $PY -m promptcheck run "$d" --no-default-instructions --limit 50 --json "/tmp/bbl-loop-$t.json" >"/tmp/bbl-loop-$t.out" 2>"/tmp/bbl-loop-$t.err"
  rc=$?
  if [ $rc -eq 0 ]; then
    summary=$($PY -c "import json,sys; d=json.load(open(sys.argv[1])); print('; '.join(f\"{t['name']}: {t['n_items']} items, ref acc {t['reference_accuracy']:.2f}, chance {t['chance_accuracy']:.2f}\" for t in d['tasks']))" "/tmp/bbl-loop-$t.json")
  else
    summary=$(grep -v "warning" "/tmp/bbl-loop-$t.err" | tail -1)
  fi
  warns=$(grep -c "warning" "/tmp/bbl-loop-$t.err")
  tb=$(grep -c "Traceback" "/tmp/bbl-loop-$t.err")
  echo "$t | exit $rc | $(( $(date +%s) - start )) s | warnings $warns | tracebacks $tb | $summary"
done
