import { ProblemError } from "./errors.js";
import type { Principal } from "./tokens.js";

/**
 * Who is asking, as the services see it. The route guard (`src/http/access.ts`) finds out who the
 * token stands for and whether the operation's scopes admit them at all; which rows they may touch
 * is decided here, from the caller and the row.
 */
export type Caller =
  /** No token, and none needed: access control is off, so anyone may write. */
  | { kind: "anonymous" }
  /** An admin token: everything. */
  | { kind: "admin"; token: string }
  /** A person token: that person and what is theirs. `token` is its public prefix. */
  | { kind: "person"; personId: number; token: string };

export const ANONYMOUS: Caller = { kind: "anonymous" };

export function callerFor(principal: Principal): Caller {
  if (principal.kind === "person" && principal.personId !== null) {
    return { kind: "person", personId: principal.personId, token: principal.prefix };
  }
  if (principal.kind === "admin") return { kind: "admin", token: principal.prefix };
  // A person token always names its person; one that does not may do nothing of a person's.
  return { kind: "person", personId: 0, token: principal.prefix };
}

/** What a note's rule needs of it. Notes are reached through their person, so the path gives it. */
export interface NoteOwner {
  person_id: number;
}

const isOpen = (caller: Caller) => caller.kind !== "person";
const actsFor = (caller: Caller, personId: number) => caller.kind !== "person" || caller.personId === personId;

/** Adding people is for admins. */
export const mayCreatePerson = (caller: Caller): boolean => isOpen(caller);
/** A person may change their own names. */
export const mayChangePerson = (caller: Caller, personId: number): boolean => actsFor(caller, personId);
/** Deleting people (and all their notes) is for admins, even oneself. */
export const mayDeletePerson = (caller: Caller, _personId: number): boolean => isOpen(caller);
/** A person may write notes as themselves. */
export const mayWriteNoteFor = (caller: Caller, personId: number): boolean => actsFor(caller, personId);
/** A person may change and delete their own notes. */
export const mayChangeNote = (caller: Caller, note: NoteOwner): boolean => actsFor(caller, note.person_id);

/**
 * Goes on when `allowed`, else throws the 403 problem. `rule` says what kind of rule refused: a
 * row of someone else's (`own`) or something only an admin may do (`admin`).
 */
export function permit(caller: Caller, allowed: boolean, rule: "own" | "admin" = "own"): void {
  if (allowed) return;
  throw new ProblemError(403, "Forbidden", refusal(caller, rule));
}

/** Why the caller was refused; the route guard says the same for an operation only admins may call. */
export function refusal(caller: Caller, rule: "own" | "admin"): string {
  // Only a person's token is ever refused by a rule: the others may do everything.
  if (caller.kind !== "person") return "This change is not allowed";
  if (rule === "own") return `Token ${caller.token} may change only person ${caller.personId} and their notes`;
  return `Token ${caller.token} is a person token: only an admin token may do this`;
}
