package richtext

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// ToText returns the readable plain text of html. Paragraphs, blockquotes
// and pre blocks are separated by blank lines, <br> becomes a newline, list
// items become "- item" or "1. item" (nested lists indented by two spaces),
// and a link becomes "text (url)" unless its text already is the URL, with
// or without its scheme. Entities are decoded, whitespace is collapsed
// outside <pre> and the result is trimmed. Only what Sanitize keeps is shown,
// so script and style contents never leak into the text.
func ToText(html string) string {
	return plainText(Sanitize(html))
}

// plainText walks sanitized HTML, so it only meets the canonical subset.
func plainText(sanitized string) string {
	var w textWriter
	z := html.NewTokenizer(strings.NewReader(sanitized))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.TrimSpace(string(w.buf))
		case html.TextToken:
			w.text(string(z.Text()))
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			href := ""
			for hasAttr {
				var key, val []byte
				key, val, hasAttr = z.TagAttr()
				if string(key) == "href" {
					href = string(val)
				}
			}
			w.start(string(name), href)
		case html.EndTagToken:
			name, _ := z.TagName()
			w.end(string(name))
		}
	}
}

// textWriter accumulates plain text. Spaces are only ever written in front
// of a word, so no line ends in one; line breaks are written eagerly and
// merged, so a closing </p> followed by an opening <p> still gives one
// blank line.
type textWriter struct {
	buf       []byte
	space     bool // whitespace seen since the last word
	pre       int  // open <pre> elements
	preStart  bool // nothing written yet in the innermost <pre>
	itemStart bool // a list marker was just written
	lists     []textList
	link      *textLink
}

type textList struct {
	ordered bool
	next    int
}

type textLink struct {
	href  string
	start int
}

func (w *textWriter) start(tag, href string) {
	switch tag {
	case "p", "blockquote":
		w.block()
	case "pre":
		w.block()
		w.pre++
		w.preStart = true
	case "br":
		w.buf = append(w.buf, '\n')
		w.space, w.itemStart = false, false
	case "ul", "ol":
		w.block()
		w.lists = append(w.lists, textList{ordered: tag == "ol", next: 1})
	case "li":
		w.item()
	case "a":
		w.link = &textLink{href: href, start: len(w.buf)}
	}
}

func (w *textWriter) end(tag string) {
	switch tag {
	case "p", "blockquote":
		w.block()
	case "pre":
		if w.pre > 0 {
			w.pre--
		}
		w.preStart = false
		w.buf = bytes.TrimRight(w.buf, "\n")
		w.block()
	case "ul", "ol":
		if len(w.lists) > 0 {
			w.lists = w.lists[:len(w.lists)-1]
		}
		w.block()
	case "li":
		w.lineBreaks(1)
	case "a":
		w.endLink()
	}
}

// block separates blocks by a blank line, except inside a list, where a
// paragraph in an item must not push the next item away.
func (w *textWriter) block() {
	if len(w.lists) > 0 {
		w.lineBreaks(1)
		return
	}
	w.lineBreaks(2)
}

// lineBreaks makes the text end in at least n newlines.
func (w *textWriter) lineBreaks(n int) {
	w.space = false
	if len(w.buf) == 0 || w.itemStart {
		return
	}
	for have := w.trailingNewlines(n); have < n; have++ {
		w.buf = append(w.buf, '\n')
	}
}

// trailingNewlines counts the newlines the text ends in, up to limit; the
// limit keeps a long run of <br> from making every block cost O(n).
func (w *textWriter) trailingNewlines(limit int) int {
	n := 0
	for n < limit && n < len(w.buf) && w.buf[len(w.buf)-1-n] == '\n' {
		n++
	}
	return n
}

func (w *textWriter) item() {
	w.lineBreaks(1)
	marker := "- "
	depth := len(w.lists)
	if depth > 0 {
		l := &w.lists[depth-1]
		if l.ordered {
			marker = strconv.Itoa(l.next) + ". "
			l.next++
		}
		marker = strings.Repeat("  ", depth-1) + marker
	}
	w.buf = append(w.buf, marker...)
	w.itemStart = true
}

