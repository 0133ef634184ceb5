import type { Note, NoteRevision } from "../model/api.js";
import { listRevisions, restoreRevision } from "../model/history.js";
import type { NoteForm } from "../model/note-form.js";
import { PagedList } from "../model/paged-list.js";
import type { Editor } from "./editor.js";
import type { Host } from "./page.js";

/**
 * The History panel of the note open in the editor: its versions, newest first, a word-level
 * comparison of any of them with the current one, and restoring one. A restore goes through the
 * editor, so it carries the ETag of the version on screen and a 412 opens the editor's conflict
 * view. The list loads when the panel opens, and again when the open note gets a new version.
 */
export class HistoryPanel {
  open = false;
  /** The version compared with the current one, if any. */
  compared: number | undefined;
  readonly versions: PagedList<NoteRevision>;
  #note: Note | undefined;
  /** The note and version the list was loaded for. */
  #loadedFor: string | undefined;

  constructor(
    private readonly host: Host,
    private readonly editor: Editor<Note>,
    private readonly form: NoteForm,
  ) {
    this.versions = new PagedList(
      (limit, cursor) => {
        const note = this.#note;
        if (!note) return Promise.resolve({ items: [], next: undefined, total: 0 });
        return listRevisions(note.person_id, note.note_id, limit, cursor);
      },
      (revision) => revision.version,
      () => host.update(),
    );
  }

  /** The version the comparison is made against: the newest listed, else the note as the editor has it. */
  get current(): { content: string } | undefined {
    return this.versions.items.find((revision) => revision.current) ?? this.#note;
  }

  /**
   * Called with the note the editor shows on every drawing: another note closes the panel, and a
   * new version of the same note (saved here, or restored) loads the list again while it is open.
   */
  follow(note: Note): void {
    if (note.note_id !== this.#note?.note_id) {
      this.open = false;
      this.compared = undefined;
      this.#loadedFor = undefined;
    }
    this.#note = note;
    if (this.open && this.#loadedFor !== key(note)) this.#load();
  }

  toggle(): void {
    this.open = !this.open;
    if (this.open && this.#note && this.#loadedFor !== key(this.#note)) this.#load();
    this.host.update();
  }

  /** Someone changed the note: its list is loaded again when shown. */
  changedElsewhere(noteId: number): void {
    if (noteId !== this.#note?.note_id) return;
    this.#loadedFor = undefined;
    if (this.open) this.#load();
  }

  compare(version: number | undefined): void {
    this.compared = version;
    this.host.update();
    if (version !== undefined) this.host.focus("#history-diff");
  }

  /** The version's text goes into the form, and is saved as the note's new version if nobody changed it meanwhile. */
  restore(revision: NoteRevision): void {
    this.form.fill({ content: revision.content });
    this.compared = undefined;
    void this.editor.apply(
      (note, etag) => restoreRevision(note.person_id, note.note_id, revision.version, etag),
      `Version ${revision.version} restored.`,
    );
  }

  loadMore(): void {
    void this.versions.loadMore();
  }

  retry(): void {
    this.#load();
  }

  #load(): void {
    if (!this.#note) return;
    this.#loadedFor = key(this.#note);
    void this.versions.reload();
  }
}

const key = (note: Note) => `${note.note_id}@${note.timestamp}`;
