import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/**
 * Webhook endpoints and their recent delivery attempts. An endpoint keeps its own position in the
 * change feed (`position`: the last revision sent or passed over), so whichever process delivers
 * next carries on from there; `lease_owner` and `lease_until` (milliseconds since the epoch, on
 * the database's clock) let one process at a time deliver for it. The secret is kept as the
 * receivers hold it, since every delivery is signed with it (docs/decisions.md, "Webhooks").
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    const sqlite = engine === "sqlite";
    const id = sqlite ? "integer" : "bigint";
    const time = sqlite ? "text" : "timestamptz(3)";
    await db.schema
      .createTable("webhook")
      .addColumn("webhook_id", id, (c) =>
        sqlite ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn("url", "text", (c) => c.notNull())
      .addColumn("events", "text", (c) => c.notNull())
      .addColumn("person_id", id)
      .addColumn("enabled", "integer", (c) => c.notNull().check(sql`enabled in (0, 1)`))
      .addColumn("disabled_reason", "text")
      .addColumn("secret", "text", (c) => c.notNull())
      .addColumn("previous_secret", "text")
      .addColumn("previous_secret_expires_at", time)
      .addColumn("position", id, (c) => c.notNull())
      .addColumn("failed_attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("failing_since", time)
      .addColumn("next_attempt_at", time)
      .addColumn("lease_owner", "text")
      .addColumn("lease_until", id)
      .addColumn("created_at", time, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("webhook_delivery")
      .addColumn("delivery_id", id, (c) =>
        sqlite ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn("webhook_id", id, (c) => c.notNull().references("webhook.webhook_id").onDelete("cascade"))
      .addColumn("revision", id, (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull().check(sql`outcome in ('delivered', 'failed', 'skipped')`))
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("attempted_at", time, (c) => c.notNull())
      .addColumn("response_status", "integer")
      .addColumn("duration_ms", "integer", (c) => c.notNull())
      .addColumn("error", "text")
      .execute();
    await db.schema
      .createIndex("webhook_delivery_recent")
      .on("webhook_delivery")
      .columns(["webhook_id", "delivery_id"])
      .execute();
  };
}
