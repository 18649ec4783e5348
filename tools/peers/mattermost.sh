#!/usr/bin/env bash
# Builds the Mattermost server (API only, no web app) used by the tests as a real peer, unless it is
# already cached, and prints the directory that holds bin/mattermost with the i18n/, templates/ and
# fonts/ folders it reads at run time. The build lives in a wrapper module outside the repository so
# that the server's dependencies never enter the project's go.mod.
set -euo pipefail

MM_VERSION="${MM_VERSION:-v8.0.0-20260113162330-9e1d4c2072c0}"
MM_PUBLIC_VERSION="${MM_PUBLIC_VERSION:-v0.1.22-0.20260113165922-8e4cadbc88ee}"
CACHE="${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}"
DEST="$CACHE/mattermost-$MM_VERSION"

ready() { [ -x "$DEST/bin/mattermost" ] && [ -d "$DEST/i18n" ] && [ -d "$DEST/templates" ]; }

if ready; then
  echo "$DEST"
  exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/mattermost.lock"
flock 9
if ready; then
  echo "$DEST"
  exit 0
fi

export GONOSUMDB="github.com/mattermost/mattermost${GONOSUMDB:+,$GONOSUMDB}"
export GOFLAGS="-mod=mod"
export GOWORK=off
module=github.com/mattermost/mattermost/server/v8

echo "mattermost.sh: building the Mattermost server $MM_VERSION (a cold build takes several minutes)" >&2
SRC="$(cd /tmp && GOFLAGS= go mod download -json "$module@$MM_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ -z "$SRC" ] || [ ! -f "$SRC/go.sum" ]; then
  echo "mattermost.sh: could not download $module@$MM_VERSION" >&2
  exit 1
fi

TMP="$(mktemp -d "$CACHE/.mattermost-build.XXXXXX")"
trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
WRAP="$TMP/wrapper"
mkdir -p "$WRAP" "$TMP/out/bin"
tablewriter="$(grep -E '^[[:space:]]*(replace[[:space:]]+)?github.com/olekukonko/tablewriter[[:space:]]*=>' "$SRC/go.mod" | sed -E 's/^[[:space:]]*(replace[[:space:]]+)?//' || true)"
cat >"$WRAP/go.mod" <<MOD
module switchboard.test/mattermostpeer

go 1.24

require (
	$module $MM_VERSION
	github.com/mattermost/mattermost/server/public $MM_PUBLIC_VERSION
)
MOD
if [ -n "$tablewriter" ]; then
  printf '\nreplace %s\n' "$tablewriter" >>"$WRAP/go.mod"
fi
cp "$SRC/go.sum" "$WRAP/go.sum"
chmod u+w "$WRAP/go.sum"
cat >"$WRAP/peer.go" <<'GO'
//go:build tools

package peer

import _ "github.com/mattermost/mattermost/server/v8/cmd/mattermost"
GO

(cd "$WRAP" && go build -trimpath -o "$TMP/out/bin/mattermost" "$module/cmd/mattermost")
for d in i18n templates fonts; do
  if [ -d "$SRC/$d" ]; then
    cp -R "$SRC/$d" "$TMP/out/$d"
  fi
done
chmod -R u+w "$TMP/out"
rm -rf "$DEST"
mv "$TMP/out" "$DEST"
echo "$DEST"
