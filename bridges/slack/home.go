package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// actionChat is the action id of the Home tab's "Chat" buttons; the value is the agent.
const actionChat = "switchboard_chat"

// homeAgents bounds the agents one Home tab lists (Slack allows 100 blocks in a view).
const homeAgents = 90

// homeSettle lets a burst of presence changes (every agent, on a new hub stream) end before
// the Home tabs are published again.
const homeSettle = 200 * time.Millisecond

// directory is the agents as the hub announced them and the experts whose Home tab shows them.
type directory struct {
	mu      sync.Mutex
	agents  map[string]agentEntry
	viewers map[string]bool
	dirty   map[string]bool // viewers whose Home tab is out of date
	wake    chan struct{}
}

type agentEntry struct {
	name   string
	online bool
}

func newDirectory() *directory {
	return &directory{agents: map[string]agentEntry{}, viewers: map[string]bool{}, dirty: map[string]bool{}, wake: make(chan struct{}, 1)}
}

func (d *directory) name(agent string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.agents[agent].name
}

func (d *directory) has(agent string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.agents[agent]
	return ok
}

func (d *directory) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// setAgent records an agent's presence; a change makes every Home tab out of date.
func (b *bridge) setAgent(agent, name string, online bool) {
	d := b.dir
	d.mu.Lock()
	if name == "" {
		name = agent
	}
	e := agentEntry{name: name, online: online}
	changed := d.agents[agent] != e
	d.agents[agent] = e
	if changed {
		for v := range d.viewers {
			d.dirty[v] = true
		}
	}
	d.mu.Unlock()
	if changed {
		d.signal()
	}
}

// showHome makes the expert a viewer of the directory and publishes their Home tab.
func (b *bridge) showHome(expert string) {
	d := b.dir
	d.mu.Lock()
	d.viewers[expert] = true
	d.dirty[expert] = true
	d.mu.Unlock()
	d.signal()
}

// publishHomes publishes the Home tab of every viewer whose tab is out of date, after changes
// settle; a failed publish is tried again later.
func (b *bridge) publishHomes(ctx context.Context) {
	d := b.dir
	backoff := time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(homeSettle):
		}
		d.mu.Lock()
		users := make([]string, 0, len(d.dirty))
		for u := range d.dirty {
			users = append(users, u)
		}
		clear(d.dirty)
		d.mu.Unlock()
		failed := false
		for _, u := range users {
			if err := b.publishHome(ctx, u); err != nil {
				b.logger().Warn("cannot publish the Home tab", "user", u, "error", err)
				d.mu.Lock()
				d.dirty[u] = true
				d.mu.Unlock()
				failed = true
			}
		}
		if !failed {
			backoff = time.Second
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Minute)
		d.signal()
	}
}

func (b *bridge) publishHome(ctx context.Context, user string) error {
	b.dir.mu.Lock()
	agents := make([]agentRow, 0, len(b.dir.agents))
	for username, e := range b.dir.agents {
		agents = append(agents, agentRow{username, e.name, e.online})
	}
	b.dir.mu.Unlock()
	_, err := b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: homeView(agents)})
	return err
}

type agentRow struct {
	username, name string
	online         bool
}

// homeView is the agent directory: online agents first, each with a presence marker and a Chat
// button.
func homeView(agents []agentRow) slack.HomeTabViewRequest {
	slices.SortFunc(agents, func(a, b agentRow) int {
		if a.online != b.online {
			if a.online {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(strings.ToLower(a.name), strings.ToLower(b.name)), cmp.Compare(a.username, b.username))
	})
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "Contact center agents", false, false)),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
			"Press *Chat* to write to an agent. Each chat is a thread in this app's Messages tab; 🟢 online, ⚪ offline (messages wait for the agent's next sign-in).", false, false), nil, nil),
		slack.NewDividerBlock(),
	}
	if len(agents) == 0 {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "No agents yet.", false, false), nil, nil))
	}
	for i, a := range agents {
		if i == homeAgents {
			blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType,
				fmt.Sprintf("…and %d more agents.", len(agents)-homeAgents), false, false)))
			break
		}
		marker, state := "⚪", "offline"
		if a.online {
			marker, state = "🟢", "online"
		}
		button := slack.NewButtonBlockElement(actionChat, a.username, slack.NewTextBlockObject(slack.PlainTextType, "Chat", false, false))
		text := slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("%s *%s*  %s", marker, escapeText(a.name), state), false, false)
		blocks = append(blocks, slack.NewSectionBlock(text, nil, slack.NewAccessory(button), slack.SectionBlockOptionBlockID("agent:"+a.username)))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}, CallbackID: "switchboard_home"}
}
