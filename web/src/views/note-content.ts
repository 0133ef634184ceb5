import DOMPurify from "dompurify";
import { html, LitElement, nothing, type PropertyValues } from "lit";
import { unsafeHTML } from "lit/directives/unsafe-html.js";
import MarkdownIt from "markdown-it";

/**
 * A note's content as the web app shows it: the text the writer typed, read as CommonMark. This
 * module is the only place where the app turns text into HTML, and every view that shows a note's
 * content goes through `noteContentView`.
 *
 * Two fences stand between a note and the page:
 * 1. markdown-it (CommonMark preset) with `html: false`: tags typed in a note are text, never HTML.
 *    Links and images pass only with an http, https or mailto address, or one without a scheme
 *    (relative); anything else (`javascript:`, `data:`, `vbscript:`, `file:`) stays literal text.
 *    Images are drawn as links to their address, never loaded; `#` headings are demoted below the
 *    heading the note is shown under.
 * 2. DOMPurify on markdown-it's output: only the elements and attributes Markdown produces pass,
 *    link addresses are checked once more, and every link gets `rel="noopener noreferrer nofollow"`
 *    and opens in a new tab.
 */

/** An address with no scheme (relative), or one of these; markdown-it checks it after normalizing it. */
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const ALLOWED_SCHEMES = new Set(["http", "https", "mailto"]);

function allowedAddress(url: string): boolean {
  const scheme = SCHEME.exec(url.trim())?.[1];
  return scheme === undefined || ALLOWED_SCHEMES.has(scheme.toLowerCase());
}

/** What markdown-it's CommonMark preset may produce, with h1 demoted at least to h2. */
const ALLOWED_TAGS = ["p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "hr", "a"];
const HEADINGS = ["h2", "h3", "h4", "h5", "h6"];
/** DOMPurify's own pattern with its schemes narrowed to the ones above. */
const ALLOWED_URI_REGEXP = /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i;
export const LINK_REL = "noopener noreferrer nofollow";

/** What a rendering is given: the level a `#` heading gets, one below the heading the note is shown under. */
interface RenderEnv {
  headingLevel?: number;
}

const markdown = new MarkdownIt("commonmark", { html: false, breaks: true });
markdown.validateLink = allowedAddress;
markdown.core.ruler.push("demote_headings", (state) => {
  const headingLevel = (state.env as RenderEnv).headingLevel ?? 2;
  for (const token of state.tokens) {
    if (token.type !== "heading_open" && token.type !== "heading_close") continue;
    const level = Number(token.tag.slice(1));
    token.tag = `h${Math.min(6, level + headingLevel - 1)}`;
  }
});
// An image would be fetched from its address: it is shown as a link to it instead.
markdown.renderer.rules.image = (tokens, index, options, env, self) => {
  const token = tokens[index];
  if (!token) return "";
  const src = String(token.attrGet("src") ?? "");
  const alt = String(self.renderInlineAsText(token.children ?? [], options, env) || src);
  return `<a href="${markdown.utils.escapeHtml(src)}">${markdown.utils.escapeHtml(alt)}</a>`;
};

const purify = typeof window === "undefined" ? undefined : DOMPurify(window);
purify?.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName !== "A") return;
  if (node.hasAttribute("href")) {
    node.setAttribute("rel", LINK_REL);
    node.setAttribute("target", "_blank");
  } else {
    node.removeAttribute("target");
  }
});

/** markdown-it's HTML for a note, before sanitizing. */
export function markdownHtml(content: string, headingLevel: number): string {
  return markdown.render(content, { headingLevel: Math.max(2, Math.min(6, headingLevel)) }).trim();
}

/** Rendering is pure, and the app redraws often: the last few hundred results are kept. */
const CACHE_SIZE = 400;
const cache = new Map<string, string>();

/** A note's content as safe HTML: rendered, sanitized, and its matched words (folded) in <mark>. */
export function noteHtml(content: string, headingLevel: number, marked: readonly string[] = []): string {
  const key = `${headingLevel}\u0000${marked.join(" ")}\u0000${content}`;
  const kept = cache.get(key);
  if (kept !== undefined) {
    cache.delete(key);
    cache.set(key, kept);
    return kept;
  }
  if (!purify) throw new Error("notes are rendered in a browser");
  const clean = purify.sanitize(markdownHtml(content, headingLevel), {
    ALLOWED_TAGS: [...ALLOWED_TAGS, ...HEADINGS],
    ALLOWED_ATTR: ["href", "title", "start"],
    ALLOWED_URI_REGEXP,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
  });
  const result = marked.length === 0 ? clean : withMarks(clean, new Set(marked));
  cache.set(key, result);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return result;
}

/** Letters, digits and their marks: the words search reads (as src/domain/search-text.ts splits them). */
const WORD = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

/** A word as search compares it: lower case, without diacritics. */
export function foldWord(word: string): string {
  return word.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().normalize("NFC");
}

/**
 * The sanitized HTML with every shown word whose folded form is in `words` wrapped in <mark>. Only
 * text nodes are split, so link addresses are never marked and no new markup but <mark> appears.
 */
