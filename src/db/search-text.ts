import MarkdownIt, { type Token } from "markdown-it";

/**
 * The text of a note that search indexes: the words a reader sees once the web app has rendered
 * the note's Markdown (web/src/views/note-content.ts), not its markup. Markup characters only ever
 * separated words; what this leaves out is what a reader never sees: the addresses of links and
 * images, and link reference definitions. A search for "https" no longer finds every note with a
 * link, and "example" finds a note linking to example.com only when the note shows that word.
 *
 * The same parser and the same rule for addresses as the web app: a link to `javascript:` is shown
 * as the text typed, so its words are searched as that text. A change here changes what is
 * indexed: it needs a migration that writes `note.search_text` again (as 013 does).
 */

/** As in the web app: no scheme (relative), or one of these; anything else stays text. */
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const ALLOWED_SCHEMES = new Set(["http", "https", "mailto"]);

const markdown = new MarkdownIt("commonmark", { html: false });
markdown.validateLink = (url) => {
  const scheme = SCHEME.exec(url.trim())?.[1];
  return scheme === undefined || ALLOWED_SCHEMES.has(scheme.toLowerCase());
};

function inlineText(children: readonly Token[], out: string[]): void {
  for (const child of children) {
    if (child.type === "text" || child.type === "code_inline") out.push(child.content);
    else if (child.type === "softbreak" || child.type === "hardbreak") out.push("\n");
    else if (child.type === "image") {
      // Shown as a link whose text is the image's description, or its address when it has none.
      const alt: string[] = [];
      inlineText(child.children ?? [], alt);
      out.push(alt.join("") || String(child.attrGet("src") ?? ""));
    }
  }
}

/** The words of a note's Markdown as a reader sees them, one block a line. */
export function searchText(content: string): string {
  const out: string[] = [];
  for (const token of markdown.parse(content, {})) {
    if (token.type === "inline") inlineText(token.children ?? [], out);
    else if (token.type === "fence" || token.type === "code_block") out.push(token.content);
    else continue;
    out.push("\n");
  }
  return out.join("").trim();
}
