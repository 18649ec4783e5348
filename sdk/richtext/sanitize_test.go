package richtext

import (
	"strings"
	"testing"
)

// forbidden must never appear in sanitized output, whatever the input.
var forbidden = []string{"<script", "javascript:", "onerror", "onload", "onclick", "style=", "<img", "<iframe", "<svg", "data:"}

func assertClean(t *testing.T, in, got string) {
	t.Helper()
	lower := strings.ToLower(got)
	for _, bad := range forbidden {
		if strings.Contains(lower, bad) {
			t.Errorf("Sanitize(%q) = %q, contains %q", in, got, bad)
		}
	}
}

func TestSanitizeHostile(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"script", `<script>alert(1)</script>hi`, `hi`},
		{"script upper case with src", `<SCRIPT SRC=//evil.example/x.js></SCRIPT>hi`, `hi`},
		{"unclosed script", `hi<script>alert(1)`, `hi`},
		{"style", `<style>p{color:red}</style><p>hi</p>`, `<p>hi</p>`},
		{"style attribute", `<p style="background:url(javascript:alert(1))">hi</p>`, `<p>hi</p>`},
		{"iframe", `<iframe src="https://evil.example">inside</iframe>hi`, `hi`},
		{"object", `<object data="javascript:alert(1)">inside</object>hi`, `hi`},
		{"template", `<template><p>hidden</p></template>hi`, `hi`},
		{"img onerror", `<img src=x onerror=alert(1)>`, ``},
		{"event attributes", `<p onclick="evil()" class="c" id="i">hi</p>`, `<p>hi</p>`},
		{"svg onload", `<svg onload=alert(1)><circle r=1 /></svg>hi`, `hi`},
		{"javascript href", `<a href="javascript:alert(1)">x</a>`, `x`},
		{"javascript href mixed case", `<a href="JaVaScRiPt:alert(1)">x</a>`, `x`},
		{"javascript href leading space", `<a href="  javascript:alert(1)">x</a>`, `x`},
		{"javascript href with tab", `<a href="java&#x09;script:alert(1)">x</a>`, `x`},
		{"javascript href entity encoded", `<a href="&#106;avascript&#58;alert(1)">x</a>`, `x`},
		{"data href", `<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>`, `x`},
		{"vbscript href", `<a href="vbscript:msgbox(1)">x</a>`, `x`},
		{"protocol-relative href", `<a href="//evil.example/">x</a>`, `x`},
		{"relative href", `<a href="/account">x</a>`, `x`},
		{"http without host", `<a href="http:evil">x</a>`, `x`},
		{"link attributes replaced", `<a href="https://example.com" target="_self" rel="opener" onclick="x()">x</a>`,
			`<a href="https://example.com" rel="nofollow noopener noreferrer" target="_blank">x</a>`},
		{"javascript in text", `<p>javascript:alert(1)</p>`, `<p>javascript&#58;alert(1)</p>`},
		{"javascript in text, any case", `JavaScript:a JAVASCRIPT:b`, `JavaScript&#58;a JAVASCRIPT&#58;b`},
		{"script split by tag", `<scr<script>ipt>alert(1)</script>`, `ipt&gt;alert(1)`},
		{"nested script tags", `<<script>script>alert(1)<</script>/script>`, `&lt;/script&gt;`},
		{"script in attribute", `<p title="</p><script>alert(1)</script>">x</p>`, `<p>x</p>`},
		{"script in comment", `<!--<script>alert(1)</script>-->hi`, `hi`},
		{"noscript breakout", `<noscript><p title="</noscript><img src=x onerror=alert(1)>">`, `&#34;&gt;`},
		{"math style breakout", `<math><mi><mglyph><style><img src=x onerror=alert(1)></style>`, ``},
		{"textarea content stays text", `<textarea><script>alert(1)</script></textarea>`, `&lt;script&gt;alert(1)&lt;/script&gt;`},
		{"form button", `<form action="https://evil.example"><button formaction="javascript:alert(1)">go</button></form>`, `<p>go</p>`},
		{"unclosed tags are closed", `<b><i>unclosed`, `<b><i>unclosed</i></b>`},
		{"unclosed link is closed", `<a href="https://example.com">x`, `<a href="https://example.com" rel="nofollow noopener noreferrer" target="_blank">x</a>`},
		{"stray end tags", `</blockquote></ul>x`, `x`},
		{"misnested tags", `<b><i>x</b>y</i>`, `<b><i>x</i></b><i>y</i>`},
		{"link inside link", `<a href="https://a.example">a<a href="https://b.example">b</a></a>`,
			`<a href="https://a.example" rel="nofollow noopener noreferrer" target="_blank">a</a>` +
				`<a href="https://b.example" rel="nofollow noopener noreferrer" target="_blank">b</a>`},
		{"bad link around good link", `<a href="javascript:x"><a href="https://b.example">b</a></a>`,
			`<a href="https://b.example" rel="nofollow noopener noreferrer" target="_blank">b</a>`},
		{"block element dropped from paragraph", `<p><button><ul><li>x</li></ul></button></p>`, `<p></p><ul><li>x</li></ul><p></p>`},
		{"nesting too deep is rejected", strings.Repeat("<b>", 600) + "x", ``},
		{"empty", ``, ``},
		{"whitespace only", " \n\t ", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sanitize(tt.in)
			if got != tt.want {
				t.Errorf("Sanitize(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			assertClean(t, tt.in, got)
			if again := Sanitize(got); again != got {
				t.Errorf("Sanitize is not idempotent on %q: %q then %q", tt.in, got, again)
			}
		})
	}
}

