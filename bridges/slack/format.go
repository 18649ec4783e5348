package main

import (
	"strings"

	"github.com/slack-go/slack"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// Slack's rich_text block, as chat.postMessage takes it and as Slack sends an expert's message:
// a block holds containers (section, list, preformatted, quote); a list holds sections; the
// others hold inline elements (text with a style, link, emoji, user, channel, ...).

type richTextBlock struct {
	Type     string        `json:"type"`
	BlockID  string        `json:"block_id,omitempty"`
	Elements []rtContainer `json:"elements"`
}

// BlockType and ID make the block a slack.Block for chat.postMessage.
func (richTextBlock) BlockType() slack.MessageBlockType { return slack.MBTRichText }
func (b richTextBlock) ID() string                      { return b.BlockID }

type rtContainer struct {
	Type     string   `json:"type"`
	Style    string   `json:"style,omitempty"` // lists: bullet or ordered
	Indent   int      `json:"indent,omitempty"`
	Offset   int      `json:"offset,omitempty"`
	Border   int      `json:"border,omitempty"`
	Elements []rtElem `json:"elements"`
}

// rtElem is an inline element, or a section inside a list.
type rtElem struct {
	Type        string   `json:"type"`
	Text        string   `json:"text,omitempty"`
	URL         string   `json:"url,omitempty"`
	Name        string   `json:"name,omitempty"`
	Unicode     string   `json:"unicode,omitempty"`
	UserID      string   `json:"user_id,omitempty"`
	ChannelID   string   `json:"channel_id,omitempty"`
	UsergroupID string   `json:"usergroup_id,omitempty"`
	Range       string   `json:"range,omitempty"`
	Fallback    string   `json:"fallback,omitempty"`
	Style       *rtStyle `json:"style,omitempty"`
	Elements    []rtElem `json:"elements,omitempty"`
}

type rtStyle struct {
	Bold   bool `json:"bold,omitempty"`
	Italic bool `json:"italic,omitempty"`
	Strike bool `json:"strike,omitempty"`
	Code   bool `json:"code,omitempty"`
}

const (
	rtSection      = "rich_text_section"
	rtList         = "rich_text_list"
	rtPreformatted = "rich_text_preformatted"
	rtQuote        = "rich_text_quote"
)

// toRichText converts canonical HTML into one rich_text block and the plain-text fallback Slack
// shows in notifications (escaped as Slack's text field requires). Underline has no rich_text
// style, so only its text is kept. A message without visible content gives no block.
func toRichText(text, htmlIn string) (*richTextBlock, string) {
	text, clean := richtext.Normalize(text, htmlIn)
	if clean == "" {
		return nil, escapeText(text)
	}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(clean), body)
	if err != nil {
		return nil, escapeText(text)
	}
	for _, n := range nodes {
		body.AppendChild(n)
	}
	var c converter
	c.blocks(body)
	c.flush()
	if len(c.out) == 0 {
		return nil, escapeText(text)
	}
	return &richTextBlock{Type: "rich_text", Elements: c.out}, escapeText(richtext.ToText(clean))
}

// escapeText escapes what Slack's text field treats as markup.
func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// unescapeText undoes escapeText, for text Slack sends.
func unescapeText(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// converter walks sanitized HTML and collects containers. Top-level inline content and
// paragraphs go into one open section, paragraphs separated by a blank line, as Slack's own
// composer writes them.
type converter struct {
	out     []rtContainer
	section []rtElem
	paras   int // paragraphs in the open section
}

func (c *converter) flush() {
	trimNewlines(&c.section)
	if len(c.section) > 0 {
		c.out = append(c.out, rtContainer{Type: rtSection, Elements: c.section})
	}
	c.section, c.paras = nil, 0
}

func (c *converter) blocks(n *html.Node) {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		switch {
		case ch.Type == html.TextNode:
			if strings.Trim(ch.Data, " \t\r\n\f") == "" && c.section == nil {
				continue
			}
			c.section = inline(c.section, ch, rtStyle{}, false)
		case ch.Type != html.ElementNode:
		case ch.DataAtom == atom.P:
			if c.paras > 0 || len(c.section) > 0 {
				c.section = appendText(c.section, "\n\n", nil)
			}
			c.section = inline(c.section, ch, rtStyle{}, false)
			trimNewlines(&c.section)
			c.paras++
		case ch.DataAtom == atom.Ul || ch.DataAtom == atom.Ol:
			c.flush()
			c.list(ch, 0)
		case ch.DataAtom == atom.Pre:
			c.flush()
			c.out = append(c.out, rtContainer{Type: rtPreformatted, Elements: []rtElem{{Type: "text", Text: preText(ch)}}})
		case ch.DataAtom == atom.Blockquote:
			c.flush()
			var q []rtElem
			q = quoted(q, ch)
			trimNewlines(&q)
			if len(q) > 0 {
				c.out = append(c.out, rtContainer{Type: rtQuote, Elements: q})
			}
		default:
			c.section = inline(c.section, ch, rtStyle{}, false)
		}
	}
}

