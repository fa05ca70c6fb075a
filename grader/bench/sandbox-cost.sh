#!/usr/bin/env bash
# What the sandbox costs: the grader at BASE (default: the last commit before
# the sandbox of builds and checks, 76baab3) against this tree's, measured
# in the same run, on the same machine, one after the other.
#
#   grader/bench/sandbox-cost.sh [BASE] [STUDENTS]
#
# 1. Warm grading of every reference solution (`cargo grade --solutions`):
#    each grader once to warm up, then BASE, this, BASE, this; the median of
#    each grader's two measured runs.
# 2. The batch bench (`cargo run -p grader --example batch_bench`: STUDENTS
#    students, default 10, each handing in every unit, compiled afresh),
#    once each.
#
# It prints both times and the ratio this / BASE for each. The base is
# checked out and built under target/bench-base (its own target folder, its
# dependencies compiled once: the first run takes a while), or in
# WSW_BENCH_BASE_DIR, an existing checkout or worktree.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
base_rev=${1:-76baab3}
students=${2:-10}
base=${WSW_BENCH_BASE_DIR:-$root/target/bench-base}

if [ ! -d "$base/.git" ] && [ ! -f "$base/.git" ]; then
  git -C "$root" worktree add --detach "$base" "$base_rev" >/dev/null
fi
git -C "$base" checkout --quiet --detach "$base_rev"
(cd "$base" && cargo build --quiet -p grader --bin cargo-grade --example batch_bench)
(cd "$root" && cargo build --quiet -p grader --bin cargo-grade --example batch_bench)

seconds() { # seconds DIR: warm grading of the solutions with DIR's grader
  local start end
  start=$(date +%s.%N)
  "$1/target/debug/cargo-grade" --root "$1" --solutions --format json >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
median2() { echo "scale=2; ($1 + $2) / 2" | bc; }

echo "warm-up: both graders grade the solutions once (not measured)"
seconds "$base" >/dev/null
seconds "$root" >/dev/null
b1=$(seconds "$base"); n1=$(seconds "$root")
b2=$(seconds "$base"); n2=$(seconds "$root")
b=$(median2 "$b1" "$b2"); n=$(median2 "$n1" "$n2")
echo "warm grading of the solutions: base $b1 s, $b2 s; sandboxed $n1 s, $n2 s"

batch() { # batch DIR: the batch's wall-clock seconds
  (cd "$1" && WSW_BENCH_STUDENTS=$students ./target/debug/examples/batch_bench) |
    tee -a /dev/stderr | sed -n 's/^batch: .* in \([0-9.]*\) s .*/\1/p'
}
bb=$(batch "$base"); nb=$(batch "$root")

printf '\n%-40s %10s %10s %7s\n' "" "base" "sandboxed" "ratio"
printf '%-40s %9.1fs %9.1fs %7.2f\n' "warm grading of the solutions (median)" "$b" "$n" "$(echo "$n / $b" | bc -l)"
printf '%-40s %9.1fs %9.1fs %7.2f\n' "batch of $students students" "$bb" "$nb" "$(echo "$nb / $bb" | bc -l)"
