import { type Note, type Person, toApiError } from "../model/api.js";
import { NoteForm } from "../model/note-form.js";
import { createNote, deleteNote, listNotesOf, readNote, updateNote } from "../model/notes.js";
import { PagedList } from "../model/paged-list.js";
import { fullName, readPerson } from "../model/people.js";
import { type Busy, type Loaded, type Selection, selectedId, selectedValue } from "../model/selection.js";
import { paths, type Route } from "../router.js";
import { confirmAction } from "../views/confirm-dialog.js";
import { notesView } from "../views/notes-view.js";
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
  selection: Selection<Note> = { status: "none" };
  readonly form = new NoteForm();
  busy: Busy;
  #personTicket = 0;
  #noteTicket = 0;

  constructor(private readonly host: Host) {
    this.notes = new PagedList(
      (limit, cursor) => listNotesOf(this.personId, limit, cursor),
      (note) => note.note_id,
      () => host.update(),
    );
  }

  get title(): string {
    return this.person.status === "ready" ? `${fullName(this.person.value)}'s notes` : "Notes";
  }

  show(route: Route, moveFocus: boolean): void {
    if (route.page !== "notes") return;
    const personChanged = route.personId !== this.personId;
    if (personChanged) {
      this.personId = route.personId;
      void this.#loadPerson();
      void this.notes.reload();
    }
    if (personChanged || route.noteId !== selectedId(this.selection)) void this.#select(route.noteId, moveFocus);
  }

  view() {
    return notesView(this, {
      retryPerson: () => void this.#loadPerson(),
      retryNotes: () => void this.notes.reload(),
      loadMore: () => void this.notes.loadMore(),
      input: (value) => {
        this.form.set(value);
        this.host.update();
      },
      submit: () => void this.#save(),
      remove: () => void this.#remove(),
      dismissProblem: () => {
        this.form.problem = undefined;
        this.host.update();
        this.host.focus(EDITOR);
      },
    });
  }

  dispose(): void {
    this.notes.cancel();
    this.#personTicket++;
    this.#noteTicket++;
  }

  async #loadPerson(): Promise<void> {
    const ticket = ++this.#personTicket;
    const personId = this.personId;
    this.person = { status: "loading" };
    this.host.update();
    try {
      const person = await readPerson(personId);
      if (ticket === this.#personTicket) this.person = { status: "ready", value: person };
    } catch (error) {
      if (ticket === this.#personTicket) this.person = { status: "error", error: toApiError(error) };
    }
    this.host.update();
  }

  async #select(noteId: number | undefined, moveFocus: boolean): Promise<void> {
    const ticket = ++this.#noteTicket;
    const personId = this.personId;
    this.busy = undefined;
    if (noteId === undefined) {
      this.selection = { status: "none" };
      this.form.fill(undefined);
      this.host.update();
      if (moveFocus) this.host.focus(EDITOR);
      return;
    }
    const listed = this.notes.status === "ready" ? this.notes.find(noteId) : undefined;
    if (listed) {
      this.#selected(listed, moveFocus);
      return;
    }
    this.selection = { status: "loading", id: noteId };
    this.form.fill(undefined);
    this.host.update();
    try {
      const note = await readNote(personId, noteId);
      if (ticket === this.#noteTicket) this.#selected(note, moveFocus);
    } catch (error) {
      if (ticket !== this.#noteTicket) return;
      this.selection = { status: "error", id: noteId, error: toApiError(error) };
      this.host.update();
    }
  }

  #selected(note: Note, moveFocus: boolean): void {
    this.selection = { status: "ready", id: note.note_id, value: note };
    this.form.fill(note);
    this.host.update();
    if (moveFocus) this.host.focus(EDITOR);
  }

  async #save(): Promise<void> {
    if (this.busy) return;
    if (!this.form.validate()) {
      this.host.update();
      this.host.focus(EDITOR);
      return;
    }
    const editing = selectedValue(this.selection);
    const ticket = this.#noteTicket;
    this.busy = "saving";
    this.host.update();
    try {
      const saved = editing
        ? await updateNote(this.personId, editing.note_id, this.form.input)
        : await createNote(this.personId, this.form.input);
      if (ticket !== this.#noteTicket) return;
      this.busy = undefined;
      void this.notes.reload({ keepShown: true });
      if (editing) {
        this.selection = { status: "ready", id: saved.note_id, value: saved };
        this.form.fill(saved);
        this.host.notify("Note saved.");
      } else {
        this.form.fill(undefined);
        this.host.notify("Note added.");
        this.host.focus(EDITOR);
      }
      this.host.update();
    } catch (error) {
      if (ticket !== this.#noteTicket) return;
      this.busy = undefined;
      this.form.refused(toApiError(error));
      this.host.update();
    }
  }

  async #remove(): Promise<void> {
    const note = selectedValue(this.selection);
    if (this.busy || !note) return;
    const confirmed = await confirmAction({
      title: "Delete this note?",
      message: `“${excerpt(note.content)}” will be deleted. This can't be undone.`,
      confirmLabel: "Delete note",
    });
    if (!confirmed || selectedValue(this.selection) !== note) return;
    const ticket = this.#noteTicket;
    this.busy = "deleting";
    this.host.update();
    try {
      await deleteNote(note.person_id, note.note_id);
      if (ticket !== this.#noteTicket) return;
      this.busy = undefined;
      this.host.notify("Note deleted.");
      void this.notes.reload({ keepShown: true });
      this.host.navigate(paths.notes(note.person_id), { replace: true });
      this.host.focus("#notes-heading");
    } catch (error) {
      if (ticket !== this.#noteTicket) return;
      this.busy = undefined;
      this.form.refused(toApiError(error));
      this.host.update();
    }
  }
}

function excerpt(text: string, length = 80): string {
  const chars = [...text];
  return chars.length > length ? `${chars.slice(0, length).join("").trimEnd()}…` : text;
}
