import { createHash, randomBytes } from "node:crypto";
import type { UnitOfWork } from "../db/executor.js";
import { findPerson } from "../db/people-repository.js";
import {
  anyUsableToken,
  findToken,
  findUsableToken,
  insertToken,
  listTokens,
  listTokensOfPerson,
  recordTokenUse,
  revokeToken,
  type TokenRow,
} from "../db/tokens-repository.js";

export type { TokenRow };

import { badRequest, notFound, personNotFound } from "./errors.js";
import { type Caller, mayCreateToken, mayManageToken, permit } from "./policy.js";

/**
 * A token reads `pn_<prefix>_<secret>`: 6 random bytes of public prefix and 32 of secret, both
 * base64url. Only the SHA-256 of the whole token is stored; with 256 random bits a plain hash is
 * as strong as a slow one.
 */
const TOKEN = /^pn_([A-Za-z0-9_-]{8})_([A-Za-z0-9_-]{43})$/;
const LAST_USE_RESOLUTION_MS = 60_000;

export type TokenKind = "admin" | "person";

/** Who a request was made by. */
export interface Principal {
  tokenId: number;
  prefix: string;
  name: string;
  kind: TokenKind;
  /** The person a person token writes for. */
  personId: number | null;
}

export interface NewTokenRequest {
  kind: TokenKind;
  name: string;
  personId?: number;
  expiresAt?: string;
}

export interface CreatedToken {
  /** The whole token: shown once, never stored. */
  token: string;
  row: TokenRow;
}

/** What `tokens.create` asks for. */
export interface TokenInput {
  name: string;
  kind?: TokenKind;
  person_id?: number;
  expires_in_days?: number;
}

const DAY_MS = 86_400_000;
const tokenNotFound = (tokenId: number) => notFound(`Token not found for Id: ${tokenId}`);

const hashOf = (token: string) => createHash("sha256").update(token).digest("hex");

/** The public part of something that looks like a token, for logs; undefined for anything else. */
export function tokenPrefix(token: string): string | undefined {
  return TOKEN.exec(token)?.[1];
}

export const toPrincipal = (row: TokenRow): Principal => ({
  tokenId: row.token_id,
  prefix: row.prefix,
  name: row.name,
  kind: row.kind,
  personId: row.person_id,
});

export class TokenService {
  constructor(
    private readonly store: UnitOfWork,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(request: NewTokenRequest): Promise<CreatedToken> {
    const prefix = randomBytes(6).toString("base64url");
    const token = `pn_${prefix}_${randomBytes(32).toString("base64url")}`;
    const personId = request.kind === "person" ? (request.personId ?? null) : null;
    if (request.kind === "person" && personId === null) throw new Error("a person token needs a person");
    if (personId !== null && !(await findPerson(this.store, personId))) throw personNotFound(personId);
    const row = await insertToken(this.store, {
      prefix,
      secretHash: hashOf(token),
      name: request.name,
      kind: request.kind,
      personId,
      createdAt: this.now().toISOString(),
      expiresAt: request.expiresAt ?? null,
    });
    if (row === "no-such-person") throw personNotFound(personId ?? 0);
    return { token, row };
  }

  /** The principal a presented token stands for, or undefined when it is unknown, revoked or expired. */
  async authenticate(token: string): Promise<Principal | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const now = this.now();
    const row = await findUsableToken(this.store, hashOf(token), now.toISOString());
    if (!row) return undefined;
    const staleBefore = new Date(now.getTime() - LAST_USE_RESOLUTION_MS).toISOString();
    // The row says when it was last recorded: within the resolution there is nothing to write.
    if (row.last_used_at === null || row.last_used_at < staleBefore) {
      await recordTokenUse(this.store, row.token_id, now.toISOString(), staleBefore);
    }
    return toPrincipal(row);
  }

  /** Whether any token could be used now (`admin`: any admin token). */
  anyUsable(kind?: "admin"): Promise<boolean> {
    return anyUsableToken(this.store, this.now().toISOString(), kind);
  }

  list(): Promise<TokenRow[]> {
    return listTokens(this.store);
  }

  /** The tokens the caller may see: a person's own, or every one for an admin. */
  listFor(caller: Caller): Promise<TokenRow[]> {
    return caller.kind === "person" ? listTokensOfPerson(this.store, caller.personId) : listTokens(this.store);
  }

  /** `tokens.create`: a person makes person tokens for themselves; an admin makes any. */
  async createFor(caller: Caller, input: TokenInput): Promise<CreatedToken> {
    const kind = input.kind ?? "person";
    const personId = kind === "admin" ? null : (input.person_id ?? (caller.kind === "person" ? caller.personId : null));
    if (kind === "admin" && input.person_id !== undefined) {
      throw badRequest("An admin token is for no person: leave out person_id", [
        { in: "body", pointer: "/person_id", message: "must be left out for an admin token" },
      ]);
    }
    if (kind === "person" && personId === null) {
      throw badRequest("A person token needs the person it writes for", [
        { in: "body", pointer: "/person_id", message: "is required" },
      ]);
    }
    permit(caller, mayCreateToken(caller, kind, personId), kind === "admin" ? "admin" : "own");
    const expiresAt =
      input.expires_in_days === undefined
        ? undefined
        : new Date(this.now().getTime() + input.expires_in_days * DAY_MS).toISOString();
    return this.create({
      kind,
      name: input.name,
      ...(personId !== null ? { personId } : {}),
      ...(expiresAt ? { expiresAt } : {}),
    });
  }

  /** `tokens.delete`: revokes a token the caller may manage; another's is as if it did not exist. */
  async revokeFor(caller: Caller, tokenId: number): Promise<void> {
    const row = await findToken(this.store, tokenId);
    if (!row || !mayManageToken(caller, row)) throw tokenNotFound(tokenId);
    await this.revoke(tokenId);
  }

  /** False when there is no such token or it was revoked already. */
  revoke(tokenId: number): Promise<boolean> {
    return revokeToken(this.store, tokenId, this.now().toISOString());
  }
}
