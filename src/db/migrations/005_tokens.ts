import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/**
 * Access tokens. Only a hash of each secret is kept; the public prefix tells tokens apart in
 * lists and logs. A person's tokens go when the person does.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    const sqlite = engine === "sqlite";
    const id = sqlite ? "integer" : "bigint";
    const time = sqlite ? "text" : "timestamptz(3)";
    await db.schema
      .createTable("token")
      .addColumn("token_id", id, (c) =>
        sqlite ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn("prefix", "text", (c) => c.notNull().unique())
      .addColumn("secret_hash", "text", (c) => c.notNull().unique())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('admin', 'person')`))
      .addColumn("person_id", id, (c) => c.references("person.person_id").onDelete("cascade"))
      .addColumn("created_at", time, (c) => c.notNull())
      .addColumn("last_used_at", time)
      .addColumn("expires_at", time)
      .addColumn("revoked_at", time)
      .addCheckConstraint("token_person_matches_kind", sql`(kind = 'person') = (person_id is not null)`)
      .execute();
    await db.schema.createIndex("token_person").on("token").column("person_id").execute();
  };
}
