#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ with libFuzzer's coverage instrumentation and runs each for
# a bounded time. No nightly toolchain and no cargo-fuzz needed: the instrumentation flags are
# stable rustc options (release build with debug assertions and overflow checks, see
# fuzz/Cargo.toml). CI runs every target briefly (scripts/test.sh); run it for longer by hand:
#
#   bash scripts/fuzz.sh 3600                 # an hour per target
#   bash scripts/fuzz.sh 600 record_batch     # ten minutes, one target
#
# Corpora grow in target/fuzz-corpus/<target> (kept between runs); a crashing input is saved
# as target/fuzz-artifacts/<target>/crash-* and fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_PER_TARGET=${1:-30}
shift || true
TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then
  TARGETS=(jute_request kafka_request record_batch keeper_snapshot keeper_log_entry)
fi

export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target/fuzz-build}
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares"
# An explicit --target keeps the instrumentation off build scripts and proc macros, as
# cargo-fuzz does.
HOST=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --manifest-path fuzz/Cargo.toml --bins --target "$HOST"

failed=()
for target in "${TARGETS[@]}"; do
  corpus=target/fuzz-corpus/$target
  artifacts=target/fuzz-artifacts/$target
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzzing $target for ${SECONDS_PER_TARGET}s"
  if ! "$CARGO_TARGET_DIR/$HOST/release/$target" -max_total_time="$SECONDS_PER_TARGET" \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" \
      2>"target/fuzz-artifacts/$target.log"; then
    tail -40 "target/fuzz-artifacts/$target.log"
    failed+=("$target")
  else
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)" \
      "target/fuzz-artifacts/$target.log" || true
  fi
done
if ((${#failed[@]})); then
  echo "fuzz targets that failed: ${failed[*]}"
  exit 1
fi
echo "every fuzz target ran ${SECONDS_PER_TARGET}s without a failure"
