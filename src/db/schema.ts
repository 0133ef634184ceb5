import type { Generated } from "kysely";

/** Table shapes as the queries see them, on both engines (timestamps arrive as ISO strings). */
export interface PersonTable {
  person_id: Generated<number>;
  fname: string;
  lname: string;
  /** Normalized names: they order the list and make names unique regardless of case and spacing. */
  fname_key: string;
  lname_key: string;
  timestamp: string;
  /** 1 when created, one more on every change; updates may be made conditional on it. */
  version: Generated<number>;
}

export interface NoteTable {
  note_id: Generated<number>;
  person_id: number;
  content: string;
  /**
   * What search indexes of the content: its words as a reader sees them, without the Markdown's
   * link addresses (src/db/search-text.ts). Written with the content; where it is null (a row
   * written without it), the index reads the content itself.
   */
  search_text: string | null;
  timestamp: string;
  version: Generated<number>;
}

/**
 * Who made a version of a note: an admin's token, a person's token (`changed_by_person_id` names
 * the person), or anyone while access control is off.
 */
export type ChangedBy = "admin" | "person" | "anonymous";

/**
 * A version of a note, kept with who made it: one row per version, the current one included,
 * written in the transaction that makes the version. A note written before history was kept, or
 * loaded by an import or a copy, has no row for its current version until it next changes; that
 * change keeps it, with `changed_by` null (not known).
 */
export interface NoteRevisionTable {
  note_id: number;
  version: number;
  content: string;
  /** When this version was made (the note's timestamp while it is current). */
  timestamp: string;
  changed_by: ChangedBy | null;
  changed_by_person_id: number | null;
}

/**
 * A note's own columns, without what is derived from them (`search_text`), in the order its
 * transfer carries and checks them; the trash keeps a deleted note's rows with these.
 */
export const NOTE_COLUMNS = [
  "note_id",
  "person_id",
  "content",
  "timestamp",
  "version",
] as const satisfies readonly (keyof NoteTable)[];

/**
 * Every column of a kept version, in the order its transfer carries and checks them
 * (src/db/transfer/tables.ts); the history and the trash read them all.
 */
export const NOTE_REVISION_COLUMNS = [
  "note_id",
  "version",
  "content",
  "timestamp",
  "changed_by",
  "changed_by_person_id",
] as const satisfies readonly (keyof NoteRevisionTable)[];

/**
 * An entry of the trash: a deleted note (`kind` note), or a deleted person with all their notes
 * (`kind` person), its rows kept as they were deleted until it is restored or purged. `fname`,
 * `lname`, `content` and `notes` describe it for the list; `rows` holds everything a restore
 * writes back (`TrashRows`, JSON).
 */
export interface TrashEntryTable {
  trash_id: Generated<number>;
  kind: "note" | "person";
  /** The person it belongs to: the deleted person, or the deleted note's author. */
  person_id: number;
  /** The deleted note; null for a person's entry. */
  note_id: number | null;
  fname: string;
  lname: string;
  /** The deleted note's content; null for a person's entry. */
  content: string | null;
  /** How many notes it holds. */
  notes: number;
  rows: string;
  deleted_at: string;
}

/**
 * Every column of a trash entry, in the order its transfer carries and checks them
 * (src/db/transfer/tables.ts); a list of entries reads all but `rows`.
 */
export const TRASH_ENTRY_COLUMNS = [
  "trash_id",
  "kind",
  "person_id",
  "note_id",
  "fname",
  "lname",
  "content",
  "notes",
  "rows",
  "deleted_at",
] as const satisfies readonly (keyof TrashEntryTable)[];

/**
 * Row counts kept by triggers in the transaction that changes the rows, so totals never need
 * COUNT(*). Each table's count is spread over slots that are summed on read: on PostgreSQL each
 * connection writes its own slot, so concurrent inserts never wait for one another's counter row.
 */
export interface TableCountTable {
  name: "person" | "note";
  slot: number;
  value: number;
}

/** Each person's note count, slotted the same way. */
export interface PersonNoteCountTable {
  person_id: number;
  slot: number;
  value: number;
}

