package main

import (
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/net/html"

	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// resolver names what Slack refers to by id: kind is "user", "channel" or "usergroup". It
// returns "" when it does not know the id.
type resolver func(kind, id string) string

// fromRichText converts an expert's rich_text blocks into sanitized canonical HTML.
func fromRichText(blocks []richTextBlock, names resolver) string {
	var b strings.Builder
	for _, blk := range blocks {
		if blk.Type != "rich_text" {
			continue
		}
		writeContainers(&b, blk.Elements, names)
	}
	return richtext.Sanitize(b.String())
}

func writeContainers(b *strings.Builder, cs []rtContainer, names resolver) {
	var lists []rtContainer // open lists, outermost first
	closeLists := func(depth int) {
		for len(lists) > depth {
			b.WriteString("</li></" + listTag(lists[len(lists)-1]) + ">")
			lists = lists[:len(lists)-1]
		}
	}
	for _, c := range cs {
		if c.Type != rtList {
			closeLists(0)
		}
		switch c.Type {
		case rtSection:
			var w paraWriter
			w.elems(c.Elements, names)
			b.WriteString(w.paragraphs())
		case rtQuote:
			var w paraWriter
			w.elems(c.Elements, names)
			b.WriteString("<blockquote>" + w.paragraphs() + "</blockquote>")
		case rtPreformatted:
			var t strings.Builder
			for _, e := range c.Elements {
				t.WriteString(plainOf(e, names))
			}
			b.WriteString("<pre><code>" + html.EscapeString(t.String()) + "</code></pre>")
		case rtList:
			depth := max(c.Indent, 0) + 1
			closeLists(depth)
			if len(lists) == depth && listTag(lists[depth-1]) != listTag(c) {
				closeLists(depth - 1)
			}
			for len(lists) < depth-1 { // a list indented deeper than any open one
				lists = append(lists, c)
				b.WriteString("<" + listTag(c) + "><li>")
			}
			items := c.Elements
			if len(lists) < depth {
				lists = append(lists, c)
				b.WriteString("<" + listTag(c) + ">")
				if len(items) > 0 {
					b.WriteString("<li>" + itemHTML(items[0], names))
					items = items[1:]
				} else {
					b.WriteString("<li>")
				}
			}
			for _, item := range items {
				b.WriteString("</li><li>" + itemHTML(item, names))
			}
		}
	}
	closeLists(0)
}

func listTag(c rtContainer) string {
	if c.Style == "ordered" {
		return "ol"
	}
	return "ul"
}

func itemHTML(item rtElem, names resolver) string {
	var w paraWriter
	w.elems(item.Elements, names)
	return w.lines()
}

// paraWriter turns inline elements into paragraphs: a newline is a line break, a blank line
// starts a new paragraph. Styles are opened and closed in one order so that adjacent elements
// sharing a style share its tag.
type paraWriter struct {
	paras []string
	cur   strings.Builder
	open  []string
	nl    int
}

func (w *paraWriter) elems(es []rtElem, names resolver) {
	for _, e := range es {
		st := rtStyle{}
		if e.Style != nil {
			st = *e.Style
		}
		switch e.Type {
		case "link":
			label := e.Text
			if label == "" {
				label = e.URL
			}
			w.raw(`<a href="`+html.EscapeString(e.URL)+`">`+html.EscapeString(label)+`</a>`, st)
		default:
			w.text(plainOf(e, names), st)
		}
	}
}

// plainOf is the text an inline element shows.
func plainOf(e rtElem, names resolver) string {
	switch e.Type {
	case "text":
		return e.Text
	case "link":
		if e.Text != "" {
			return e.Text
		}
		return e.URL
	case "emoji":
		if s := emojiText(e.Unicode); s != "" {
			return s
		}
		return ":" + e.Name + ":"
	case "user":
		return "@" + nameOr(names, "user", e.UserID)
	case "channel":
		return "#" + nameOr(names, "channel", e.ChannelID)
	case "usergroup":
		return "@" + nameOr(names, "usergroup", e.UsergroupID)
	case "broadcast":
		return "@" + e.Range
	case "date":
		if e.Fallback != "" {
			return e.Fallback
		}
	}
	return e.Text
}

func nameOr(names resolver, kind, id string) string {
	if names != nil {
		if n := names(kind, id); n != "" {
			return n
		}
	}
	return id
}

// emojiText turns Slack's "1f44d-1f3fb" into the characters.
func emojiText(codes string) string {
	if codes == "" {
		return ""
	}
	var b strings.Builder
	for _, part := range strings.Split(codes, "-") {
		r, err := strconv.ParseUint(part, 16, 32)
		if err != nil || r > 0x10ffff {
			return ""
		}
		b.WriteRune(rune(r))
	}
	return b.String()
}

func (w *paraWriter) text(t string, st rtStyle) {
	for i, part := range strings.Split(t, "\n") {
		if i > 0 {
			w.nl++
		}
		if part != "" {
			w.raw(html.EscapeString(part), st)
		}
	}
}

func (w *paraWriter) raw(h string, st rtStyle) {
	if w.nl > 0 && w.cur.Len() > 0 {
		if w.nl >= 2 {
			w.endPara()
		} else {
			w.cur.WriteString("<br>")
		}
	}
	w.nl = 0
	w.style(st)
	w.cur.WriteString(h)
}

func (w *paraWriter) style(st rtStyle) {
	var want []string
	for _, s := range []struct {
		on  bool
		tag string
	}{{st.Bold, "b"}, {st.Italic, "i"}, {st.Strike, "s"}, {st.Code, "code"}} {
		if s.on {
			want = append(want, s.tag)
		}
	}
	common := 0
	for common < len(want) && common < len(w.open) && want[common] == w.open[common] {
		common++
	}
	for i := len(w.open) - 1; i >= common; i-- {
		w.cur.WriteString("</" + w.open[i] + ">")
	}
	for _, tag := range want[common:] {
		w.cur.WriteString("<" + tag + ">")
	}
	w.open = want
}

func (w *paraWriter) endPara() {
	w.style(rtStyle{})
	if w.cur.Len() > 0 {
		w.paras = append(w.paras, w.cur.String())
	}
	w.cur.Reset()
}

// paragraphs returns the text as <p> elements.
func (w *paraWriter) paragraphs() string {
	w.endPara()
	if len(w.paras) == 0 {
		return ""
	}
	return "<p>" + strings.Join(w.paras, "</p><p>") + "</p>"
}

// lines returns the text without paragraphs, for a list item.
func (w *paraWriter) lines() string {
	w.endPara()
	return strings.Join(w.paras, "<br><br>")
}

// mrkdwnToHTML converts Slack's mrkdwn (what a message carries when it has no rich_text block)
// into sanitized canonical HTML: *bold*, _italic_, ~strike~, `code`, ```blocks```, "> " quotes,
// bulleted and numbered lines, <url|label> links and <@U…> mentions.
func mrkdwnToHTML(text string, names resolver) string {
	var b strings.Builder
	parts := strings.Split(text, "```")
	if len(parts)%2 == 0 { // an unclosed fence is text
		parts[len(parts)-2] += "```" + parts[len(parts)-1]
		parts = parts[:len(parts)-1]
	}
	for i, part := range parts {
		if i%2 == 1 {
			code := strings.TrimSuffix(strings.TrimPrefix(part, "\n"), "\n")
			b.WriteString("<pre><code>" + html.EscapeString(unescapeText(code)) + "</code></pre>")
			continue
		}
		writeMrkdwnBlocks(&b, part, names)
	}
	return richtext.Sanitize(b.String())
}

var (
	bulletLine  = regexp.MustCompile(`^\s*[•◦▪\-]\s+`)
	orderedLine = regexp.MustCompile(`^\s*\d+[.)]\s+`)
)

func writeMrkdwnBlocks(b *strings.Builder, text string, names resolver) {
	var para []string
	var list []string
	listTag := ""
	var quote []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + strings.Join(para, "<br>") + "</p>")
			para = nil
		}
		if len(list) > 0 {
			b.WriteString("<" + listTag + "><li>" + strings.Join(list, "</li><li>") + "</li></" + listTag + ">")
			list = nil
		}
		if len(quote) > 0 {
			b.WriteString("<blockquote><p>" + strings.Join(quote, "<br>") + "</p></blockquote>")
			quote = nil
		}
	}
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "&gt;") || strings.HasPrefix(line, ">"):
			if len(para) > 0 || len(list) > 0 {
				flush()
			}
			line = strings.TrimPrefix(strings.TrimPrefix(line, "&gt;"), ">")
			quote = append(quote, inlineMrkdwn(strings.TrimPrefix(line, " "), names))
		case bulletLine.MatchString(line) || orderedLine.MatchString(line):
			tag := "ul"
			loc := bulletLine.FindStringIndex(line)
			if loc == nil {
				tag, loc = "ol", orderedLine.FindStringIndex(line)
			}
			if len(para) > 0 || len(quote) > 0 || (len(list) > 0 && tag != listTag) {
				flush()
			}
			listTag = tag
			list = append(list, inlineMrkdwn(line[loc[1]:], names))
		default:
			if len(list) > 0 || len(quote) > 0 {
				flush()
			}
			para = append(para, inlineMrkdwn(line, names))
		}
	}
	flush()
}

