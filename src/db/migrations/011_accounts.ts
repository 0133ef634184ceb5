import { type ColumnDefinitionBuilder, type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/**
 * Accounts, their sessions and their invites. An account is a person's (or, with no person, an
 * admin's) way to sign in: its name is compared by its key, as people's names are; its password is
 * kept only as a scrypt hash with its parameters. A session and an invite are known by the SHA-256
 * of their random secret only. A person's account goes when the person does, and an account's
 * sessions and invites go with it.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    const sqlite = engine === "sqlite";
    const id = sqlite ? "integer" : "bigint";
    const time = sqlite ? "text" : "timestamptz(3)";
    const key = (c: ColumnDefinitionBuilder) =>
      sqlite ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity();
    await db.schema
      .createTable("account")
      .addColumn("account_id", id, key)
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("name_key", "text", (c) => c.notNull().unique())
      .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('admin', 'person')`))
      .addColumn("person_id", id, (c) => c.unique().references("person.person_id").onDelete("cascade"))
      .addColumn("password_hash", "text")
      .addColumn("created_at", time, (c) => c.notNull())
      .addCheckConstraint("account_person_matches_kind", sql`(kind = 'person') = (person_id is not null)`)
      .execute();
    // Whether anyone can sign in is asked on every anonymous write: it reads only such accounts.
    await db.schema
      .createIndex("account_with_password")
      .on("account")
      .column("account_id")
      .where(sql.ref("password_hash"), "is not", null)
      .execute();
    await db.schema
      .createTable("account_session")
      .addColumn("session_id", id, key)
      .addColumn("account_id", id, (c) => c.notNull().references("account.account_id").onDelete("cascade"))
      .addColumn("secret_hash", "text", (c) => c.notNull().unique())
      .addColumn("created_at", time, (c) => c.notNull())
      .addColumn("last_seen_at", time, (c) => c.notNull())
      .addColumn("expires_at", time, (c) => c.notNull())
      .addColumn("user_agent", "text")
      .addColumn("address", "text")
      .execute();
    await db.schema.createIndex("account_session_account").on("account_session").column("account_id").execute();
    await db.schema
      .createTable("invite")
      .addColumn("invite_id", id, key)
      .addColumn("account_id", id, (c) => c.notNull().references("account.account_id").onDelete("cascade"))
      .addColumn("secret_hash", "text", (c) => c.notNull().unique())
      .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('setup', 'reset')`))
      .addColumn("created_at", time, (c) => c.notNull())
      .addColumn("expires_at", time, (c) => c.notNull())
      .addColumn("used_at", time)
      .execute();
    await db.schema.createIndex("invite_account").on("invite").column("account_id").execute();
  };
}
