// Command social is the Switchboard channel for customers writing from Telegram, WhatsApp (Cloud
// API) and Facebook Messenger: one instance holds one adapter. It never imports the core, and
// treats everything a platform sends as untrusted: secrets and signatures are checked before a
// body is parsed, and nothing is acknowledged to a platform before the hub stored it.
package main

import "github.com/switchboardhq/switchboard/sdk"

func main() { sdk.ServeChannel(newSocial()) }
