import { html, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { Access } from "../model/access.js";
import type { Note, Person } from "../model/api.js";
import { CONTENT_MAX_LENGTH, formatCount } from "../model/limits.js";
import type { NoteForm } from "../model/note-form.js";
import type { PagedList } from "../model/paged-list.js";
import { fullName } from "../model/people.js";
import { type EditorState, type Loaded, selectedId } from "../model/selection.js";
import { paths } from "../router.js";
import { accessNoticeView } from "./access-notice.js";
import { avatarView } from "./avatar.js";
import { type EditorHandlers, editorView } from "./editor.js";
import { loadingView, pagedListView } from "./feedback.js";
import { fieldView } from "./fields.js";
import { type HistoryPanel, historyView } from "./history-view.js";
import { noteContentView } from "./note-content.js";
import { timeView } from "./time.js";

export interface NotesState {
  readonly personId: number;
  readonly person: Loaded<Person>;
  readonly notes: PagedList<Note>;
  readonly form: NoteForm;
  readonly editor: EditorState<Note>;
  readonly access: Access;
  readonly history: HistoryPanel;
}

interface NotesHandlers extends EditorHandlers {
  retryPerson: () => void;
  retryNotes: () => void;
  loadMore: () => void;
  input: (value: string) => void;
  /** Shows the preview of the draft (true) or the text field (false). */
  preview: (shown: boolean) => void;
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
    ${personHeader(person.value, state.access.mayChangePerson(person.value.person_id))}
    <div class="split">
      <section class="card editor" aria-labelledby="editor-heading">${noteEditorView(state, handlers, person.value)}</section>
      <section class="list-section" aria-labelledby="notes-heading">
        <h2 id="notes-heading" class="section-title" tabindex="-1">Notes</h2>
        ${listView(state, handlers)}
      </section>
    </div>
  </div>`;
}

function personHeader(person: Person, mayChange: boolean) {
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
      ${
        mayChange
          ? html`<a class="button button--secondary person-header__edit" href=${paths.person(person.person_id)}>
            Edit person
          </a>`
          : nothing
      }
    </div>
  </header>`;
}

function noteEditorView(state: NotesState, handlers: NotesHandlers, person: Person) {
  const { form, personId, access } = state;
  const mayWrite = access.mayChangePerson(personId);
  const length = [...form.content.trim()].length;
  return editorView(
    {
      editor: state.editor,
      problem: form.problem,
      noun: "note",
      idOf: (note) => note.note_id,
      newTitle: "Write a note",
      newIntro: "Notes are Markdown: **bold**, _italic_, lists, links. The newest appear first.",
      addLabel: "Add note",
      saveLabel: "Save note",
      newPath: paths.notes(personId),
      newInstead: mayWrite ? "Write a new note instead" : "Show all notes",
      fields: writeOrPreview(
        form.previewing,
        fieldView({
          id: "note-content",
          label: "Note",
          value: form.content,
          error: form.error,
          hint: `${formatCount(length)} of ${formatCount(CONTENT_MAX_LENGTH)} characters`,
          multiline: true,
          onInput: handlers.input,
        }),
        form.content,
        handlers.preview,
      ),
      may: { add: mayWrite, change: () => mayWrite, delete: () => mayWrite },
      footer: () =>
        historyView(state.history, {
          author: { person_id: person.person_id, name: fullName(person) },
          mayRestore: mayWrite,
          busy: state.editor.busy !== undefined,
        }),
      readOnly: (note) => noteContentView(note.content, { className: "editor__content", headingLevel: 3 }),
      // In a conflict, each under a heading of level 4.
      newerVersion: (note) => noteContentView(note.content, { className: "editor__content", headingLevel: 5 }),
      draft: noteContentView(form.content, { className: "editor__content", headingLevel: 5 }),
      saveAsNewLabel: "Save as a new note",
      lockedTitle: "Writing notes",
      locked: () =>
        accessNoticeView({
          access,
          signedOut: `Sign in as ${fullName(person)} or as an admin to write notes here.`,
          otherPerson: (name) => `You are signed in as ${name}, and may write only your own notes.`,
          own: { label: "Go to your notes", path: paths.notes },
          signIn: handlers.signIn,
        }),
    },
    handlers,
  );
}

function listView(state: NotesState, handlers: NotesHandlers) {
  const chosen = selectedId(state.editor.selection);
  const mayWrite = state.access.mayChangePerson(state.personId);
  return pagedListView(state.notes, {
    noun: "notes",
    empty: { title: "No notes yet", body: mayWrite ? "Write the first one with the form." : "Nothing written yet." },
    items: (notes) =>
      html`<ol class="note-list card">
        ${repeat(
          notes,
          (note) => note.note_id,
          (note) => noteRow(note, note.note_id === chosen, mayWrite, state.notes.fresh.has(note.note_id)),
        )}
      </ol>`,
    retry: handlers.retryNotes,
    loadMore: handlers.loadMore,
  });
}

function noteRow(note: Note, selected: boolean, mayEdit: boolean, fresh: boolean) {
  return html`<li class="note-row ${selected ? "note-row--selected" : ""} ${fresh ? "is-fresh" : ""}">
    <div class="note-row__meta">
      ${timeView(note.timestamp)}
      ${
        mayEdit
          ? html`<a
            class="note-row__edit"
            href=${paths.note(note.person_id, note.note_id)}
            aria-current=${selected ? "true" : nothing}
            aria-describedby="note-${note.note_id}-content"
          >Edit<span class="visually-hidden"> note</span></a>`
          : nothing
      }
    </div>
    ${noteContentView(note.content, {
      id: `note-${note.note_id}-content`,
      className: "note-row__content",
      headingLevel: 3,
      fold: true,
    })}
  </li>`;
}

/**
 * The note's field and a preview of it, as two tabs (the ARIA tabs pattern: the arrow keys, Home
 * and End move between them, and only the chosen one is in the tab order).
 */
function writeOrPreview(
  previewing: boolean,
  field: TemplateResult,
  content: string,
  preview: (shown: boolean) => void,
) {
  const choose = (shown: boolean) => {
    preview(shown);
    document.getElementById(shown ? "note-tab-preview" : "note-tab-write")?.focus();
  };
  const keydown = (event: KeyboardEvent) => {
    const shown = TAB_KEYS[event.key]?.(previewing);
    if (shown === undefined) return;
    event.preventDefault();
    choose(shown);
  };
  const tab = (shown: boolean, label: string) => {
    const selected = shown === previewing;
    return html`<button
      type="button"
      role="tab"
      id=${shown ? "note-tab-preview" : "note-tab-write"}
      class="tabs__tab"
      aria-selected=${selected ? "true" : "false"}
      aria-controls=${shown ? "note-panel-preview" : "note-panel-write"}
      tabindex=${selected ? "0" : "-1"}
      @click=${() => choose(shown)}
      @keydown=${keydown}
    >${label}</button>`;
  };
  return html`<div class="tabs" role="tablist" aria-label="Write or preview the note">${tab(false, "Write")} ${tab(true, "Preview")}</div>
    <div id="note-panel-write" role="tabpanel" aria-labelledby="note-tab-write" ?hidden=${previewing}>${field}</div>
    <div
      id="note-panel-preview"
      class="note-preview"
      role="tabpanel"
      aria-labelledby="note-tab-preview"
      tabindex="0"
      ?hidden=${!previewing}
    >
      ${
        !previewing
          ? nothing
          : content.trim() === ""
            ? html`<p class="note-preview__empty">Nothing to preview yet.</p>`
            : noteContentView(content, { className: "note-preview__body", headingLevel: 3 })
      }
    </div>`;
}

/** The tab each key moves to, from the tab shown: false is Write, true is Preview. */
const TAB_KEYS: Record<string, (previewing: boolean) => boolean> = {
  ArrowLeft: (previewing) => !previewing,
  ArrowRight: (previewing) => !previewing,
  Home: () => false,
  End: () => true,
};
