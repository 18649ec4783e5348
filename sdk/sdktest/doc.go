// Package sdktest is the conformance kit plugin authors run from their own go test: it starts the
// plugin binary exactly as the hub does and checks the contract of sdk/proto/switchboard/v1
// (describe, configure, liveness, at-least-once delivery both ways, ordering, restarts, shutdown).
//
// It must never import the core: it plays the hub from the contract alone.
package sdktest
