package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/switchboardhq/switchboard/sdk"
)

// propAgent marks the Mattermost users the bridge made for agents, holding the hub username.
const propAgent = "switchboard_agent"

// agent is one hub agent and the Mattermost user the bridge speaks for.
type agent struct {
	hub string // the hub username

	// mu serializes provisioning; the fields below are set under it.
	mu      sync.Mutex
	display string
	user    *model.User
	client  *model.Client4
	// status is what Mattermost should show ("online", "offline"), empty until the hub said.
	status string

	sockMu sync.Mutex
	socket *model.WebSocketClient
	inbox  *inbox
}

func (a *agent) api() (*model.Client4, *model.User) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.client, a.user
}

func (a *agent) wantedStatus() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// deliverPresence keeps an agent's user, and their status, as the hub says.
func (b *bridge) deliverPresence(ctx context.Context, p *sdk.Presence) error {
	subject := p.GetSubject()
	if subject.GetKind() != sdk.AsAgent || subject.GetId() == "" {
		return nil
	}
	a, err := b.ensureAgent(ctx, subject.GetId(), subject.GetDisplayName())
	if err != nil {
		return err
	}
	status := model.StatusOffline
	switch p.GetState() {
	case sdk.Online:
		status = model.StatusOnline
	case sdk.Away:
		status = model.StatusAway
	}
	a.mu.Lock()
	a.status = status
	user := a.user
	a.mu.Unlock()
	// The status is set before the WebSocket opens: a fresh connection would show an offline
	// agent online for a moment.
	if err := b.setStatus(ctx, user.Id, status); err != nil {
		return err
	}
	b.listen(a)
	return nil
}

func (b *bridge) setStatus(ctx context.Context, userID, status string) error {
	if _, _, err := b.admin.UpdateUserStatus(ctx, userID, &model.Status{UserId: userID, Status: status}); err != nil {
		return fmt.Errorf("mattermost: set status of %s to %s: %w", userID, status, err)
	}
	return nil
}

