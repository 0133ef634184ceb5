import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sql } from "kysely";
import type { Store } from "../../src/db/database.js";
import { createDatabase, insertNotes, insertPeople, withAdmin } from "../support/app.js";
import { START_LIMIT_MS } from "../support/limits.js";

// The prepared PostgreSQL databases the tests take are reused within a process
// (test/support/prepared-schemas.ts): a test must find one exactly as a freshly prepared one.

async function schemaOf(store: Store): Promise<string> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db);
  const schema = rows[0]?.schema;
  assert.ok(schema);
  return schema;
}

async function schemaExists(schema: string): Promise<boolean> {
  const { rows } = await withAdmin((client) => client.query("select 1 from pg_namespace where nspname = $1", [schema]));
  return rows.length > 0;
}

/** Everything a test could see of the data: every table's rows, in order. */
async function contents(store: Store): Promise<unknown> {
  const { rows: tables } = await sql<{ name: string }>`
    select tablename as name from pg_tables where schemaname = current_schema() order by tablename`.execute(store.db);
  const result: Record<string, unknown> = {};
  for (const { name } of tables) {
    const { rows } = await sql<{ rows: unknown }>`
      select coalesce(json_agg(t order by t::text), '[]') as rows from ${sql.table(name)} as t`.execute(store.db);
    result[name] = rows[0]?.rows;
  }
  return result;
}

/** The ids the next person and note get. */
async function nextIds(store: Store): Promise<{ person: number; note: number }> {
  await insertPeople(store, [["Next", "In Line"]]);
  const person = await store.db
    .selectFrom("person")
    .select("person_id")
    .where("lname", "=", "In Line")
    .executeTakeFirstOrThrow();
  await insertNotes(store, person.person_id, ["2021-01-01T00:00:00.000Z"]);
  const note = await store.db
    .selectFrom("note")
    .select("note_id")
    .where("person_id", "=", person.person_id)
    .executeTakeFirstOrThrow();
  return { person: person.person_id, note: note.note_id };
}

describe("prepared PostgreSQL test databases", () => {
  test("one given back comes to the next test as it was prepared: the same rows, the same next ids", async () => {
    const first = await createDatabase("postgres", undefined, { prepared: true });
    const schema = await schemaOf(first.store);
    const prepared = await contents(first.store);
    try {
      // A test's writes: rows added, changed and deleted, in tables with triggers and sequences.
      await insertPeople(first.store, [["Left", "Behind"]]);
      await first.store.db.updateTable("person").set({ fname: "Renamed" }).where("person_id", "=", 1).execute();
      await first.store.db.deleteFrom("note").where("note_id", "=", 1).execute();
      await nextIds(first.store);
    } finally {
      await first.destroy();
    }

    const second = await createDatabase("postgres", undefined, { prepared: true });
    const fresh = await createDatabase("postgres", undefined, { prepared: true });
    try {
      assert.equal(await schemaOf(second.store), schema, "the schema given back is taken again");
      assert.notEqual(await schemaOf(fresh.store), schema);
      assert.deepEqual(await contents(second.store), prepared);
      assert.deepEqual(await nextIds(second.store), await nextIds(fresh.store));
    } finally {
      await Promise.all([second.destroy(), fresh.destroy()]);
    }
  });

  const changes = {
    "a column added": (table: string) => `alter table ${table} add column nickname text`,
    "an index made": (table: string) => `create index person_timestamp on ${table} (timestamp)`,
    "a trigger disabled": (table: string) => `alter table ${table} disable trigger all`,
    "a default changed": (table: string) => `alter table ${table} alter column fname set default 'x'`,
  };
  for (const [change, statement] of Object.entries(changes)) {
    test(`one a test changed (${change}) is dropped, not reused`, async () => {
      const database = await createDatabase("postgres", undefined, { prepared: true });
      const schema = await schemaOf(database.store);
      try {
        await sql.raw(statement(`${schema}.person`)).execute(database.store.db);
      } finally {
        await database.destroy();
      }
      assert.equal(await schemaExists(schema), false);
      const next = await createDatabase("postgres", undefined, { prepared: true });
      try {
        assert.notEqual(await schemaOf(next.store), schema);
      } finally {
        await next.destroy();
      }
    });
  }

  test("those kept are dropped when the process ends", async () => {
    const dir = await mkdtemp(join(tmpdir(), "people-notes-schemas-"));
    try {
      const script = join(dir, "keep.mts");
      const support = fileURLToPath(new URL("../support/app.ts", import.meta.url));
      await writeFile(
        script,
        [
          `import { sql } from ${JSON.stringify(import.meta.resolve("kysely"))};`,
          `import { createDatabase } from ${JSON.stringify(support)};`,
          `const database = await createDatabase("postgres", undefined, { prepared: true });`,
          "const { rows } = await sql`select current_schema() as name`.execute(database.store.db);",
          "await database.destroy();",
          "console.log(rows[0].name);",
        ].join("\n"),
      );
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", script], {
        timeout: START_LIMIT_MS,
      });
      const schema = stdout.trim();
      assert.match(schema, /^t_[0-9a-f]{16}$/);
      assert.equal(await schemaExists(schema), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
