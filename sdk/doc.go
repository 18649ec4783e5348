// Package sdk is everything a channel or bridge plugin author needs: implement Plugin, call
// ServeChannel or ServeBridge from main, and the hub does the rest. Authors never touch gRPC or
// go-plugin; the wire contract is sdk/proto/switchboard/v1.
//
// The SDK must never import the core: plugins are separate programs that share only this contract.
package sdk
