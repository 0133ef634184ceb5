import { type ApiError, type Tagged, toApiError } from "../model/api.js";
import type { PagedList } from "../model/paged-list.js";
import { type Busy, type Conflict, type EditorState, type Selection, selectedValue } from "../model/selection.js";
import { type ConfirmOptions, confirmAction } from "../views/confirm-dialog.js";
import type { EditorHandlers } from "../views/editor.js";
import type { Host } from "./page.js";

/** What the editor asks of its form. */
export interface EditorForm<T> {
  problem: string | undefined;
  fill(item: T | undefined): void;
  /** True when the user has typed something other than what `item` holds. */
  differsFrom(item: T): boolean;
  refused(error: ApiError): void;
}

/** What differs between the people and notes editors: their requests, wording and places to focus. */
export interface EditorSetup<T> {
  host: Host;
  form: EditorForm<T>;
  /** The list beside the editor, refreshed in place after each change. */
  list: PagedList<T>;
  keyOf(item: T): number;
  /** The page of an item, for a draft saved anew after its item was deleted. */
  pathOf(item: T): string;
  /** The item as the list on screen has it, which saves waiting for the server. */
  listed(id: number): T | undefined;
  read(id: number): Promise<Tagged<T>>;
  create(): Promise<Tagged<T>>;
  /** Changes `item` only if the server still has the version `etag` names. */
  update(item: T, etag: string | undefined): Promise<Tagged<T>>;
  delete(item: T, etag: string | undefined): Promise<void>;
  /** The form's first field: focused when an item opens, and when the form empties for a new one. */
  firstField: string;
  /** Validates the form; the selector of the field to fix, or undefined when the form may be sent. */
  invalidField(): string | undefined;
  /** The draft as plain text, for the clipboard. */
  draftText(): string;
  confirmDelete(item: T): ConfirmOptions;
  /** The notices after each change. */
  added(item: T): string;
  saved(item: T): string;
  deleted(item: T): string;
  /** Brings back an item this user just deleted (from the trash), for the notice's Undo. */
  undo(item: T): Promise<void>;
  restored(item: T): string;
  /** Why a delete did not happen: the item changed since it was opened. */
  changedBeforeDelete: string;
  /** Where to go once the open item is deleted, and which heading there gets focus. */
  afterDelete(item: T): { path: string; focus: string };
}

/** The heading of the conflict view, focused when it opens. */
export const CONFLICT_HEADING = "#conflict-heading";

/**
 * The item open in a page's editor and the requests that change it. Choosing an item takes a
 * ticket; an answer that arrives after another item was chosen, or the page was left, is dropped.
 * Changes carry the ETag of the version on screen, so a change someone else made meanwhile is
 * never overwritten unseen: it opens the conflict view instead, with the draft kept.
 */
export class Editor<T extends { timestamp: string }> implements EditorState<T> {
  selection: Selection<T> = { status: "none" };
  busy: Busy;
  conflict: Conflict<T> | undefined;
  #etag: string | undefined;
  /** Reading the ETag of an item opened from the list; changes wait for it. */
  #tagRead: Promise<void> | undefined;
  #ticket = 0;

  /**
   * Everything the editor's view can ask for (save, delete, keep mine, take theirs, save as new,
   * copy the draft, sign in): a page that edits a resource hands these to `editorView` as they are.
   */
  readonly handlers: EditorHandlers = {
    submit: () => void this.save(),
    remove: () => void this.remove(),
    dismissProblem: () => this.dismissProblem(),
    keepMine: () => void this.keepMine(),
    takeTheirs: () => this.takeTheirs(),
    saveAsNew: () => void this.saveAsNew(),
    copyDraft: () => void this.copyDraft(),
    signIn: () => this.setup.host.signIn(this.setup.firstField),
  };

  constructor(private readonly setup: EditorSetup<T>) {}

  /** The item being edited; undefined while writing a new one. */
  get editing(): T | undefined {
    return selectedValue(this.selection);
  }

