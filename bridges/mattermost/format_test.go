package main

import (
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

func TestToMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name, text, html, want string
	}{
		{"bold and italic", "", `<p><b>Bold</b> and <i>italic</i></p>`, "**Bold** and *italic*"},
		{"lists", "", `<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>`, "- one\n- two\n\n1. first"},
		{"link and code", "", `<p><a href="https://example.com/kb">KB</a> <code>x()</code></p>`, "[KB](https://example.com/kb) `x()`"},
		{"code block", "", "<pre><code>go run .\n</code></pre>", "```\ngo run .\n```"},
		{"quote and strike", "", `<blockquote>quoted</blockquote><p><s>gone</s></p>`, "> quoted\n\n~~gone~~"},
		{"plain text is escaped", "2*3 = 6 and a_b_c", "", `2\*3 = 6 and a\_b\_c`},
		{"hostile html", "", `<script>alert(1)</script><p onclick="x()">hi <a href="javascript:alert(1)">there</a><img src=x onerror=alert(2)></p>`, "hi there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toMarkdown(&sdk.Content{Text: tc.text, Html: tc.html})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("toMarkdown(%q, %q) = %q, want %q", tc.text, tc.html, got, tc.want)
			}
		})
	}
}

func TestFromMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name, md, text string
		html           []string // fragments the HTML must hold
	}{
		{"bold and italic", "**Bold** and *italic*", "Bold and italic", []string{"<strong>Bold</strong>", "<em>italic</em>"}},
		{"list", "- one\n- two", "- one\n- two", []string{"<li>one</li>", "<li>two</li>"}},
		{"link", "see [KB](https://example.com/kb)", "see KB (https://example.com/kb)", []string{`href="https://example.com/kb"`}},
		{"code", "run `x()`", "run x()", []string{"<code>x()</code>"}},
		{"line break", "one\ntwo", "one\ntwo", []string{"<br"}},
		{"raw html is not rendered", "Hi **Alice** <script>alert(1)</script><img src=x onerror=alert(2)>", "Hi Alice alert(1)", []string{"<strong>Alice</strong>"}},
		{"raw html tags are dropped", "<b>not bold</b>", "not bold", []string{"not bold"}},
		{"nothing but raw html stays text", "<script>alert(1)</script>", "<script>alert(1)</script>", []string{"&lt;script&gt;"}},
		{"script link", "[click](javascript:alert(1))", "click", []string{"click"}},
		{"blank", "  \n ", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, html := fromMarkdown(tc.md)
			if text != tc.text {
				t.Errorf("text of %q = %q, want %q", tc.md, text, tc.text)
			}
			for _, want := range tc.html {
				if !strings.Contains(html, want) {
					t.Errorf("html of %q = %q, want it to hold %q", tc.md, html, want)
				}
			}
			for _, bad := range []string{"<script", "onerror", "<img", "javascript:", "onclick"} {
				if strings.Contains(html, bad) {
					t.Errorf("html of %q = %q holds %q", tc.md, html, bad)
				}
			}
			if html != richtext.Sanitize(html) {
				t.Errorf("html of %q is not sanitized: %q", tc.md, html)
			}
		})
	}
}

// TestMarkdownRoundTrip: what an agent writes reaches the expert as Markdown and, read back,
// shows the same text with the same formatting.
func TestMarkdownRoundTrip(t *testing.T) {
	for _, html := range []string{
		`<p><b>Bold</b> and <i>italic</i></p>`,
		`<ul><li>one</li><li>two</li></ul>`,
		`<ol><li>first</li><li>second</li></ol>`,
		`<p><a href="https://example.com/kb?a=1&amp;b=2">KB</a></p>`,
		`<p>call <code>x()</code> then</p><pre><code>line 1
line 2</code></pre>`,
		`<blockquote><p>quoted</p></blockquote><p><s>struck</s></p>`,
		`<p>stars * and _under_ [brackets] stay</p>`,
	} {
		md, err := toMarkdown(&sdk.Content{Html: html})
		if err != nil {
			t.Fatal(err)
		}
		text, back := fromMarkdown(md)
		if want := richtext.ToText(html); text != want {
			t.Errorf("%s → %q → text %q, want %q", html, md, text, want)
		}
		for _, tag := range []string{"<b>", "<i>", "<li>", "<a ", "<code>", "<pre>", "<blockquote>", "<s>"} {
			if strings.Contains(html, tag) && !strings.Contains(normalizeTags(back), tag) {
				t.Errorf("%s → %q → %s lost %s", html, md, back, tag)
			}
		}
	}
}

func normalizeTags(html string) string {
	return strings.NewReplacer("<strong>", "<b>", "<em>", "<i>", "<del>", "<s>").Replace(html)
}

func TestNoticeShowsTextAsTyped(t *testing.T) {
	const reason = "Alice is away: *soon* back, see [KB] <b>x</b>"
	md := noticeMarkdown(escapeMarkdown(reason))
	if !strings.HasPrefix(md, ":information_source: ") {
		t.Errorf("notice %q is not marked", md)
	}
	if text, _ := fromMarkdown(md); text != ":information_source: "+reason {
		t.Errorf("notice %q reads %q, want the reason as typed", md, text)
	}
}

func TestSplitMessage(t *testing.T) {
	long := strings.Repeat("line of text\n", 3000)
	parts := splitMessage(long, 16000)
	if len(parts) < 3 {
		t.Fatalf("%d parts", len(parts))
	}
	var total int
	for _, p := range parts {
		if n := len([]rune(p)); n > 16000 {
			t.Errorf("part of %d runes", n)
		}
		if strings.HasPrefix(p, "ine") {
			t.Errorf("a part starts mid-line: %q", p[:20])
		}
		total += strings.Count(p, "line of text")
	}
	if total != 3000 {
		t.Errorf("parts hold %d lines, want 3000", total)
	}
	if got := splitMessage("short", 16000); len(got) != 1 || got[0] != "short" {
		t.Errorf("short message split into %q", got)
	}
	wide := strings.Repeat("é", 40)
	for _, p := range splitMessage(wide, 16) {
		if len([]rune(p)) > 16 || !strings.HasPrefix(p, "é") {
			t.Errorf("part %q", p)
		}
	}
}
