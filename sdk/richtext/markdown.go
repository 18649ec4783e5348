package richtext

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/strikethrough"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
)

// markdown renders CommonMark with strikethrough and linkify. Hard wraps are
// on because chat users expect a newline to start a new line. Raw HTML is
// left to goldmark's default (omitted), and Sanitize runs on the result
// regardless.
var markdown = sync.OnceValue(func() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.Strikethrough, extension.Linkify),
		goldmark.WithRendererOptions(gmhtml.WithHardWraps()),
	)
})

// htmlToMarkdown is safe for concurrent use; it is only configured here.
var htmlToMarkdown = sync.OnceValue(func() *converter.Converter {
	return converter.NewConverter(converter.WithPlugins(
		base.NewBasePlugin(),
		commonmark.NewCommonmarkPlugin(
			commonmark.WithStrongDelimiter("**"),
			commonmark.WithEmDelimiter("*"),
			commonmark.WithBulletListMarker("-"),
			commonmark.WithCodeBlockFence("```"),
			// The end-of-list comment separates adjacent lists but shows up
			// verbatim on platforms that do not hide HTML comments.
			commonmark.WithListEndComment(false),
		),
		strikethrough.NewStrikethroughPlugin(),
	))
})

// MarkdownToHTML renders md (CommonMark with ~~strikethrough~~ and bare-URL
// linkify; a single newline is a line break) and returns the result
// sanitized. Raw HTML in md never reaches the output unsanitized; headings
// come out as bold paragraphs and images as their alt text.
func MarkdownToHTML(md string) (string, error) {
	var out bytes.Buffer
	if err := markdown().Convert([]byte(md), &out); err != nil {
		return "", fmt.Errorf("richtext: render markdown: %w", err)
	}
	return Sanitize(out.String()), nil
}

// HTMLToMarkdown sanitizes html and converts it to Markdown: **bold**,
// *italic*, ~~struck~~, `code`, ``` fenced code blocks, "- " and "1. " lists,
// "> " quotes and [text](url) links. Underline has no Markdown form, so only
// its text is kept.
func HTMLToMarkdown(html string) (string, error) {
	clean := Sanitize(html)
	if clean == "" {
		return "", nil
	}
	md, err := htmlToMarkdown().ConvertString(clean)
	if err != nil {
		return "", fmt.Errorf("richtext: convert html to markdown: %w", err)
	}
	return strings.TrimSpace(md), nil
}
