#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: formatting, the Release build's
# tests, the ASan+UBSan build's tests, and a short fuzzing run. Exits non-zero on any
# failure. Usage: scripts/test.sh [--no-deps]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

if [ "${1:-}" != "--no-deps" ]; then
  scripts/install-deps.sh
fi

echo "== clang-format"
scripts/check-format.sh

echo "== Release build and tests"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure --no-tests=error -j "$jobs"

echo "== ASan+UBSan build and tests"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPTDB_SANITIZE=ON -DPTDB_BENCH=OFF >/dev/null
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure --no-tests=error -j "$jobs"

# Threaded ptdb-torture runs several processes, whose lock ordering TSan cannot see (its
# clocks are per process), so it stays out of this stage; the threaded tests here are
# single-process.
echo "== TSan build: the tests where threads share a handle or a lock"
cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPTDB_TSAN=ON -DPTDB_BENCH=OFF >/dev/null
cmake --build build/tsan -j "$jobs"
TSAN_OPTIONS="halt_on_error=1 detect_deadlocks=0" \
  ctest --test-dir build/tsan --output-on-failure --no-tests=error -j "$jobs" \
  -R 'ThreadsTest|RaceTest|MutexArea|ByteRangeLocks|FcntlKeep|LockSemantics|ReadTransactionTest|ApplyLocks|NoLockTraverse|HandleMutex|UncommittedData'

echo "== fuzz smoke (libFuzzer, ASan+UBSan)"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DPTDB_FUZZ=ON -DPTDB_BENCH=OFF >/dev/null
cmake --build build/fuzz -j "$jobs" --target fuzz_open_check
tests/fuzz/run-smoke.sh build/fuzz/tests/fuzz/fuzz_open_check
