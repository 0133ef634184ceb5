import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { recordChange } from "../../src/db/changes/repository.js";
import { silentLog } from "../../src/db/log.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { ChangeFeed, type FeedEvent } from "../../src/domain/changes.js";
import { DEFAULT_FEED_SETTINGS } from "../../src/domain/settings.js";
import { UnitOfWork } from "../../src/domain/unit-of-work.js";
import { createDatabase, engines } from "../support/app.js";
import { eventually } from "../support/eventually.js";

const AT = "2024-01-01T00:00:00.000Z";
/** No timer reads the table during a test: only what a commit sets off does. */
const NO_POLLING = { ...DEFAULT_FEED_SETTINGS, pollMs: 600_000, pruneEveryMs: 600_000 };

for (const engine of engines()) {
  describe(`the change feed, told of its own commits (${engine})`, () => {
    test("a change committed here reaches listeners once, in revision order, also behind one committed elsewhere", async () => {
      const database = await createDatabase(engine);
      const feed = new ChangeFeed(database.store, silentLog, NO_POLLING);
      try {
        await prepareDatabase(database.store);
        const heard: FeedEvent[] = [];
        const subscription = await feed.subscribe(undefined, (events) => heard.push(...events));
        const unit = new UnitOfWork(database.store, feed, () => AT);
        const write = (content: string) =>
          unit.transaction((tx) =>
            tx.record({ kind: "note.created", personId: 1, resourceId: 1, resource: { content } }),
          );

        await write("here, first");
        // Another process's change: committed, and nobody here told of it.
        const elsewhere = await database.store.transaction((tx) =>
          recordChange(tx, {
            kind: "note.created",
            person_id: 1,
            resource_id: 1,
            data: JSON.stringify({ content: "elsewhere" }),
            recorded_at: AT,
          }),
        );
        await write("here, second");
        await write("here, third");

        await eventually(
          async () => heard.length,
          (count) => count >= 4,
          "four changes",
        );
        assert.deepEqual(
          heard.map((event) => JSON.parse(event.data).content),
          ["here, first", "elsewhere", "here, second", "here, third"],
        );
        const revisions = heard.map((event) => event.revision);
        assert.deepEqual(
          revisions,
          revisions.map((_, i) => subscription.revision + 1 + i),
          "every revision once, in order",
        );
        assert.equal(revisions[1], elsewhere);
        assert.deepEqual(
          { kind: heard[0]?.kind, personId: heard[0]?.personId, resourceId: heard[0]?.resourceId },
          { kind: "note.created", personId: 1, resourceId: 1 },
        );
        subscription.close();
      } finally {
        await feed.stop();
        await database.destroy();
      }
    });
  });
}
