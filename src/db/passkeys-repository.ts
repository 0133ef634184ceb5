import { affected, type Executor, prepareQuery } from "./executor.js";
import type { PasskeyChallengeTable, PasskeyTable } from "./schema.js";

export type PasskeyRow = Omit<PasskeyTable, "passkey_id"> & { passkey_id: number };
export type ChallengeRow = Omit<PasskeyChallengeTable, "challenge_id"> & { challenge_id: number };

const passkeyColumns = [
  "passkey_id",
  "account_id",
  "credential_id",
  "public_key",
  "sign_count",
  "transports",
  "name",
  "created_at",
  "last_used_at",
] as const;
const challengeColumns = ["challenge_id", "challenge", "purpose", "account_id", "invite_hash", "expires_at"] as const;

const insertPasskeyQuery = prepareQuery(
  (
    db,
    accountId: number,
    credentialId: string,
    publicKey: string,
    signCount: number,
    transports: string,
    name: string,
    createdAt: string,
  ) =>
    db
      .insertInto("passkey")
      .values({
        account_id: accountId,
        credential_id: credentialId,
        public_key: publicKey,
        sign_count: signCount,
        transports,
        name,
        created_at: createdAt,
      })
      .returning(passkeyColumns),
);
const byCredential = prepareQuery((db, credentialId: string) =>
  db.selectFrom("passkey").select(passkeyColumns).where("credential_id", "=", credentialId),
);
const ofAccount = prepareQuery((db, accountId: number) =>
  db.selectFrom("passkey").select(passkeyColumns).where("account_id", "=", accountId).orderBy("passkey_id"),
);
const renameQuery = prepareQuery((db, passkeyId: number, accountId: number, name: string) =>
  db
    .updateTable("passkey")
    .set({ name })
    .where("passkey_id", "=", passkeyId)
    .where("account_id", "=", accountId)
    .returning(passkeyColumns),
);
const deleteOneQuery = prepareQuery((db, passkeyId: number, accountId: number) =>
  db.deleteFrom("passkey").where("passkey_id", "=", passkeyId).where("account_id", "=", accountId),
);
const recordUse = prepareQuery((db, passkeyId: number, signCount: number, now: string) =>
  db.updateTable("passkey").set({ sign_count: signCount, last_used_at: now }).where("passkey_id", "=", passkeyId),
);
const deleteOfAccount = prepareQuery((db, accountId: number) =>
  db.deleteFrom("passkey").where("account_id", "=", accountId),
);
const insertChallengeQuery = prepareQuery(
  (
    db,
    challenge: string,
    purpose: PasskeyChallengeTable["purpose"],
    accountId: number | null,
    inviteHash: string | null,
    expiresAt: string,
  ) =>
    db
      .insertInto("passkey_challenge")
      .values({ challenge, purpose, account_id: accountId, invite_hash: inviteHash, expires_at: expiresAt })
      .returning(challengeColumns),
);
/** Takes the challenge out: of two uses, one gets it. */
const takeChallengeQuery = prepareQuery((db, challengeId: number) =>
  db.deleteFrom("passkey_challenge").where("challenge_id", "=", challengeId).returning(challengeColumns),
);
const deleteExpiredChallenges = prepareQuery((db, now: string) =>
  db.deleteFrom("passkey_challenge").where("expires_at", "<=", now),
);

export async function insertPasskey(
  ex: Executor,
  passkey: Omit<PasskeyRow, "passkey_id" | "last_used_at">,
): Promise<PasskeyRow> {
  const row = await insertPasskeyQuery.first(
    ex,
    passkey.account_id,
    passkey.credential_id,
    passkey.public_key,
    passkey.sign_count,
    passkey.transports,
    passkey.name,
    passkey.created_at,
  );
  if (row === undefined) throw new Error("the insert returned no row");
  return row;
}

export const findPasskey = (ex: Executor, credentialId: string): Promise<PasskeyRow | undefined> =>
  byCredential.first(ex, credentialId);

export async function listPasskeys(ex: Executor, accountId: number): Promise<PasskeyRow[]> {
  return (await ofAccount.run(ex, accountId)).rows;
}

/** The account's passkey renamed; undefined when the account has no such passkey. */
export const renamePasskey = (
  ex: Executor,
  passkeyId: number,
  accountId: number,
  name: string,
): Promise<PasskeyRow | undefined> => renameQuery.first(ex, passkeyId, accountId, name);

/** True when the account had the passkey and it is gone. */
export async function deletePasskey(ex: Executor, passkeyId: number, accountId: number): Promise<boolean> {
  return affected(await deleteOneQuery.run(ex, passkeyId, accountId)) > 0;
}

export async function recordPasskeyUse(ex: Executor, passkeyId: number, signCount: number, now: string) {
  await recordUse.run(ex, passkeyId, signCount, now);
}

export async function deletePasskeysOf(ex: Executor, accountId: number): Promise<number> {
  return affected(await deleteOfAccount.run(ex, accountId));
}

export async function insertChallenge(
  ex: Executor,
  challenge: Omit<ChallengeRow, "challenge_id">,
): Promise<ChallengeRow> {
  const row = await insertChallengeQuery.first(
    ex,
    challenge.challenge,
    challenge.purpose,
    challenge.account_id,
    challenge.invite_hash,
    challenge.expires_at,
  );
  if (row === undefined) throw new Error("the insert returned no row");
  return row;
}

/** The challenge, now deleted (used once); undefined when it is unknown or was used already. */
export const takeChallenge = (ex: Executor, challengeId: number): Promise<ChallengeRow | undefined> =>
  takeChallengeQuery.first(ex, challengeId);

export async function deleteExpiredChallengeRows(ex: Executor, now: string): Promise<void> {
  await deleteExpiredChallenges.run(ex, now);
}
