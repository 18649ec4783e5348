package sdk

import (
	"strconv"
	"strings"

	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// Expert chats on a bridge are keyed by the pair they join: there is one conversation per
// agent and expert. The agent is named by their username (what Participant.Id carries for
// agents on a bridge), the expert by their platform id (a Matrix user id, a Mattermost or Slack
// user id). Bridges use ExpertChatKey for every event of a chat, in both directions.

// ExpertChatKey is the conversation key of the chat between an agent and an expert.
func ExpertChatKey(agent, expert string) string { return agent + "|" + expert }

// ParseExpertChatKey splits a key made by ExpertChatKey.
func ParseExpertChatKey(key string) (agent, expert string, ok bool) {
	agent, expert, ok = strings.Cut(key, "|")
	return agent, expert, ok && agent != "" && expert != ""
}

// PresenceState is where a participant stands for others.
type PresenceState = pb.PresenceState

// Presence states.
const (
	Online  = pb.PresenceState_PRESENCE_STATE_ONLINE
	Away    = pb.PresenceState_PRESENCE_STATE_AWAY
	Offline = pb.PresenceState_PRESENCE_STATE_OFFLINE
)

// Agent is an agent as a bridge sees one: Id is the username, DisplayName the name to show.
func Agent(username, displayName string) *Participant {
	return &Participant{Kind: AsAgent, Id: username, DisplayName: displayName}
}

// Expert is an expert on a bridge's platform.
func Expert(id, displayName string) *Participant {
	return &Participant{Kind: AsExpert, Id: id, DisplayName: displayName}
}

// MaxAttachmentBytes is the most an event's inline files (Attachment.Data) may hold together: an
// event travels as one message of at most MaxMessageBytes. The hub refuses more; plugins bound
// their own max_attachment_bytes by it.
const MaxAttachmentBytes = 24 << 20

// SizeText writes a byte count for people: "10 MiB", "512 KiB", "1234 bytes".
func SizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
