package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/slack-go/slack/socketmode"
)

// socketDownAfter is how long Socket Mode may stay disconnected before the liveness probe says so.
const socketDownAfter = time.Minute

// runSocket keeps a Socket Mode connection and handles what arrives on it: each envelope is
// acknowledged once handled, which for a message means once the hub stored it.
func (b *bridge) runSocket(ctx context.Context) {
	client := socketmode.New(b.api, socketmode.OptionLog(log.New(logWriter{b}, "", 0)))
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		backoff := time.Second
		for {
			err := client.RunContext(ctx)
			if ctx.Err() != nil {
				return
			}
			b.setProblem("socket", fmt.Errorf("slack socket mode: %w", err))
			b.logger().Warn("socket mode stopped; reconnecting", "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Minute)
		}
	}()
	down := time.NewTimer(socketDownAfter)
	defer down.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-down.C:
			b.setProblem("socket", fmt.Errorf("slack socket mode: not connected for %s", socketDownAfter))
		case e := <-client.Events:
			switch e.Type {
			case socketmode.EventTypeConnected:
				down.Stop()
				b.setProblem("socket", nil)
				b.logger().Debug("socket mode connected")
			case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeDisconnect:
				down.Reset(socketDownAfter)
				b.logger().Debug("socket mode connection lost", "event", e.Type)
			case socketmode.EventTypeInvalidAuth:
				b.setProblem("socket", fmt.Errorf("slack socket mode: the app_token is not accepted"))
			case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive, socketmode.EventTypeSlashCommand:
				b.envelope(ctx, client, e.Request)
			case socketmode.EventTypeErrorBadMessage:
				// The library could not read the payload; the bridge reads it itself.
				if bad, ok := e.Data.(*socketmode.ErrorBadMessage); ok {
					var req socketmode.Request
					if json.Unmarshal(bad.Message, &req) == nil && req.EnvelopeID != "" {
						b.envelope(ctx, client, &req)
					} else {
						b.count("events_refused", "malformed")
					}
				}
			}
		}
	}
}

// envelope handles one Socket Mode request in the background, in order with the others of its
// DM, and acknowledges it when handled. An envelope that is not handled stays unacknowledged,
// and Slack sends it again.
func (b *bridge) envelope(ctx context.Context, client *socketmode.Client, req *socketmode.Request) {
	if req == nil {
		return
	}
	ack := func() { _ = client.AckCtx(ctx, req.EnvelopeID, nil) }
	switch req.Type {
	case socketmode.RequestTypeEventsAPI:
		var cb callback
		if err := json.Unmarshal(req.Payload, &cb); err != nil {
			b.count("events_refused", "malformed")
			ack()
			return
		}
		t := b.lanes.take(laneOf(&cb))
		go func() {
			defer t.release()
			if t.wait(ctx) != nil {
				return
			}
			if err := b.handleCallback(ctx, &cb); err != nil {
				b.logger().Warn("slack event not handled; Slack will send it again", "event_id", cb.EventID, "error", err)
				return
			}
			ack()
		}()
	case socketmode.RequestTypeInteractive:
		var ia interaction
		if err := json.Unmarshal(req.Payload, &ia); err != nil {
			b.count("events_refused", "malformed")
			ack()
			return
		}
		go func() {
			if err := b.onInteraction(ctx, &ia); err != nil {
				b.logger().Warn("slack interaction not handled", "error", err)
				return
			}
			ack()
		}()
	default:
		ack()
	}
}

// logWriter passes the Socket Mode library's log lines to the hub's log.
type logWriter struct{ b *bridge }

func (w logWriter) Write(p []byte) (int, error) {
	w.b.logger().Debug("socket mode", "detail", string(p))
	return len(p), nil
}
