import type { ApiError, NoteInput } from "./api.js";
import { checkContent } from "./limits.js";

/** The note editor's text, kept until the server accepts it, with its error and the server's refusal. */
export class NoteForm {
  content = "";
  attempted = false;
  serverError: string | undefined;
  problem: string | undefined;
  /** The editor shows the rendered draft instead of the text field. */
  previewing = false;

  fill(note: NoteInput | undefined): void {
    this.content = note?.content ?? "";
    this.previewing = false;
    this.attempted = false;
    this.serverError = undefined;
    this.problem = undefined;
  }

  /** True when the text is no longer what `fill(note)` put there. */
  differsFrom(note: NoteInput): boolean {
    return this.content !== note.content;
  }

  set(value: string): void {
    this.content = value;
    this.serverError = undefined;
  }

  get error(): string | undefined {
    return (this.attempted ? checkContent(this.content) : undefined) ?? this.serverError;
  }

  /** True when the note may be sent, after marking the form as attempted. */
  validate(): boolean {
    this.attempted = true;
    // An error is shown beside the field, so the field is shown.
    if (this.error !== undefined) this.previewing = false;
    return this.error === undefined;
  }

  get input(): NoteInput {
    return { content: this.content.trim() };
  }

  refused(error: ApiError): void {
    this.problem = error.message;
    const field = error.fields.find((candidate) => candidate.pointer === "/content");
    if (field) this.serverError = field.message;
  }
}
