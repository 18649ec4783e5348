package richtext

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, text, html, wantText, wantHTML string
	}{
		{"both empty", "", "", "", ""},
		{"both blank", " \n", "<p> </p>", "", ""},
		{"html from text", "a < b\nc", "", "a < b\nc", `<p>a &lt; b<br/>c</p>`},
		{"text from html", "", `<p>hi <b>there</b></p><script>x</script>`, "hi there", `<p>hi <b>there</b></p>`},
		{"both given, html sanitized", "hi", `<p onclick="x()">hi</p>`, "hi", `<p>hi</p>`},
		{"html with nothing visible", "hi", `<script>alert(1)</script>`, "hi", `<p>hi</p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, html := Normalize(tt.text, tt.html)
			if text != tt.wantText || html != tt.wantHTML {
				t.Errorf("Normalize(%q, %q)\n got %q, %q\nwant %q, %q", tt.text, tt.html, text, html, tt.wantText, tt.wantHTML)
			}
		})
	}
}

func TestIsEmpty(t *testing.T) {
	tests := []struct {
		text, html string
		want       bool
	}{
		{"", "", true},
		{" \n\t", "", true},
		{"\u200b\u00a0", "", true},
		{"", "<p></p><br>", true},
		{"", "<p>&nbsp;</p>", true},
		{"", "<script>alert(1)</script><style>p{}</style>", true},
		{"", `<img src="https://example.com/x.png">`, true},
		{"x", "", false},
		{"", "<p>x</p>", false},
		{"", `<a href="https://example.com"></a>`, false},
	}
	for _, tt := range tests {
		if got := IsEmpty(tt.text, tt.html); got != tt.want {
			t.Errorf("IsEmpty(%q, %q) = %v, want %v", tt.text, tt.html, got, tt.want)
		}
	}
}
