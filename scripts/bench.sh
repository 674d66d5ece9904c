#!/usr/bin/env bash
# Installs dependencies, builds Release and runs the main benchmark: ptdb's backends
# and the peer stores on one workload, side by side. Arguments go to ptdb-bench
# (default: N = 1M records on tmpfs). Usage: scripts/bench.sh [--n N] [--dir DIR] ...
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)" --target ptdb-bench
mkdir -p results
exec build/release/bench/ptdb-bench --json "results/bench-$(date +%Y%m%d-%H%M%S).jsonl" "$@"
