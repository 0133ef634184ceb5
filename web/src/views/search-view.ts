import { html, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { PagedList } from "../model/paged-list.js";
import { fullName } from "../model/people.js";
import { type FoundNote, type Highlight, MAX_SEARCH_LENGTH, markedRuns } from "../model/search.js";
import { paths } from "../router.js";
import { avatarView } from "./avatar.js";
import { pagedListView } from "./feedback.js";
import { foldWord, noteContentView } from "./note-content.js";
import { timeView } from "./time.js";

export interface SearchHandlers {
  input: (text: string) => void;
  submit: () => void;
  clear: () => void;
  retry: () => void;
  loadMore: () => void;
}

/** The search box, and the results that stand in for the page's own list while a search is shown. */
export interface SearchParts {
  box: TemplateResult;
  results: TemplateResult | undefined;
}

/** A field's text with its matched words in <mark>: built from the ranges, never parsed as HTML. */
function markedText(text: string, highlights: readonly Highlight[], field: Highlight["field"]) {
  const runs = markedRuns(
    text,
    highlights.filter((highlight) => highlight.field === field),
  );
  return runs.map((run) => (run.marked ? html`<mark>${run.text}</mark>` : run.text));
}

/**
 * The content's matched words, folded. The content is shown rendered from its Markdown, where the
 * ranges of the typed text no longer apply; each shown word that folds alike is marked instead, as
 * the search marks every occurrence of a word alike.
 */
function matchedWords(content: string, highlights: readonly Highlight[]): string[] {
  const words = highlights
    .filter((highlight) => highlight.field === "content")
    .map((highlight) => foldWord(content.slice(highlight.start, highlight.end)));
  return [...new Set(words)];
}

function foundCard(note: FoundNote, index: number) {
  const highlights = note.highlights ?? [];
  const author = fullName(note.person);
  return html`<li class="card note-card" data-found-index=${index}>
    <div class="note-card__meta">
      ${avatarView(note.person)}
      <div class="note-card__byline">
        <a class="author" href=${paths.person(note.person_id)}
          ><span class="author__name"
            >${markedText(note.person.fname, highlights, "fname")} ${markedText(note.person.lname, highlights, "lname")}</span
          ></a
        >
        ${timeView(note.timestamp)}
      </div>
    </div>
    ${noteContentView(note.content, {
      id: `found-${note.note_id}-content`,
      className: "note-card__content",
      headingLevel: 3,
      fold: true,
      marked: matchedWords(note.content, highlights),
    })}
    <a
      class="note-card__open"
      href=${paths.note(note.person_id, note.note_id)}
      aria-describedby="found-${note.note_id}-content"
    >Open note<span class="visually-hidden"> by ${author}</span> <span aria-hidden="true">→</span></a>
  </li>`;
}

function searchBox(text: string, handlers: SearchHandlers) {
  return html`<form
    class="search"
    role="search"
    @submit=${(event: Event) => {
      event.preventDefault();
      handlers.submit();
    }}
  >
    <label class="search__label" for="note-search">Search notes</label>
    <div class="search__row">
      <input
        id="note-search"
        class="search__input"
        type="search"
        name="q"
        autocomplete="off"
        spellcheck="false"
        maxlength=${MAX_SEARCH_LENGTH}
        placeholder="Words in notes or names"
        .value=${text}
        @input=${(event: InputEvent) => handlers.input((event.target as HTMLInputElement).value)}
        @keydown=${(event: KeyboardEvent) => {
          if (event.key === "Escape" && text !== "") handlers.clear();
        }}
      />
      ${text === "" ? nothing : html`<button type="button" class="button button--secondary" @click=${handlers.clear}>Clear</button>`}
    </div>
  </form>`;
}

function results(query: string, list: PagedList<FoundNote>, handlers: SearchHandlers) {
  return html`<section class="search-results" aria-labelledby="search-results-heading">
    <h2 id="search-results-heading" class="search-results__heading">Notes matching “${query}”</h2>
    <p class="visually-hidden" role="status">
      ${list.status === "ready" ? `${list.total} ${list.total === 1 ? "note matches" : "notes match"}` : ""}
    </p>
    ${pagedListView(list, {
      noun: "matching notes",
      empty: { title: "No notes match", body: "Try fewer words, or other forms of them." },
      items: (items) =>
        html`<ol class="card-list" aria-label="Matching notes, best first">
          ${repeat(
            items,
            (note) => note.note_id,
            (note, index) => foundCard(note, index),
          )}
        </ol>`,
      retry: handlers.retry,
      loadMore: handlers.loadMore,
    })}
  </section>`;
}

export function searchParts(
  text: string,
  query: string,
  list: PagedList<FoundNote>,
  handlers: SearchHandlers,
): SearchParts {
  return { box: searchBox(text, handlers), results: query === "" ? undefined : results(query, list, handlers) };
}
