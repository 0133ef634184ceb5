import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { type AccountRow, findAccount, lockAccount } from "../db/accounts-repository.js";
import type { UnitOfWork } from "../db/executor.js";
import {
  type ChallengeRow,
  deleteExpiredChallengeRows,
  deletePasskey,
  findPasskey,
  insertChallenge,
  insertPasskey,
  listPasskeys,
  type PasskeyRow,
  recordPasskeyUse,
  renamePasskey,
  takeChallenge,
} from "../db/passkeys-repository.js";
import type { AccountService, Client, StartedSession } from "./accounts.js";
import { badRequest, conflict, notFound, ProblemError } from "./errors.js";

/** A ceremony's challenge lives this long: enough to touch a key, not to be kept. */
const CHALLENGE_MS = 5 * 60_000;

/** Who the passkeys are for (W3C WebAuthn §5.1.2): the host of `PUBLIC_URL`, and its exact origin. */
export interface RelyingParty {
  id: string;
  origin: string;
}

export type PasskeyPurpose = "sign_in" | "register";

export type { PasskeyRow };

/** Ceremony options, as JSON for the browser. */
export interface CeremonyOptions {
  challenge_id: number;
  options: Record<string, unknown>;
}
const asJson = (options: object) => options as unknown as Record<string, unknown>;

/** What a passkey shows of itself: never its key or credential id. */
export interface PasskeySummary {
  passkey_id: number;
  name: string;
  created_at: string;
  last_used_at: string | null;
}
const summaryOf = ({ passkey_id, name, created_at, last_used_at }: PasskeyRow): PasskeySummary => ({
  passkey_id,
  name,
  created_at,
  last_used_at,
});
const passkeyNotFound = (passkeyId: number) => notFound(`Passkey not found for Id: ${passkeyId}`);

/**
 * @simplewebauthn/server, loaded by the first ceremony: with the ASN.1 and X.509 modules it loads,
 * importing it took about half of the CPU of importing the whole app, which every server process,
 * cluster worker and test app paid whether or not anyone ever used a passkey.
 */
let webauthnLibrary: Promise<typeof import("@simplewebauthn/server")> | undefined;
const webauthn = () => {
  webauthnLibrary ??= import("@simplewebauthn/server");
  return webauthnLibrary;
};

const notAccepted = () => new ProblemError(401, "Unauthorized", "The passkey was not accepted");
const notRegistered = (why: string) =>
  badRequest(`The passkey could not be added: ${why}`, [{ in: "body", pointer: "/response", message: why }]);

/**
 * Passkeys: signing in with one (discoverable credentials, so one button and no name typed), and
 * adding one to the signed-in account or to the account an invite is for. Each ceremony's challenge
 * is random, kept server-side, short-lived and used once. Verification is @simplewebauthn/server's.
 */
export class PasskeyService {
  constructor(
    private readonly store: UnitOfWork,
    private readonly accounts: AccountService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The account's passkeys, oldest first. */
  async list(accountId: number): Promise<PasskeySummary[]> {
    return (await listPasskeys(this.store, accountId)).map(summaryOf);
  }

  /** Renames one of the account's passkeys; 404 for any other. */
  async rename(accountId: number, passkeyId: number, name: string): Promise<PasskeySummary> {
    const row = await renamePasskey(this.store, passkeyId, accountId, name);
    if (!row) throw passkeyNotFound(passkeyId);
    return summaryOf(row);
  }

  /**
   * Removes one of the account's passkeys, unless it is the account's last way in (no password and
   * no other passkey): 409. The account's row is held meanwhile, so two removals at once cannot
   * each leave the other's passkey as the last and both go.
   */
  async remove(accountId: number, passkeyId: number): Promise<void> {
    await this.store.transaction(async (tx) => {
      const account = await lockAccount(tx, accountId);
      const passkeys = await listPasskeys(tx, accountId);
      if (!account || !passkeys.some((passkey) => passkey.passkey_id === passkeyId)) {
        throw passkeyNotFound(passkeyId);
      }
      if (account.password_hash === null && passkeys.length === 1) {
        throw conflict("This is the account's only way to sign in: set a password or add another passkey first");
      }
      await deletePasskey(tx, passkeyId, accountId);
    });
  }

  /** Options for the browser's `navigator.credentials.get()`: any of this site's passkeys. */
  async signInOptions(rp: RelyingParty): Promise<CeremonyOptions> {
    const { generateAuthenticationOptions } = await webauthn();
    const options = await generateAuthenticationOptions({ rpID: rp.id, userVerification: "preferred" });
    const challenge = await this.#remember(options.challenge, "sign_in", null, null);
    return { challenge_id: challenge, options: asJson(options) };
  }

  /**
   * Options for `navigator.credentials.create()`, for the signed-in account, or for the account of
   * an unused, unexpired invite (which is used only when the passkey is verified).
   */
  async registerOptions(
    rp: RelyingParty,
    target: { account?: AccountRow; inviteCode?: string },
  ): Promise<CeremonyOptions> {
    const invite = target.inviteCode === undefined ? undefined : await this.accounts.usableInvite(target.inviteCode);
    if (target.inviteCode !== undefined && !invite) throw this.accounts.unusableInvite();
    const account = invite?.account ?? target.account;
    if (!account) throw new ProblemError(401, "Unauthorized", "Sign in, or use an invite, to add a passkey");
    const existing = await listPasskeys(this.store, account.account_id);
    const { generateRegistrationOptions } = await webauthn();
    const options = await generateRegistrationOptions({
      rpName: "People & Notes",
      rpID: rp.id,
      userName: account.name,
      userID: new TextEncoder().encode(String(account.account_id)),
      attestationType: "none",
      excludeCredentials: existing.map((passkey) => ({
        id: passkey.credential_id,
        transports: passkey.transports ? passkey.transports.split(",") : [],
      })),
      authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
    });
    const challenge = await this.#remember(
      options.challenge,
      "register",
      account.account_id,
      invite?.secretHash ?? null,
    );
    return { challenge_id: challenge, options: asJson(options) };
  }

