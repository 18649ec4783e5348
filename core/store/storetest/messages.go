package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
)

func testAppendMessage(t *testing.T, e *env) {
	const ten = "acme"
	createConversation(e, store.Conversation{TenantID: ten, ID: "conv", Kind: store.KindCustomer, State: store.ConvActive})
	before := time.Now().Add(-time.Second)

	withAll := store.Message{TenantID: ten, ConversationID: "conv", ID: "msg-1", EventID: "ev-1",
		SenderKind: store.PartCustomer, SenderID: "cust-1", SenderName: "Ann", Text: "hello *you*",
		HTML: "<p>hello <b>you</b></p>", CreatedAt: at(0),
		Attachments: []store.Attachment{{Name: "a.png", ContentType: "image/png", Size: 12, URL: "https://x.test/a.png"}}}
	var got []store.Message
	e.write(func(tx store.Tx) error {
		for _, m := range []store.Message{
			withAll,
			{TenantID: ten, ConversationID: "conv", SenderKind: store.PartAgent, SenderID: "agent-1", Text: "hi"},
			{TenantID: ten, ConversationID: "conv", SenderKind: store.PartSystem, Text: "agent joined"},
		} {
			m, err := tx.AppendMessage(m)
			if err != nil {
				return err
			}
			got = append(got, m)
		}
		return nil
	})
	equal(t, "seqs", seqs(got), []int64{1, 2, 3})
	want := withAll
	want.Seq = 1
	equal(t, "first message", got[0], want)
	if got[1].ID == "" || got[1].ID == got[2].ID || got[1].CreatedAt.Before(before) {
		t.Errorf("AppendMessage: want fresh ids and a creation time of now, got %+v and %+v", got[1], got[2])
	}

	stored, err := e.s.Messages(e.ctx, ten, "conv", 0, 1000)
	noErr(t, "Messages", err)
	if len(stored) != 3 {
		t.Fatalf("Messages: got %d, want 3", len(stored))
	}
	equal(t, "stored first message", stored[0], want)
	if stored[1].ID != got[1].ID || !stored[1].CreatedAt.Equal(got[1].CreatedAt) || stored[2].Text != "agent joined" {
		t.Errorf("stored messages: got %+v, want %+v", stored[1:], got[1:])
	}
	conv, err := e.s.Conversation(e.ctx, ten, "conv")
	if err != nil || conv.LastSeq != 3 {
		t.Errorf("Conversation.LastSeq: got %d, %v; want 3", conv.LastSeq, err)
	}

	m, err := e.s.MessageByEventID(e.ctx, ten, "ev-1")
	noErr(t, "MessageByEventID", err)
	equal(t, "MessageByEventID", m, want)
	_, err = e.s.MessageByEventID(e.ctx, ten, "ev-unknown")
	isErr(t, "MessageByEventID(unknown)", err, store.ErrNotFound)
	_, err = e.s.MessageByEventID(e.ctx, ten, "")
	isErr(t, "MessageByEventID(empty)", err, store.ErrNotFound)

	// A duplicate event id is a conflict that uses up no sequence number, even when the Write
	// function carries on after it.
	e.write(func(tx store.Tx) error {
		_, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "conv", EventID: "ev-1", Text: "again"})
		isErr(t, "AppendMessage with a duplicate event id", err, store.ErrConflict)
		m, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "conv", EventID: "ev-2", Text: "next"})
		if err == nil && m.Seq != 4 {
			t.Errorf("AppendMessage after a conflict: seq %d, want 4", m.Seq)
		}
		return err
	})

	err = e.writeErr(func(tx store.Tx) error {
		_, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "ghost", Text: "lost"})
		return err
	})
	isErr(t, "AppendMessage to a missing conversation", err, store.ErrNotFound)
	msgs, err := e.s.Messages(e.ctx, ten, "ghost", 0, 10)
	empty(t, "Messages(ghost)", msgs, err)

	stored, err = e.s.Messages(e.ctx, ten, "conv", 0, 1000)
	noErr(t, "Messages", err)
	equal(t, "seqs after the conflict", seqs(stored), []int64{1, 2, 3, 4})
}

func testAppendMessageConcurrent(t *testing.T, e *env) {
	const ten, n = "acme", 50
	createConversation(e, store.Conversation{TenantID: ten, ID: "conv", Kind: store.KindCustomer, State: store.ConvActive})
	got := make([]int64, n)
	errs := parallel(n, func(i int) error {
		return e.s.Write(e.ctx, func(tx store.Tx) error {
			m, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "conv", Text: name("msg", i)})
			got[i] = m.Seq
			return err
		})
	})
	for i, err := range errs {
		noErr(t, name("writer", i), err)
	}
	slices.Sort(got)
	equal(t, "returned seqs", got, oneToN(n))

	stored, err := e.s.Messages(e.ctx, ten, "conv", 0, 1000)
	noErr(t, "Messages", err)
	equal(t, "stored seqs", seqs(stored), oneToN(n))
	texts := map[string]bool{}
	for _, m := range stored {
		texts[m.Text] = true
	}
	if len(texts) != n {
		t.Errorf("stored %d distinct messages, want %d", len(texts), n)
	}
	conv, err := e.s.Conversation(e.ctx, ten, "conv")
	if err != nil || conv.LastSeq != n {
		t.Errorf("Conversation.LastSeq: got %d, %v; want %d", conv.LastSeq, err, n)
	}
}

