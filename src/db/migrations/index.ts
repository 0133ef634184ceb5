import { type Kysely, type Migration, sql } from "kysely";
import type { Engine } from "../schema.js";
import * as initial from "./001_initial.js";
import * as versions from "./002_versions_and_slotted_counts.js";
import * as identity from "./003_cheaper_identity_check.js";
import * as folded from "./004_note_counts_folded.js";
import * as tokens from "./005_tokens.js";
import * as tokenLookup from "./006_token_lookup.js";
import * as noteSearch from "./007_note_search.js";
import * as changeFeed from "./008_change_feed.js";
import * as noteSearchWords from "./009_note_search_words.js";
import * as changeResource from "./010_change_resource.js";
import * as accounts from "./011_accounts.js";
import * as passkeys from "./012_passkeys.js";
import * as noteSearchText from "./013_note_search_text.js";
import * as noteHistory from "./014_note_history.js";
import * as trash from "./015_trash.js";
import * as webhooks from "./016_webhooks.js";

/** Numbered migrations, in order. Each one is written once and branches on the engine only where SQL differs. */
export function migrations(engine: Engine): Record<string, Migration> {
  const steps = {
    "001_initial": initial.up(engine),
    "002_versions_and_slotted_counts": versions.up(engine),
    "003_cheaper_identity_check": identity.up(engine),
    "004_note_counts_folded": folded.up(engine),
    "005_tokens": tokens.up(engine),
    "006_token_lookup": tokenLookup.up(engine),
    "007_note_search": noteSearch.up(engine),
    "008_change_feed": changeFeed.up(engine),
    "009_note_search_words": noteSearchWords.up(engine),
    "010_change_resource": changeResource.up(engine),
    "011_accounts": accounts.up(engine),
    "012_passkeys": passkeys.up(engine),
    "013_note_search_text": noteSearchText.up(engine),
    "014_note_history": noteHistory.up(engine),
    "015_trash": trash.up(engine),
    "016_webhooks": webhooks.up(engine),
  };
  return Object.fromEntries(
    Object.entries(steps).map(([name, up]) => [name, { up: engine === "postgres" ? withoutStatementTimeout(up) : up }]),
  );
}

/** A migration may rewrite a large table; it runs in its own transaction, which alone lifts the request deadline. */
function withoutStatementTimeout(up: (db: Kysely<unknown>) => Promise<void>) {
  return async (db: Kysely<unknown>) => {
    await sql`set local statement_timeout = 0`.execute(db);
    await up(db);
  };
}
