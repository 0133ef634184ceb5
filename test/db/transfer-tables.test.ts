/**
 * Every table of the migrated schema, on both engines, is either described for transfer
 * (src/db/transfer/tables.ts) or named there as deliberately not transferred; every column of a
 * described table is in its description. A new table or column cannot be silently left out of
 * export, import and copy.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { migrateToLatest, type Store } from "../../src/db/database.js";
import { seedTutorialData } from "../../src/db/seed.js";
import { insertAll, type Runner } from "../../src/db/transfer/bulk.js";
import { DESCRIBED, NOT_TRANSFERRED, TABLES, TRANSFERRED } from "../../src/db/transfer/tables.js";
import { createDatabase, engines } from "../support/app.js";

/** The schema's tables and their columns (SQLite's own `sqlite_` tables left out). */
async function schemaTables(store: Store): Promise<Map<string, string[]>> {
  const query =
    store.engine === "sqlite"
      ? sql<{ table: string; column: string }>`select m.name as "table", c.name as "column"
          from sqlite_master m join pragma_table_info(m.name) c
          where m.type = 'table' and m.name not like 'sqlite\\_%' escape '\\'`
      : sql<{ table: string; column: string }>`select c.table_name as "table", c.column_name as "column"
          from information_schema.columns c join information_schema.tables t
            on t.table_schema = c.table_schema and t.table_name = c.table_name
          where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'`;
  const tables = new Map<string, string[]>();
  for (const { table, column } of (await query.execute(store.db)).rows) {
    tables.set(table, [...(tables.get(table) ?? []), column]);
  }
  return tables;
}

/** What the descriptions miss: tables in neither list, and columns of described tables not in their description. */
function missing(tables: Map<string, string[]>): string[] {
  const found: string[] = [];
  for (const [table, columns] of [...tables].sort(([a], [b]) => a.localeCompare(b))) {
    const description = DESCRIBED.find((described) => described.name === table);
    if (description === undefined) {
      if (!(table in NOT_TRANSFERRED)) found.push(`table ${table}`);
      continue;
    }
    const known = new Set([
      ...description.columns,
      ...(description.leftToDatabase ?? []),
      ...(description.writtenWith?.columns ?? []),
    ]);
    for (const column of columns.sort()) if (!known.has(column)) found.push(`column ${table}.${column}`);
  }
  return found;
}

test("each transferred table comes after the table it belongs to, which is transferred too", () => {
  const names = TRANSFERRED.map(({ name }) => name as string);
  for (const [index, table] of DESCRIBED.entries()) {
    if (!table.parent || table.carried !== "always") continue;
    const parent = names.indexOf(table.parent.table);
    assert.ok(parent >= 0 && parent < index, `${table.name} comes after ${table.parent.table}`);
  }
});

for (const engine of engines()) {
  describe(`transfer descriptions (${engine})`, () => {
    test("every table of the migrated schema is described, or named as not transferred, with every column", async () => {
      const database = await createDatabase(engine);
      try {
        await migrateToLatest(database.store);
        const tables = await schemaTables(database.store);
        assert.deepEqual(missing(tables), []);
        for (const { name, columns } of DESCRIBED) {
          assert.deepEqual(
            columns.filter((column) => !tables.get(name)?.includes(column)),
            [],
            `${name} has every column its description names`,
          );
        }
        assert.deepEqual(
          DESCRIBED.filter(({ name }) => name in NOT_TRANSFERRED).map(({ name }) => name),
          [],
          "no table is both described and not transferred",
        );
      } finally {
        await database.destroy();
      }
    });

    test("a table or a column added without a description is found and named", async () => {
      const database = await createDatabase(engine);
      try {
        await migrateToLatest(database.store);
        await sql`create table comment (comment_id integer primary key, note_id integer not null, content text)`.execute(
          database.store.db,
        );
        await sql`alter table note add column pinned integer`.execute(database.store.db);
        assert.deepEqual(missing(await schemaTables(database.store)), ["table comment", "column note.pinned"]);
      } finally {
        await database.destroy();
      }
    });

    test("rows written by transfer get the columns their description derives: a note's search text", async () => {
      const database = await createDatabase(engine);
      try {
        const { store } = database;
        await migrateToLatest(store);
        await seedTutorialData(store);
        const write: Runner = async (build) => (await store.db.executeQuery(build(store.db).compile())).rows;
        const content = "Read **the manual** at [docs](https://manual.example.org/guide)";
        const note = { note_id: 900, person_id: 1, content, timestamp: "2024-01-01T00:00:00.000Z", version: 1 };
        await insertAll(write, TABLES.note, [note]);
        const row = await store.db
          .selectFrom("note")
          .select("search_text")
          .where("note_id", "=", 900)
          .executeTakeFirstOrThrow();
        assert.equal(row.search_text, "Read the manual at docs");
      } finally {
        await database.destroy();
      }
    });
  });
}
