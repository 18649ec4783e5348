package main

import (
	"strings"
	"unicode"
	"unicode/utf16"
)

// An SMS carries 140 bytes: 160 GSM-7 characters or 70 UCS-2 code units. A part of a concatenated
// message gives 6 bytes to the header that joins the parts again: 153 or 67.
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// coding is how an SMS encodes its text.
type coding int

const (
	gsm7 coding = iota // GSM 03.38 default alphabet, 7 bits a character
	ucs2               // UTF-16, 16 bits a code unit
)

func (c coding) String() string {
	if c == ucs2 {
		return "UCS-2"
	}
	return "GSM-7"
}

// gsmBasic is the GSM 03.38 default alphabet; gsmExtended the characters of its extension table,
// which take an escape and so two septets.
const (
	gsmBasic    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "^{}\\[~]|€\f"
)

var gsmWidth = func() map[rune]int {
	m := map[rune]int{}
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtended {
		m[r] = 2
	}
	return m
}()

// codingOf is GSM-7 when every character of text is in the GSM alphabet, else UCS-2. Characters
// are never replaced by look-alikes: the customer reads what the agent wrote.
func codingOf(text string) coding {
	for _, r := range text {
		if gsmWidth[r] == 0 {
			return ucs2
		}
	}
	return gsm7
}

// width is how much of a segment r takes in coding c.
func (c coding) width(r rune) int {
	if c == gsm7 {
		return gsmWidth[r]
	}
	return utf16.RuneLen(r)
}

func (c coding) widthOf(s string) int {
	n := 0
	for _, r := range s {
		n += c.width(r)
	}
	return n
}

func (c coding) limits() (single, part int) {
	if c == gsm7 {
		return gsmSingle, gsmPart
	}
	return ucs2Single, ucs2Part
}

// segment splits text into the parts of one concatenated SMS: a single part when it fits in one
// SMS, else parts of at most 153 GSM-7 characters (67 UCS-2 code units). Parts end at word
// boundaries: a word (a URL is one word) moves whole to the next part unless it is longer than a
// part by itself. Joined, the parts are text exactly, whitespace included, so a phone that
// reassembles them shows the message as written.
func segment(text string) (coding, []string) {
	c := codingOf(text)
	single, capacity := c.limits()
	if c.widthOf(text) <= single {
		return c, []string{text}
	}
	var (
		parts []string
		cur   strings.Builder
		used  int
	)
	flush := func() {
		parts = append(parts, cur.String())
		cur.Reset()
		used = 0
	}
	// runes adds s rune by rune, starting a new part whenever the next one does not fit.
	runes := func(s string) {
		for _, r := range s {
			if w := c.width(r); used+w > capacity {
				flush()
			}
			cur.WriteRune(r)
			used += c.width(r)
		}
	}
	for _, tok := range tokens(text) {
		w := c.widthOf(tok)
		switch {
		case used+w <= capacity:
			cur.WriteString(tok)
			used += w
		case isSpace(tok):
			runes(tok)
		case w <= capacity:
			flush()
			cur.WriteString(tok)
			used = w
		default:
			runes(tok) // longer than a whole part: it has to be cut somewhere
		}
	}
	if used > 0 {
		flush()
	}
	return c, parts
}

// tokens splits text into alternating runs of whitespace and of anything else.
func tokens(text string) []string {
	var out []string
	start := 0
	for i, r := range text {
		if i > start && unicode.IsSpace(r) != isSpace(text[start:i]) {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// isSpace reports whether a token is whitespace (tokens are all one or the other).
func isSpace(tok string) bool {
	for _, r := range tok {
		return unicode.IsSpace(r)
	}
	return false
}
