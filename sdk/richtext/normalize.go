package richtext

import (
	"strings"
	"unicode"
)

// Normalize returns the canonical pair for a message. An html that shows
// nothing once sanitized is derived from text with FromText, an empty text
// is derived from html with ToText, and the returned html is always
// sanitized. A non-empty text is returned as given. When neither shows
// anything, both results are empty.
func Normalize(text, html string) (string, string) {
	clean := Sanitize(html)
	cleanText := plainText(clean)
	switch {
	case isBlank(text) && isBlank(cleanText):
		return "", ""
	case isBlank(text):
		return cleanText, clean
	case isBlank(cleanText):
		return text, FromText(text)
	}
	return text, clean
}

// IsEmpty reports whether a message shows nothing: text and the text of html
// hold only whitespace and invisible characters such as zero-width spaces.
func IsEmpty(text, html string) bool {
	return isBlank(text) && isBlank(ToText(html))
}

func isBlank(s string) bool {
	return strings.TrimFunc(s, invisible) == ""
}

func invisible(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		return true
	}
	return unicode.IsSpace(r)
}