func TestSanitizeKeepsAllowed(t *testing.T) {
	const rel = ` rel="nofollow noopener noreferrer" target="_blank"`
	tests := []struct {
		in, want string
	}{
		{`<p>x</p>`, `<p>x</p>`},
		{`a<br>b`, `a<br/>b`},
		{`<b>x</b>`, `<b>x</b>`},
		{`<strong>x</strong>`, `<strong>x</strong>`},
		{`<i>x</i>`, `<i>x</i>`},
		{`<em>x</em>`, `<em>x</em>`},
		{`<u>x</u>`, `<u>x</u>`},
		{`<s>x</s>`, `<s>x</s>`},
		{`<code>x &lt; y</code>`, `<code>x &lt; y</code>`},
		{"<pre>  a\n    b</pre>", "<pre>  a\n    b</pre>"},
		{`<blockquote>x</blockquote>`, `<blockquote>x</blockquote>`},
		{`<ul><li>x</li></ul>`, `<ul><li>x</li></ul>`},
		{`<ol><li>x</li></ol>`, `<ol><li>x</li></ol>`},
		{`<a href="http://example.com/a?b=1&amp;c=2#d">x</a>`, `<a href="http://example.com/a?b=1&amp;c=2#d"` + rel + `>x</a>`},
		{`<a href="https://example.com">x</a>`, `<a href="https://example.com"` + rel + `>x</a>`},
		{`<a href="mailto:help@example.com">x</a>`, `<a href="mailto:help@example.com"` + rel + `>x</a>`},
		{`<a href="tel:+15550100">x</a>`, `<a href="tel:+15550100"` + rel + `>x</a>`},
		{`<a href="HTTPS://example.com">x</a>`, `<a href="https://example.com"` + rel + `>x</a>`},
		{`<p>it's "quoted" &amp; &lt;escaped&gt;</p>`, `<p>it&#39;s &#34;quoted&#34; &amp; &lt;escaped&gt;</p>`},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestSanitizeReshapes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"divs become paragraphs", `<div>a</div><div>b</div>`, `<p>a</p><p>b</p>`},
		{"div around blocks is unwrapped", `<div><p>a</p><ul><li>b</li></ul></div>`, `<p>a</p><ul><li>b</li></ul>`},
		{"heading becomes bold paragraph", `<h2 id="x">Title</h2>`, `<p><b>Title</b></p>`},
		{"del and strike become s", `<del>a</del><strike>b</strike>`, `<s>a</s><s>b</s>`},
		{"kbd becomes code", `<kbd>Ctrl</kbd>`, `<code>Ctrl</code>`},
		{"image becomes alt text", `<img src="https://example.com/x.png" alt="logo">`, `logo`},
		{"table cells keep a gap", `<table><tr><td>a</td><td>b</td></tr></table>`, `<p>a b </p>`},
		{"span is unwrapped", `wo<span class="x">rd</span>`, `word`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzSanitize(f *testing.F) {
	for _, seed := range []string{
		``,
		`plain text`,
		`<p>hello <b>world</b></p>`,
		`<script>alert(1)</script>`,
		`<a href="javascript:alert(1)">x</a>`,
		`<a href="https://example.com/?q=<script>">x</a>`,
		`<img src=x onerror=alert(1)>`,
		`<b><i>unclosed`,
		`<p><button><ul><li>x</li></ul></button></p>`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
		`<svg><style><img src=x onerror=alert(1)></style></svg>`,
		"<pre>\n\ncode</pre>",
		`JavaScript&#58;alert(1)`,
		"\x00\v",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Sanitize(in)
		if again := Sanitize(out); again != out {
			t.Fatalf("not idempotent:\n  in %q\n out %q\nagain %q", in, out, again)
		}
		lower := strings.ToLower(out)
		for _, bad := range []string{"<script", "javascript:"} {
			if strings.Contains(lower, bad) {
				t.Fatalf("Sanitize(%q) = %q contains %q", in, out, bad)
			}
		}
	})
}

var benchmarkHTML = strings.Repeat(`<div class="msg"><p>Hello <b>there</b>, see <a href="https://example.com/docs?a=1&amp;b=2" onclick="x()">the docs</a>.</p>`+
	`<ul><li>one</li><li>two <i>2</i></li></ul><script>alert(1)</script><pre>code
  block</pre></div>`, 8)

func BenchmarkSanitize(b *testing.B) {
	b.SetBytes(int64(len(benchmarkHTML)))
	for b.Loop() {
		Sanitize(benchmarkHTML)
	}
}
