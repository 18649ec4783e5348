// Command slack is the Switchboard bridge for Slack. The bridge is a Slack app: experts find the
// agents in the app's Home tab and chat with each in a thread of the app's direct messages, where
// the app posts the agents' messages under their names. It never imports the core, and treats
// everything Slack sends as untrusted: signatures are checked and content is sanitized here.
package main

import "github.com/switchboardhq/switchboard/sdk"

func main() { sdk.ServeBridge(newBridge()) }
