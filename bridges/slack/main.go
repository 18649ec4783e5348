// Placeholder until the slack bridge lands.
package main

import "github.com/switchboardhq/switchboard/sdk"

func main() { sdk.ServeBridge(nil) }
