/** What is measured on a dataset: the requests, with ids and a deep cursor taken from its file. */
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { encodeCursor } from "../src/domain/paging.js";
import type { Endpoint } from "./compare.js";
import { DATA_DIR } from "./seed.js";

/** The requests measured on a dataset, with ids and a deep cursor taken from its file. */
export function endpointsOf(path: string): Endpoint[] {
  const db = new Database(path, { readonly: true });
  try {
    const people = (db.prepare("select count(*) as n from person").get() as { n: number }).n;
    const notes = (db.prepare("select count(*) as n from note").get() as { n: number }).n;
    const personId = Math.ceil(people / 2);
    const note = db
      .prepare("select note_id from note where person_id = ? order by timestamp desc, note_id desc limit 1")
      .get(personId) as { note_id: number };
    const deep = db
      .prepare("select timestamp, note_id from note order by timestamp desc, note_id desc limit 1 offset ?")
      .get(Math.floor(notes / 2)) as { timestamp: string; note_id: number };
    const cursor = encodeCursor([deep.timestamp, deep.note_id]);
    return [
      { name: "GET /api/people/{id}", kind: "read", target: { method: "GET", path: `/api/people/${personId}` } },
      { name: "GET /api/people (first page)", kind: "read", target: { method: "GET", path: "/api/people" } },
      { name: "GET /api/notes (first page)", kind: "read", target: { method: "GET", path: "/api/notes" } },
      {
        name: "GET /api/notes (deep cursor page)",
        kind: "read",
        target: { method: "GET", path: `/api/notes?limit=100&cursor=${cursor}` },
      },
      {
        name: "GET /api/people/{id}/notes/{note_id}",
        kind: "read",
        target: { method: "GET", path: `/api/people/${personId}/notes/${note.note_id}` },
      },
      { name: "POST /api/people/{id}/notes", kind: "write", target: { method: "POST", path: "", ids: [personId] } },
      {
        name: "PUT /api/people/{id}/notes/{note_id}",
        kind: "write",
        target: { method: "PUT", path: "", ids: [personId, note.note_id] },
      },
    ];
  } finally {
    db.close();
  }
}

/** Each run works on a copy: the write rounds add notes, and the cached file must stay as seeded. */
export function workingCopy(source: string, dataset: string): string {
  const copy = join(DATA_DIR, `run-${dataset}.db`);
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${copy}${suffix}`, { force: true });
  copyFileSync(source, copy);
  return copy;
}
