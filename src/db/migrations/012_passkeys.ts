import { type ColumnDefinitionBuilder, type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/**
 * Passkeys (WebAuthn credentials) of accounts, and the challenges of ceremonies in progress. A
 * passkey keeps what verifying its signatures takes (its id, COSE public key, signature counter,
 * transports) and what its owner sees (a name, when it was made and last used). A challenge is
 * used once and lives minutes; it says what it is for and, for adding a passkey, to which account
 * (and, when an invite is being used, which invite).
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    const sqlite = engine === "sqlite";
    const id = sqlite ? "integer" : "bigint";
    const time = sqlite ? "text" : "timestamptz(3)";
    const key = (c: ColumnDefinitionBuilder) =>
      sqlite ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity();
    await db.schema
      .createTable("passkey")
      .addColumn("passkey_id", id, key)
      .addColumn("account_id", id, (c) => c.notNull().references("account.account_id").onDelete("cascade"))
      .addColumn("credential_id", "text", (c) => c.notNull().unique())
      .addColumn("public_key", "text", (c) => c.notNull())
      .addColumn("sign_count", id, (c) => c.notNull())
      .addColumn("transports", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("created_at", time, (c) => c.notNull())
      .addColumn("last_used_at", time)
      .execute();
    await db.schema.createIndex("passkey_account").on("passkey").column("account_id").execute();
    await db.schema
      .createTable("passkey_challenge")
      .addColumn("challenge_id", id, key)
      .addColumn("challenge", "text", (c) => c.notNull().unique())
      .addColumn("purpose", "text", (c) => c.notNull().check(sql`purpose in ('sign_in', 'register')`))
      .addColumn("account_id", id, (c) => c.references("account.account_id").onDelete("cascade"))
      .addColumn("invite_hash", "text")
      .addColumn("expires_at", time, (c) => c.notNull())
      .execute();
  };
}
