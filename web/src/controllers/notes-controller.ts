import { type Note, type Person, toApiError } from "../model/api.js";
import type { LiveChange } from "../model/live.js";
import { NoteForm } from "../model/note-form.js";
import { createNote, deleteNote, listNotesOf, readNote, updateNote } from "../model/notes.js";
import { PagedList } from "../model/paged-list.js";
import { fullName, readPerson } from "../model/people.js";
import { type Loaded, selectedId } from "../model/selection.js";
import { undoDelete } from "../model/trash.js";
import { paths, type Route } from "../router.js";
import { notesView } from "../views/notes-view.js";
import { Editor } from "./editor.js";
import { HistoryPanel } from "./history-panel.js";
import { followNotes } from "./live-lists.js";
import type { Host, PageController } from "./page.js";

const EDITOR = "#note-content";

/**
 * The person, their notes and the selected note load independently. Each load has a ticket, so
 * whatever order the answers arrive in, the page shows the person and note of the current URL.
 */
export class NotesController implements PageController {
  personId = 0;
  person: Loaded<Person> = { status: "loading" };
  readonly notes: PagedList<Note>;
  readonly form = new NoteForm();
  readonly editor: Editor<Note>;
  readonly history: HistoryPanel;
  #personTicket = 0;
  readonly #stopFollowing: () => void;

  constructor(private readonly host: Host) {
    this.notes = new PagedList(
      (limit, cursor) => listNotesOf(this.personId, limit, cursor),
      (note) => note.note_id,
      () => host.update(),
    );
    this.editor = new Editor<Note>({
      host,
      form: this.form,
      list: this.notes,
      keyOf: (note) => note.note_id,
      pathOf: (note) => paths.note(note.person_id, note.note_id),
      // Until the list is ready it may still hold the previous person's notes.
      listed: (noteId) => (this.notes.status === "ready" ? this.notes.find(noteId) : undefined),
      read: (noteId) => readNote(this.personId, noteId),
      create: () => createNote(this.personId, this.form.input),
      update: (note, etag) => updateNote(this.personId, note.note_id, this.form.input, etag),
      delete: (note, etag) => deleteNote(note.person_id, note.note_id, etag),
      firstField: EDITOR,
      invalidField: () => (this.form.validate() ? undefined : EDITOR),
      draftText: () => this.form.content,
      confirmDelete: (note) => ({
        title: "Delete this note?",
        message: `“${excerpt(note.content)}” will be deleted. You can undo this, or restore it from the Trash.`,
        confirmLabel: "Delete note",
      }),
      added: () => "Note added.",
      saved: () => "Note saved.",
      deleted: () => "Note deleted.",
      undo: async (note) => {
        await undoDelete({ kind: "note", noteId: note.note_id });
      },
      restored: () => "Note restored.",
      changedBeforeDelete:
        "Someone else changed this note since you opened it, so it was not deleted. Check it and delete it again if you still want to.",
      afterDelete: (note) => ({ path: paths.notes(note.person_id), focus: "#notes-heading" }),
    });
    this.history = new HistoryPanel(host, this.editor, this.form);
    this.#stopFollowing = host.live.subscribe((change) => this.#follow(change));
  }

  #follow(change: LiveChange): void {
    followNotes(this.notes, change, this.personId);
    if (change.event === "note.updated") this.history.changedElsewhere(change.data.note_id);
    const shown = this.person.status === "ready" ? this.person.value : undefined;
    if (change.event === "person.updated" && change.data.person_id === shown?.person_id) {
      this.person = { status: "ready", value: { ...shown, ...change.data } };
      this.host.update();
    } else if (change.event === "person.deleted" && change.data.person_id === this.personId) {
      // The form stays, with whatever is being typed in it; the list says the notes are gone.
      const name = shown ? fullName(shown) : "This person";
      this.host.notify(`${name} was deleted by someone else, with their notes.`);
      void this.notes.reload({ keepShown: true });
    } else if (change.event === "person.restored" && change.data.person_id === this.personId) {
      void this.#loadPerson();
    } else if (change.event === "reload") {
      void this.#loadPerson();
    } else if (change.event === "connected" && this.person.status === "error" && this.person.error.status !== 404) {
      void this.#loadPerson();
    }
  }

  get title(): string {
    return this.person.status === "ready" ? `${fullName(this.person.value)}'s notes` : "Notes";
  }

  show(route: Route, moveFocus: boolean): void {
    if (route.page !== "notes") return;
    const personChanged = route.personId !== this.personId;
    if (personChanged) {
      this.personId = route.personId;
      const size = this.host.rememberedShown;
      void Promise.all([this.#loadPerson(), this.notes.reload({ size })]).then(() => this.host.restoreScroll());
    }
    if (personChanged || route.noteId !== selectedId(this.editor.selection)) {
      void this.editor.select(route.noteId, moveFocus);
    }
  }

  view() {
    // The History panel follows the note the editor shows: another note, or a new version of it.
    const open = this.editor.editing;
    if (open) this.history.follow(open);
    return notesView(this, {
      ...this.editor.handlers,
      retryPerson: () => void this.#loadPerson(),
      retryNotes: () => void this.notes.reload(),
      loadMore: () => void this.notes.loadMore(),
      input: (value) => {
        this.form.set(value);
        this.host.update();
      },
      preview: (shown) => {
        this.form.previewing = shown;
        this.host.update();
      },
    });
  }

  get shown(): number | undefined {
    return this.notes.shown;
  }

  get access() {
    return this.host.access;
  }

  dispose(): void {
    this.#stopFollowing();
    this.notes.cancel();
    this.editor.cancel();
    this.#personTicket++;
  }

  async #loadPerson(): Promise<void> {
    const ticket = ++this.#personTicket;
    const personId = this.personId;
    this.person = { status: "loading" };
    this.host.update();
    try {
      const person = await readPerson(personId);
      if (ticket === this.#personTicket) this.person = { status: "ready", value: person.value };
    } catch (error) {
      if (ticket === this.#personTicket) this.person = { status: "error", error: toApiError(error) };
    }
    this.host.update();
  }
}

function excerpt(text: string, length = 80): string {
  const chars = [...text];
  return chars.length > length ? `${chars.slice(0, length).join("").trimEnd()}…` : text;
}
