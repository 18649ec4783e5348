package auth

import "testing"

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "correct horse") {
		t.Fatal("the right password was refused")
	}
	for _, wrong := range []string{"", "correct hors", "Correct horse", "correct horse "} {
		if CheckPassword(h, wrong) {
			t.Fatalf("wrong password %q accepted", wrong)
		}
	}
	if CheckPassword("", "anything") {
		t.Fatal("an unknown user (empty hash) was accepted")
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestDummyHashIsWellFormed(t *testing.T) {
	if _, err := verify(dummyHash, "x"); err != nil {
		t.Fatalf("the dummy hash must parse so unknown users cost a full check: %v", err)
	}
}

func TestTokens(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || len(a) < 40 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if HashToken(a) == a || HashToken(a) != HashToken(a) {
		t.Fatal("token hash must be stable and differ from the token")
	}
	if !Equal(a, a) || Equal(a, b) {
		t.Fatal("Equal")
	}
	if p := NewPassword(); len(p) != 19 {
		t.Fatalf("password %q", p)
	}
}