func testMessagesPaging(t *testing.T, e *env) {
	const ten, n = "acme", 25
	createConversation(e, store.Conversation{TenantID: ten, ID: "conv", Kind: store.KindCustomer, State: store.ConvActive})
	createConversation(e, store.Conversation{TenantID: ten, ID: "other", Kind: store.KindCustomer, State: store.ConvActive})
	e.write(func(tx store.Tx) error {
		for i := range n {
			if _, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "conv", Text: name("m", i)}); err != nil {
				return err
			}
			if _, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "other", Text: name("o", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	var all []int64
	after := int64(0)
	for pages := 0; ; pages++ {
		page, err := e.s.Messages(e.ctx, ten, "conv", after, 10)
		noErr(t, "Messages", err)
		if len(page) > 10 {
			t.Fatalf("Messages with limit 10 returned %d", len(page))
		}
		if len(page) == 0 {
			if pages != 3 {
				t.Errorf("paged %d pages of 10 over %d messages, want 3", pages, n)
			}
			break
		}
		for _, m := range page {
			if m.ConversationID != "conv" {
				t.Fatalf("Messages returned a message of %q", m.ConversationID)
			}
		}
		all = append(all, seqs(page)...)
		after = page[len(page)-1].Seq
	}
	equal(t, "paged seqs", all, oneToN(n))

	page, err := e.s.Messages(e.ctx, ten, "conv", 20, 1000)
	noErr(t, "Messages", err)
	equal(t, "seqs after 20", seqs(page), []int64{21, 22, 23, 24, 25})
	page, err = e.s.Messages(e.ctx, ten, "conv", n, 10)
	empty(t, "Messages after the last", page, err)
}

func testFiles(t *testing.T, e *env) {
	data := []byte("%PDF-1.7 report\x00\xff")
	var put store.File
	e.write(func(tx store.Tx) (err error) {
		put, err = tx.PutFile(store.File{TenantID: "acme", ConversationID: "conv", Name: "report.pdf", ContentType: "application/pdf", Data: data})
		return err
	})
	if put.ID == "" || put.Size != int64(len(data)) {
		t.Fatalf("PutFile returned id %q size %d, want a fresh id and size %d", put.ID, put.Size, len(data))
	}
	got, err := e.s.File(e.ctx, "acme", put.ID)
	noErr(t, "File", err)
	if got.Name != "report.pdf" || got.ContentType != "application/pdf" || got.ConversationID != "conv" ||
		got.Size != int64(len(data)) || string(got.Data) != string(data) || got.CreatedAt.IsZero() {
		t.Errorf("File = %+v, want what was put", got)
	}
	_, err = e.s.File(e.ctx, "globex", put.ID)
	isErr(t, "File of another tenant", err, store.ErrNotFound)
	_, err = e.s.File(e.ctx, "acme", "missing")
	isErr(t, "File that does not exist", err, store.ErrNotFound)
}

func testSetDelivery(t *testing.T, e *env) {
	const ten = "acme"
	createConversation(e, store.Conversation{TenantID: ten, ID: "conv", Kind: store.KindCustomer, State: store.ConvActive})
	e.write(func(tx store.Tx) error {
		_, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "conv", EventID: "out-1", SenderKind: store.PartAgent, Text: "hi"})
		return err
	})
	report := func(d store.Delivery, reason string) (store.Message, bool) {
		t.Helper()
		var m store.Message
		var changed bool
		e.write(func(tx store.Tx) (err error) {
			m, changed, err = tx.SetDelivery(ten, "out-1", d, reason)
			return err
		})
		return m, changed
	}
	for _, step := range []struct {
		d       store.Delivery
		reason  string
		changed bool
		want    store.Delivery
	}{
		{store.DeliverySent, "", true, store.DeliverySent},
		{store.DeliverySent, "", false, store.DeliverySent}, // a repeat
		{store.DeliveryDelivered, "", true, store.DeliveryDelivered},
		{store.DeliverySent, "", false, store.DeliveryDelivered},    // late: never backwards
		{store.DeliveryFailed, "x", false, store.DeliveryDelivered}, // a failure after delivery is stale
		{store.DeliveryRead, "", true, store.DeliveryRead},
	} {
		m, changed := report(step.d, step.reason)
		if changed != step.changed || m.Delivery != step.want {
			t.Fatalf("report %s: changed %v, delivery %q; want %v, %q", step.d, changed, m.Delivery, step.changed, step.want)
		}
	}
	stored, err := e.s.MessageByEventID(e.ctx, ten, "out-1")
	noErr(t, "MessageByEventID", err)
	equal(t, "stored delivery", stored.Delivery, store.DeliveryRead)

	e.write(func(tx store.Tx) error {
		_, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "conv", EventID: "out-2", SenderKind: store.PartAgent, Text: "late"})
		return err
	})
	var m store.Message
	e.write(func(tx store.Tx) (err error) {
		m, _, err = tx.SetDelivery(ten, "out-2", store.DeliveryFailed, "the customer opted out")
		return err
	})
	msgs, err := e.s.Messages(e.ctx, ten, "conv", 0, 10)
	noErr(t, "Messages", err)
	if last := msgs[len(msgs)-1]; last.Delivery != store.DeliveryFailed || last.DeliveryReason != "the customer opted out" || m.DeliveryReason != last.DeliveryReason {
		t.Errorf("failed delivery stored as %q %q", last.Delivery, last.DeliveryReason)
	}
	err = e.writeErr(func(tx store.Tx) error {
		_, _, err := tx.SetDelivery(ten, "unknown", store.DeliveryDelivered, "")
		return err
	})
	isErr(t, "SetDelivery of an unknown event", err, store.ErrNotFound)
	err = e.writeErr(func(tx store.Tx) error {
		_, _, err := tx.SetDelivery("globex", "out-1", store.DeliveryDelivered, "")
		return err
	})
	isErr(t, "SetDelivery from another tenant", err, store.ErrNotFound)
}
