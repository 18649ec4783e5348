package sqlite

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
)

// BenchmarkAppendMessage appends messages from many concurrent writers, each a Write of its own,
// as the hub does when many conversations are busy at once.
func BenchmarkAppendMessage(b *testing.B) {
	for _, mode := range []string{"full", "normal"} {
		b.Run("sync="+mode, func(b *testing.B) {
			const conversations = 16
			db, err := Open(b.Context(), Options{Path: filepath.Join(b.TempDir(), "bench.db"), Synchronous: mode})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Write(b.Context(), func(tx store.Tx) error {
				for i := range conversations {
					if _, err := tx.CreateConversation(store.Conversation{TenantID: "acme",
						ID: fmt.Sprint("conv-", i), Kind: store.KindCustomer, State: store.ConvActive}); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}

			var next atomic.Int64
			before := db.Stats()
			b.SetParallelism(32) // goroutines per CPU: writers mostly wait for the commit
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				conv := fmt.Sprint("conv-", next.Add(1)%conversations)
				for pb.Next() {
					if err := db.Write(b.Context(), func(tx store.Tx) error {
						_, err := tx.AppendMessage(store.Message{TenantID: "acme", ConversationID: conv,
							SenderKind: store.PartCustomer, SenderID: "cust-1", Text: "hello, I need help with my order",
							HTML: "<p>hello, I need help with my order</p>"})
						return err
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			after := db.Stats()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			if batches := after.Batches - before.Batches; batches > 0 {
				b.ReportMetric(float64(after.Writes-before.Writes)/float64(batches), "writes/batch")
			}
		})
	}
}
