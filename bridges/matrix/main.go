// Placeholder until the matrix bridge lands.
package main

import "github.com/switchboardhq/switchboard/sdk"

func main() { sdk.ServeBridge(nil) }
