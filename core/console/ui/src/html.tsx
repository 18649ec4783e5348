// SafeHTML renders message HTML. The hub sanitizes every message before storing it; the console
// sanitizes again with DOMPurify so a bug on either side alone cannot run a script, and the
// Content-Security-Policy forbids inline scripts besides.
import DOMPurify from "dompurify";

const purifier = DOMPurify(window);

purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

const config = {
  ALLOWED_TAGS: ["a", "b", "strong", "i", "em", "u", "s", "del", "code", "pre", "ul", "ol", "li", "p", "br", "blockquote", "span"],
  ALLOWED_ATTR: ["href", "title"],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|tel:)/i,
  ALLOW_DATA_ATTR: false,
};

export function sanitize(html: string): string {
  return purifier.sanitize(html, config) as string;
}

export function SafeHTML({ html, class: className }: { html: string; class?: string }) {
  return <div class={className} dangerouslySetInnerHTML={{ __html: sanitize(html) }} />;
}
