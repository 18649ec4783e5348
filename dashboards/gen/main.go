// Command gen writes Switchboard's Grafana dashboards as JSON files, one per dashboard, into a
// directory (by default dashboards/, run from the repository root). `go generate ./dashboards`
// runs it; the files it writes are committed.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/switchboardhq/switchboard/dashboards"
)

func main() {
	out := flag.String("out", "dashboards", "directory to write the dashboard JSON files into")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	boards, err := dashboards.Boards()
	if err != nil {
		return err
	}
	for _, b := range boards {
		data, err := b.JSON()
		if err != nil {
			return err
		}
		path := filepath.Join(dir, b.File)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}
