#!/usr/bin/env bash
# Builds the Dendrite Matrix homeserver used by the tests (dendrite, generate-keys, create-account)
# into a cache outside the repository, keyed by version, and prints the directory holding the binaries.
# A cached build is reused; concurrent runs wait for each other.
set -euo pipefail
VERSION=v0.13.8
CACHE=${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}
DEST="$CACHE/dendrite-$VERSION"
BINARIES=(dendrite generate-keys create-account)

complete() {
  local b
  for b in "${BINARIES[@]}"; do [ -x "$DEST/$b" ] || return 1; done
}

if complete; then echo "$DEST"; exit 0; fi
command -v go >/dev/null 2>&1 || { echo "dendrite.sh: go is not installed" >&2; exit 1; }
mkdir -p "$CACHE"
exec 9>"$CACHE/dendrite-$VERSION.lock"
flock 9
if complete; then echo "$DEST"; exit 0; fi

# The module stays out of the project's go.mod: download it and build inside its own directory.
SRC=$(cd "$CACHE" && GOFLAGS=-mod=mod go mod download -json "github.com/matrix-org/dendrite@$VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -n "$SRC" ] && [ -d "$SRC" ] || { echo "dendrite.sh: go mod download gave no directory" >&2; exit 1; }
TMP=$(mktemp -d "$CACHE/.dendrite-$VERSION.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
echo "dendrite.sh: building Dendrite $VERSION (a few minutes the first time)" >&2
pkgs=()
for b in "${BINARIES[@]}"; do pkgs+=("./cmd/$b"); done
(cd "$SRC" && GOFLAGS=-mod=readonly GOWORK=off go build -o "$TMP/" "${pkgs[@]}")
rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
echo "$DEST"
