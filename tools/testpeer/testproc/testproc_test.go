package testproc

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

func TestFreePortsAreDistinctAndBindable(t *testing.T) {
	ports := FreePorts(t, 5)
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || reserved[p] {
			t.Fatalf("ports %v: a repeat or a reserved one", ports)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		ln.Close()
	}
	if addr := FreeAddr(t); !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("FreeAddr = %q, want a loopback address", addr)
	}
}

func TestLogTakesConcurrentWriters(t *testing.T) {
	var l Log
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(&l, "line %d\n", i)
		}()
	}
	wg.Wait()
	if n := strings.Count(l.String(), "\n"); n != 8 {
		t.Fatalf("%d lines, want 8", n)
	}
	if got := l.Tail(7); got != "…"+l.String()[len(l.String())-7:] {
		t.Errorf("Tail(7) = %q", got)
	}
	if short := (&Log{}); short.Tail(10) != "" {
		t.Errorf("Tail of an empty log = %q", short.Tail(10))
	}
}