func (w *textWriter) text(s string) {
	if w.pre > 0 {
		// The parser drops a newline right after <pre>; the tokenizer
		// does not.
		if w.preStart {
			s = strings.TrimPrefix(s, "\n")
			w.preStart = false
		}
		w.buf = append(w.buf, s...)
		w.itemStart = false
		return
	}
	if strings.IndexFunc(s, isHTMLSpace) == 0 {
		w.space = true
	}
	for i, word := range strings.FieldsFunc(s, isHTMLSpace) {
		if i > 0 {
			w.space = true
		}
		w.word(word)
	}
	if r, _ := utf8.DecodeLastRuneInString(s); isHTMLSpace(r) {
		w.space = true
	}
}

func (w *textWriter) word(s string) {
	if w.space && len(w.buf) > 0 {
		if last := w.buf[len(w.buf)-1]; last != '\n' && last != ' ' {
			w.buf = append(w.buf, ' ')
		}
	}
	w.buf = append(w.buf, strings.ReplaceAll(s, "\u00a0", " ")...)
	w.space, w.itemStart = false, false
}

func (w *textWriter) endLink() {
	l := w.link
	w.link = nil
	if l == nil || l.href == "" || l.start > len(w.buf) {
		return
	}
	text := strings.TrimSpace(string(w.buf[l.start:]))
	if text == "" {
		w.word(l.href)
		return
	}
	if !sameAsURL(text, l.href) {
		w.space = true
		w.word("(" + l.href + ")")
	}
}

// sameAsURL reports whether a link's text already shows its target, as in
// <a href="mailto:a@example.com">a@example.com</a>.
func sameAsURL(text, href string) bool {
	rest, ok := strings.CutSuffix(href, text)
	if !ok {
		return false
	}
	switch rest {
	case "", "http://", "https://", "mailto:", "tel:":
		return true
	}
	return false
}

func isHTMLSpace(r rune) bool {
	return strings.ContainsRune(htmlSpace, r)
}

// bareURL finds http and https URLs in plain text. Trailing punctuation is
// trimmed by trimURL, since "see https://example.com." ends a sentence.
var bareURL = regexp.MustCompile(`(?i)\bhttps?://[^\s\p{Z}<>"]+`)

// FromText returns plain text as canonical HTML. The text is escaped, blank
// lines separate paragraphs, single newlines become <br/> and bare http and
// https URLs become links. The result is what Sanitize would make of it, so
// Sanitize(FromText(s)) == FromText(s).
func FromText(text string) string {
	// The HTML parser drops NUL and reads \r as a line end; doing the same
	// here keeps the output stable under Sanitize.
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.ReplaceAll(text, "\x00", "")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")

	var b strings.Builder
	var para []string
	flush := func() {
		if len(para) == 0 {
			return
		}
		b.WriteString("<p>")
		for i, line := range para {
			if i > 0 {
				b.WriteString("<br/>")
			}
			writeLinkified(&b, line)
		}
		b.WriteString("</p>")
		para = para[:0]
	}
	for line := range strings.SplitSeq(text, "\n") {
		if strings.TrimFunc(line, isHTMLSpace) == "" {
			flush()
			continue
		}
		para = append(para, line)
	}
	flush()
	return encodeSchemes(b.String())
}

// writeLinkified writes one escaped line of text with its URLs as links.
func writeLinkified(b *strings.Builder, line string) {
	for {
		loc := bareURL.FindStringIndex(line)
		if loc == nil {
			b.WriteString(html.EscapeString(line))
			return
		}
		raw := trimURL(line[loc[0]:loc[1]])
		end := loc[0] + len(raw)
		href, ok := safeURL(raw)
		if !ok {
			b.WriteString(html.EscapeString(line[:end]))
			line = line[end:]
			continue
		}
		b.WriteString(html.EscapeString(line[:loc[0]]))
		b.WriteString(`<a href="`)
		b.WriteString(html.EscapeString(href))
		b.WriteString(`" rel="` + linkRel + `" target="_blank">`)
		b.WriteString(html.EscapeString(raw))
		b.WriteString("</a>")
		line = line[end:]
	}
}

// trimURL drops punctuation that more likely ends the sentence than the URL.
// A closing bracket stays when the URL opened it, as in Wikipedia links.
func trimURL(u string) string {
	for len(u) > 0 {
		last := u[len(u)-1]
		switch last {
		case '.', ',', ':', ';', '!', '?', '\'', '*', '_':
		case ')', ']', '}':
			if strings.Count(u, opening(last)) >= strings.Count(u, string(last)) {
				return u
			}
		default:
			return u
		}
		u = u[:len(u)-1]
	}
	return u
}

func opening(closing byte) string {
	switch closing {
	case ')':
		return "("
	case ']':
		return "["
	}
	return "{"
}