// assertPresence sets the agents' statuses again where Mattermost let them drift (it turns users
// away when idle and offline when their connection drops), until ctx ends.
func (b *bridge) assertPresence(ctx context.Context) {
	tick := time.NewTicker(b.cfg.presenceInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b.mu.Lock()
		agents := make(map[string]*agent, len(b.agentIDs))
		for id, a := range b.agentIDs {
			agents[id] = a
		}
		b.mu.Unlock()
		want := map[string]string{}
		for id, a := range agents { // a.mu is never taken under b.mu
			if s := a.wantedStatus(); s != "" {
				want[id] = s
			}
		}
		if len(want) == 0 {
			continue
		}
		ids := make([]string, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		for chunk := range chunks(ids, 200) {
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			statuses, _, err := b.admin.GetUsersStatusesByIds(cctx, chunk)
			cancel()
			if err != nil {
				b.log.Warn("read the agents' statuses", "error", err)
				continue
			}
			for _, s := range statuses {
				if w := want[s.UserId]; w != "" && s.Status != w {
					cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					if err := b.setStatus(cctx, s.UserId, w); err != nil {
						b.log.Warn("assert an agent's status", "error", err)
					}
					cancel()
				}
			}
		}
	}
}

// ensureAgent returns the agent with a Mattermost user, team membership and an access token,
// creating what is missing; a changed display name is passed on.
func (b *bridge) ensureAgent(ctx context.Context, username, display string) (*agent, error) {
	b.mu.Lock()
	a := b.agents[username]
	if a == nil {
		a = &agent{hub: username, inbox: newInbox()}
		b.agents[username] = a
	}
	b.mu.Unlock()

	a.mu.Lock()
	defer a.mu.Unlock()
	if display == "" {
		display = a.display
	}
	if a.client != nil && (display == "" || display == a.display) {
		return a, nil
	}
	user, err := b.agentUser(ctx, username, display)
	if err != nil {
		return nil, err
	}
	if a.client == nil {
		client, err := b.mintToken(ctx, user)
		if err != nil {
			return nil, err
		}
		a.client = client
	}
	a.user, a.display = user, display
	b.mu.Lock()
	b.agentIDs[user.Id] = a
	b.mu.Unlock()
	return a, nil
}

// agentUser finds or creates the agent's Mattermost user and makes it a member of the team.
func (b *bridge) agentUser(ctx context.Context, username, display string) (*model.User, error) {
	name := mattermostUsername(b.cfg.UsernamePrefix, username)
	user, resp, err := b.admin.GetUserByUsername(ctx, name, "")
	switch {
	case err == nil:
		if user.Props[propAgent] != username {
			return nil, sdk.Reject("the Mattermost username %s belongs to someone else: set username_prefix so agents' usernames do not collide", name)
		}
	case statusOf(resp) == http.StatusNotFound:
		user, _, err = b.admin.CreateUser(ctx, &model.User{
			Username:  name,
			Email:     name + "@agents.switchboard.invalid",
			Password:  randomPassword(),
			FirstName: display,
			Props:     model.StringMap{propAgent: username},
		})
		if err != nil {
			return nil, fmt.Errorf("mattermost: create user %s for agent %s: %w", name, username, err)
		}
		b.log.Info("created the Mattermost user of an agent", "agent", username, "user", name)
	default:
		return nil, fmt.Errorf("mattermost: look up user %s: %w", name, err)
	}
	if user.DeleteAt != 0 {
		if _, err := b.admin.UpdateUserActive(ctx, user.Id, true); err != nil {
			return nil, fmt.Errorf("mattermost: reactivate user %s: %w", name, err)
		}
	}
	if display != "" && user.FirstName != display {
		first, last := display, ""
		if user, _, err = b.admin.PatchUser(ctx, user.Id, &model.UserPatch{FirstName: &first, LastName: &last}); err != nil {
			return nil, fmt.Errorf("mattermost: rename user %s: %w", name, err)
		}
	}
	b.mu.Lock()
	team := b.team
	b.mu.Unlock()
	if _, _, err := b.admin.AddTeamMember(ctx, team.Id, user.Id); err != nil {
		return nil, fmt.Errorf("mattermost: add %s to team %s: %w", name, team.Name, err)
	}
	return user, nil
}

// tokenDescription names the bridge's tokens so a new one can replace the old ones.
func (b *bridge) tokenDescription() string { return "switchboard bridge " + b.instance }

// mintToken creates a personal access token for the agent's user and revokes the tokens older
// runs of this bridge made for it.
func (b *bridge) mintToken(ctx context.Context, user *model.User) (*model.Client4, error) {
	desc := b.tokenDescription()
	tok, _, err := b.admin.CreateUserAccessToken(ctx, user.Id, desc)
	if err != nil {
		return nil, fmt.Errorf("mattermost: create an access token for %s (is EnableUserAccessTokens on?): %w", user.Username, err)
	}
	for page := 0; ; page++ {
		old, _, err := b.admin.GetUserAccessTokensForUser(ctx, user.Id, page, 100)
		if err != nil {
			b.log.Warn("list an agent's access tokens", "user", user.Username, "error", err)
			break
		}
		for _, o := range old {
			if o.Id != tok.Id && o.Description == desc {
				if _, err := b.admin.RevokeUserAccessToken(ctx, o.Id); err != nil {
					b.log.Warn("revoke an old access token", "user", user.Username, "error", err)
				}
			}
		}
		if len(old) < 100 {
			break
		}
	}
	client := model.NewAPIv4Client(b.cfg.serverURL)
	client.SetToken(tok.Token)
	client.HTTPClient = b.admin.HTTPClient
	return client, nil
}

// renewToken replaces an agent's token that Mattermost no longer accepts (an admin revoked it).
func (b *bridge) renewToken(ctx context.Context, a *agent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	client, err := b.mintToken(ctx, a.user)
	if err != nil {
		return err
	}
	a.client = client
	return nil
}

func (b *bridge) agentByUserID(id string) *agent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.agentIDs[id]
}

func (b *bridge) agentByName(username string) *agent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.agents[username]
}

var notUsername = regexp.MustCompile(`[^a-z0-9._-]+`)

// mattermostUsername makes a valid Mattermost username for a hub username: lowercase, only
// a-z 0-9 . _ -, starting with a letter, not reserved, at most 64 characters (long names keep a
// hash of the whole so two agents never share one).
func mattermostUsername(prefix, hub string) string {
	name := notUsername.ReplaceAllString(strings.ToLower(prefix+hub), "-")
	if name == "" || name[0] < 'a' || name[0] > 'z' || !model.IsValidUsername(name) {
		name = "agent-" + name
	}
	if len(name) > 64 {
		sum := sha256.Sum256([]byte(prefix + hub))
		name = name[:55] + "-" + hex.EncodeToString(sum[:4])
	}
	return name
}

func randomPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "Sb-" + hex.EncodeToString(b) + "!"
}

// chunks splits ids into slices of at most n.
func chunks(ids []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(ids) > 0 {
			k := min(n, len(ids))
			if !yield(ids[:k]) {
				return
			}
			ids = ids[k:]
		}
	}
}
