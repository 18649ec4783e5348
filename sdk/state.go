package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// StateFile is a plugin's small JSON state kept across restarts in <state_dir>/<instance>.json
// (an SMS line's opt-outs, a messaging window's last contacts). Without a state directory it has
// no path and keeps nothing: the plugin's state lives in memory only.
type StateFile struct{ path string }

var unsafeFileName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// OpenStateFile reads the instance's state file in dir into v, creating dir when needed. A
// missing file is written from v at once, so a directory the plugin cannot write to is found at
// start rather than at the first change. With an empty dir, v is left as it is.
func OpenStateFile(dir, instance string, v any) (StateFile, error) {
	if dir == "" {
		return StateFile{}, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return StateFile{}, fmt.Errorf("state_dir: %w", err)
	}
	name := unsafeFileName.ReplaceAllString(instance, "_")
	if name == "" {
		name = "state"
	}
	f := StateFile{path: filepath.Join(dir, name+".json")}
	data, err := os.ReadFile(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, f.Save(v)
	case err != nil:
		return StateFile{}, fmt.Errorf("state_dir: read %s: %w", f.path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return StateFile{}, fmt.Errorf("state_dir: %s is not a state file of this plugin (%v): move it away", f.path, err)
	}
	return f, nil
}

// Path is where the state is kept; empty when it is kept in memory only.
func (f StateFile) Path() string { return f.path }

// Save writes v as indented JSON through a temporary file, synced and renamed over the old one
// (and the directory synced), so a crash leaves the old state or the new one, never half of one.
// Without a path it does nothing.
func (f StateFile) Save(v any) error {
	if f.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(f.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save %s: %w", f.path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing left to remove
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		return fmt.Errorf("save %s: %w", f.path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself is durable once the directory is
		d.Close()
	}
	return nil
}
