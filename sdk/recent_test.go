package sdk

import (
	"fmt"
	"testing"
)

func TestRecentIDsForgetsTheOldest(t *testing.T) {
	r := NewRecentIDs(3)
	for i := range 4 {
		r.Add(fmt.Sprint(i))
	}
	r.Add("3") // a repeat takes no room
	if r.Has("0") {
		t.Error("the oldest id is still remembered after 3 newer ones")
	}
	for _, id := range []string{"1", "2", "3"} {
		if !r.Has(id) {
			t.Errorf("id %s is forgotten, want the last 3 remembered", id)
		}
	}
}