var angle = regexp.MustCompile(`<([^<>\n]*)>`)

// inlineMrkdwn converts one line. Code spans and <…> references are set aside first, so
// formatting characters inside them (an underscore in a URL) stay as they are.
func inlineMrkdwn(line string, names resolver) string {
	var kept []string
	keep := func(h string) string {
		kept = append(kept, h)
		return "\ue000" + strconv.Itoa(len(kept)-1) + "\ue001"
	}
	var b strings.Builder
	for i, part := range strings.Split(line, "`") {
		if i%2 == 1 && i < len(strings.Split(line, "`"))-1 {
			b.WriteString(keep("<code>" + html.EscapeString(unescapeText(part)) + "</code>"))
			continue
		}
		if i > 0 && i%2 == 1 {
			b.WriteString("`")
		}
		b.WriteString(part)
	}
	s := angle.ReplaceAllStringFunc(b.String(), func(m string) string {
		return keep(reference(m[1:len(m)-1], names))
	})
	s = html.EscapeString(unescapeText(s))
	s = wrapDelims(s, '*', "b")
	s = wrapDelims(s, '_', "i")
	s = wrapDelims(s, '~', "s")
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		n, err := strconv.Atoi(m[len("\ue000") : len(m)-len("\ue001")])
		if err != nil || n >= len(kept) {
			return ""
		}
		return kept[n]
	})
}

