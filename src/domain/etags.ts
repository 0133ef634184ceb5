import { createHash } from "node:crypto";
import type { PersonNoteRow, PersonRow } from "../db/people-repository.js";
import { ProblemError } from "./errors.js";

/** A resource and the strong entity tag of its representation. */
export interface Tagged<T> {
  value: T;
  etag: string;
}

/**
 * A note's tag covers the note and its embedded author: `"n<id>.<version>.<author's version>"`.
 * Versions change with every real change, so a tag names one representation.
 */
export const noteTag = (note: { note_id: number; version: number; person_version: number }) =>
  `"n${note.note_id}.${note.version}.${note.person_version}"`;

/**
 * A person's tag covers the person and their embedded newest notes: the person's version, and a
 * digest of the embedded notes' ids and versions (a new, changed or deleted note changes it).
 */
export function personTag(person: Pick<PersonRow, "person_id" | "version">, notes: PersonNoteRow[]): string {
  const embedded = notes.map((note) => `${note.note_id}:${note.version}`).join(",");
  const digest = createHash("sha256").update(embedded).digest("base64url").slice(0, 12);
  return `"p${person.person_id}.${person.version}.${digest}"`;
}

/** The entity tags an If-Match or If-None-Match header lists, weak ones marked; `*` stands for any. */
export function listedTags(header: string | undefined): string[] | "*" | undefined {
  if (header === undefined) return undefined;
  if (header.trim() === "*") return "*";
  return header.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

/** If-Match uses the strong comparison: a weak tag never matches. */
export function matchesIfMatch(header: string | undefined, current: string): boolean {
  const tags = listedTags(header);
  if (tags === undefined || tags === "*") return true;
  return tags.includes(current);
}

/** If-None-Match uses the weak comparison: `W/"x"` and `"x"` are the same. */
export function matchesIfNoneMatch(header: string | undefined, current: string): boolean {
  const tags = listedTags(header);
  if (tags === undefined) return false;
  if (tags === "*") return true;
  const opaque = (tag: string) => tag.replace(/^W\//, "");
  return tags.some((tag) => opaque(tag) === opaque(current));
}

/** The resource changed since the client read it: 412, with the tag it has now. */
export class PreconditionFailed extends ProblemError {
  constructor(
    readonly currentTag: string | undefined,
    detail: string,
  ) {
    super(412, "Precondition Failed", detail);
  }
}
