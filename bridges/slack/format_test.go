package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// Canonical HTML survives the trip to Slack's rich_text and back.
func TestRichTextRoundTrip(t *testing.T) {
	for _, html := range []string{
		`<p>plain</p>`,
		`<p><b>bold</b> <i>italic</i> <s>struck</s> <code>code()</code></p>`,
		`<p><b>bold <i>both</i></b> after</p>`,
		`<p>one<br>two</p><p>three</p>`,
		`<p>see <a href="https://example.com/a_b?x=1&amp;y=2">the docs</a>!</p>`,
		`<p><a href="https://example.com/">https://example.com/</a></p>`,
		`<ul><li>one</li><li><b>two</b></li></ul>`,
		`<ol><li>first</li><li>second</li></ol>`,
		`<ul><li>outer<ul><li>inner</li></ul></li><li>after</li></ul>`,
		`<pre><code>if a &lt; b {
  return
}</code></pre>`,
		`<blockquote><p>quoted</p></blockquote><p>answer</p>`,
		`<p>before</p><ul><li>item</li></ul><p>after</p>`,
	} {
		want := richtext.Sanitize(html)
		block, _ := toRichText("", html)
		if block == nil {
			t.Errorf("%s: no block", html)
			continue
		}
		raw, _ := json.Marshal([]any{block})
		var back []richTextBlock
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if got := fromRichText(back, nil); got != want {
			t.Errorf("round trip of %s\n got  %s\n want %s\n via  %s", html, got, want, raw)
		}
	}
}

// The blocks are the ones Slack documents: containers, styled text, links, lists by indent.
func TestToRichTextShape(t *testing.T) {
	block, fallback := toRichText("", `<p><b>Hi</b> &amp; <a href="https://x.example/">x</a></p><ul><li>a<ol><li>b</li></ol></li><li>c</li></ul><pre>p &lt;q&gt;</pre>`)
	got, _ := json.Marshal(block)
	want := `{"type":"rich_text","elements":[` +
		`{"type":"rich_text_section","elements":[{"type":"text","text":"Hi","style":{"bold":true}},{"type":"text","text":" \u0026 "},{"type":"link","text":"x","url":"https://x.example/"}]},` +
		`{"type":"rich_text_list","style":"bullet","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"a"}]}]},` +
		`{"type":"rich_text_list","style":"ordered","indent":1,"elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"b"}]}]},` +
		`{"type":"rich_text_list","style":"bullet","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"c"}]}]},` +
		`{"type":"rich_text_preformatted","elements":[{"type":"text","text":"p \u003cq\u003e"}]}]}`
	if string(got) != want {
		t.Errorf("blocks\n got  %s\n want %s", got, want)
	}
	if !strings.HasPrefix(fallback, "Hi &amp; x (https://x.example/)") || strings.Contains(fallback, "<q>") {
		t.Errorf("fallback %q: want the plain text with &, < and > escaped", fallback)
	}
}

func TestToRichTextEdges(t *testing.T) {
	if b, text := toRichText("", "  "); b != nil || text != "" {
		t.Errorf("empty message gave %v %q", b, text)
	}
	b, text := toRichText("a <b> & c", "")
	if b == nil || text != "a &lt;b&gt; &amp; c" {
		t.Fatalf("text only: %v %q", b, text)
	}
	if got := fromRichText([]richTextBlock{*b}, nil); got != "<p>a &lt;b&gt; &amp; c</p>" {
		t.Errorf("text only came back as %s", got)
	}
	// Underline has no rich_text style: the text stays.
	if b, _ := toRichText("", "<p><u>under</u></p>"); b == nil || b.Elements[0].Elements[0].Text != "under" || b.Elements[0].Elements[0].Style != nil {
		t.Errorf("underline: %+v", b)
	}
	// What the sanitizer drops never reaches Slack.
	b, _ = toRichText("", `<p>x<script>alert(1)</script><a href="javascript:alert(2)">y</a></p>`)
	raw, _ := json.Marshal(b)
	if strings.Contains(string(raw), "alert") || strings.Contains(string(raw), "javascript") {
		t.Errorf("hostile HTML reached the blocks: %s", raw)
	}
}

