package richtext

import (
	"strings"
	"testing"
)

func TestToText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"paragraphs", `<p>one</p><p>two</p>`, "one\n\ntwo"},
		{"br", `a<br>b<br/>c`, "a\nb\nc"},
		{"double br", `a<br><br>b`, "a\n\nb"},
		{"whitespace collapsed", "<p>  lots \n of\t space  </p>", "lots of space"},
		{"inline tags add nothing", `<p><b>bold</b> and <i>it</i><em>alic</em></p>`, "bold and italic"},
		{"entities decoded", `<p>a &lt; b &amp;&amp; c &gt; d &quot;e&quot; &#39;f&#39;</p>`, `a < b && c > d "e" 'f'`},
		{"nbsp becomes space", `a&nbsp;b`, "a b"},
		{"unordered list", `<ul><li>one</li><li>two</li></ul>`, "- one\n- two"},
		{"ordered list", `<ol><li>one</li><li>two</li></ol>`, "1. one\n2. two"},
		{"nested list", `<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>`, "- a\n  - b\n- c"},
		{"list item paragraphs stay tight", `<ul><li><p>a</p></li><li><p>b</p></li></ul>`, "- a\n- b"},
		{"list between paragraphs", `<p>before</p><ol><li>x</li></ol><p>after</p>`, "before\n\n1. x\n\nafter"},
		{"link", `<a href="https://example.com/docs">the docs</a>`, "the docs (https://example.com/docs)"},
		{"link text is url", `<a href="https://example.com">https://example.com</a>`, "https://example.com"},
		{"link text is url without scheme", `<a href="https://example.com">example.com</a>`, "example.com"},
		{"mailto link", `<a href="mailto:help@example.com">help@example.com</a>`, "help@example.com"},
		{"empty link shows url", `<a href="https://example.com"></a>`, "https://example.com"},
		{"unsafe link shows text only", `<a href="javascript:alert(1)">click</a>`, "click"},
		{"link in sentence", `<p>see <a href="https://example.com">here</a>, thanks</p>`, "see here (https://example.com), thanks"},
		{"pre keeps whitespace", "<p>code:</p><pre>\n  if x {\n    y()\n  }\n</pre><p>done</p>", "code:\n\n  if x {\n    y()\n  }\n\ndone"},
		{"blockquote", `<p>they said</p><blockquote>quoted</blockquote><p>ok</p>`, "they said\n\nquoted\n\nok"},
		{"script and style dropped", `<style>p{}</style><p>hi</p><script>alert(1)</script>`, "hi"},
		{"divs are lines of their own", `<div>a</div><div>b</div>`, "a\n\nb"},
		{"trimmed", "\n <p> x </p> \n", "x"},
		{"empty", ``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToText(tt.in); got != tt.want {
				t.Errorf("ToText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFromText(t *testing.T) {
	const rel = ` rel="nofollow noopener noreferrer" target="_blank"`
	tests := []struct {
		name, in, want string
	}{
		{"escapes markup", `<script>alert("x")</script> & 'y'`, `<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;y&#39;</p>`},
		{"newline is br", "a\nb", `<p>a<br/>b</p>`},
		{"blank line is paragraph", "a\n\nb", `<p>a</p><p>b</p>`},
		{"many blank lines", "a\n \n\t\n\nb\n", `<p>a</p><p>b</p>`},
		{"crlf", "a\r\nb\r\n\r\nc", `<p>a<br/>b</p><p>c</p>`},
		{"url", "see https://example.com/x?a=1&b=2 now",
			`<p>see <a href="https://example.com/x?a=1&amp;b=2"` + rel + `>https://example.com/x?a=1&amp;b=2</a> now</p>`},
		{"url ends sentence", "go to http://example.com.",
			`<p>go to <a href="http://example.com"` + rel + `>http://example.com</a>.</p>`},
		{"url in parentheses", "(see https://example.com)",
			`<p>(see <a href="https://example.com"` + rel + `>https://example.com</a>)</p>`},
		{"url with parentheses", "https://en.wikipedia.org/wiki/Go_(language)",
			`<p><a href="https://en.wikipedia.org/wiki/Go_(language)"` + rel + `>https://en.wikipedia.org/wiki/Go_(language)</a></p>`},
		{"upper case scheme", "HTTPS://example.com",
			`<p><a href="https://example.com"` + rel + `>HTTPS://example.com</a></p>`},
		{"url without host stays text", "http:// nothing", `<p>http:// nothing</p>`},
		{"other schemes stay text", "javascript:alert(1) ftp://example.com", `<p>javascript&#58;alert(1) ftp://example.com</p>`},
		{"empty", "", ""},
		{"blank", " \n\n ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromText(tt.in)
			if got != tt.want {
				t.Errorf("FromText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if clean := Sanitize(got); clean != got {
				t.Errorf("Sanitize changes FromText(%q):\n from %q\n   to %q", tt.in, got, clean)
			}
		})
	}
}

func TestTextRoundTrip(t *testing.T) {
	for _, in := range []string{
		"hello",
		"a < b & c > d, \"quoted\" and 'single'",
		"line one\nline two\n\nnew paragraph",
		"see https://example.com/x?a=1&b=2 for details",
	} {
		if got := ToText(FromText(in)); got != in {
			t.Errorf("ToText(FromText(%q)) = %q", in, got)
		}
	}
}

func FuzzFromText(f *testing.F) {
	for _, seed := range []string{"", "a\nb\n\nc", "<b>&amp;</b>", "http://example.com/(x)).", "\r\x00\xff", "javascript:x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := FromText(in)
		if clean := Sanitize(out); clean != out {
			t.Fatalf("Sanitize changes FromText(%q):\n from %q\n   to %q", in, out, clean)
		}
	})
}

func TestToTextNeverLeaksScript(t *testing.T) {
	got := ToText(`<p>a</p><script>secret()</script><style>.secret{}</style><iframe>secret</iframe>`)
	if strings.Contains(got, "secret") {
		t.Errorf("ToText leaked hidden content: %q", got)
	}
}

func BenchmarkToText(b *testing.B) {
	b.SetBytes(int64(len(benchmarkHTML)))
	for b.Loop() {
		ToText(benchmarkHTML)
	}
}
