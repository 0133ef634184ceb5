import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Engine } from "../schema.js";

/** "Is there any usable (admin) token?" runs on every anonymous write: it reads this index, not the table. */
export function up(_engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    await db.schema
      .createIndex("token_unrevoked")
      .on("token")
      .columns(["kind", "expires_at"])
      .where(sql.ref("revoked_at"), "is", null)
      .execute();
  };
}
