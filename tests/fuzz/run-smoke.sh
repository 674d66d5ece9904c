#!/usr/bin/env bash
# A short fuzzing run over the seed corpus, for CI: exits non-zero on any crash, hang,
# leak or sanitizer report, and keeps the offending inputs.
#   run-smoke.sh <fuzz_open_check binary> [runs]
# Inputs that failed are copied to $PTDB_FUZZ_ARTIFACTS (default ./fuzz-artifacts).
set -euo pipefail

bin=${1:?usage: run-smoke.sh <fuzz binary> [runs]}
runs=${2:-20000}
here=$(cd "$(dirname "$0")" && pwd)
keep=${PTDB_FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}

# On tmpfs when there is one: every input is written to a file.
base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/ptdb-fuzz-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/artifacts"
cp "$here"/corpus/* "$work/corpus/"

# A fixed seed keeps CI repeatable; set PTDB_FUZZ_SEED=0 for a random one.
seed=${PTDB_FUZZ_SEED:-1}
status=0
PTDB_FUZZ_DIR="$work" "$bin" -seed="$seed" -runs="$runs" -max_len=65536 -max_total_time=120 -timeout=30 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" || status=$?

if [ "$status" -ne 0 ]; then
  mkdir -p "$keep"
  cp "$work"/artifacts/* "$keep"/ 2>/dev/null || true
  echo "run-smoke: $bin failed (exit $status); inputs kept in $keep" >&2
fi
exit "$status"