  /**
   * Finishes the ceremony the challenge was made for: signs in, or adds the passkey. The challenge
   * is gone afterwards whatever the outcome. `started` is the new session, when there is one.
   */
  async verify(
    challengeId: number,
    response: unknown,
    name: string,
    rp: RelyingParty,
    client: Client,
  ): Promise<{ started: StartedSession | undefined }> {
    const challenge = await takeChallenge(this.store, challengeId);
    if (!challenge || challenge.expires_at <= this.now().toISOString()) {
      throw badRequest("The challenge is unknown, used or expired: start again", [
        { in: "body", pointer: "/challenge_id", message: "is unknown, used or expired" },
      ]);
    }
    if (challenge.purpose === "sign_in") return { started: await this.#signIn(challenge, response, rp, client) };
    return { started: await this.#register(challenge, response, name, rp, client) };
  }

  /** Signs in with the passkey the response was made with; the same 401 for any failure. */
  async #signIn(challenge: ChallengeRow, response: unknown, rp: RelyingParty, client: Client): Promise<StartedSession> {
    const credentialId = (response as { id?: unknown } | null)?.id;
    if (typeof credentialId !== "string") throw notAccepted();
    const passkey = await findPasskey(this.store, credentialId);
    if (!passkey) throw notAccepted();
    const { verifyAuthenticationResponse } = await webauthn();
    let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verified = await verifyAuthenticationResponse({
        response: response as AuthenticationResponseJSON,
        expectedChallenge: challenge.challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        credential: {
          id: passkey.credential_id,
          publicKey: Buffer.from(passkey.public_key, "base64url"),
          counter: passkey.sign_count,
          transports: passkey.transports ? passkey.transports.split(",") : [],
        },
        requireUserVerification: false,
      });
    } catch {
      throw notAccepted();
    }
    if (!verified.verified) throw notAccepted();
    const account = await findAccount(this.store, passkey.account_id);
    if (!account) throw notAccepted();
    return this.store.transaction(async (tx) => {
      await recordPasskeyUse(tx, passkey.passkey_id, verified.authenticationInfo.newCounter, this.now().toISOString());
      return this.accounts.startSession(tx, account, client);
    });
  }

  /**
   * Adds the passkey the response made to the challenge's account. Through an invite, the invite is
   * used (a reset first removes the account's password and passkeys and ends its sessions) and
   * the answer is a new session; for the signed-in account, nothing more.
   */
  async #register(
    challenge: ChallengeRow,
    response: unknown,
    name: string,
    rp: RelyingParty,
    client: Client,
  ): Promise<StartedSession | undefined> {
    if (challenge.account_id === null) throw notRegistered("the challenge is for no account");
    const { verifyRegistrationResponse } = await webauthn();
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON,
        expectedChallenge: challenge.challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        requireUserVerification: false,
      });
    } catch (error) {
      throw notRegistered(error instanceof Error ? error.message : "the response is not valid");
    }
    if (!verified.verified) throw notRegistered("the response is not valid");
    const { credential } = verified.registrationInfo;
    const accountId = challenge.account_id;
    return this.store.transaction(async (tx) => {
      const account = challenge.invite_hash
        ? await this.accounts.useInviteFor(tx, challenge.invite_hash, accountId)
        : await findAccount(tx, accountId);
      if (!account) throw notRegistered("the invite or the account is gone");
      if (await findPasskey(tx, credential.id)) throw notRegistered("this passkey is added already");
      await insertPasskey(tx, {
        account_id: accountId,
        credential_id: credential.id,
        public_key: Buffer.from(credential.publicKey).toString("base64url"),
        sign_count: credential.counter,
        transports: (credential.transports ?? []).join(","),
        name,
        created_at: this.now().toISOString(),
      });
      return challenge.invite_hash ? this.accounts.startSession(tx, account, client) : undefined;
    });
  }

  async #remember(challenge: string, purpose: PasskeyPurpose, accountId: number | null, inviteHash: string | null) {
    const now = this.now();
    await deleteExpiredChallengeRows(this.store, now.toISOString());
    const row = await insertChallenge(this.store, {
      challenge,
      purpose,
      account_id: accountId,
      invite_hash: inviteHash,
      expires_at: new Date(now.getTime() + CHALLENGE_MS).toISOString(),
    });
    return row.challenge_id;
  }
}
