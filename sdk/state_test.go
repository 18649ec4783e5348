package sdk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type testState struct {
	Seen map[string]int `json:"seen"`
}

func TestStateFile(t *testing.T) {
	// Without a state directory nothing is kept.
	v := testState{Seen: map[string]int{"a": 1}}
	mem, err := OpenStateFile("", "sms-us", &v)
	if err != nil || mem.Path() != "" || v.Seen["a"] != 1 {
		t.Fatalf("memory only: %+v %v, state %v", mem, err, v)
	}
	if err := mem.Save(v); err != nil {
		t.Fatalf("Save without a path: %v", err)
	}

	// The first open creates the directory and writes the state at once.
	dir := filepath.Join(t.TempDir(), "state")
	f, err := OpenStateFile(dir, "sms-us", &v)
	if err != nil || f.Path() != filepath.Join(dir, "sms-us.json") {
		t.Fatalf("open: %q %v", f.Path(), err)
	}
	if _, err := os.Stat(f.Path()); err != nil {
		t.Fatalf("the state file was not written at open: %v", err)
	}
	v.Seen["b"] = 2
	if err := f.Save(v); err != nil {
		t.Fatal(err)
	}
	var again testState
	if _, err := OpenStateFile(dir, "sms-us", &again); err != nil || again.Seen["a"] != 1 || again.Seen["b"] != 2 {
		t.Fatalf("reopened state %v %v, want what was saved", again, err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(tmp) != 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}

	// A name that is not a plain file name stays inside the directory.
	odd, err := OpenStateFile(dir, "../x y", &testState{})
	if err != nil || filepath.Dir(odd.Path()) != dir {
		t.Errorf("instance ../x y kept at %q %v, want inside %s", odd.Path(), err, dir)
	}

	// A file that is not such a state is refused with what to do, and left alone.
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte("{not json"), 0o600)
	if _, err := OpenStateFile(dir, "broken", &testState{}); err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("a broken state file: %v, want a refusal saying to move it away", err)
	}
	if data, _ := os.ReadFile(broken); string(data) != "{not json" {
		t.Errorf("the broken file was changed to %q", data)
	}
}
