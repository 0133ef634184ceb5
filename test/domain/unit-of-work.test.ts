import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { changesAfter } from "../../src/db/changes/repository.js";
import type { Store } from "../../src/db/database.js";
import { findNote, insertNote } from "../../src/db/notes-repository.js";
import type { FeedEvent } from "../../src/domain/changes.js";
import { UnitOfWork } from "../../src/domain/unit-of-work.js";
import { createDatabase, engines } from "../support/app.js";

const AT = "2024-01-01T00:00:00.000Z";

/**
 * A unit of work on a fresh database whose store notes when each transaction has committed, and
 * whose announcer notes each announcement, in one list: the order they happened in.
 */
async function withUnitOfWork(
  engine: "sqlite" | "postgres",
  work: (unit: UnitOfWork, happened: string[], store: Store, announced: FeedEvent[][]) => Promise<void>,
) {
  const database = await createDatabase(engine, undefined, { prepared: true });
  try {
    const happened: string[] = [];
    const store: Store = {
      ...database.store,
      transaction: async (inner) => {
        const result = await database.store.transaction(inner);
        happened.push("committed");
        return result;
      },
    };
    const announced: FeedEvent[][] = [];
    const committed = (changes: readonly FeedEvent[]) => {
      happened.push("announced");
      announced.push([...changes]);
    };
    const unit = new UnitOfWork(store, { committed }, () => AT);
    await work(unit, happened, database.store, announced);
  } finally {
    await database.destroy();
  }
}

for (const engine of engines()) {
  describe(`unit of work (${engine})`, () => {
    test("a recorded change is stored with the write and announced once, after the commit", () =>
      withUnitOfWork(engine, async (unit, happened, store) => {
        const before = (await changesAfter(store, 0, 1000)).rows.length;
        const noteId = await unit.transaction(async (tx) => {
          const id = await insertNote(tx, 1, "recorded", AT);
          assert.equal(typeof id, "number");
          await tx.record({ kind: "note.created", personId: 1, resourceId: id as number, resource: { id } });
          await tx.record({ kind: "note.updated", personId: 1, resourceId: id as number, resource: { id } });
          assert.deepEqual(happened, [], "nothing is announced before the commit");
          return id as number;
        });
        assert.deepEqual(happened, ["committed", "announced"]);
        const { rows } = await changesAfter(store, 0, 1000);
        assert.equal(rows.length, before + 2);
        assert.deepEqual(
          rows.slice(-2).map((row) => [row.kind, row.person_id, row.resource_id]),
          [
            ["note.created", 1, noteId],
            ["note.updated", 1, noteId],
          ],
        );
      }));

    test("the announcement carries the changes as stored: their revisions, kinds, ids and data, in order", () =>
      withUnitOfWork(engine, async (unit, _happened, store, announced) => {
        const noteId = await unit.transaction(async (tx) => {
          const id = (await insertNote(tx, 1, "announced", AT)) as number;
          await tx.record({
            kind: "note.created",
            personId: 1,
            resourceId: id,
            resource: { id, content: "announced" },
          });
          await tx.record({
            kind: "note.updated",
            personId: 1,
            resourceId: id,
            resource: { id, content: 'é \\ "quoted"' },
          });
          return id;
        });
        const { rows } = await changesAfter(store, 0, 1000);
        const stored = rows.slice(-2).map((row) => ({
          revision: row.revision,
          kind: row.kind,
          personId: row.person_id,
          resourceId: row.resource_id,
          data: row.data,
        }));
        assert.deepEqual(announced, [stored]);
        assert.equal(stored[0]?.resourceId, noteId);
        assert.equal((stored[1]?.revision ?? 0) - (stored[0]?.revision ?? 0), 1);
      }));

    test("a rollback announces nothing and leaves no change behind", () =>
      withUnitOfWork(engine, async (unit, happened, store) => {
        const before = (await changesAfter(store, 0, 1000)).rows.length;
        let noteId = 0;
        await assert.rejects(
          unit.transaction(async (tx) => {
            noteId = (await insertNote(tx, 1, "rolled back", AT)) as number;
            await tx.record({ kind: "note.created", personId: 1, resourceId: noteId, resource: {} });
            throw new Error("changed my mind");
          }),
          /changed my mind/,
        );
        assert.deepEqual(happened, []);
        assert.equal((await changesAfter(store, 0, 1000)).rows.length, before);
        assert.equal(await findNote(store, 1, noteId), undefined);
      }));

    test("a transaction that records nothing announces nothing", () =>
      withUnitOfWork(engine, async (unit, happened) => {
        assert.equal(
          await unit.transaction(async (tx) => insertNote(tx, 1, "unrecorded", AT).then(() => "done")),
          "done",
        );
        assert.deepEqual(happened, ["committed"]);
      }));

    test("a change cannot be recorded once its transaction has ended", () =>
      withUnitOfWork(engine, async (unit, happened) => {
        const leaked = await unit.transaction(async (tx) => tx);
        await assert.rejects(
          leaked.record({ kind: "note.deleted", personId: 1, resourceId: 1, resource: {} }),
          /transaction has ended/,
        );
        assert.deepEqual(happened, ["committed"]);
      }));
  });
}
