// Package testproc is what the test peers and the end-to-end tests share to run processes: free
// loopback ports and a log of a process's output that several writers may fill. It is a test
// helper and never part of a product binary.
package testproc

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"testing"
)

// reserved are ports the services of these machines use (PostgreSQL, NATS, MariaDB, Redis,
// RabbitMQ, Mosquitto): never handed to a test server, whatever the system offers.
var reserved = map[int]bool{5432: true, 4222: true, 3306: true, 6379: true, 5672: true, 1883: true}

// FreePorts finds n distinct free loopback ports. Another process may take one before the caller
// binds it; the caller's start then fails with its own log saying so.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for len(ports) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ln)
		if port := ln.Addr().(*net.TCPAddr).Port; !reserved[port] {
			ports = append(ports, port)
		}
	}
	return ports
}

// FreeAddr is a free loopback address, host:port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(FreePorts(t, 1)[0])
}

// Log collects a process's output; it is safe for concurrent use.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Tail is the last n bytes of the output, marked with "…" when cut.
func (l *Log) Tail(n int) string {
	s := l.String()
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
