package richtext

import (
	"strings"
	"testing"
)

func TestMarkdownToHTML(t *testing.T) {
	const rel = ` rel="nofollow noopener noreferrer" target="_blank"`
	tests := []struct {
		name, in, want string
	}{
		{"emphasis", `**b** *i* ~~s~~ ` + "`c`", `<p><strong>b</strong> <em>i</em> <s>s</s> <code>c</code></p>`},
		{"newline is a line break", "a\nb", "<p>a<br/>\nb</p>"},
		{"list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"},
		{"ordered list", "1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>"},
		{"link", "[docs](https://example.com/docs)", `<p><a href="https://example.com/docs"` + rel + `>docs</a></p>`},
		{"linkify", "see https://example.com", `<p>see <a href="https://example.com"` + rel + `>https://example.com</a></p>`},
		{"code block", "```go\nx := 1\n```", "<pre><code>x := 1\n</code></pre>"},
		{"heading", "# Title", `<p><b>Title</b></p>`},
		{"quote", "> q", "<blockquote>\n<p>q</p>\n</blockquote>"},
		{"image", "![logo](https://example.com/x.png)", `<p>logo</p>`},
		{"raw script", "<script>alert(1)</script>\n\nhi", `<p>hi</p>`},
		{"raw inline html", `<b onclick="x()">hi</b> <img src=x onerror=alert(1)>`, `<p>hi </p>`},
		{"javascript link", "[x](javascript:alert(1))", `<p>x</p>`},
		{"data link", "[x](data:text/html;base64,PHNjcmlwdD4=)", `<p>x</p>`},
		{"javascript autolink", "<javascript:alert(1)>", `<p>javascript&#58;alert(1)</p>`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarkdownToHTML(tt.in)
			if err != nil {
				t.Fatalf("MarkdownToHTML(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("MarkdownToHTML(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			assertClean(t, tt.in, got)
		})
	}
}

func TestHTMLToMarkdown(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bold and italic", `<b>b</b> <strong>s</strong> <i>i</i> <em>e</em>`, `**b** **s** *i* *e*`},
		{"strikethrough", `<s>gone</s>`, `~~gone~~`},
		{"underline keeps text", `<u>under</u>`, `under`},
		{"code", `<code>x := 1</code>`, "`x := 1`"},
		{"code block", "<pre><code>x := 1\ny := 2</code></pre>", "```\nx := 1\ny := 2\n```"},
		{"lists", `<ul><li>a</li><li>b</li></ul><ol><li>x</li><li>y</li></ol>`, "- a\n- b\n\n1. x\n2. y"},
		{"link", `<a href="https://example.com">site</a>`, `[site](https://example.com)`},
		{"quote", `<blockquote>q</blockquote>`, `> q`},
		{"paragraphs", `<p>a</p><p>b</p>`, "a\n\nb"},
		{"hostile input sanitized first", `<script>alert(1)</script><a href="javascript:alert(1)">x</a><img src=x onerror=alert(1)>`, `x`},
		{"empty", ``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HTMLToMarkdown(tt.in)
			if err != nil {
				t.Fatalf("HTMLToMarkdown(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("HTMLToMarkdown(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarkdownRoundTrip(t *testing.T) {
	for _, md := range []string{
		"**bold** and *italic*",
		"~~struck~~ and `code`",
		"- one\n- two\n- three",
		"1. one\n2. two",
		"[docs](https://example.com/docs)",
		"```\nfunc main() {\n\tprintln(\"hi\")\n}\n```",
		"> quoted",
		"first\n\nsecond",
		"**bold [link](https://example.com)** in a *sentence* with `code`",
	} {
		html, err := MarkdownToHTML(md)
		if err != nil {
			t.Fatalf("MarkdownToHTML(%q): %v", md, err)
		}
		got, err := HTMLToMarkdown(html)
		if err != nil {
			t.Fatalf("HTMLToMarkdown(%q): %v", html, err)
		}
		if got != md {
			t.Errorf("round trip of %q\n via %q\n got %q", md, html, got)
		}
	}
}

func TestMarkdownRoundTripNestedList(t *testing.T) {
	html, err := MarkdownToHTML("- a\n  - b\n- c")
	if err != nil {
		t.Fatal(err)
	}
	if got := ToText(html); got != "- a\n  - b\n- c" {
		t.Errorf("ToText(%q) = %q", html, got)
	}
	md, err := HTMLToMarkdown(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"- a", "  - b", "- c"} {
		if !strings.Contains(md, want) {
			t.Errorf("HTMLToMarkdown(%q) = %q, missing %q", html, md, want)
		}
	}
}
