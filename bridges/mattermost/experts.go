package main

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"

	"github.com/switchboardhq/switchboard/sdk"
)

// Mattermost pushes status changes only to the user concerned, so the bridge polls the experts'
// statuses and reports changes to the hub.

// userRefresh is how long a user's name is trusted.
const userRefresh = 5 * time.Minute

// directory knows the experts: their ids, names and the presence last reported.
type directory struct {
	usernames []string // configured; empty means the team's members and DM partners
	// refresh is how often the list of experts (team members or the configured usernames) is
	// read again: every fourth poll, at most once a minute.
	refresh time.Duration

	mu        sync.Mutex
	users     map[string]cachedUser
	partners  map[string]bool
	members   []string
	membersAt time.Time
	reported  map[string]pb.PresenceState
}

type cachedUser struct {
	user *model.User
	at   time.Time
}

func newDirectory(usernames []string, poll time.Duration) *directory {
	return &directory{
		usernames: usernames,
		refresh:   min(4*poll, time.Minute),
		users:     map[string]cachedUser{},
		partners:  map[string]bool{},
		reported:  map[string]pb.PresenceState{},
	}
}

// sawPartner records a user who has a direct channel with an agent.
func (d *directory) sawPartner(id string) {
	d.mu.Lock()
	d.partners[id] = true
	d.mu.Unlock()
}

func (d *directory) cached(id string) *model.User {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.users[id].user
}

// user returns a user, read from Mattermost when not known or stale; nil if it cannot be read.
func (d *directory) user(ctx context.Context, admin *model.Client4, id string) *model.User {
	d.mu.Lock()
	c, ok := d.users[id]
	d.mu.Unlock()
	if ok && time.Since(c.at) < userRefresh {
		return c.user
	}
	u, _, err := admin.GetUser(ctx, id, "")
	if err != nil {
		return c.user
	}
	d.remember(u)
	return u
}

func (d *directory) remember(users ...*model.User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range users {
		d.users[u.Id] = cachedUser{user: u, at: time.Now()}
	}
}

// pollExperts reports the experts' presence at start and whenever it changes, until ctx ends.
func (b *bridge) pollExperts(ctx context.Context) {
	tick := time.NewTicker(b.cfg.expertPoll)
	defer tick.Stop()
	for {
		b.pollOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (b *bridge) pollOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	experts := b.expertUsers(ctx)
	ids := make([]string, 0, len(experts))
	for id := range experts {
		ids = append(ids, id)
	}
	states := map[string]pb.PresenceState{}
	for chunk := range chunks(ids, 200) {
		statuses, _, err := b.admin.GetUsersStatusesByIds(ctx, chunk)
		if err != nil {
			b.log.Warn("read the experts' statuses", "error", err)
			return
		}
		for _, s := range statuses {
			states[s.UserId] = presenceState(s.Status)
		}
	}
	d := b.experts
	d.mu.Lock()
	var gone []string
	for id := range d.reported {
		if _, ok := experts[id]; !ok {
			gone = append(gone, id)
		}
	}
	d.mu.Unlock()
	for _, id := range gone {
		u := d.cached(id)
		if b.reportPresence(ctx, id, displayName(u, id), sdk.Offline) {
			d.mu.Lock()
			delete(d.reported, id)
			d.mu.Unlock()
		}
	}
	for id, u := range experts {
		state, ok := states[id]
		if !ok {
			state = sdk.Offline
		}
		d.mu.Lock()
		last, known := d.reported[id]
		d.mu.Unlock()
		if known && last == state {
			continue
		}
		if b.reportPresence(ctx, id, displayName(u, id), state) {
			d.mu.Lock()
			d.reported[id] = state
			d.mu.Unlock()
		}
	}
}

func (b *bridge) reportPresence(ctx context.Context, id, name string, state pb.PresenceState) bool {
	ev := sdk.NewPresence("mm-presence-"+id+"-"+strconv.FormatInt(time.Now().UnixNano(), 36), sdk.Expert(id, name), state, "")
	if err := b.host.Emit(ctx, ev); err != nil {
		b.log.Warn("report an expert's presence", "expert", id, "error", err)
		return false
	}
	return true
}

func presenceState(status string) pb.PresenceState {
	switch status {
	case model.StatusOnline:
		return sdk.Online
	case model.StatusAway, model.StatusDnd:
		return sdk.Away
	}
	return sdk.Offline
}

// expertUsers lists the experts to report: the configured usernames, or the team's members and
// the agents' DM partners, without agents, bots, deactivated users and the bridge's admin.
func (b *bridge) expertUsers(ctx context.Context) map[string]*model.User {
	d := b.experts
	d.mu.Lock()
	stale := time.Since(d.membersAt) > d.refresh
	ids := append([]string(nil), d.members...)
	for id := range d.partners {
		if len(d.usernames) == 0 {
			ids = append(ids, id)
		}
	}
	d.mu.Unlock()
	if stale {
		if fresh, err := b.readExperts(ctx); err != nil {
			b.log.Warn("read the experts", "error", err)
		} else {
			d.mu.Lock()
			d.members, d.membersAt = fresh, time.Now()
			d.mu.Unlock()
			ids = fresh
			d.mu.Lock()
			for id := range d.partners {
				if len(d.usernames) == 0 {
					ids = append(ids, id)
				}
			}
			d.mu.Unlock()
		}
	}
	var unknown []string
	for _, id := range ids {
		if d.cached(id) == nil {
			unknown = append(unknown, id)
		}
	}
	for chunk := range chunks(unknown, 100) {
		users, _, err := b.admin.GetUsersByIds(ctx, chunk)
		if err != nil {
			b.log.Warn("read the experts' names", "error", err)
			break
		}
		d.remember(users...)
	}
	b.mu.Lock()
	adminID := b.adminID
	b.mu.Unlock()
	out := map[string]*model.User{}
	for _, id := range ids {
		u := d.cached(id)
		if u == nil || u.Id == adminID || u.IsBot || u.DeleteAt != 0 || u.Props[propAgent] != "" || b.agentByUserID(id) != nil {
			continue
		}
		out[id] = u
	}
	return out
}

// readExperts reads the ids of the configured experts, or of the team's members.
func (b *bridge) readExperts(ctx context.Context) ([]string, error) {
	d := b.experts
	if len(d.usernames) > 0 {
		users, _, err := b.admin.GetUsersByUsernames(ctx, d.usernames)
		if err != nil {
			return nil, err
		}
		d.remember(users...)
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.Id
		}
		return ids, nil
	}
	b.mu.Lock()
	team := b.team
	b.mu.Unlock()
	var ids []string
	for page := 0; ; page++ {
		members, _, err := b.admin.GetTeamMembers(ctx, team.Id, page, 200, "")
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			if m.DeleteAt == 0 {
				ids = append(ids, m.UserId)
			}
		}
		if len(members) < 200 {
			return ids, nil
		}
	}
}
