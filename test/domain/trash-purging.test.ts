import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Periodic } from "../../src/db/periodic.js";
import { purgeExpired } from "../../src/db/trash-repository.js";
import { type PurgeLog, purgeTrashPeriodically, TrashService } from "../../src/domain/trash.js";
import { engines, startApp, type TestApp } from "../support/app.js";
import { eventually } from "../support/eventually.js";

const INTERVAL_MS = 20;
/** The purger's clock: 30 days of retention put the cutoff at 2020-01-06. */
const NOW = "2020-02-05T00:00:00.000Z";
const RETENTION = { retentionDays: 30 };
const OLDER = "2020-01-01T00:00:00.000Z";
const YOUNGER = "2020-01-20T00:00:00.000Z";

/** A trash whose purges are counted, with what each purged, as the periodic runs finish. */
class CountedTrash extends TrashService {
  readonly purged: number[] = [];
  override async purgeExpired(): Promise<number> {
    const purged = await super.purgeExpired();
    this.purged.push(purged);
    return purged;
  }
}

class RecordingLog implements PurgeLog {
  readonly lines: string[] = [];
  info(fields: object, message: string): void {
    this.lines.push(`${message} ${JSON.stringify(fields)}`);
  }
  warn(_fields: object, message: string): void {
    this.lines.push(message);
  }
}

async function deleteNote(app: TestApp, personId: number, noteId: number, deletedAt: string): Promise<void> {
  const response = await app.inject({ method: "DELETE", url: `/api/people/${personId}/notes/${noteId}` });
  assert.equal(response.statusCode, 204, response.body);
  await app.store.db.updateTable("trash_entry").set({ deleted_at: deletedAt }).where("note_id", "=", noteId).execute();
}

/** The notes in the trash, read from the table: no request is made once the purger runs. */
async function trashedNotes(app: TestApp): Promise<number[]> {
  const rows = await app.store.db.selectFrom("trash_entry").select("note_id").orderBy("note_id").execute();
  return rows.map((row) => Number(row.note_id));
}

/** Waits until `count` more purges than `from` have finished. */
const runsAfter = (trash: CountedTrash, from: number, count: number) =>
  eventually(
    async () => trash.purged.length,
    (runs) => runs >= from + count,
    `${count} purges after ${from}`,
  );

for (const engine of engines()) {
  describe(`the trash purged periodically (${engine})`, () => {
    test("an entry older than the retention goes without any request; a younger one stays", async () => {
      const app = await startApp({ engine });
      const trash = new CountedTrash(app.store, undefined, RETENTION, () => NOW);
      const log = new RecordingLog();
      let purging: Periodic | undefined;
      try {
        await deleteNote(app, 1, 1, OLDER);
        await deleteNote(app, 1, 2, YOUNGER);
        assert.deepEqual(await trashedNotes(app), [1, 2]);

        if (engine === "postgres") {
          // While another process holds the turn to purge, this one's runs skip theirs.
          await app.database.openAnother().transaction(async (tx) => {
            assert.equal(await purgeExpired(tx, OLDER, 0), 0, "the turn taken, nothing purged");
            purging = purgeTrashPeriodically(trash, log, INTERVAL_MS);
            await runsAfter(trash, 0, 3);
            assert.deepEqual(await trashedNotes(app), [1, 2]);
          });
          assert.deepEqual(log.lines, []);
        } else {
          purging = purgeTrashPeriodically(trash, log, INTERVAL_MS);
        }
        await eventually(
          () => trashedNotes(app),
          (notes) => notes.length < 2,
          "the older entry purged",
        );
        // Later runs find nothing more to purge: the younger entry is within the retention.
        await runsAfter(trash, trash.purged.length, 3);
        assert.deepEqual(await trashedNotes(app), [2]);
        assert.equal(
          trash.purged.reduce((sum, purged) => sum + purged, 0),
          1,
        );
        assert.deepEqual(log.lines, ['purged expired entries of the trash {"purged":1}']);
      } finally {
        purging?.stop();
        await app.close();
      }
    });
  });
}
