package main

import (
	"net/url"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"

	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// outboundText is what the customer reads of an agent's message: the plain text (links written
// out as "text (url)"), then the links of files that have a public address. Files carried inline
// cannot be sent on these platforms' text messages.
func outboundText(c *pb.Content) string {
	text, _ := richtext.Normalize(c.GetText(), c.GetHtml())
	text = strings.TrimSpace(text)
	var lines []string
	for _, a := range c.GetAttachments() {
		if u, err := url.Parse(a.GetUrl()); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			name := a.GetName()
			if name == "" {
				name = "file"
			}
			lines = append(lines, name+": "+u.String())
		}
	}
	if len(lines) > 0 {
		if text != "" {
			text += "\n\n"
		}
		text += strings.Join(lines, "\n")
	}
	return text
}

// splitText cuts text into parts of at most max UTF-16 code units (what the platforms count),
// at a paragraph, line or word break where there is one in the second half of a part.
func splitText(text string, max int) []string {
	var parts []string
	for {
		text = strings.TrimSpace(text)
		if text == "" {
			return parts
		}
		runes := []rune(text)
		units, cut := 0, len(runes)
		for i, r := range runes {
			n := utf16.RuneLen(r)
			if n < 0 {
				n = 1
			}
			if units+n > max {
				cut = i
				break
			}
			units += n
		}
		if cut == len(runes) {
			return append(parts, text)
		}
		best := cut
		for _, isBreak := range []func(rs []rune, i int) bool{paragraphBreak, lineBreak, spaceBreak} {
			if i := lastBreak(runes[:cut], cut/2, isBreak); i > 0 {
				best = i
				break
			}
		}
		parts = append(parts, strings.TrimSpace(string(runes[:best])))
		text = string(runes[best:])
	}
}

// lastBreak is the index just after the last break at or after from, or 0.
func lastBreak(rs []rune, from int, isBreak func(rs []rune, i int) bool) int {
	for i := len(rs) - 1; i >= from && i > 0; i-- {
		if isBreak(rs, i) {
			return i + 1
		}
	}
	return 0
}

func paragraphBreak(rs []rune, i int) bool { return rs[i] == '\n' && i > 0 && rs[i-1] == '\n' }
func lineBreak(rs []rune, i int) bool      { return rs[i] == '\n' }
func spaceBreak(rs []rune, i int) bool     { return unicode.IsSpace(rs[i]) }

// sentLog remembers which parts of recent outbound events the platform accepted, and the
// platform's message ids, so a resent event is not sent twice (none of these platforms takes an
// idempotency key) and receipts find the event they belong to. It lives in memory only: an
// event resent after a crash, sent before the crash, is sent again.
type sentLog struct {
	mu     sync.Mutex
	ring   []string            // event ids, oldest evicted first
	next   int                 // where the next event id goes in ring
	events map[string]sentItem // by event id
	byID   map[string]string   // platform message id → event id
}

type sentItem struct {
	ids      []string // platform message ids of the parts sent, in order
	template bool     // a template went out instead of the text
}

func newSentLog(n int) *sentLog {
	return &sentLog{ring: make([]string, n), events: map[string]sentItem{}, byID: map[string]string{}}
}

// parts is how many parts of the event the platform accepted.
func (s *sentLog) parts(eventID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events[eventID].ids)
}

// add records that the platform accepted the next part of the event under its message id.
func (s *sentLog) add(eventID, platformID string) { s.addItem(eventID, platformID, false) }

// addTemplate records that a template went out for the event.
func (s *sentLog) addTemplate(eventID, platformID string) { s.addItem(eventID, platformID, true) }

func (s *sentLog) addItem(eventID, platformID string, template bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	item, known := s.events[eventID]
	if !known {
		if old := s.ring[s.next]; old != "" {
			for _, id := range s.events[old].ids {
				delete(s.byID, id)
			}
			delete(s.events, old)
		}
		s.ring[s.next] = eventID
		s.next = (s.next + 1) % len(s.ring)
	}
	item.ids = append(item.ids, platformID)
	item.template = item.template || template
	s.events[eventID] = item
	s.byID[platformID] = eventID
}

// event finds the event a platform message id belongs to.
func (s *sentLog) event(platformID string) (eventID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	eventID, ok = s.byID[platformID]
	return eventID, ok
}

// templateSent reports whether a template went out for the event.
func (s *sentLog) templateSent(eventID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events[eventID].template
}
