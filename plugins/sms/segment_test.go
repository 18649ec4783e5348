package main

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestCoding(t *testing.T) {
	for _, tc := range []struct {
		text string
		want coding
	}{
		{"Hello, world! @ £ $ ¥ è é ù ì ò Ç Ø ø Å å Δ _ Φ Ä Ö Ñ Ü § ¿ ä ö ñ ü à", gsm7},
		{"Extended: ^ { } \\ [ ~ ] | €", gsm7},
		{"line\nbreak\r", gsm7},
		{"ç is not GSM (only Ç is)", ucs2},
		{"Привет", ucs2},
		{"emoji 😀", ucs2},
		{"curly “quotes”", ucs2},
	} {
		if got := codingOf(tc.text); got != tc.want {
			t.Errorf("codingOf(%q) = %s, want %s", tc.text, got, tc.want)
		}
	}
}

func TestSegmentSizes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		parts int
	}{
		{"160 GSM-7 characters fit one SMS", strings.Repeat("a", 160), 1},
		{"161 need two parts", strings.Repeat("a", 161), 2},
		{"306 fill two parts of 153", strings.Repeat("a", 306), 2},
		{"307 need three", strings.Repeat("a", 307), 3},
		{"an extended character counts twice", strings.Repeat("a", 159) + "€", 2},
		{"80 extended characters fill one SMS", strings.Repeat("€", 80), 1},
		{"70 UCS-2 characters fit one SMS", strings.Repeat("ж", 70), 1},
		{"71 need two parts", strings.Repeat("ж", 71), 2},
		{"134 fill two parts of 67", strings.Repeat("ж", 134), 2},
		{"an emoji is two UTF-16 units", strings.Repeat("😀", 35), 1},
		{"36 emoji need two parts", strings.Repeat("😀", 36), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, parts := segment(tc.text)
			if len(parts) != tc.parts {
				t.Fatalf("%d parts, want %d", len(parts), tc.parts)
			}
			checkParts(t, tc.text, c, parts)
		})
	}
}

// checkParts: parts join to the text, each fits its part, and no character is cut in two.
func checkParts(t *testing.T, text string, c coding, parts []string) {
	t.Helper()
	if strings.Join(parts, "") != text {
		t.Errorf("parts joined differ from the text")
	}
	single, capacity := c.limits()
	if len(parts) == 1 {
		capacity = single
	}
	for i, p := range parts {
		if w := c.widthOf(p); w > capacity || w == 0 {
			t.Errorf("part %d takes %d of %d", i+1, w, capacity)
		}
		if strings.ContainsRune(p, '\uFFFD') && !strings.ContainsRune(text, '\uFFFD') {
			t.Errorf("part %d cuts a character", i+1)
		}
		if c == ucs2 && len(utf16.Encode([]rune(p))) != c.widthOf(p) {
			t.Errorf("part %d: width is not its UTF-16 length", i+1)
		}
	}
}

func TestSegmentWordsAndLinks(t *testing.T) {
	link := "https://shop.example.com/orders/1234567890/track?lang=en&ref=sms-reply"
	text := strings.Repeat("word ", 25) + link + " and " + strings.Repeat("more ", 30)
	c, parts := segment(text)
	checkParts(t, text, c, parts)
	found := false
	for i, p := range parts {
		if strings.Contains(p, link) {
			found = true
		}
		if i < len(parts)-1 && !strings.HasSuffix(p, " ") {
			t.Errorf("part %d ends inside a word: %q", i+1, p)
		}
	}
	if !found {
		t.Errorf("the link is cut: %q", parts)
	}

	t.Run("a word longer than a part is cut", func(t *testing.T) {
		long := "see " + strings.Repeat("x", 400)
		c, parts := segment(long)
		checkParts(t, long, c, parts)
		if len(parts) != 3 {
			t.Errorf("%d parts", len(parts))
		}
	})
	t.Run("an extended character is never split from its escape", func(t *testing.T) {
		text := strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10)
		c, parts := segment(text)
		checkParts(t, text, c, parts)
		if c.widthOf(parts[0]) != 152 {
			t.Errorf("first part takes %d", c.widthOf(parts[0]))
		}
	})
}

// TestSegmentRandom: whatever the text, the parts join to it and fit.
func TestSegmentRandom(t *testing.T) {
	alphabet := []rune("ab cd ef €[] \n.é Ж😀-https://x.y/")
	r := rand.New(rand.NewPCG(7, 11))
	for range 500 {
		n := r.IntN(700)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		text := b.String()
		c, parts := segment(text)
		if text == "" {
			continue
		}
		checkParts(t, text, c, parts)
		if t.Failed() {
			t.Fatalf("text %q gave %q", text, parts)
		}
	}
}
