// Command crashplugin misbehaves the way broken plugins do, chosen by the name it runs under:
// "badhandshake" announces a protocol the hub does not speak; anything else crashes at start.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if filepath.Base(os.Args[0]) == "badhandshake" {
		fmt.Println("1|99|tcp|127.0.0.1:1|grpc|")
		select {}
	}
	fmt.Fprintln(os.Stderr, "panic: crashing at start on purpose")
	os.Exit(2)
}
