package hub

import (
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// checkAttachments refuses files the hub will not keep: larger than one event may carry, or
// neither inline nor at an https URL.
func checkAttachments(content *pb.Content) error {
	total := 0
	for _, a := range content.GetAttachments() {
		total += len(a.GetData())
		if len(a.GetData()) > sdk.MaxAttachmentBytes || a.GetSize() > sdk.MaxAttachmentBytes || total > sdk.MaxAttachmentBytes {
			return sdk.Reject("attachment %q is larger than %d bytes", a.GetName(), sdk.MaxAttachmentBytes)
		}
		if len(a.GetData()) == 0 && !safeURL(a.GetUrl()) {
			return sdk.Reject("attachment %q has neither data nor an https URL", a.GetName())
		}
	}
	return nil
}

// storeAttachments keeps inline files in the store (served at /api/v1/files/{id} to those who may
// see the conversation) and links to the others.
func storeAttachments(tx store.Tx, conv store.Conversation, content *pb.Content, now time.Time) ([]store.Attachment, error) {
	var atts []store.Attachment
	for _, a := range content.GetAttachments() {
		name := attachmentName(a.GetName())
		if len(a.GetData()) == 0 {
			atts = append(atts, store.Attachment{Name: name, ContentType: a.GetContentType(), Size: a.GetSize(), URL: a.GetUrl()})
			continue
		}
		f, err := tx.PutFile(store.File{TenantID: conv.TenantID, ConversationID: conv.ID, Name: name,
			ContentType: a.GetContentType(), Data: a.GetData(), CreatedAt: now})
		if err != nil {
			return nil, err
		}
		atts = append(atts, store.Attachment{Name: name, ContentType: f.ContentType, Size: f.Size, URL: "/api/v1/files/" + f.ID})
	}
	return atts, nil
}

// attachmentName keeps a file name a browser can offer for download.
func attachmentName(name string) string {
	name = strings.TrimSpace(name[strings.LastIndexAny(name, `/\`)+1:])
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, name)
	if name == "" {
		return "attachment"
	}
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}

func safeURL(u string) bool { return strings.HasPrefix(strings.ToLower(u), "https://") }
