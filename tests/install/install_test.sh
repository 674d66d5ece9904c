#!/bin/sh
# usage: install_test.sh BUILD_DIR SOURCE_DIR CMAKE GENERATOR CC CXX
#
# Installs BUILD_DIR into a temporary prefix, then builds and runs, against that prefix
# only: (a) consumer.c with `cc $(pkg-config --cflags --libs ptdb)` and (b) the CMake
# project cxx_consumer/ with find_package(ptdb) and ptdb::ptdb. Also checks that the
# shared library exports nothing of ptdb's but its public API.
set -eu
build_dir=$1
src_dir=$2
cmake=$3
generator=$4
cc=$5
cxx=$6

work=$(mktemp -d "${TMPDIR:-/tmp}/ptdb-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

step() { echo "== $*"; }

step "install into $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix"

so=$(find "$prefix" -name 'libptdb.so' | head -n 1)
[ -n "$so" ] || { echo "no libptdb.so installed"; exit 1; }
libdir=$(dirname "$so")
for f in "$libdir/libptdb.a" "$libdir/libptdb.so.0" "$libdir/pkgconfig/ptdb.pc" \
         "$libdir/cmake/ptdb/ptdbConfig.cmake" "$libdir/cmake/ptdb/ptdbConfigVersion.cmake" \
         "$prefix/include/ptdb/ptdb.h" "$prefix/include/ptdb/db.h" \
         "$prefix/include/ptdb/export.h"; do
  [ -e "$f" ] || { echo "missing: $f"; exit 1; }
done

step "exported symbols"
# Of ptdb's own symbols, only the public classes (Db, Status), ErrorString and the C API
# may be exported; everything else is hidden.
names=$(nm -DC --defined-only "$so" | cut -d' ' -f3-)
leaked=$(echo "$names" |
         grep -E '^((typeinfo|typeinfo name|vtable|VTT) for )?ptdb::' |
         grep -v -E '^((typeinfo|typeinfo name|vtable) for )?ptdb::((Db|Status)(::|$)|ErrorString\()' ||
         true)
if [ -n "$leaked" ]; then
  echo "internal symbols exported:"; echo "$leaked"; exit 1
fi
for sym in ptdb_open ptdb_close ptdb_store ptdb_fetch ptdb_foreach 'ptdb::Db::Open(' \
           'ptdb::ErrorString(' 'vtable for ptdb::Db'; do
  echo "$names" | grep -q -F "$sym" || { echo "not exported: $sym"; exit 1; }
done

step "C consumer through pkg-config"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs ptdb)
echo "pkg-config: $flags"
# shellcheck disable=SC2086  # the flags are words
"$cc" -std=c11 -Wall -Wextra -Werror -pedantic -o "$work/consumer_c" "$src_dir/consumer.c" $flags
LD_LIBRARY_PATH="$libdir" ldd "$work/consumer_c" | grep -q "libptdb.so.0 => $libdir/" ||
  { echo "consumer_c does not use the installed libptdb.so.0"; exit 1; }
LD_LIBRARY_PATH="$libdir" "$work/consumer_c" "$work/c.tdb"

step "C++ consumer through find_package(ptdb)"
"$cmake" -S "$src_dir/cxx_consumer" -B "$work/cxx-build" -G "$generator" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
"$cmake" --build "$work/cxx-build"
LD_LIBRARY_PATH="$libdir" ldd "$work/cxx-build/consumer_cxx" | grep -q "libptdb.so.0 => $libdir/" ||
  { echo "consumer_cxx does not use the installed libptdb.so.0"; exit 1; }
LD_LIBRARY_PATH="$libdir" "$work/cxx-build/consumer_cxx" "$work/cxx.tdb"

step "ok"
