#!/usr/bin/env bash
# The project's main job: installs dependencies, builds Release and runs the backend
# comparison (ptdb's file backend on tmpfs and on the disk, its pmem backend on emulated
# pmem, Samba tdb, LMDB, Kyoto Cabinet and LevelDB) with ptdb-bench, then draws the
# charts. The table goes to stdout and results/<date>/table.txt; progress to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'USAGE'
usage: scripts/bench.sh [--quick] [--runs R] [--out DIR] [--build-dir DIR] [--no-deps]
                        [PTDB-BENCH-OPTION...]

Runs ptdb-bench on the stores ptdb (file backend, /dev/shm), ptdb@disk (file backend on
the disk), ptdb-pmem (pmem backend, pool in /dev/shm, PMEM_IS_PMEM_FORCE=1), pmem-hash (a
minimal hash table on libpmemobj, the floor for ptdb-pmem), tdb, lmdb, kyoto and leveldb,
phases add, find, find2t (two threads), miss, traverse, tx10-nosync and tx1-nosync
(tmpfs) and tx10-durable (on the disk), N = 1M, each store run 3 times interleaved; the table shows
medians and spreads.
Takes under 5 minutes on a 2-core machine (--quick: under 1 minute).

  --quick          N = 100k, 200 no-sync and 50 durable transactions
  --runs R         runs per store (default 3)
  --out DIR        where results go (default results/<UTC date>): results.jsonl
                   (appended), table.txt, ops.png, commit-latency.png and their data
  --build-dir DIR  the Release build directory (default build/release)
  --no-deps        do not run scripts/install-deps.sh
  --help           this text

Any other argument, and everything after "--", goes to ptdb-bench after the defaults
above, so it overrides them, e.g. --stores ptdb,tdb or --n 200k (ptdb-bench --help).
USAGE
}

quick=()
runs=3
out="results/$(date -u +%F)"
build=build/release
deps=1
passed=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --runs) runs=${2:?--runs needs a value}; shift ;;
    --out) out=${2:?--out needs a value}; shift ;;
    --build-dir) build=${2:?--build-dir needs a value}; shift ;;
    --no-deps) deps=0 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; passed+=("$@"); break ;;
    *) passed+=("$1") ;;
  esac
  shift
done

start=$(date +%s)
if [ "$deps" = 1 ]; then
  if [ "$(id -u)" -eq 0 ]; then scripts/install-deps.sh >&2; else sudo scripts/install-deps.sh >&2; fi
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$build" -j "$(nproc)" --target ptdb-bench >&2

mkdir -p "$out"
rm -f "$out/ops.dat" "$out/commit.dat" "$out/meta.gp"
# 100 durable commits per store and run: a durable commit costs up to 50 ms on this disk
# (Kyoto's hard transactions), and the medians of 3 runs need no more to be stable.
status=0
"$build/bench/ptdb-bench" \
  --stores ptdb,ptdb@disk,ptdb-pmem,pmem-hash,tdb,lmdb,kyoto,leveldb \
  --phases add,find,find2t,miss,traverse,tx10-nosync,tx1-nosync,tx10-durable \
  --runs "$runs" --durable-txns 100 "${quick[@]}" \
  --json "$out/results.jsonl" --chart-data "$out" "${passed[@]}" \
  | tee "$out/table.txt" || status=$?
if [ -s "$out/ops.dat" ]; then
  gnuplot -e "dir='$out'" bench/charts.gp
fi
echo "bench.sh: $(($(date +%s) - start)) s; results in $out" >&2
exit "$status"
