package main

import (
	"strings"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// toMarkdown renders canonical content as a Mattermost post: the sanitized HTML as Markdown, or
// the plain text with Markdown's special characters escaped.
func toMarkdown(c *sdk.Content) (string, error) {
	html := c.GetHtml()
	if richtext.IsEmpty("", html) {
		html = richtext.FromText(c.GetText())
	}
	return richtext.HTMLToMarkdown(html)
}

// fromMarkdown converts an expert's post to canonical content: HTML rendered from the Markdown
// and sanitized, and its plain text. Raw HTML in a post is not rendered (Mattermost shows it as
// typed); a post of nothing else keeps its characters as plain text.
func fromMarkdown(md string) (text, html string) {
	if strings.TrimSpace(md) == "" {
		return "", ""
	}
	html, err := richtext.MarkdownToHTML(md)
	if err != nil {
		html = ""
	}
	text = richtext.ToText(html)
	if richtext.IsEmpty(text, "") {
		text = md
		html = ""
	}
	return richtext.Normalize(text, html)
}

// escapeMarkdown makes plain text show as typed in a post.
func escapeMarkdown(text string) string {
	md, err := richtext.HTMLToMarkdown(richtext.FromText(text))
	if err != nil {
		return text
	}
	return md
}

// noticeMarkdown marks a line from the hub or the bridge so the expert does not take it for the
// agent's own words.
func noticeMarkdown(md string) string {
	return ":information_source: " + md
}
