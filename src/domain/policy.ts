import { ProblemError } from "./errors.js";

/** What a caller is made from of a token (`Principal` of ./tokens.ts). */
interface TokenHolder {
  kind: "admin" | "person";
  personId: number | null;
  prefix: string;
}

/** The account and session a request was signed in with (by the session cookie). */
export interface SignedIn {
  accountId: number;
  sessionId: number;
  /** The name the account signs in with. */
  name: string;
}

/**
 * Who is asking, as the services see it. The route guard (`src/http/access.ts`) finds out who the
 * token or session cookie stands for and whether the operation's scopes admit them at all; which
 * rows they may touch is decided here, from the caller and the row. A token and a signed-in
 * account of the same kind may do the same: `token` is the token's public prefix, `account` the
 * account (one of the two is set).
 */
export type Caller =
  /** No token, and none needed: access control is off, so anyone may write. */
  | { kind: "anonymous" }
  /** An admin token or account: everything. */
  | { kind: "admin"; token?: string; account?: SignedIn }
  /** A person token or account: that person and what is theirs. */
  | { kind: "person"; personId: number; token?: string; account?: SignedIn };

export const ANONYMOUS: Caller = { kind: "anonymous" };

export function callerFor(principal: TokenHolder): Caller {
  if (principal.kind === "person" && principal.personId !== null) {
    return { kind: "person", personId: principal.personId, token: principal.prefix };
  }
  if (principal.kind === "admin") return { kind: "admin", token: principal.prefix };
  // A person token always names its person; one that does not may do nothing of a person's.
  return { kind: "person", personId: 0, token: principal.prefix };
}

/** The caller of a signed-in session: its account's kind, and for a person's account, its person. */
export function callerForAccount(
  account: { account_id: number; name: string; kind: "admin" | "person"; person_id: number | null },
  sessionId: number,
): Caller {
  const signedIn: SignedIn = { accountId: account.account_id, sessionId, name: account.name };
  if (account.kind === "admin") return { kind: "admin", account: signedIn };
  return { kind: "person", personId: account.person_id ?? 0, account: signedIn };
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
/** A person may change and delete their own notes; restoring an old version is changing the note. */
export const mayChangeNote = (caller: Caller, note: NoteOwner): boolean => actsFor(caller, note.person_id);
/** Notes are public, and so is their history: whoever may read a note may read its versions. */
export const mayReadNote = (_caller: Caller, _note: NoteOwner): boolean => true;

/** What a trash entry's rules need of it: whose it is, and whether it is a person's. */
export interface TrashOwner {
  kind: "note" | "person";
  person_id: number;
}

/** An admin sees every entry of the trash; a person the entries of their own notes (and of themselves). */
export const mayReadTrashEntry = (caller: Caller, entry: TrashOwner): boolean => actsFor(caller, entry.person_id);
/**
 * Restoring is for whoever could delete it: a person their own notes, an admin anything (a
 * person's entry too, as only an admin deletes people).
 */
export const mayRestoreTrashEntry = (caller: Caller, entry: TrashOwner): boolean =>
  entry.kind === "person" ? mayDeletePerson(caller, entry.person_id) : mayChangeNote(caller, entry);
/** Which entries a caller's list holds: every one (undefined), or one person's. */
export const trashScope = (caller: Caller): number | undefined =>
  caller.kind === "person" ? caller.personId : undefined;
/** Purging for good, before the retention ends, is for admins. */
export const mayPurgeTrash = (caller: Caller): boolean => isOpen(caller);

/** Webhooks see every change and send it elsewhere: registering, reading and changing them is for admins. */
export const mayManageWebhooks = (caller: Caller): boolean => isOpen(caller);
/** Making invites (who may sign in, and resetting anyone's password) is for admins. */
export const mayInvite = (caller: Caller): boolean => isOpen(caller);
/** A person sees and revokes their own tokens; an admin anyone's. */
export const mayManageToken = (caller: Caller, token: { person_id: number | null }): boolean =>
  caller.kind !== "person" || (token.person_id !== null && token.person_id === caller.personId);
/** A person makes person tokens for themselves only; an admin makes any token. */
export const mayCreateToken = (caller: Caller, kind: "admin" | "person", personId: number | null): boolean =>
  caller.kind !== "person" || (kind === "person" && personId === caller.personId);

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
  if (caller.account) {
    const account = `Account ${JSON.stringify(caller.account.name)}`;
    if (rule === "own") return `${account} may change only person ${caller.personId} and what is theirs`;
    return `${account} is a person's account: only an admin may do this`;
  }
  if (rule === "own") return `Token ${caller.token} may change only person ${caller.personId} and their notes`;
  return `Token ${caller.token} is a person token: only an admin token may do this`;
}
