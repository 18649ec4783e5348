package richtext

import (
	"net/url"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// linkRel is set on every link: a message must not pass the agent's referrer
// on, lend the console's reputation to the target, or reach window.opener.
const linkRel = "nofollow noopener noreferrer"

// policy is built on first use and never changed afterwards; bluemonday
// policies are safe for concurrent use once built.
var policy = sync.OnceValue(newPolicy)

func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "b", "strong", "i", "em", "u", "s",
		"code", "pre", "blockquote", "ul", "ol", "li")
	p.AllowAttrs("href").OnElements("a")
	p.RequireParseableURLs(true)
	for _, scheme := range []string{"http", "https", "mailto", "tel"} {
		p.AllowURLSchemeWithCustomPolicy(scheme, allowedURL)
	}
	// Script, style, iframe and friends are skipped by default; template
	// content is never shown by a browser either.
	p.SkipElementsContent("template")
	return p
}

// allowedURL rejects the degenerate forms of the allowed schemes, such as
// "http:foo" or a bare "mailto:", which browsers resolve in surprising ways.
func allowedURL(u *url.URL) bool {
	switch u.Scheme {
	case "http", "https":
		return u.Host != ""
	case "mailto", "tel":
		return u.Opaque != ""
	}
	return false
}

// safeURL applies the link rules of the policy to one URL and returns it in
// the form Sanitize writes it.
func safeURL(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if strings.ContainsAny(raw, " \t\n\r\f") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || !allowedURL(u) {
		return "", false
	}
	return u.String(), true
}

// Sanitize returns html reduced to the canonical subset: p, br, b, strong,
// i, em, u, s, code, pre, blockquote, ul, ol, li and a with an http, https,
// mailto or tel href. Links get rel="nofollow noopener noreferrer" and
// target="_blank"; every other attribute is dropped, as is the content of
// script, style, iframe and similar elements. Other elements are unwrapped
// and their text kept; block containers such as div and h1 that hold only
// inline content become paragraphs (headings bold), del and strike become s,
// and img becomes its alt text, so that the text keeps its shape.
//
// The output is well-formed (every tag closed), Sanitize(Sanitize(x)) equals
// Sanitize(x), and the colon of any "javascript:" left in text is written as
// "&#58;" so that no downstream auto-linker can turn it into a link. Input
// nested deeper than the HTML parser accepts (512 open elements) is rejected
// whole: the result is empty.
func Sanitize(html string) string {
	if strings.Trim(html, htmlSpace) == "" {
		return ""
	}
	// Parsing first means the filter sees the tree a browser would build,
	// not whatever the raw markup pretends to be.
	reshaped := parseBody(html)
	reshape(reshaped)
	filtered := policy().Sanitize(renderChildren(reshaped))

	// Parsing again closes every tag the input left open, so a message can
	// never swallow or close markup around it.
	body := parseBody(filtered)
	markLinks(body)
	return encodeSchemes(strings.Trim(renderChildren(body), htmlSpace))
}

// htmlSpace is the whitespace HTML collapses; U+00A0 is deliberately absent.
const htmlSpace = " \t\n\r\f"

// parseBody parses s as the content of a <body> element and returns that
// element. The parser only fails on absurdly deep nesting; the body is then
// left empty, so the failure stays closed.
func parseBody(s string) *html.Node {
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(s), body)
	if err != nil {
		return body
	}
	for _, n := range nodes {
		body.AppendChild(n)
	}
	return body
}

// renderChildren serializes the children of n. A render error means a tree
// this package built is broken; returning nothing keeps that failure closed.
func renderChildren(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if err := html.Render(&b, c); err != nil {
			return ""
		}
	}
	return b.String()
}

// reshape rewrites elements the policy would strip into allowed ones where
// that keeps the text readable, and reports whether n holds block content.
func reshape(n *html.Node) (block bool) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == html.ElementNode && c.DataAtom == atom.Img {
			replaceImage(c)
		} else if reshape(c) {
			block = true
		}
		c = next
	}
	if n.Type != html.ElementNode || n.Namespace != "" {
		return block
	}
	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		if !block {
			boldChildren(n)
			rename(n, atom.P)
		}
		return true
	case atom.Div, atom.Section, atom.Article, atom.Header, atom.Footer,
		atom.Main, atom.Aside, atom.Nav, atom.Address, atom.Figure,
		atom.Figcaption, atom.Dl, atom.Dt, atom.Dd, atom.Details,
		atom.Summary, atom.Center, atom.Hgroup, atom.Caption, atom.Tr,
		atom.Form, atom.Fieldset, atom.Legend:
		if !block {
			rename(n, atom.P)
		}
		return true
	case atom.Del, atom.Strike:
		rename(n, atom.S)
	case atom.Ins:
		rename(n, atom.U)
	case atom.Kbd, atom.Samp, atom.Tt:
		rename(n, atom.Code)
	case atom.Td, atom.Th:
		// Cells sit side by side; without a gap their text would merge.
		n.AppendChild(&html.Node{Type: html.TextNode, Data: " "})
	case atom.P, atom.Pre, atom.Blockquote, atom.Ul, atom.Ol, atom.Li,
		atom.Table, atom.Thead, atom.Tbody, atom.Tfoot, atom.Hr:
		return true
	}
	return block
}

func rename(n *html.Node, a atom.Atom) {
	n.DataAtom = a
	n.Data = a.String()
	n.Attr = nil
}

// boldChildren moves the children of n into a new <b> child of n.
func boldChildren(n *html.Node) {
	b := &html.Node{Type: html.ElementNode, Data: "b", DataAtom: atom.B}
	for c := n.FirstChild; c != nil; c = n.FirstChild {
		n.RemoveChild(c)
		b.AppendChild(c)
	}
	n.AppendChild(b)
}

// replaceImage puts an image's alt text in its place; an image without one
// is left for the policy to drop.
func replaceImage(img *html.Node) {
	for _, a := range img.Attr {
		if a.Namespace == "" && a.Key == "alt" && strings.TrimSpace(a.Val) != "" {
			img.Parent.InsertBefore(&html.Node{Type: html.TextNode, Data: a.Val}, img)
			img.Parent.RemoveChild(img)
			return
		}
	}
}

// markLinks gives every link the same attributes in the same order, which
// is what makes Sanitize idempotent and FromText's links match its own.
func markLinks(n *html.Node) {
	if n.Type == html.ElementNode && n.DataAtom == atom.A {
		for _, a := range n.Attr {
			if a.Key == "href" {
				n.Attr = linkAttrs(a.Val)
				break
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		markLinks(c)
	}
}

func linkAttrs(href string) []html.Attribute {
	return []html.Attribute{
		{Key: "href", Val: href},
		{Key: "rel", Val: linkRel},
		{Key: "target", Val: "_blank"},
	}
}

// encodeSchemes writes the colon of "javascript:" (in any case) as a
// character reference. Browsers show the same text, but code that scans the
// markup or linkifies the text no longer sees a scheme.
func encodeSchemes(s string) string {
	const scheme = "javascript"
	var b strings.Builder
	done := 0
	for i := len(scheme); i < len(s); i++ {
		next := strings.IndexByte(s[i:], ':')
		if next < 0 {
			break
		}
		i += next
		if strings.EqualFold(s[i-len(scheme):i], scheme) {
			b.WriteString(s[done:i])
			b.WriteString("&#58;")
			done = i + 1
		}
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}