// An expert's message as Slack's clients send it: styles, links, mentions, emoji, lists, code,
// quotes — and hostile input that must come out sanitized.
func TestFromRichText(t *testing.T) {
	names := func(kind, id string) string {
		if kind == "user" && id == "U1" {
			return "Erin"
		}
		return ""
	}
	for _, c := range []struct{ blocks, want string }{
		{`[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"hi "},{"type":"user","user_id":"U1"},{"type":"text","text":" "},{"type":"emoji","name":"thumbsup","unicode":"1f44d"},{"type":"text","text":" "},{"type":"emoji","name":"party_parrot"}]}]}]`,
			`<p>hi @Erin 👍 :party_parrot:</p>`},
		{`[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"a","style":{"bold":true}},{"type":"text","text":"b","style":{"bold":true,"italic":true}},{"type":"text","text":"c","style":{"strike":true}}]}]}]`,
			`<p><b>a<i>b</i></b><s>c</s></p>`},
		{`[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"one\ntwo\n\nthree\n"}]}]}]`,
			`<p>one<br/>two</p><p>three</p>`},
		{`[{"type":"rich_text","elements":[{"type":"rich_text_list","style":"bullet","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"a"}]}]},{"type":"rich_text_list","style":"bullet","indent":2,"elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"deep"}]}]}]}]`,
			`<ul><li>a<ul><li><ul><li>deep</li></ul></li></ul></li></ul>`},
		{`[{"type":"rich_text","elements":[{"type":"rich_text_quote","elements":[{"type":"text","text":"q"}]},{"type":"rich_text_preformatted","elements":[{"type":"text","text":"x<y"}]}]}]`,
			`<blockquote><p>q</p></blockquote><pre><code>x&lt;y</code></pre>`},
		{`[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"<script>alert(1)</script>"},{"type":"link","url":"javascript:alert(2)","text":"click"},{"type":"link","url":"https://ok.example/"}]}]}]`,
			`<p>&lt;script&gt;alert(1)&lt;/script&gt;click<a href="https://ok.example/" rel="nofollow noopener noreferrer" target="_blank">https://ok.example/</a></p>`},
		{`[{"type":"section","text":{"type":"mrkdwn","text":"not rich text"}}]`, ``},
	} {
		var blocks []richTextBlock
		var raws []json.RawMessage
		if err := json.Unmarshal([]byte(c.blocks), &raws); err != nil {
			t.Fatal(err)
		}
		for _, r := range raws {
			var b richTextBlock
			if json.Unmarshal(r, &b) == nil && b.Type == "rich_text" {
				blocks = append(blocks, b)
			}
		}
		if got := fromRichText(blocks, names); got != c.want {
			t.Errorf("%s\n got  %s\n want %s", c.blocks, got, c.want)
		}
	}
}

func TestMrkdwnToHTML(t *testing.T) {
	names := func(kind, id string) string {
		if kind == "user" && id == "U1" {
			return "Erin"
		}
		return ""
	}
	for _, c := range []struct{ in, want string }{
		{"*bold* _it_ ~gone~ `x_y*z`", `<p><b>bold</b> <i>it</i> <s>gone</s> <code>x_y*z</code></p>`},
		{"snake_case_name and 2*3*4", `<p>snake_case_name and 2*3*4</p>`},
		{"see <https://example.com/a_b_c|the *docs*> or <https://example.com>", `<p>see <a href="https://example.com/a_b_c" rel="nofollow noopener noreferrer" target="_blank">the *docs*</a> or <a href="https://example.com" rel="nofollow noopener noreferrer" target="_blank">https://example.com</a></p>`},
		{"hi <@U1>, <!here> &lt;b&gt; &amp;", `<p>hi @Erin, @here &lt;b&gt; &amp;</p>`},
		{"line one\nline two\n\nnext", `<p>line one<br/>line two</p><p>next</p>`},
		{"&gt; quoted\nplain", `<blockquote><p>quoted</p></blockquote><p>plain</p>`},
		{"• one\n• two\n1. first", `<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>`},
		{"```\ncode *not bold*\n```", `<pre><code>code *not bold*</code></pre>`},
		{"<javascript:alert(1)|x> &lt;script&gt; <script>", `<p>x &lt;script&gt; script</p>`},
	} {
		if got := mrkdwnToHTML(c.in, names); got != c.want {
			t.Errorf("%q\n got  %s\n want %s", c.in, got, c.want)
		}
	}
}

func FuzzFromRichText(f *testing.F) {
	f.Add(`[{"type":"rich_text","elements":[{"type":"rich_text_list","style":"ordered","indent":3,"elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"x"}]}]}]}]`)
	f.Fuzz(func(t *testing.T, in string) {
		var blocks []richTextBlock
		if json.Unmarshal([]byte(in), &blocks) != nil {
			return
		}
		out := fromRichText(blocks, nil)
		if out != richtext.Sanitize(out) {
			t.Errorf("output is not sanitized: %s", out)
		}
	})
}
