#!/usr/bin/env bash
# Regenerates the Go code of sdk/proto with pinned generators.
# protoc comes from Debian's protobuf-compiler; the Go generators are built from exact module versions.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC_GEN_GO_VERSION=v1.36.12   # google.golang.org/protobuf, as in go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1
BIN=${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}/protoc-gen-$PROTOC_GEN_GO_VERSION-$PROTOC_GEN_GO_GRPC_VERSION
if ! command -v protoc >/dev/null; then
  echo "proto: installing protoc (Debian protobuf-compiler)" >&2
  apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null
fi
if [ ! -x "$BIN/protoc-gen-go-grpc" ]; then
  mkdir -p "$BIN"
  GOFLAGS=-mod=mod go build -o "$BIN/" google.golang.org/protobuf/cmd/protoc-gen-go
  dir=$(go mod download -json google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  (cd "$dir" && GOFLAGS=-mod=readonly go build -o "$BIN/" .)
fi
PATH="$BIN:$PATH" protoc -I sdk/proto \
  --go_out=sdk/proto --go_opt=paths=source_relative \
  --go-grpc_out=sdk/proto --go-grpc_opt=paths=source_relative \
  sdk/proto/switchboard/v1/*.proto
echo "proto: generated sdk/proto/switchboard/v1 with protoc $(protoc --version | cut -d' ' -f2), protoc-gen-go $PROTOC_GEN_GO_VERSION, protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION"
