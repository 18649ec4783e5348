package dendrite

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestStartAndCreateUser(t *testing.T) {
	s := Start(t, Options{AppserviceURL: "http://127.0.0.1:1", ASToken: "as-" + randomHex(8), HSToken: "hs-" + randomHex(8), UserRegex: "@sb_.*:localhost"})
	id, token := s.CreateUser("expert1")
	if id != "@expert1:localhost" {
		t.Errorf("user id %q, want @expert1:localhost", id)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/_matrix/client/v3/account/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var who struct {
		UserID string `json:"user_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&who); err != nil || who.UserID != id {
		t.Fatalf("whoami with the new token: %v %q (status %s)", err, who.UserID, resp.Status)
	}
	s.Restart()
	if _, err := http.Get(s.URL + "/_matrix/client/versions"); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
}