/** An access token: its secret is known only by its hash. */
export interface TokenTable {
  token_id: Generated<number>;
  /** Public, to tell tokens apart in lists and logs. */
  prefix: string;
  /** SHA-256 of the whole token, hex. */
  secret_hash: string;
  name: string;
  kind: "admin" | "person";
  /** The person a person token writes for; null for an admin token. */
  person_id: number | null;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

/** A way to sign in: a person's, or (with no person) an admin's. */
export interface AccountTable {
  account_id: Generated<number>;
  /** The name it signs in with, as given. */
  name: string;
  /** `nameKey(name)`: unique, so no two accounts answer to one name. */
  name_key: string;
  kind: "admin" | "person";
  person_id: number | null;
  /** `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url); null until a password is set. */
  password_hash: string | null;
  created_at: string;
}

/** A signed-in browser: known by the SHA-256 of its cookie's secret only. */
export interface AccountSessionTable {
  session_id: Generated<number>;
  account_id: number;
  secret_hash: string;
  created_at: string;
  /** Written at most every few minutes, not on every request. */
  last_seen_at: string;
  /** The absolute expiry: `SESSION_MAX_DAYS` after sign-in. */
  expires_at: string;
  user_agent: string | null;
  address: string | null;
}

/** A one-time link to set up or reset an account: known by the SHA-256 of its code only. */
export interface InviteTable {
  invite_id: Generated<number>;
  account_id: number;
  secret_hash: string;
  kind: "setup" | "reset";
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

/** A passkey (WebAuthn credential) of an account. */
export interface PasskeyTable {
  passkey_id: Generated<number>;
  account_id: number;
  /** The credential id, base64url. */
  credential_id: string;
  /** The COSE public key, base64url. */
  public_key: string;
  /** The authenticator's signature counter as last seen (0 for authenticators without one). */
  sign_count: number;
  /** Comma-separated (`internal,hybrid`). */
  transports: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/** A passkey ceremony in progress: its challenge, used once, for minutes. */
export interface PasskeyChallengeTable {
  challenge_id: Generated<number>;
  challenge: string;
  purpose: "sign_in" | "register";
  /** For `register`: the account the passkey is for. */
  account_id: number | null;
  /** For `register` through an invite: the invite's hash, used when the passkey is verified. */
  invite_hash: string | null;
  expires_at: string;
}

/**
 * What happened to which type of resource: `note.created`, `person.deleted`, …; the type is the
 * part before the dot. Open, so a new type of resource needs no change to the table.
 */
export type ChangeKind = `${string}.${string}`;

/** One change to a resource, in the order of its revision. */
export interface ChangeTable {
  revision: Generated<number>;
  kind: ChangeKind;
  /** The person the resource belongs to (a person's own changes: that person). */
  person_id: number;
  /** The changed resource's id, among the resources of its type. */
  resource_id: number;
  /** The changed resource as JSON, or its ids for a deletion. */
  data: string;
  recorded_at: string;
}

/** The newest revision retention has pruned: older ones can no longer be replayed. */
export interface FeedHorizonTable {
  name: "change";
  pruned_through: number;
}

/**
 * SQLite: the full-text index of the notes (FTS5 with external content, reading the view
 * `note_search_source`: each note's content, its author's names as `author`, and both again as
 * `words`, unstemmed), kept by triggers (migrations 007 and 009) and queried in
 * src/db/search-repository.ts. On PostgreSQL the index is `note.search`, a tsvector column kept by
 * triggers that no query selects.
 */
export interface NoteSearchTable {
  rowid: number;
  content: string;
  author: string;
  words: string;
}

/** A webhook endpoint (migration 016): where to send which changes, its secrets, and where it stands. */
export interface WebhookTable {
  webhook_id: Generated<number>;
  url: string;
  /** The kinds it asks for, as a JSON array. */
  events: string;
  person_id: number | null;
  /** 1 or 0. */
  enabled: number;
  disabled_reason: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  /** The last revision sent or passed over. */
  position: number;
  failed_attempts: Generated<number>;
  failing_since: string | null;
  next_attempt_at: string | null;
  lease_owner: string | null;
  /** Milliseconds since the epoch, on the database's clock. */
  lease_until: number | null;
  created_at: string;
}

/** One attempt to send a change to an endpoint (or a note that pruned changes were skipped). */
export interface WebhookDeliveryTable {
  delivery_id: Generated<number>;
  webhook_id: number;
  revision: number;
  kind: string;
  outcome: "delivered" | "failed" | "skipped";
  attempt: number;
  attempted_at: string;
  response_status: number | null;
  duration_ms: number;
  error: string | null;
}

export interface Database {
  person: PersonTable;
  note: NoteTable;
  note_revision: NoteRevisionTable;
  trash_entry: TrashEntryTable;
  table_count: TableCountTable;
  person_note_count: PersonNoteCountTable;
  token: TokenTable;
  account: AccountTable;
  account_session: AccountSessionTable;
  invite: InviteTable;
  passkey: PasskeyTable;
  passkey_challenge: PasskeyChallengeTable;
  note_search: NoteSearchTable;
  change: ChangeTable;
  feed_horizon: FeedHorizonTable;
  webhook: WebhookTable;
  webhook_delivery: WebhookDeliveryTable;
}

export type Engine = "sqlite" | "postgres";