var placeholder = regexp.MustCompile("\ue000[0-9]+\ue001")

// reference renders the inside of a <…> reference: a link, a mention or a special word.
func reference(ref string, names resolver) string {
	target, label, _ := strings.Cut(ref, "|")
	label = unescapeText(label)
	switch {
	case strings.HasPrefix(target, "@"):
		return html.EscapeString("@" + firstNonEmpty(nameOr(names, "user", target[1:]), label))
	case strings.HasPrefix(target, "#"):
		if label == "" {
			label = nameOr(names, "channel", target[1:])
		}
		return html.EscapeString("#" + label)
	case strings.HasPrefix(target, "!subteam^"):
		if label == "" {
			label = "@" + nameOr(names, "usergroup", strings.TrimPrefix(target, "!subteam^"))
		}
		return html.EscapeString(label)
	case strings.HasPrefix(target, "!date^"):
		return html.EscapeString(label)
	case strings.HasPrefix(target, "!"):
		return html.EscapeString("@" + strings.TrimPrefix(target, "!"))
	}
	href := unescapeText(target)
	if label == "" {
		label = strings.TrimPrefix(href, "mailto:")
	}
	return `<a href="` + html.EscapeString(href) + `">` + html.EscapeString(label) + `</a>`
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// wrapDelims turns d…d into <tag>…</tag> where the delimiters stand at word edges, as Slack
// reads them: the opening one after a non-word character, the closing one before one.
func wrapDelims(s string, d byte, tag string) string {
	var b strings.Builder
	i := 0
	for i < len(s) {
		if s[i] != d || (i > 0 && isWordByte(s[i-1])) || i+1 >= len(s) || s[i+1] == ' ' || s[i+1] == d {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := -1
		for j := i + 2; j < len(s); j++ {
			if s[j] == d && s[j-1] != ' ' && (j+1 == len(s) || !isWordByte(s[j+1])) {
				end = j
				break
			}
		}
		if end < 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString("<" + tag + ">" + s[i+1:end] + "</" + tag + ">")
		i = end + 1
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
