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
  timestamp: string;
  version: Generated<number>;
}

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

export interface Database {
  person: PersonTable;
  note: NoteTable;
  table_count: TableCountTable;
  person_note_count: PersonNoteCountTable;
  token: TokenTable;
  note_search: NoteSearchTable;
  change: ChangeTable;
  feed_horizon: FeedHorizonTable;
}

export type Engine = "sqlite" | "postgres";
