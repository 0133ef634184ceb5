import assert from "node:assert/strict";
import { test } from "node:test";
import type { CompiledQuery } from "kysely";
import { prepareDatabase } from "../../src/db/setup.js";
import { PeopleService } from "../../src/domain/people.js";
import { batchedReads } from "../../src/domain/read-batches.js";
import { createDatabase } from "../support/app.js";
import { recording } from "../support/recording.js";

/** A load whose batches are recorded and answer only when the test says so. */
function controlledLoad() {
  const batches: { keys: readonly number[]; answer: () => void; fail: (error: Error) => void }[] = [];
  const load = (keys: readonly number[]) =>
    new Promise<Map<number, string>>((resolve, reject) => {
      batches.push({
        keys,
        answer: () => resolve(new Map(keys.filter((key) => key > 0).map((key) => [key, `item ${key}`]))),
        fail: reject,
      });
    });
  return { batches, load };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test("reads asked for together go out as one batch, and each gets its own item", { timeout: 5_000 }, async () => {
  const { batches, load } = controlledLoad();
  const read = batchedReads(load, { inFlight: 1, maxBatch: 100 });
  const reads = Promise.all([read(1), read(2), read(-5), read(2)]);
  await turn();
  assert.deepEqual(
    batches.map((batch) => batch.keys),
    [[1, 2, -5, 2]],
  );
  batches[0]?.answer();
  assert.deepEqual(await reads, ["item 1", "item 2", undefined, "item 2"]);
});

test("while every batch is out, new reads wait and go together", { timeout: 5_000 }, async () => {
  const { batches, load } = controlledLoad();
  const read = batchedReads(load, { inFlight: 2, maxBatch: 100 });
  const first = read(1);
  await turn();
  const second = read(2);
  await turn();
  const waiting = [read(3), read(4)];
  await turn();
  const later = read(5);
  await turn();
  assert.equal(batches.length, 2, "a third batch left while two were out");
  batches[1]?.answer();
  assert.equal(await second, "item 2");
  await turn();
  assert.deepEqual(
    batches.map((batch) => batch.keys),
    [[1], [2], [3, 4, 5]],
  );
  batches[0]?.answer();
  batches[2]?.answer();
  assert.deepEqual(await Promise.all([first, ...waiting, later]), ["item 1", "item 3", "item 4", "item 5"]);
});

test("a batch never holds more than its limit", { timeout: 5_000 }, async () => {
  const { batches, load } = controlledLoad();
  const read = batchedReads(load, { inFlight: 10, maxBatch: 3 });
  const reads = Promise.all([1, 2, 3, 4, 5, 6, 7].map((key) => read(key)));
  await turn();
  assert.deepEqual(
    batches.map((batch) => batch.keys),
    [[1, 2, 3], [4, 5, 6], [7]],
  );
  for (const batch of batches) batch.answer();
  assert.equal((await reads).length, 7);
});

test("a batch that fails fails every read in it, and the next batch goes out", { timeout: 5_000 }, async () => {
  const { batches, load } = controlledLoad();
  const read = batchedReads(load, { inFlight: 1, maxBatch: 100 });
  const failed = [read(1), read(2)].map((pending) =>
    pending.then(
      () => "answered",
      (error: Error) => error.message,
    ),
  );
  await turn();
  const next = read(3);
  batches[0]?.fail(new Error("the database is away"));
  assert.deepEqual(await Promise.all(failed), ["the database is away", "the database is away"]);
  await turn();
  assert.deepEqual(batches[1]?.keys, [3]);
  batches[1]?.answer();
  assert.equal(await next, "item 3");
});

test("people read at once by many requests cost the database one batch", { timeout: 30_000 }, async (t) => {
  const database = await createDatabase("sqlite");
  t.after(() => database.destroy());
  await prepareDatabase(database.store);
  const recorded: CompiledQuery[] = [];
  const people = new PeopleService(recording(database.store, recorded));
  const read = await Promise.all([1, 2, 3, 1, 2, 3].map((id) => people.read(id)));
  assert.deepEqual(
    read.map((person) => person.value.person_id),
    [1, 2, 3, 1, 2, 3],
  );
  assert.equal(recorded.length, 2, "one statement for the people and one for their notes");
});
