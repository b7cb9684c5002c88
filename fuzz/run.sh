#!/bin/sh
# fuzz/run.sh BUILD_DIR SECONDS — runs the target of every fuzz/fuzz_*.cpp, built in BUILD_DIR,
# for SECONDS each.
# Seeds come from fuzz/corpus/<target>/ (read only); what a run finds goes to
# BUILD_DIR/corpus/<target>/ and is the starting point of the next run; a crash leaves its input
# in BUILD_DIR/artifacts/. Prints one summary line per target; exits 1 if any target failed.
set -u
build=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
status=0
found=0
mkdir -p "$build/artifacts"
for src in "$here"/fuzz_*.cpp; do
  [ -f "$src" ] || continue
  found=1
  name=$(basename "$src" .cpp)
  bin="$build/$name"
  if [ ! -x "$bin" ]; then
    status=1
    echo "fuzz: $name: FAILED (not built: $bin)"
    continue
  fi
  work="$build/corpus/$name"
  log="$build/$name.log"
  mkdir -p "$work"
  seeds=""
  [ -d "$here/corpus/$name" ] && seeds="$here/corpus/$name"
  # -timeout: one input taking 20 s is a hang; -rss_limit_mb: memory stays bounded.
  if "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$name-" "$work" $seeds >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE).*cov:' "$log" | tail -1 |
          sed -n 's/.*\(cov: [0-9]*\) \(ft: [0-9]*\) \(corp: [^ ]*\).*/\1 \2 \3/p')
    echo "fuzz: $name: ok, ${runs:-?} runs in ${seconds}s, $cov"
  else
    status=1
    echo "fuzz: $name: FAILED (input saved under $build/artifacts/; log $log):"
    grep -E 'ERROR|SUMMARY|fuzz_[a-z_]*:|runtime error|==[0-9]+==' "$log" | head -20
  fi
done
if [ "$found" = 0 ]; then
  echo "fuzz: no fuzz/fuzz_*.cpp" >&2
  exit 1
fi
exit $status
