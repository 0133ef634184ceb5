import type { Kysely } from "kysely";
import { ConstraintViolation } from "./errors.js";
import { affected, type Executor, prepareQuery } from "./executor.js";
import type { Database, TokenTable } from "./schema.js";

export type TokenRow = Omit<TokenTable, "token_id" | "secret_hash"> & { token_id: number };

export interface NewToken {
  prefix: string;
  secretHash: string;
  name: string;
  kind: TokenTable["kind"];
  personId: number | null;
  createdAt: string;
  expiresAt: string | null;
}

/** The person a person token was to be bound to does not exist. */
export type NoSuchPerson = "no-such-person";

const columns = [
  "token_id",
  "prefix",
  "name",
  "kind",
  "person_id",
  "created_at",
  "last_used_at",
  "expires_at",
  "revoked_at",
] as const;

const insert = prepareQuery(
  (
    db,
    prefix: string,
    secretHash: string,
    name: string,
    kind: TokenTable["kind"],
    personId: number | null,
    createdAt: string,
    expiresAt: string | null,
  ) =>
    db
      .insertInto("token")
      .values({
        prefix,
        secret_hash: secretHash,
        name,
        kind,
        person_id: personId,
        created_at: createdAt,
        expires_at: expiresAt,
      })
      .returning(columns),
);
const usable = prepareQuery((db, secretHash: string, now: string) =>
  db
    .selectFrom("token")
    .select(columns)
    .where("secret_hash", "=", secretHash)
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)])),
);
/** Tokens neither revoked nor expired at `now`. */
const usableAt = (db: Kysely<Database>, now: string) =>
  db
    .selectFrom("token")
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]));
const unexpired = (db: Kysely<Database>, now: string) => usableAt(db, now).select("token_id").limit(1);
const usableCount = prepareQuery((db, now: string) =>
  usableAt(db, now).select((eb) => eb.fn.countAll<number | string>().as("count")),
);
const anyUsable = prepareQuery((db, now: string) => unexpired(db, now));
const anyUsableAdmin = prepareQuery((db, now: string) => unexpired(db, now).where("kind", "=", "admin"));
// One statement for what a write without credentials asks on every request (AccessControl.isOn).
const anyCredentialQuery = prepareQuery((db, now: string) =>
  db.selectNoFrom((eb) =>
    eb
      .or([
        eb.exists(unexpired(db, now)),
        eb.exists(db.selectFrom("account").select("account_id").where("password_hash", "is not", null)),
        // Read from the account index, so the answer never reads a passkey row.
        eb.exists(db.selectFrom("passkey").select("account_id")),
      ])
      .as("any"),
  ),
);
const all = prepareQuery((db) => db.selectFrom("token").select(columns).orderBy("token_id"));
const ofPerson = prepareQuery((db, personId: number) =>
  db.selectFrom("token").select(columns).where("person_id", "=", personId).orderBy("token_id"),
);
const byId = prepareQuery((db, tokenId: number) =>
  db.selectFrom("token").select(columns).where("token_id", "=", tokenId),
);
const revoke = prepareQuery((db, tokenId: number, now: string) =>
  db.updateTable("token").set({ revoked_at: now }).where("token_id", "=", tokenId).where("revoked_at", "is", null),
);
/** At most one write a minute per token: last use is for people, not for accounting. */
const touch = prepareQuery((db, tokenId: number, now: string, staleBefore: string) =>
  db
    .updateTable("token")
    .set({ last_used_at: now })
    .where("token_id", "=", tokenId)
    .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<", staleBefore)])),
);

export async function insertToken(ex: Executor, token: NewToken): Promise<TokenRow | NoSuchPerson> {
  try {
    const row = await insert.first(
      ex,
      token.prefix,
      token.secretHash,
      token.name,
      token.kind,
      token.personId,
      token.createdAt,
      token.expiresAt,
    );
    if (row === undefined) throw new Error("the insert returned no row");
    return row;
  } catch (error) {
    if (error instanceof ConstraintViolation && error.kind === "foreign-key") return "no-such-person";
    throw error;
  }
}

/** The token with this hash, if it is neither revoked nor expired at `now`. */
export function findUsableToken(ex: Executor, secretHash: string, now: string): Promise<TokenRow | undefined> {
  return usable.first(ex, secretHash, now);
}

/** Whether any token (or any admin token) could be used at `now`. */
export async function anyUsableToken(ex: Executor, now: string, kind?: "admin"): Promise<boolean> {
  const query = kind === "admin" ? anyUsableAdmin : anyUsable;
  return (await query.first(ex, now)) !== undefined;
}

/**
 * Whether any token could be used at `now`, or any account can sign in (it has a password or a
 * passkey), asked in one statement.
 */
export async function anyCredential(ex: Executor, now: string): Promise<boolean> {
  return Boolean((await anyCredentialQuery.first(ex, now))?.any);
}

/** How many tokens could be used at `now`. */
export async function countUsableTokens(ex: Executor, now: string): Promise<number> {
  return Number((await usableCount.first(ex, now))?.count ?? 0);
}

export async function listTokens(ex: Executor): Promise<TokenRow[]> {
  return (await all.run(ex)).rows;
}

export async function listTokensOfPerson(ex: Executor, personId: number): Promise<TokenRow[]> {
  return (await ofPerson.run(ex, personId)).rows;
}

export function findToken(ex: Executor, tokenId: number): Promise<TokenRow | undefined> {
  return byId.first(ex, tokenId);
}

/** False when there is no such token, or it was revoked already. */
export async function revokeToken(ex: Executor, tokenId: number, now: string): Promise<boolean> {
  return affected(await revoke.run(ex, tokenId, now)) > 0;
}

export async function recordTokenUse(ex: Executor, tokenId: number, now: string, staleBefore: string): Promise<void> {
  await touch.run(ex, tokenId, now, staleBefore);
}
