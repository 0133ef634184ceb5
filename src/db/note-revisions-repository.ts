import { affected, type Executor, prepareQuery } from "./executor.js";
import { rewriteNote } from "./notes-repository.js";
import { type ChangedBy, NOTE_REVISION_COLUMNS, type NoteRevisionTable } from "./schema.js";
import { searchText } from "./search-text.js";

/** A version of a note, as kept. */
export type NoteRevisionRow = NoteRevisionTable;

type Values = [
  noteId: number,
  version: number,
  content: string,
  timestamp: string,
  changedBy: ChangedBy | null,
  changedByPersonId: number | null,
];

const row = ([note_id, version, content, timestamp, changed_by, changed_by_person_id]: Values) => ({
  note_id,
  version,
  content,
  timestamp,
  changed_by,
  changed_by_person_id,
});

// Each argument is a parameter of its own: prepareQuery counts them.
const insertOne = prepareQuery(
  (
    db,
    noteId: number,
    version: number,
    content: string,
    timestamp: string,
    changedBy: ChangedBy,
    changedByPersonId: number | null,
  ) => db.insertInto("note_revision").values(row([noteId, version, content, timestamp, changedBy, changedByPersonId])),
);
/**
 * The version a change replaced and the one it made, in one statement. The replaced version is
 * kept already, unless the note was made before history was kept (or loaded by an import or a
 * copy): then it is kept now, its maker unknown.
 */
const insertPair = prepareQuery(
  (
    db,
    noteId: number,
    oldVersion: number,
    oldContent: string,
    oldTimestamp: string,
    newVersion: number,
    newContent: string,
    newTimestamp: string,
    changedBy: ChangedBy,
    changedByPersonId: number | null,
  ) =>
    db
      .insertInto("note_revision")
      .values([
        row([noteId, oldVersion, oldContent, oldTimestamp, null, null]),
        row([noteId, newVersion, newContent, newTimestamp, changedBy, changedByPersonId]),
      ])
      .onConflict((oc) => oc.columns(["note_id", "version"]).doNothing()),
);
/**
 * The note's new version, only at the version the change read (`expected`), and the change's two
 * versions kept, in one statement and so one round trip (PostgreSQL): the update's row feeds the
 * insert. Its count is the versions inserted: none when the note was not updated.
 */
const changeOnPostgres = prepareQuery(
  (
    db,
    personId: number,
    noteId: number,
    expected: number,
    content: string,
    searched: string,
    timestamp: string,
    oldContent: string,
    oldTimestamp: string,
    changedBy: ChangedBy,
    changedByPersonId: number | null,
  ) =>
    db
      .with("updated", (db) =>
        db
          .updateTable("note")
          .set((eb) => ({ content, search_text: searched, timestamp, version: eb("version", "+", 1) }))
          .where("note_id", "=", noteId)
          .where("person_id", "=", personId)
          .where("version", "=", expected)
          .returning(["note_id", "version", "content", "timestamp"]),
      )
      .insertInto("note_revision")
      .columns(["note_id", "version", "content", "timestamp", "changed_by", "changed_by_person_id"])
      .expression((eb) =>
        eb
          .selectFrom("updated")
          .select((eb) => [
            "note_id",
            eb("version", "-", 1).as("version"),
            eb.cast<string>(eb.val(oldContent), "text").as("content"),
            eb.cast<string>(eb.val(oldTimestamp), "timestamptz").as("timestamp"),
            eb.cast<ChangedBy | null>(eb.lit(null), "text").as("changed_by"),
            eb.cast<number | null>(eb.lit(null), "bigint").as("changed_by_person_id"),
          ])
          .unionAll((eb) =>
            eb
              .selectFrom("updated")
              .select((eb) => [
                "note_id",
                "version",
                "content",
                "timestamp",
                eb.cast<ChangedBy | null>(eb.val(changedBy), "text").as("changed_by"),
                eb.cast<number | null>(eb.val(changedByPersonId), "bigint").as("changed_by_person_id"),
              ]),
          ),
      )
      .onConflict((oc) => oc.columns(["note_id", "version"]).doNothing()),
);
/** Versions up to `through` go: the oldest, past what a note keeps. */
const prune = prepareQuery((db, noteId: number, through: number) =>
  db.deleteFrom("note_revision").where("note_id", "=", noteId).where("version", "<=", through),
);
const newestFirst = prepareQuery((db, noteId: number, before: number, limit: number) =>
  db
    .selectFrom("note_revision")
    .select(NOTE_REVISION_COLUMNS)
    .where("note_id", "=", noteId)
    .where("version", "<", before)
    .orderBy("version", "desc")
    .limit(limit),
);
const kept = prepareQuery((db, noteId: number) =>
  db
    .selectFrom("note_revision")
    .select((eb) => [eb.fn.countAll<number>().as("count"), eb.fn.max("version").as("newest")])
    .where("note_id", "=", noteId),
);
const one = prepareQuery((db, noteId: number, version: number) =>
  db
    .selectFrom("note_revision")
    .select(NOTE_REVISION_COLUMNS)
    .where("note_id", "=", noteId)
    .where("version", "=", version),
);

