import { html, nothing } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { Note } from "../model/api.js";
import type { PagedList } from "../model/paged-list.js";
import { fullName } from "../model/people.js";
import { paths } from "../router.js";
import { avatarView } from "./avatar.js";
import { pagedListView } from "./feedback.js";
import { noteContentView } from "./note-content.js";
import type { SearchParts } from "./search-view.js";
import { timeView } from "./time.js";

interface HomeHandlers {
  retry: () => void;
  loadMore: () => void;
}

function noteCard(note: Note, index: number, fresh: boolean) {
  const author = fullName(note.person);
  return html`<li class="card note-card ${fresh ? "is-fresh" : ""}" data-note-index=${index}>
    <div class="note-card__meta">
      ${avatarView(note.person)}
      <div class="note-card__byline">
        <a class="author" href=${paths.person(note.person_id)}><span class="author__name">${author}</span></a>
        ${timeView(note.timestamp)}
      </div>
    </div>
    ${noteContentView(note.content, {
      id: `note-${note.note_id}-content`,
      className: "note-card__content",
      headingLevel: 2,
      fold: true,
    })}
    <a
      class="note-card__open"
      href=${paths.note(note.person_id, note.note_id)}
      aria-describedby="note-${note.note_id}-content"
    >Open note<span class="visually-hidden"> by ${author}</span> <span aria-hidden="true">→</span></a>
  </li>`;
}

/** `search`: the search box, and while a search is shown its results in place of the latest notes. */
export function homeView(notes: PagedList<Note>, handlers: HomeHandlers, search?: SearchParts) {
  const searching = search?.results !== undefined;
  return html`<div class="page page--narrow">
    <header class="page__header">
      <h1 tabindex="-1">${searching ? "Search results" : "Latest notes"}</h1>
      <p class="page__lead">
        ${searching ? "Notes with every word in their text or author's name, best match first." : "What everyone has written, newest first."}
      </p>
      ${search?.box ?? nothing}
    </header>
    ${search?.results ?? homeBody(notes, handlers)}
  </div>`;
}

function homeBody(notes: PagedList<Note>, handlers: HomeHandlers) {
  return pagedListView(notes, {
    noun: "notes",
    empty: {
      title: "No notes yet",
      body: html`Choose someone on the <a href=${paths.people()}>People</a> page to write one.`,
    },
    items: (items) =>
      html`<ol class="card-list" aria-label="Notes, newest first">
        ${repeat(
          items,
          (note) => note.note_id,
          (note, index) => noteCard(note, index, notes.fresh.has(note.note_id)),
        )}
      </ol>`,
    retry: handlers.retry,
    loadMore: handlers.loadMore,
  });
}
