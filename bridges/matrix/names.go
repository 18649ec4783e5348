package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Agents appear on Matrix as "ghost" users of the appservice: @<prefix><username>:<server>. A
// username is mapped into the localpart alphabet with the Matrix spec's bijective mapping from
// other character sets: A-Z become _a-_z, _ becomes __, and every other byte outside a-z, 0-9,
// '.' and '-' becomes =xx, so the username is recovered exactly from the user id.

// encodeLocalpart maps a username into the localpart alphabet.
func encodeLocalpart(username string) string {
	var b strings.Builder
	for i := 0; i < len(username); i++ {
		c := username[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte('_')
			b.WriteByte(c + 'a' - 'A')
		case c == '_':
			b.WriteString("__")
		default:
			fmt.Fprintf(&b, "=%02x", c)
		}
	}
	return b.String()
}

// decodeLocalpart inverts encodeLocalpart; it refuses anything encodeLocalpart cannot produce.
func decodeLocalpart(local string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c == '_' && i+1 < len(local) && local[i+1] == '_':
			b.WriteByte('_')
			i++
		case c == '_' && i+1 < len(local) && local[i+1] >= 'a' && local[i+1] <= 'z':
			b.WriteByte(local[i+1] - 'a' + 'A')
			i++
		case c == '=' && i+2 < len(local):
			v, err := hex.DecodeString(local[i+1 : i+3])
			if err != nil {
				return "", false
			}
			b.WriteByte(v[0])
			i += 2
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	out := b.String()
	return out, out != "" && encodeLocalpart(out) == local
}

// ghostID is the Matrix user of an agent.
func (s *settings) ghostID(username string) string {
	return "@" + s.GhostPrefix + encodeLocalpart(username) + ":" + s.ServerName
}

// agentOf returns the agent whose ghost userID is.
func (s *settings) agentOf(userID string) (string, bool) {
	local, ok := strings.CutSuffix(strings.TrimPrefix(userID, "@"), ":"+s.ServerName)
	if !ok || !strings.HasPrefix(userID, "@") {
		return "", false
	}
	local, ok = strings.CutPrefix(local, s.GhostPrefix)
	if !ok {
		return "", false
	}
	return decodeLocalpart(local)
}

// ours reports whether userID is the bridge's bot or any user in its ghost namespace: the
// bridge never imports what those users send.
func (s *settings) ours(userID string) bool {
	if userID == s.botID() {
		return true
	}
	local, ok := strings.CutSuffix(strings.TrimPrefix(userID, "@"), ":"+s.ServerName)
	return ok && strings.HasPrefix(local, s.GhostPrefix)
}

// validUserID is a loose check of a Matrix user id: @localpart:server.
func validUserID(id string) bool {
	local, server, ok := strings.Cut(strings.TrimPrefix(id, "@"), ":")
	return strings.HasPrefix(id, "@") && ok && local != "" && server != "" && !strings.ContainsAny(id, " /?#")
}

// txnID derives a Matrix transaction id from a hub event id (and a part, when one event becomes
// several Matrix events), so a resent event reuses its transaction and the homeserver drops it.
func txnID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "sb" + hex.EncodeToString(sum[:16])
}

// cutAlias splits #local:server.
func cutAlias(alias string) (local, server string, ok bool) {
	local, server, ok = strings.Cut(strings.TrimPrefix(alias, "#"), ":")
	return local, server, ok && strings.HasPrefix(alias, "#") && local != "" && server != ""
}
