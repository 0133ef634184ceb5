import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    const sqlite = engine === "sqlite";
    // Ids are never reused: AUTOINCREMENT on SQLite, an identity sequence on PostgreSQL.
    // Keys use byte order on both engines so that lists sort the same everywhere.
    const key = sqlite ? "text" : sql`text collate "C"`;
    const time = sqlite ? "text" : "timestamptz";
    // Ids go up to 2^53−1 (the contract's maximum); PostgreSQL's integer stops at 2^31−1.
    const id = sqlite ? "integer" : "bigint";

    await db.schema
      .createTable("person")
      .addColumn("person_id", id, (c) =>
        sqlite ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn("fname", "text", (c) => c.notNull())
      .addColumn("lname", "text", (c) => c.notNull())
      .addColumn("fname_key", key as "text", (c) => c.notNull())
      .addColumn("lname_key", key as "text", (c) => c.notNull())
      .addColumn("timestamp", time, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("person_name_unique")
      .on("person")
      .columns(["fname_key", "lname_key"])
      .unique()
      .execute();
    await db.schema
      .createIndex("person_list_order")
      .on("person")
      .columns(["lname_key", "fname_key", "person_id"])
      .execute();

    await db.schema
      .createTable("note")
      .addColumn("note_id", id, (c) =>
        sqlite ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn("person_id", id, (c) => c.notNull().references("person.person_id").onDelete("cascade"))
      .addColumn("content", "text", (c) => c.notNull())
      .addColumn("timestamp", time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex("note_list_order").on("note").columns(["timestamp", "note_id"]).execute();
    await db.schema
      .createIndex("note_person_order")
      .on("note")
      .columns(["person_id", "timestamp", "note_id"])
      .execute();

    await db.schema
      .createTable("counter")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("value", "bigint", (c) => c.notNull())
      .execute();
    await sql`insert into counter (name, value) values ('person', 0), ('note', 0)`.execute(db);

    for (const table of ["person", "note"]) {
      if (sqlite) {
        await sql
          .raw(`create trigger ${table}_count_insert after insert on ${table} begin
                  update counter set value = value + 1 where name = '${table}'; end`)
          .execute(db);
        await sql
          .raw(`create trigger ${table}_count_delete after delete on ${table} begin
                  update counter set value = value - 1 where name = '${table}'; end`)
          .execute(db);
      }
    }
    if (!sqlite) {
      // Statement-level triggers with transition tables: one counter update per statement, not per row.
      await sql`create function count_inserted() returns trigger language plpgsql as $$
        begin
          update counter set value = value + (select count(*) from inserted) where name = tg_table_name;
          return null;
        end $$`.execute(db);
      await sql`create function count_deleted() returns trigger language plpgsql as $$
        begin
          update counter set value = value - (select count(*) from deleted) where name = tg_table_name;
          return null;
        end $$`.execute(db);
      for (const table of ["person", "note"]) {
        await sql
          .raw(`create trigger ${table}_count_insert after insert on ${table}
                  referencing new table as inserted for each statement execute function count_inserted()`)
          .execute(db);
        await sql
          .raw(`create trigger ${table}_count_delete after delete on ${table}
                  referencing old table as deleted for each statement execute function count_deleted()`)
          .execute(db);
      }
    }
  };
}