export interface Maker {
  changedBy: ChangedBy;
  /** The person of a person's token; null for the others. */
  personId: number | null;
}

/** A new note's first version. Run it in the transaction that writes the note. */
export async function keepFirstVersion(
  ex: Executor,
  note: { note_id: number; version: number; content: string; timestamp: string },
  maker: Maker,
): Promise<void> {
  await insertOne.run(ex, note.note_id, note.version, note.content, note.timestamp, maker.changedBy, maker.personId);
}

type Version = { note_id: number; version: number; content: string; timestamp: string };

/** The note as a change read it, its row locked (`findNoteForChange`). */
interface Current extends Version {
  person_id: number;
}

/**
 * Writes a change to the note read as `current`: the new content as its next version, only if it
 * is still at the version read and the content really changes; and keeps the change's versions,
 * the one it made and the one it replaced (unless kept already). With `keep` above 0, only the
 * newest `keep` replaced versions of the note stay. True when the note changed. Run it in the
 * transaction that read the note.
 */
export async function changeNote(
  ex: Executor,
  current: Current,
  content: string,
  timestamp: string,
  maker: Maker,
  keep: number,
): Promise<boolean> {
  const { person_id, note_id, version } = current;
  let changed: boolean;
  if (ex.engine === "postgres") {
    const result = await changeOnPostgres.run(
      ex,
      person_id,
      note_id,
      version,
      content,
      searchText(content),
      timestamp,
      current.content,
      current.timestamp,
      maker.changedBy,
      maker.personId,
    );
    changed = affected(result) > 0;
  } else {
    // SQLite runs in the process: separate statements cost no round trips.
    changed = await rewriteNote(ex, person_id, note_id, version, content, timestamp);
    if (changed) {
      await insertPair.run(
        ex,
        note_id,
        version,
        current.content,
        current.timestamp,
        version + 1,
        content,
        timestamp,
        maker.changedBy,
        maker.personId,
      );
    }
  }
  const through = version - keep;
  if (changed && keep > 0 && through >= 1) await prune.run(ex, note_id, through);
  return changed;
}

/** The note's kept versions older than `before`, newest first. */
export async function listRevisions(
  ex: Executor,
  noteId: number,
  limit: number,
  before = Number.MAX_SAFE_INTEGER,
): Promise<NoteRevisionRow[]> {
  return (await newestFirst.run(ex, noteId, before, limit)).rows;
}

/** How many versions of the note are kept, and the newest one's number (0 when none is). */
export async function keptRevisions(ex: Executor, noteId: number): Promise<{ count: number; newest: number }> {
  const found = await kept.first(ex, noteId);
  return { count: Number(found?.count ?? 0), newest: Number(found?.newest ?? 0) };
}

export function findRevision(ex: Executor, noteId: number, version: number): Promise<NoteRevisionRow | undefined> {
  return one.first(ex, noteId, version);
}

const allRevisions = prepareQuery((db) =>
  db.selectFrom("note_revision").select((eb) => eb.fn.countAll<number>().as("total")),
);

/** Every kept version of every note, counted (no trigger keeps this count): for transfer's progress and checks. */
export async function countAllRevisions(ex: Executor): Promise<number> {
  return Number((await allRevisions.first(ex))?.total ?? 0);
}
