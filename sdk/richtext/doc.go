// Package richtext converts message content between plain text, Markdown and
// the canonical HTML subset (p, br, b, strong, i, em, u, s, code, pre,
// blockquote, ul, ol, li and a[href]) that every plugin and bridge exchanges.
// It must never return HTML that has not passed Sanitize, and it does no I/O:
// every function is pure and safe for concurrent use.
package richtext
