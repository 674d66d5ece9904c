#!/usr/bin/env bash
# Fails if any C/C++ source is not clang-formatted (.clang-format at the top).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cc' '*.h' '*.c' 2>/dev/null || true)
[ -n "$files" ] || files=$(find . -path ./build -prune -o \( -name '*.cc' -o -name '*.h' -o -name '*.c' \) -print)
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files
echo "formatting clean"