  async select(id: number | undefined, moveFocus: boolean): Promise<void> {
    const { host, form } = this.setup;
    const ticket = ++this.#ticket;
    this.busy = undefined;
    this.conflict = undefined;
    this.#etag = undefined;
    this.#tagRead = undefined;
    if (id === undefined) {
      this.selection = { status: "none" };
      form.fill(undefined);
      host.update();
      if (moveFocus) host.focus(this.setup.firstField);
      return;
    }
    const listed = this.setup.listed(id);
    if (listed) {
      this.#opened({ value: listed, etag: undefined }, moveFocus);
      this.#tagRead = this.#readTag(listed, ticket);
      return;
    }
    this.selection = { status: "loading", id };
    form.fill(undefined);
    host.update();
    try {
      const item = await this.setup.read(id);
      if (ticket === this.#ticket) this.#opened(item, moveFocus);
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.selection = { status: "error", id, error: toApiError(error) };
      host.update();
    }
  }

  async save(): Promise<void> {
    const { host, form } = this.setup;
    if (this.busy) return;
    const invalid = this.setup.invalidField();
    if (invalid) {
      host.dismissNotice();
      host.update();
      host.focus(invalid);
      return;
    }
    const editing = this.editing;
    if (editing) {
      await this.#change(
        editing,
        (item, etag) => this.setup.update(item, etag),
        (saved) => this.setup.saved(saved),
      );
      return;
    }
    const ticket = this.#ticket;
    this.busy = "saving";
    host.update();
    try {
      const created = await this.setup.create();
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      void this.setup.list.reload({ keepShown: true });
      form.fill(undefined);
      host.notify(this.setup.added(created.value));
      host.focus(this.setup.firstField);
      host.update();
    } catch (error) {
      if (ticket === this.#ticket) this.#refused(error);
    }
  }

  /**
   * A change to the open item that is not the form's, such as restoring an old version. The form
   * should hold what the change makes of the item: like a save, it is sent with the ETag of the
   * version on screen, and if someone else changed the item meanwhile (412) the conflict view
   * opens, with the form's text as the user's version beside the newer one.
   */
  async apply(send: (item: T, etag: string | undefined) => Promise<Tagged<T>>, notice: string): Promise<void> {
    const editing = this.editing;
    if (this.busy || !editing) return;
    await this.#change(editing, send, () => notice);
  }

  /** Sends a change of the open item with the ETag of the version on screen: a save, or `apply`'s. */
  async #change(
    editing: T,
    send: (item: T, etag: string | undefined) => Promise<Tagged<T>>,
    notice: (saved: T) => string,
  ): Promise<void> {
    const { host } = this.setup;
    const ticket = this.#ticket;
    this.busy = "saving";
    host.update();
    try {
      await this.#tagRead;
      if (ticket !== this.#ticket) return;
      const saved = await send(editing, this.#etag);
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      void this.setup.list.reload({ keepShown: true });
      this.#show(saved);
      host.notify(notice(saved.value));
      host.update();
    } catch (error) {
      if (ticket !== this.#ticket) return;
      const status = toApiError(error).status;
      if (status === 412) await this.#changedMeanwhile(editing, ticket);
      else if (status === 404) this.#deletedMeanwhile();
      else this.#refused(error);
    }
  }

  /** Sends the draft again over the newer version the conflict view shows. */
  async keepMine(): Promise<void> {
    const conflict = this.conflict;
    const id = this.editing && this.setup.keyOf(this.editing);
    if (conflict?.kind !== "changed" || id === undefined) return;
    this.conflict = undefined;
    this.selection = { status: "ready", id, value: conflict.theirs };
    this.#etag = conflict.etag;
    await this.save();
  }

  /** Drops the draft for the newer version the conflict view shows. */
  takeTheirs(): void {
    const conflict = this.conflict;
    if (conflict?.kind !== "changed") return;
    this.conflict = undefined;
    this.#opened({ value: conflict.theirs, etag: conflict.etag }, true);
  }

  /** Saves the draft of an item deleted meanwhile as a new one, and opens that. */
  async saveAsNew(): Promise<void> {
    const { host } = this.setup;
    if (this.busy || this.conflict?.kind !== "deleted") return;
    const ticket = this.#ticket;
    this.busy = "saving";
    host.update();
    try {
      const created = await this.setup.create();
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      this.conflict = undefined;
      this.#show(created);
      void this.setup.list.reload({ keepShown: true });
      host.notify(this.setup.added(created.value));
      host.navigate(this.setup.pathOf(created.value), { replace: true });
      host.focus(this.setup.firstField);
    } catch (error) {
      if (ticket === this.#ticket) this.#refused(error);
    }
  }

  async copyDraft(): Promise<void> {
    const { host } = this.setup;
    try {
      await navigator.clipboard.writeText(this.setup.draftText());
      host.notify("Your text was copied.");
    } catch {
      host.notify("Copying was not allowed here. Select your text and copy it instead.");
    }
  }

  async remove(): Promise<void> {
    const { host } = this.setup;
    const item = this.editing;
    if (this.busy || !item) return;
    const confirmed = await confirmAction(this.setup.confirmDelete(item));
    if (!confirmed || this.editing !== item) return;
    const ticket = this.#ticket;
    this.busy = "deleting";
    host.update();
    try {
      await this.#tagRead;
      if (ticket !== this.#ticket) return;
      await this.setup.delete(item, this.#etag);
      if (ticket !== this.#ticket) return;
      this.#left(item, true);
    } catch (error) {
      if (ticket !== this.#ticket) return;
      const status = toApiError(error).status;
      if (status === 404) this.#left(item);
      else if (status === 412) await this.#changedBeforeDelete(item, ticket);
      else this.#refused(error);
    }
  }

  dismissProblem(): void {
    this.setup.form.problem = undefined;
    this.setup.host.update();
    this.setup.host.focus(this.setup.firstField);
  }

  /** Forgets pending answers, e.g. when the page is left. */
  cancel(): void {
    this.#ticket++;
  }

  #opened(item: Tagged<T>, moveFocus: boolean): void {
    this.#show(item);
    this.setup.host.update();
    if (moveFocus) this.setup.host.focus(this.setup.firstField);
  }

  #show({ value, etag }: Tagged<T>): void {
    this.selection = { status: "ready", id: this.setup.keyOf(value), value };
    this.#etag = etag;
    this.setup.form.fill(value);
  }

  /**
   * The list has no ETag per item, so an item opened from it is read once more for its own. If the
   * list was behind, the newer version replaces it, or, once the user has typed, is offered beside
   * the draft.
   */
  async #readTag(listed: T, ticket: number): Promise<void> {
    try {
      const fresh = await this.setup.read(this.setup.keyOf(listed));
      if (ticket !== this.#ticket) return;
      if (fresh.value.timestamp === listed.timestamp) {
        this.#etag = fresh.etag;
      } else if (this.setup.form.differsFrom(listed)) {
        this.conflict = { kind: "changed", theirs: fresh.value, etag: fresh.etag };
        this.setup.host.update();
      } else {
        this.#opened(fresh, false);
      }
    } catch (error) {
      if (ticket !== this.#ticket || toApiError(error).status !== 404) return;
      this.conflict = { kind: "deleted" };
      this.setup.host.update();
    }
  }

  async #changedMeanwhile(item: T, ticket: number): Promise<void> {
    const { host } = this.setup;
    try {
      const theirs = await this.setup.read(this.setup.keyOf(item));
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      this.conflict = { kind: "changed", theirs: theirs.value, etag: theirs.etag };
      host.dismissNotice();
      host.update();
      host.focus(CONFLICT_HEADING);
    } catch (error) {
      if (ticket !== this.#ticket) return;
      if (toApiError(error).status === 404) this.#deletedMeanwhile();
      else this.#refused(error);
    }
  }

  #deletedMeanwhile(): void {
    this.busy = undefined;
    this.conflict = { kind: "deleted" };
    this.setup.host.dismissNotice();
    this.setup.host.update();
    this.setup.host.focus(CONFLICT_HEADING);
  }

  async #changedBeforeDelete(item: T, ticket: number): Promise<void> {
    const { host, form } = this.setup;
    try {
      const theirs = await this.setup.read(this.setup.keyOf(item));
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      if (form.differsFrom(item)) {
        this.conflict = { kind: "changed", theirs: theirs.value, etag: theirs.etag };
      } else {
        this.#show(theirs);
      }
      form.problem = this.setup.changedBeforeDelete;
      host.dismissNotice();
      host.update();
    } catch (error) {
      if (ticket !== this.#ticket) return;
      if (toApiError(error).status === 404) this.#left(item);
      else this.#refused(error);
    }
  }

  /** The open item is gone, by this user's delete (`undoable`) or someone else's. */
  #left(item: T, undoable = false): void {
    const { host } = this.setup;
    this.busy = undefined;
    host.notify(this.setup.deleted(item), undoable ? { label: "Undo", run: () => void this.#undo(item) } : undefined);
    void this.setup.list.reload({ keepShown: true });
    const next = this.setup.afterDelete(item);
    host.navigate(next.path, { replace: true });
    host.focus(next.focus);
  }

  /** Restores the item just deleted and opens it again. */
  async #undo(item: T): Promise<void> {
    const { host } = this.setup;
    host.dismissNotice();
    try {
      await this.setup.undo(item);
      host.notify(this.setup.restored(item));
      void this.setup.list.reload({ keepShown: true });
      host.navigate(this.setup.pathOf(item));
    } catch (error) {
      host.notify(`Could not undo: ${toApiError(error).message}`);
    }
  }

  #refused(error: unknown): void {
    const { host, form, firstField } = this.setup;
    const problem = toApiError(error);
    this.busy = undefined;
    // A notice of an earlier success must not stand beside the error.
    host.dismissNotice();
    // The form keeps what was typed, to be sent again once signed in.
    if (problem.status === 401) host.unauthorized(problem, firstField);
    else form.refused(problem);
    host.update();
  }
}
