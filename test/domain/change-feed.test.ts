import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CompiledQuery } from "kysely";
import { pruneChanges, recordChange } from "../../src/db/changes/repository.js";
import type { Executor } from "../../src/db/executor.js";
import { silentLog } from "../../src/db/log.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { ChangeFeed, type FeedEvent } from "../../src/domain/changes.js";
import { DEFAULT_FEED_SETTINGS } from "../../src/domain/settings.js";
import { UnitOfWork } from "../../src/domain/unit-of-work.js";
import { createDatabase, engines, type TestDatabase } from "../support/app.js";
import { eventually } from "../support/eventually.js";

const AT = "2024-01-01T00:00:00.000Z";
/** No timer reads the table during a test: only what a commit sets off does. */
const NO_POLLING = { ...DEFAULT_FEED_SETTINGS, pollMs: 600_000, pruneEveryMs: 600_000 };

/** Another process's change, recorded now (the 24-hour retention would prune one recorded at AT). */
const recordElsewhere = (tx: Executor, content: string) =>
  recordChange(tx, {
    kind: "note.created",
    person_id: 1,
    resource_id: 1,
    data: JSON.stringify({ content }),
    recorded_at: new Date().toISOString(),
  });

/**
 * Three changes of another process, pruned to the newest in the transaction that commits them, so
 * that no feed can read the other two first; resolves to the newest's revision.
 */
function commitPrunedToNewest(database: TestDatabase): Promise<number> {
  return database.store.transaction(async (tx) => {
    let newest = 0;
    for (const content of ["first", "second", "third"]) newest = await recordElsewhere(tx, content);
    assert.equal(await pruneChanges(tx, 1, AT), newest - 1, "the first two are pruned");
    return newest;
  });
}

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

  describe(`the change feed, when pruning takes changes before it reads them (${engine})`, () => {
    test("its listeners get one reload in their place, never a change passed over in silence; then changes again", async () => {
      const database = await createDatabase(engine);
      const feed = new ChangeFeed(database.store, silentLog, { ...NO_POLLING, retention: { changes: 1, hours: 24 } });
      try {
        await prepareDatabase(database.store);
        const heard: Array<[string, number]> = [];
        const subscription = await feed.subscribe(undefined, (events, reload) => {
          if (reload) heard.push(["reload", reload.revision]);
          for (const event of events) heard.push([event.kind, event.revision]);
        });
        const third = await commitPrunedToNewest(database);
        feed.wake();
        await eventually(
          async () => heard.length,
          (count) => count >= 1,
          "the reload",
        );
        assert.deepEqual(heard, [["reload", third]]);

        const fourth = await database.store.transaction((tx) => recordElsewhere(tx, "fourth"));
        feed.wake();
        await eventually(
          async () => heard.length,
          (count) => count >= 2,
          "the next change",
        );
        assert.deepEqual(heard, [
          ["reload", third],
          ["note.created", fourth],
        ]);
        subscription.close();
      } finally {
        await feed.stop();
        await database.destroy();
      }
    });

    test("a reload while a subscription's start is worked out makes that start a reload from past it", async () => {
      const database = await createDatabase(engine);
      /** Run once, just before the next read of the pruning horizon: inside the second subscribe. */
      let beforeHorizon: (() => Promise<void>) | undefined;
      const store = new Proxy(database.store, {
        get(target, key) {
          if (key === "executeQueryFirst") {
            return async <R>(query: CompiledQuery<R>) => {
              const hook = beforeHorizon;
              if (hook && query.sql.includes("feed_horizon")) {
                beforeHorizon = undefined;
                await hook();
              }
              return target.executeQueryFirst(query);
            };
          }
          const value = Reflect.get(target, key, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const feed = new ChangeFeed(store, silentLog, { ...NO_POLLING, retention: { changes: 1, hours: 24 } });
      try {
        await prepareDatabase(database.store);
        const reloads: number[] = [];
        const first = await feed.subscribe(undefined, (_, reload) => {
          if (reload) reloads.push(reload.revision);
        });
        let newest = 0;
        beforeHorizon = async () => {
          newest = await commitPrunedToNewest(database);
          feed.wake();
          await eventually(
            async () => reloads.length,
            (count) => count >= 1,
            "the reload, also told to the listener being added",
          );
        };
        const second = await feed.subscribe(first.revision, () => {});
        assert.equal(beforeHorizon, undefined, "the reload came while the start was worked out");
        assert.deepEqual(
          { reload: second.reload, revision: second.revision, missed: second.missed },
          { reload: true, revision: newest, missed: [] },
        );
        first.close();
        second.close();
      } finally {
        await feed.stop();
        await database.destroy();
      }
    });
  });
}
