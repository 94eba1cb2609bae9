#!/usr/bin/env bash
# Run the `concurrency`-marked tests ROUNDS times, PARALLEL copies at once (the copies load the
# machine for each other), and fail if any run fails. Usage: stress_concurrency.sh [ROUNDS] [PARALLEL]
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4} parallel=${2:-3}
python=${PYTHON:-.venv/bin/python}
logs=$(mktemp -d)
failed=0
for round in $(seq "$rounds"); do
  pids=()
  for copy in $(seq "$parallel"); do
    # Each copy has its own --basetemp: copies sharing /tmp/pytest-of-$USER remove each other's old
    # numbered dirs at session end, and the rm_rf warning ("Directory not empty") that race gives
    # is an error under filterwarnings = error (it once turned CI red with every test passed).
    "$python" -m pytest -q -m concurrency -p no:cacheprovider --basetemp="$logs/tmp.$round.$copy" >"$logs/$round.$copy.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      failed=$((failed + 1))
      echo "round $round copy $((i + 1)) FAILED:"; tail -n 40 "$logs/$round.$((i + 1)).log"
    fi
  done
  echo "round $round: $(tail -n 1 "$logs/$round.1.log")"
done
total=$((rounds * parallel))
echo "concurrency stress: $((total - failed)) of $total runs green"
rm -rf "$logs"
[ "$failed" -eq 0 ]
