package main

import (
	"html"
	"regexp"
	"strings"

	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// Matrix carries rich text as a plain body plus an optional formatted_body in the
// org.matrix.custom.html format, an HTML subset that contains the canonical one except for <s>
// (Matrix has <del>) and the rel/target attributes Switchboard puts on links.

const matrixHTMLFormat = "org.matrix.custom.html"

// linkAttrs is what richtext.Sanitize adds to every link; Matrix clients set their own.
const linkAttrs = ` rel="nofollow noopener noreferrer" target="_blank"`

// toMatrix converts canonical content to a Matrix body and formatted_body ("" when the message
// has no HTML).
func toMatrix(text, htmlBody string) (body, formatted string) {
	clean := richtext.Sanitize(htmlBody)
	if strings.TrimSpace(text) == "" {
		text = richtext.ToText(clean)
	}
	if clean == "" {
		return text, ""
	}
	// Sanitized HTML escapes every "<" and quote in text and attribute values, so these literal
	// sequences can only be the tags and attributes themselves.
	r := strings.NewReplacer("<s>", "<del>", "</s>", "</del>", linkAttrs, "")
	return text, r.Replace(clean)
}

var (
	// mxReply is the quoted original a reply carries in its formatted_body.
	mxReply = regexp.MustCompile(`(?is)<mx-reply>.*?</mx-reply>`)
)

// fromMatrix converts a Matrix text message to canonical content. An emote is written as
// "* name text"; the quoted original a reply carries is dropped.
func fromMatrix(msgtype, body, format, formatted string, reply bool, senderName string) (string, string) {
	if format != matrixHTMLFormat {
		formatted = ""
	}
	if reply {
		formatted = mxReply.ReplaceAllString(formatted, "")
		body = stripReplyFallback(body)
	}
	if msgtype == "m.emote" {
		body = "* " + senderName + " " + body
		if formatted != "" {
			formatted = "* " + html.EscapeString(senderName) + " " + formatted
		}
	}
	return richtext.Normalize(body, formatted)
}

// stripReplyFallback drops the "> " lines a reply's body starts with, and the blank line after.
func stripReplyFallback(body string) string {
	lines := strings.Split(body, "\n")
	i := 0
	for i < len(lines) && strings.HasPrefix(lines[i], ">") {
		i++
	}
	if i == 0 {
		return body
	}
	if i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	return strings.Join(lines[i:], "\n")
}