function withMarks(clean: string, words: ReadonlySet<string>): string {
  const template = document.createElement("template");
  template.innerHTML = clean;
  const walker = document.createTreeWalker(template.content, NodeFilter.SHOW_TEXT);
  const texts: Text[] = [];
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) texts.push(node as Text);
  for (const text of texts) {
    const value = text.data;
    const parts: Node[] = [];
    let at = 0;
    for (const match of value.matchAll(WORD)) {
      if (!words.has(foldWord(match[0]))) continue;
      if (match.index > at) parts.push(document.createTextNode(value.slice(at, match.index)));
      const mark = document.createElement("mark");
      mark.textContent = match[0];
      parts.push(mark);
      at = match.index + match[0].length;
    }
    if (parts.length === 0) continue;
    if (at < value.length) parts.push(document.createTextNode(value.slice(at)));
    text.replaceWith(...parts);
  }
  return template.innerHTML;
}

export interface NoteContentOptions {
  /** The id of the element holding the text (for `aria-describedby`), and its class. */
  id?: string;
  className: string;
  /** The level a `#` heading in the note gets: one below the heading the note is shown under. */
  headingLevel: number;
  /** In lists: folded to a few lines, with "Show more" when it is longer. */
  fold?: boolean;
  /** Words to mark, folded as `foldWord` does (the matches of a search). */
  marked?: readonly string[];
}

/** A note's content, rendered from its Markdown: the one way every view shows it. */
export function noteContentView(content: string, options: NoteContentOptions) {
  return html`<note-content
    .content=${content}
    .headingLevel=${options.headingLevel}
    .fold=${options.fold ?? false}
    .marked=${(options.marked ?? []).join(" ")}
    .bodyId=${options.id ?? ""}
    .bodyClass=${options.className}
  ></note-content>`;
}

/**
 * Draws a note in the page's own DOM (no shadow root: the page's styles apply and ids can be
 * referred to). Folded, it shows the first lines and, when there is more, a "Show more" button
 * with `aria-expanded`; whether the text is longer is measured, so a short note has no button.
 * The element keeps whether it is expanded while lists redraw around it.
 */
class NoteContent extends LitElement {
  static override properties = {
    content: { attribute: false },
    headingLevel: { attribute: false },
    fold: { attribute: false },
    marked: { attribute: false },
    bodyId: { attribute: false },
    bodyClass: { attribute: false },
    expanded: { state: true },
    overflows: { state: true },
  };

  declare content: string;
  declare headingLevel: number;
  declare fold: boolean;
  /** Folded words, separated by spaces. */
  declare marked: string;
  declare bodyId: string;
  declare bodyClass: string;
  declare expanded: boolean;
  declare overflows: boolean;
  #resizes: ResizeObserver | undefined;
  static #count = 0;
  readonly #ownId = `note-content-${++NoteContent.#count}`;

  constructor() {
    super();
    this.content = "";
    this.headingLevel = 3;
    this.fold = false;
    this.marked = "";
    this.bodyId = "";
    this.bodyClass = "";
    this.expanded = false;
    this.overflows = false;
  }

  protected override createRenderRoot() {
    return this;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#resizes?.disconnect();
    this.#resizes = undefined;
  }

  get #body(): HTMLElement | null {
    return this.querySelector<HTMLElement>(":scope > .note-text__body");
  }

  protected override render() {
    const marked = this.marked === "" ? [] : this.marked.split(" ");
    const folded = this.fold && !this.expanded;
    const id = this.bodyId || this.#ownId;
    return html`<div class="note-text__body ${this.bodyClass} ${folded ? "note-text__body--folded" : ""}" id=${id}>${unsafeHTML(
      noteHtml(this.content, this.headingLevel, marked),
    )}</div>
      ${
        this.fold && (this.overflows || this.expanded)
          ? html`<button
              type="button"
              class="note-text__more"
              aria-expanded=${this.expanded ? "true" : "false"}
              aria-controls=${id}
              @click=${() => {
                this.expanded = !this.expanded;
              }}
            >
              ${this.expanded ? "Show less" : "Show more"}
            </button>`
          : nothing
      }`;
  }

  protected override updated(changed: PropertyValues<this>): void {
    const body = this.#body;
    if (!body) return;
    if (this.fold && !this.#resizes) {
      this.#resizes = new ResizeObserver(() => this.#measure());
      this.#resizes.observe(body);
    }
    if (changed.has("content") || changed.has("fold") || changed.has("expanded")) this.#measure();
  }

  /** Whether the folded text is cut off: only then is there more to show. */
  #measure(): void {
    const body = this.#body;
    if (!body || !this.fold || this.expanded) return;
    const overflows = body.scrollHeight > body.clientHeight + 1;
    if (overflows !== this.overflows) this.overflows = overflows;
  }
}

if (typeof customElements !== "undefined" && !customElements.get("note-content")) {
  customElements.define("note-content", NoteContent);
}
