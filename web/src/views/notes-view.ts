import { html, nothing } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { Note, Person } from "../model/api.js";
import { CONTENT_MAX_LENGTH, formatCount } from "../model/limits.js";
import type { NoteForm } from "../model/note-form.js";
import type { PagedList } from "../model/paged-list.js";
import { fullName } from "../model/people.js";
import { type Busy, type Loaded, type Selection, selectedId, selectedValue } from "../model/selection.js";
import { paths } from "../router.js";
import { avatarView } from "./avatar.js";
import { emptyView, loadErrorView, loadingView, loadMoreView, problemView } from "./feedback.js";
import { fieldView } from "./fields.js";
import { timeView } from "./time.js";

export interface NotesState {
  readonly personId: number;
  readonly person: Loaded<Person>;
  readonly notes: PagedList<Note>;
  readonly selection: Selection<Note>;
  readonly form: NoteForm;
  readonly busy: Busy;
}

interface NotesHandlers {
  retryPerson: () => void;
  retryNotes: () => void;
  loadMore: () => void;
  input: (value: string) => void;
  submit: () => void;
  remove: () => void;
  dismissProblem: () => void;
}

export function notesView(state: NotesState, handlers: NotesHandlers) {
  const { person } = state;
  if (person.status === "loading") {
    return html`<div class="page">
      <h1 tabindex="-1" class="visually-hidden">Notes</h1>
      ${loadingView("Loading person…")}
    </div>`;
  }
  if (person.status === "error") {
    return html`<div class="page page--narrow">
      <header class="page__header">
        <h1 tabindex="-1">Notes</h1>
      </header>
      <div class="state state--error" role="alert">
        <p class="state__title">Couldn't load this person</p>
        <p class="state__body">${person.error.message}</p>
        <div class="state__actions">
          ${
            person.error.status === 404
              ? nothing
              : html`<button type="button" class="button button--secondary" @click=${handlers.retryPerson}>
                Try again
              </button>`
          }
          <a class="button button--secondary" href=${paths.people()}>Go to People</a>
        </div>
      </div>
    </div>`;
  }
  return html`<div class="page">
    ${personHeader(person.value)}
    <div class="split">
      <section class="card editor" aria-labelledby="editor-heading">${editorView(state, handlers)}</section>
      <section class="list-section" aria-labelledby="notes-heading">
        <h2 id="notes-heading" class="section-title" tabindex="-1">Notes</h2>
        ${listView(state, handlers)}
      </section>
    </div>
  </div>`;
}

function personHeader(person: Person) {
  return html`<header class="page__header person-header">
    <nav class="breadcrumbs" aria-label="Breadcrumb">
      <a href=${paths.people()}>People</a>
      <span aria-hidden="true">/</span>
      <span aria-current="page">${fullName(person)}</span>
    </nav>
    <div class="person-header__row">
      ${avatarView(person, "large")}
      <div class="person-header__text">
        <h1 tabindex="-1">${fullName(person)}</h1>
        <dl class="person-header__facts">
          <div><dt>Person ID</dt><dd>${person.person_id}</dd></div>
          <div><dt>Last changed</dt><dd>${timeView(person.timestamp)}</dd></div>
        </dl>
      </div>
      <a class="button button--secondary person-header__edit" href=${paths.person(person.person_id)}>Edit person</a>
    </div>
  </header>`;
}

function editorView(state: NotesState, handlers: NotesHandlers) {
  const { selection, form, busy, personId } = state;
  if (selection.status === "loading") {
    return html`<h2 id="editor-heading" class="section-title">Edit note</h2>
      ${loadingView("Loading note…")}`;
  }
  if (selection.status === "error") {
    return html`<h2 id="editor-heading" class="section-title">Note not available</h2>
      <div class="state state--error" role="alert">
        <p class="state__body">${selection.error.message}</p>
        <a class="button button--secondary" href=${paths.notes(personId)}>Write a new note instead</a>
      </div>`;
  }
  const note = selectedValue(selection);
  const length = [...form.content.trim()].length;
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.submit();
  };
  return html`<div class="editor__head">
      <h2 id="editor-heading" class="section-title">${note ? "Edit note" : "Write a note"}</h2>
      ${note ? html`<span class="badge" title="Note ID">#${note.note_id}</span>` : nothing}
    </div>
    ${
      note
        ? html`<p class="editor__meta">Last changed ${timeView(note.timestamp)}</p>`
        : html`<p class="editor__meta">Notes are plain text. The newest appear first.</p>`
    }
    ${problemView(form.problem, handlers.dismissProblem)}
    <form class="form" novalidate @submit=${submit}>
      ${fieldView({
        id: "note-content",
        label: "Note",
        value: form.content,
        error: form.error,
        hint: `${formatCount(length)} of ${formatCount(CONTENT_MAX_LENGTH)} characters`,
        multiline: true,
        onInput: handlers.input,
      })}
      <div class="form__actions">
        <button type="submit" class="button button--primary" ?disabled=${busy !== undefined}>
          ${busy === "saving" ? "Saving…" : note ? "Save note" : "Add note"}
        </button>
        ${
          note
            ? html`<a class="button button--secondary" href=${paths.notes(personId)}>Cancel</a>
              <button
                type="button"
                class="button button--danger-quiet"
                ?disabled=${busy !== undefined}
                @click=${handlers.remove}
              >
                ${busy === "deleting" ? "Deleting…" : "Delete"}
              </button>`
            : nothing
        }
      </div>
    </form>`;
}

function listView(state: NotesState, handlers: NotesHandlers) {
  const { notes, selection } = state;
  if (notes.status === "loading") return loadingView("Loading notes…");
  if (notes.status === "error") return loadErrorView("notes", notes.error, handlers.retryNotes);
  if (notes.items.length === 0) return emptyView("No notes yet", "Write the first one with the form.");
  const chosen = selectedId(selection);
  return html`<ol class="note-list card">
      ${repeat(
        notes.items,
        (note) => note.note_id,
        (note) => noteRow(note, note.note_id === chosen),
      )}
    </ol>
    ${loadMoreView({
      shown: notes.items.length,
      total: notes.total,
      noun: "notes",
      hasMore: notes.hasMore,
      loading: notes.loadingMore,
      error: notes.moreError,
      loadMore: handlers.loadMore,
    })}`;
}

function noteRow(note: Note, selected: boolean) {
  return html`<li class="note-row ${selected ? "note-row--selected" : ""}">
    <div class="note-row__meta">
      ${timeView(note.timestamp)}
      <a
        class="note-row__edit"
        href=${paths.note(note.person_id, note.note_id)}
        aria-current=${selected ? "true" : nothing}
        aria-describedby="note-${note.note_id}-content"
      >Edit<span class="visually-hidden"> note</span></a>
    </div>
    <p class="note-row__content" id="note-${note.note_id}-content">${note.content}</p>
  </li>`;
}
