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
}

export interface NoteTable {
  note_id: Generated<number>;
  person_id: number;
  content: string;
  timestamp: string;
}

/** Row counts kept by triggers, so list totals never need COUNT(*) over a whole table. */
export interface CounterTable {
  name: string;
  value: number;
}

export interface Database {
  person: PersonTable;
  note: NoteTable;
  counter: CounterTable;
}

export type Engine = "sqlite" | "postgres";
