package metafake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Sign is the X-Hub-Signature-256 Meta sends with body: "sha256=" and the hex HMAC-SHA256 of
// the raw body with the app secret.
func Sign(appSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Answer is a webhook's HTTP answer.
type Answer struct {
	Status int
	Body   string
}

// Post sends a webhook to the callback URL, signed with the app secret, as Meta does.
func (s *Server) Post(ctx context.Context, callbackURL string, body []byte) (Answer, error) {
	return PostSigned(ctx, callbackURL, body, Sign(s.AppSecret, body))
}

// PostSigned sends a webhook with the given X-Hub-Signature-256 ("" sends none), for forged
// requests.
func PostSigned(ctx context.Context, callbackURL string, body []byte, signature string) (Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callbackURL, bytes.NewReader(body))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	return do(req)
}

// Verify runs the verification request Meta sends when the callback URL is saved: hub.mode
// subscribe, the verify token and a random challenge. It reports whether the endpoint echoed
// the challenge as Meta requires (200 and exactly the challenge).
func Verify(ctx context.Context, callbackURL, verifyToken string) (Answer, bool, error) {
	n, _ := strconv.ParseUint(randomHex(4), 16, 64)
	challenge := strconv.FormatUint(n, 10)
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {challenge}, "hub.verify_token": {verifyToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, callbackURL+"?"+q.Encode(), nil)
	if err != nil {
		return Answer{}, false, err
	}
	a, err := do(req)
	return a, err == nil && a.Status == http.StatusOK && a.Body == challenge, err
}

func do(req *http.Request) (Answer, error) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return Answer{}, fmt.Errorf("read the answer: %w", err)
	}
	return Answer{Status: res.StatusCode, Body: string(data)}, nil
}