// list appends one rich_text_list per run of items at one depth: Slack nests lists by indent,
// not by containment, so a nested list splits its parent into two containers.
func (c *converter) list(n *html.Node, indent int) {
	style := "bullet"
	if n.DataAtom == atom.Ol {
		style = "ordered"
	}
	cur := rtContainer{Type: rtList, Style: style, Indent: indent}
	count := 0
	for li := n.FirstChild; li != nil; li = li.NextSibling {
		if li.Type != html.ElementNode || li.DataAtom != atom.Li {
			continue
		}
		var item []rtElem
		var nested []*html.Node
		for ch := li.FirstChild; ch != nil; ch = ch.NextSibling {
			switch {
			case ch.Type == html.ElementNode && (ch.DataAtom == atom.Ul || ch.DataAtom == atom.Ol):
				nested = append(nested, ch)
			case ch.Type == html.ElementNode && (ch.DataAtom == atom.P || ch.DataAtom == atom.Pre || ch.DataAtom == atom.Blockquote):
				if len(item) > 0 {
					item = appendText(item, "\n", nil)
				}
				item = inline(item, ch, rtStyle{}, ch.DataAtom == atom.Pre)
			default:
				item = inline(item, ch, rtStyle{}, false)
			}
		}
		trimNewlines(&item)
		cur.Elements = append(cur.Elements, rtElem{Type: rtSection, Elements: orEmpty(item)})
		count++
		for _, sub := range nested {
			c.out = append(c.out, cur)
			c.list(sub, indent+1)
			cur = rtContainer{Type: rtList, Style: style, Indent: indent}
			if style == "ordered" {
				cur.Offset = count
			}
		}
	}
	if len(cur.Elements) > 0 {
		c.out = append(c.out, cur)
	}
}

func orEmpty(e []rtElem) []rtElem {
	if e == nil {
		return []rtElem{}
	}
	return e
}

// quoted flattens a blockquote into inline elements: paragraphs separated by blank lines, list
// items on lines of their own.
func quoted(out []rtElem, n *html.Node) []rtElem {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type != html.ElementNode {
			out = inline(out, ch, rtStyle{}, false)
			continue
		}
		switch ch.DataAtom {
		case atom.P, atom.Pre, atom.Blockquote, atom.Ul, atom.Ol:
			if len(out) > 0 {
				out = appendText(out, "\n\n", nil)
			}
			if ch.DataAtom == atom.Ul || ch.DataAtom == atom.Ol || ch.DataAtom == atom.Blockquote {
				out = quoted(out, ch)
			} else {
				out = inline(out, ch, rtStyle{}, ch.DataAtom == atom.Pre)
			}
			trimNewlines(&out)
		case atom.Li:
			if len(out) > 0 {
				out = appendText(out, "\n", nil)
			}
			out = appendText(out, "• ", nil)
			out = quoted(out, ch)
		default:
			out = inline(out, ch, rtStyle{}, false)
		}
	}
	return out
}

// inline appends the inline content of n (n itself when it is text) with the styles in force.
func inline(out []rtElem, n *html.Node, st rtStyle, pre bool) []rtElem {
	if n.Type == html.TextNode {
		t := n.Data
		if !pre {
			t = collapseSpace(t)
		}
		return appendText(out, t, styleOrNil(st))
	}
	if n.Type != html.ElementNode {
		return out
	}
	switch n.DataAtom {
	case atom.Br:
		return appendText(out, "\n", nil)
	case atom.B, atom.Strong:
		st.Bold = true
	case atom.I, atom.Em:
		st.Italic = true
	case atom.S:
		st.Strike = true
	case atom.Code:
		st.Code = true
	case atom.Pre:
		pre = true
	case atom.A:
		href := attr(n, "href")
		label := collapseSpace(textOf(n))
		if href == "" {
			return appendText(out, label, styleOrNil(st))
		}
		if strings.TrimSpace(label) == "" || label == href {
			label = ""
		}
		if st.Code { // Slack does not style links as code
			st.Code = false
		}
		return append(out, rtElem{Type: "link", URL: href, Text: label, Style: styleOrNil(st)})
	case atom.Li:
		out = appendText(out, "• ", nil)
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		out = inline(out, ch, st, pre)
	}
	return out
}

func styleOrNil(st rtStyle) *rtStyle {
	if st == (rtStyle{}) {
		return nil
	}
	return &st
}

// appendText adds text, merging it into the previous text element of the same style.
func appendText(out []rtElem, t string, st *rtStyle) []rtElem {
	if t == "" {
		return out
	}
	if n := len(out); n > 0 && out[n-1].Type == "text" && sameStyle(out[n-1].Style, st) {
		out[n-1].Text += t
		return out
	}
	return append(out, rtElem{Type: "text", Text: t, Style: st})
}

func sameStyle(a, b *rtStyle) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// trimNewlines drops line breaks and spaces at the end of the elements.
func trimNewlines(out *[]rtElem) {
	for n := len(*out); n > 0; n = len(*out) {
		last := &(*out)[n-1]
		if last.Type != "text" {
			return
		}
		last.Text = strings.TrimRight(last.Text, " \n")
		if last.Text != "" {
			return
		}
		*out = (*out)[:n-1]
	}
}

func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type == html.ElementNode && ch.DataAtom == atom.Br {
			b.WriteByte('\n')
			continue
		}
		b.WriteString(textOf(ch))
	}
	return b.String()
}

func preText(n *html.Node) string {
	return strings.TrimSuffix(strings.TrimPrefix(textOf(n), "\n"), "\n")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
