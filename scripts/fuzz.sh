#!/usr/bin/env bash
# Builds the libFuzzer targets (preset fuzz: clang, ASan, UBSan) and runs each in turn.
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]   (default 60 s; every target)
#   e.g. scripts/fuzz.sh 600 csv_reader template
# Each target starts from fuzz/corpus/<target>/ plus the examples/fixtures seeds listed in
# build/fuzz/fuzz/<target>.seeds, and keeps what it finds in build/fuzz/scratch/<target>/
# (never committed: copy an input into fuzz/corpus/<target>/ to keep it). A crash or a broken
# property stops that target; its input is saved and the command to reproduce it printed.
# Runs at low priority (nice) so a shared machine stays usable. Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true

cmake --preset fuzz >/dev/null
nice -n 10 cmake --build --preset fuzz -- -j"${FUZZ_JOBS:-2}"

build=build/fuzz
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for seeds in "$build"/fuzz/*.seeds; do targets+=("$(basename "$seeds" .seeds)"); done
fi

found=0
for target in "${targets[@]}"; do
  scratch="$build/scratch/$target"
  crashes="$build/crashes/$target"
  mkdir -p "$scratch" "$crashes"
  cp -n fuzz/corpus/"$target"/* "$scratch"/ 2>/dev/null || true
  while read -r seed; do
    [[ -n "$seed" ]] && cp -n "$seed" "$scratch"/ 2>/dev/null || true
  done <"$build/fuzz/$target.seeds"
  echo "fuzz: $target for ${seconds}s ($(ls "$scratch" | wc -l) inputs to start from)"
  log="$build/crashes/$target.log"
  if ! nice -n 10 "$build/bin/fuzz_$target" -max_total_time="$seconds" -max_len=16384 \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
      "$scratch" >"$log" 2>&1; then
    found=1
    echo "fuzz: $target FOUND A PROBLEM (log: $log)"
    grep -E "ERROR:|property violated|SUMMARY" "$log" | head -5 || true
    for input in "$crashes"/*; do
      echo "  reproduce: $build/bin/fuzz_$target $input"
    done
  fi
  grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$log" | sed "s/^/  /" || true
done
exit "$found"
