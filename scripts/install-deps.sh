#!/usr/bin/env bash
# Installs everything ptdb needs to build, test and benchmark on Debian 12 (bookworm).
# Idempotent: a second run changes nothing. Must run as root (CI does).
#
# libpmemobj-cpp-dev 1.12 is not in bookworm; it comes from bullseye through an apt pin
# on that one header-only package, so PMDK itself (libpmemobj/libpmem 1.12.1) stays
# bookworm's. Never "apt-get -t bullseye": that pulls PMDK 1.10 from bullseye.
# libsnappy-dev: LevelDB's CMake package links -lsnappy, which libleveldb-dev does not pull in.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: must run as root (apt-get install)" >&2
  exit 1
fi

packages=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format libclang-rt-14-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libpmemobj-dev libpmem-dev
  libpmemobj-cpp-dev
  libtdb-dev liblmdb-dev libkyotocabinet-dev libleveldb-dev libsnappy-dev
  libxxhash-dev
  gnuplot-nox
)

have_all() {
  local p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1
  done
  dpkg-query -W -f='${Version}' libpmemobj-cpp-dev | grep -q '^1\.12'
}

if have_all; then
  echo "install-deps.sh: all packages present"
  exit 0
fi

# The mirror bookworm already uses, for the bullseye source.
uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$uri" ] || uri=$(awk '$1=="deb" && $3 ~ /^bookworm/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$uri" ] || uri=http://deb.debian.org/debian

cat > /etc/apt/sources.list.d/bullseye-pmemobj-cpp.sources <<SRC
Types: deb
URIs: $uri
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC

cat > /etc/apt/preferences.d/bullseye-pmemobj-cpp <<'PIN'
Package: libpmemobj-cpp-dev
Pin: release n=bullseye
Pin-Priority: 500

Package: *
Pin: release n=bullseye
Pin-Priority: -1
PIN

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}"
dpkg-query -W -f='${Package} ${Version}\n' libpmemobj-cpp-dev libpmemobj-dev libpmem1 libtdb-dev liblmdb-dev libkyotocabinet-dev libleveldb-dev libsnappy-dev
