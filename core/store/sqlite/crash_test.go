package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
)

// The crash test re-runs the test binary as a helper process (see TestMain) that appends messages
// and prints each seq only after its Write returned; the test kills it with SIGKILL and checks that
// every printed seq is in the database.
const (
	crashHelperEnv     = "SWITCHBOARD_SQLITE_CRASH_HELPER"
	crashHelperSyncEnv = "SWITCHBOARD_SQLITE_CRASH_HELPER_SYNC"
	crashTenant        = "acme"
	crashConv          = "conv"
)

// crashHelper is the helper process: it appends until killed (or for a minute, should its parent
// be gone).
func crashHelper() int {
	ctx := context.Background()
	db, err := Open(ctx, Options{Path: os.Getenv(crashHelperEnv), Synchronous: os.Getenv(crashHelperSyncEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	deadline := time.Now().Add(time.Minute)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				var seq int64
				err := db.Write(ctx, func(tx store.Tx) error {
					m, err := tx.AppendMessage(store.Message{TenantID: crashTenant, ConversationID: crashConv, Text: "x"})
					seq = m.Seq
					return err
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%d\n", seq) // unbuffered: one write(2) per line
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

func TestCrashKeepsReturnedWrites(t *testing.T) {
	for _, mode := range []string{"full", "normal"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			testCrash(t, mode)
		})
	}
}

func testCrash(t *testing.T, syncMode string) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	db := openTest(t, Options{Path: path})
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		_, err := tx.CreateConversation(store.Conversation{TenantID: crashTenant, ID: crashConv, State: store.ConvActive})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+path, crashHelperSyncEnv+"="+syncMode)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	var printed []int64
	killed := false
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			break // a last line without its newline was cut by the kill: it proves nothing
		}
		if err != nil {
			t.Fatalf("reading the helper: %v", err)
		}
		seq, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		if err != nil {
			t.Fatalf("helper printed %q", line)
		}
		printed = append(printed, seq)
		if len(printed) == 300 && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code, no Close
				t.Fatal(err)
			}
			killed = true
		}
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("helper ended by itself after %d messages: %v", len(printed), werr)
	}

	db = openTest(t, Options{Path: path})
	defer db.Close()
	msgs, err := db.Messages(t.Context(), crashTenant, crashConv, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := make(map[int64]bool, len(msgs))
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("stored seqs have a gap: message %d has seq %d", i, m.Seq)
		}
		stored[m.Seq] = true
	}
	missing := 0
	for _, seq := range printed {
		if !stored[seq] {
			missing++
		}
	}
	t.Logf("synchronous=%s: helper confirmed %d writes before the kill, %d stored", syncMode, len(printed), len(msgs))
	if missing > 0 {
		t.Errorf("%d of %d confirmed writes are lost after SIGKILL", missing, len(printed))
	}
	conv, err := db.Conversation(t.Context(), crashTenant, crashConv)
	if err != nil || conv.LastSeq != int64(len(msgs)) {
		t.Errorf("conversation after crash: last seq %d, %v; want %d", conv.LastSeq, err, len(msgs))
	}
}
