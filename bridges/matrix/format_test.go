package main

import (
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/sdk/richtext"
)

func TestToMatrix(t *testing.T) {
	cases := []struct {
		name, text, html   string
		wantBody, wantHTML string
	}{
		{"plain text only", "hello", "", "hello", ""},
		{"formatting", "", `<p><b>bold</b> <i>it</i> <s>gone</s> <code>x()</code></p>`,
			"bold it gone x()", `<p><b>bold</b> <i>it</i> <del>gone</del> <code>x()</code></p>`},
		{"list and link", "see list", `<ul><li>one</li><li><a href="https://example.org/a?b=1&amp;c=2">two</a></li></ul>`,
			"see list", `<ul><li>one</li><li><a href="https://example.org/a?b=1&amp;c=2">two</a></li></ul>`},
		{"hostile html from the hub is sanitized again", "x", `<p onclick="evil()">x<script>alert(1)</script><img src=x onerror=alert(1)></p>`,
			"x", `<p>x</p>`},
		{"text that looks like a tag stays text", "", `<p>&lt;s&gt; and rel=&#34;nofollow noopener noreferrer&#34;</p>`,
			`<s> and rel="nofollow noopener noreferrer"`, `<p>&lt;s&gt; and rel=&#34;nofollow noopener noreferrer&#34;</p>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, html := toMatrix(tc.text, tc.html)
			if body != tc.wantBody || html != tc.wantHTML {
				t.Errorf("toMatrix(%q, %q)\n got  %q, %q\n want %q, %q", tc.text, tc.html, body, html, tc.wantBody, tc.wantHTML)
			}
		})
	}
}

func TestFromMatrixSanitizes(t *testing.T) {
	cases := []struct {
		name                     string
		msgtype, body, formatted string
		reply                    bool
		wantText, wantHTML       string
	}{
		{"plain body", "m.text", "hi <b>there</b>", "", false, "hi <b>there</b>", "<p>hi &lt;b&gt;there&lt;/b&gt;</p>"},
		{"script dropped", "m.text", "hi", `<b>hi</b><script>alert(document.cookie)</script>`, false, "hi", "<b>hi</b>"},
		{"event handler and javascript link dropped", "m.text", "click",
			`<a href="javascript:alert(1)" onclick="x()">click</a><img src="mxc://a/b" onerror="alert(1)" alt="pic">`, false,
			"click", "clickpic"},
		{"matrix colours and spans unwrapped", "m.text", "red", `<font color="red" data-mx-color="#f00"><span data-mx-bg-color="#000">red</span></font>`, false,
			"red", "red"},
		{"del becomes s", "m.text", "gone", `<del>gone</del>`, false, "gone", "<s>gone</s>"},
		{"link kept with safe attributes", "m.text", "docs", `<a href="https://example.org/docs" target="_top">docs</a>`, false,
			"docs", `<a href="https://example.org/docs" rel="nofollow noopener noreferrer" target="_blank">docs</a>`},
		{"reply fallback dropped", "m.text", "> <@a:x> original\n> more\n\nthe answer",
			`<mx-reply><blockquote><a href="https://matrix.to/#/!r:x/$e">In reply to</a> original</blockquote></mx-reply>the <b>answer</b>`, true,
			"the answer", "the <b>answer</b>"},
		{"emote", "m.emote", "waves", "", false, "* Bob waves", "<p>* Bob waves</p>"},
		{"emote with html escapes the name", "m.emote", "waves", "<i>waves</i>", false, "* Bob waves", "* Bob <i>waves</i>"},
		{"html ignored without the matrix format", "m.notice", "note", "", false, "note", "<p>note</p>"},
		{"empty", "m.text", "  ", "<p> </p>", false, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			format := ""
			if tc.formatted != "" {
				format = matrixHTMLFormat
			}
			text, html := fromMatrix(tc.msgtype, tc.body, format, tc.formatted, tc.reply, "Bob")
			if text != tc.wantText || html != tc.wantHTML {
				t.Errorf("fromMatrix\n got  %q, %q\n want %q, %q", text, html, tc.wantText, tc.wantHTML)
			}
			if strings.Contains(strings.ToLower(html), "script") || strings.Contains(html, "javascript:") || strings.Contains(html, "on") && strings.Contains(html, "onerror") {
				t.Errorf("hostile markup survived: %q", html)
			}
		})
	}
}

// TestFormatRoundTrip: canonical HTML that goes out to Matrix and comes back is unchanged.
func TestFormatRoundTrip(t *testing.T) {
	for _, in := range []string{
		`<p><b>bold</b>, <strong>strong</strong>, <i>italic</i>, <em>em</em>, <u>under</u> and <s>struck</s></p>`,
		`<ol><li>first</li><li>second<ul><li>nested</li></ul></li></ol>`,
		`<blockquote><p>quoted</p></blockquote><pre><code>x := 1
y := 2</code></pre>`,
		`<p>see <a href="https://example.org/path?q=1&amp;r=2">the docs</a> or <a href="mailto:help@example.org">mail</a></p>`,
		`<p>line one<br/>line two</p>`,
	} {
		canonical := richtext.Sanitize(in)
		body, formatted := toMatrix("", canonical)
		text, html := fromMatrix("m.text", body, matrixHTMLFormat, formatted, false, "")
		if html != canonical {
			t.Errorf("round trip changed the HTML:\n in   %q\n out  %q\n (matrix %q)", canonical, html, formatted)
		}
		if text != richtext.ToText(canonical) {
			t.Errorf("round trip changed the text: %q, want %q", text, richtext.ToText(canonical))
		}
	}
}
