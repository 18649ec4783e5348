// Command matrix is the Switchboard bridge to Matrix: an application service through which
// experts on a Matrix homeserver chat with contact-center agents. Each agent is a "ghost" user of
// the appservice (@sb_alice:example.org) listed in a public agents room; an expert and an agent
// talk in a direct-message room. The bridge keeps nothing of its own on disk: which room belongs
// to which agent and expert lives in the ghosts' m.direct account data on the homeserver.
package main

import "github.com/switchboardhq/switchboard/sdk"

func main() { sdk.ServeBridge(newBridge()) }
