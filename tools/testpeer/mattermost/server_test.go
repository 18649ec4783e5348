package mattermost

import (
	"context"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// TestStart checks the peer the bridge tests rely on: the admin can act for others, and users
// can write to each other.
func TestStart(t *testing.T) {
	start := time.Now()
	s := Start(t)
	t.Logf("server ready in %s at %s", time.Since(start).Round(time.Millisecond), s.URL)
	ctx := context.Background()
	bob := s.CreateUser(t, "bob", "Bob", "Builder")
	amy := s.CreateUser(t, "amy", "Amy", "Adams")
	ch, _, err := bob.Client.CreateDirectChannel(ctx, bob.Id, amy.Id)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bob.Client.CreatePost(ctx, &model.Post{ChannelId: ch.Id, Message: "hello **amy**"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Admin.UpdateUserStatus(ctx, amy.Id, &model.Status{UserId: amy.Id, Status: model.StatusOffline}); err != nil {
		t.Fatal(err)
	}
	st, _, err := bob.Client.GetUsersStatusesByIds(ctx, []string{amy.Id})
	if err != nil || len(st) != 1 || st[0].Status != model.StatusOffline {
		t.Fatalf("amy's status as bob sees it: %v %v", st, err)
	}
}
