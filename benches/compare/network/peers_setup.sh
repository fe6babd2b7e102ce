#!/usr/bin/env bash
# Fetch the road-routing peers OSRM and Valhalla for the network comparison,
# as the prebuilt executables that their PyPI wheels bundle (no Python import,
# no system install, no compiler).
#
#   benches/compare/network/peers_setup.sh [--check]
#
# Everything lives OUTSIDE the repo, in ${BACINO_PEERS:-$HOME/.cache/bacino-peers}:
#   wheels/                 the two wheels (pip download, sha256-checked)
#   osrm/osrm/bin/          osrm-extract, osrm-contract, osrm-partition,
#                           osrm-customize, osrm-routed, ...
#   osrm/osrm/share/profiles/  car.lua, foot.lua, bicycle.lua, lib/*.lua
#   valhalla/valhalla/bin/  valhalla_build_tiles, valhalla_service, ...
#   valhalla/valhalla/valhalla_build_config.py   (plain stdlib Python script)
#   valhalla/pyvalhalla.libs/  shared libraries, found through the binaries'
#                           RPATH $ORIGIN/../../pyvalhalla.libs
# Idempotent: downloads and unpacks only what is missing.  The binaries need
# only glibc >= 2.28 and libstdc++ (OSRM is statically linked otherwise).
# Prints KEY=VALUE lines (eval-able) with the paths.  --check also runs each
# executable's --version.  Overrides: PYTHON (default python3, any >= 3.8:
# pip only downloads, nothing is installed).
set -euo pipefail

OSRM_VERSION=26.10.0
VALHALLA_VERSION=3.9.1
OSRM_WHEEL="osrm_bindings-${OSRM_VERSION}-cp312-abi3-manylinux_2_28_x86_64.whl"
OSRM_SHA256=840d6f82812eb9f9e17c71eb9083dfa15f3be2bfec4965c32aefa48b00d3a951
VALHALLA_WHEEL="pyvalhalla-${VALHALLA_VERSION}-cp312-abi3-manylinux_2_28_x86_64.whl"
VALHALLA_SHA256=7b49c5e5f86cefd555b473aaaf34df3305889d30aa889b8abd3b4c2acc622271

CHECK=0
case "${1:-}" in
  --check) CHECK=1 ;;
  "") ;;
  -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "peers_setup.sh: unknown argument: $1" >&2; exit 2 ;;
esac

PEERS="${BACINO_PEERS:-$HOME/.cache/bacino-peers}"
PY="${PYTHON:-python3}"
log() { printf '==> %s\n' "$*" >&2; }

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
  echo "peers_setup.sh: the bundled binaries are for Linux x86_64 only" >&2
  exit 1
fi
mkdir -p "$PEERS/wheels"

# fetch NAME VERSION WHEEL SHA256
fetch() {
  local name="$1" version="$2" wheel="$3" sha="$4" path="$PEERS/wheels/$3"
  if [[ -f "$path" ]] && echo "$sha  $path" | sha256sum -c --quiet - 2>/dev/null; then
    return 0
  fi
  rm -f "$path"
  log "downloading $name==$version"
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
    --dest "$PEERS/wheels" "$name==$version" >&2
  echo "$sha  $path" | sha256sum -c --quiet - \
    || { echo "peers_setup.sh: sha256 mismatch for $path" >&2; rm -f "$path"; exit 1; }
}

# unpack WHEEL DIR: into $PEERS/DIR, atomically (a stamp marks completion)
unpack() {
  local wheel="$PEERS/wheels/$1" dest="$PEERS/$2" stamp="$PEERS/$2/.unpacked-$1"
  [[ -f "$stamp" ]] && return 0
  log "unpacking $1 into $dest"
  rm -rf "$dest.tmp" "$dest"
  mkdir -p "$dest.tmp"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$wheel" -d "$dest.tmp"
  else
    "$PY" -m zipfile -e "$wheel" "$dest.tmp"   # drops the executable bits
  fi
  chmod +x "$dest.tmp"/*/bin/* 2>/dev/null || true
  touch "$dest.tmp/.unpacked-$1"
  mv "$dest.tmp" "$dest"
}

fetch osrm-bindings "$OSRM_VERSION" "$OSRM_WHEEL" "$OSRM_SHA256"
fetch pyvalhalla "$VALHALLA_VERSION" "$VALHALLA_WHEEL" "$VALHALLA_SHA256"
unpack "$OSRM_WHEEL" osrm
unpack "$VALHALLA_WHEEL" valhalla

OSRM_BIN="$PEERS/osrm/osrm/bin"
OSRM_PROFILES="$PEERS/osrm/osrm/share/profiles"
VALHALLA_BIN="$PEERS/valhalla/valhalla/bin"
VALHALLA_BUILD_CONFIG="$PEERS/valhalla/valhalla/valhalla_build_config.py"
VALHALLA_LIBS="$PEERS/valhalla/pyvalhalla.libs"

for f in "$OSRM_BIN"/osrm-{extract,contract,partition,customize,routed} \
         "$VALHALLA_BIN"/valhalla_{build_tiles,service}; do
  [[ -x "$f" ]] || { echo "peers_setup.sh: missing executable $f" >&2; exit 1; }
done
for f in "$OSRM_PROFILES"/{car,foot,bicycle}.lua "$VALHALLA_BUILD_CONFIG"; do
  [[ -f "$f" ]] || { echo "peers_setup.sh: missing $f" >&2; exit 1; }
done

if [[ "$CHECK" == 1 ]]; then
  for f in "$OSRM_BIN"/osrm-{extract,contract,partition,customize,routed} \
           "$VALHALLA_BIN"/valhalla_{build_tiles,service}; do
    if ! v="$("$f" --version 2>&1 | head -n 1)"; then
      echo "peers_setup.sh: $f does not run:" >&2
      ldd "$f" | grep 'not found' >&2 || true
      exit 1
    fi
    log "$(basename "$f"): $v"
  done
fi

cat <<EOF
BACINO_PEERS=$PEERS
OSRM_VERSION=$OSRM_VERSION
OSRM_BIN=$OSRM_BIN
OSRM_PROFILES=$OSRM_PROFILES
VALHALLA_VERSION=$VALHALLA_VERSION
VALHALLA_BIN=$VALHALLA_BIN
VALHALLA_BUILD_CONFIG=$VALHALLA_BUILD_CONFIG
VALHALLA_LIBS=$VALHALLA_LIBS
EOF
