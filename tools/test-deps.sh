#!/usr/bin/env bash
# Installs the system packages the tests use when they are missing (the tests run as root).
# Outside CI a failed install only warns: the tests that need the tool then skip loudly.
set -uo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# Prometheus and promtool: the metrics, dashboard and alert-rule tests run against them (the
# tests start their own servers on free ports).
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# Kannel, the SMS gateway, with its fake SMSC (kannel-extras): the SMS plugin's tests run a real one.
[ -x /usr/sbin/bearerbox ] || missing+=(kannel)
command -v fakesmsc >/dev/null 2>&1 || [ -x /usr/lib/kannel/test/fakesmsc ] || missing+=(kannel-extras)
# Test peers built from source (Matrix homeserver, Mattermost server) are cached outside the
# repository, keyed by version; each script prints where it put the build. A cold build takes
# minutes, mostly module downloads: the peers build side by side.
pids=()
for peer in "$(dirname "$0")"/peers/*.sh; do
  [ -e "$peer" ] || continue
  ( if ! "$peer" >/dev/null; then
      echo "test-deps: building the test peer $(basename "$peer" .sh) failed" >&2
      exit 1
    fi ) &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  if ! wait "$pid" && [ "${CI:-}" = "true" ]; then
    exit 1
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "test-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # Prometheus's recommended node exporter is not needed.
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" prometheus-node-exporter- >/dev/null) && exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "test-deps: could not install ${missing[*]}; CI needs them" >&2
  exit 1
fi
echo "test-deps: WARNING: could not install ${missing[*]}; tests that need them will be skipped" >&2
