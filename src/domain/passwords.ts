import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";
import { createRequire } from "node:module";
import { badRequest } from "./errors.js";

/**
 * Passwords are kept as scrypt hashes (NIST SP 800-63B §5.1.1.2; OWASP's password storage
 * parameters): N = 2^17, r = 8, p = 1, 128 MiB and a few hundred milliseconds a hash, a 16-byte
 * random salt per password and a 32-byte hash, stored with their parameters as
 * `scrypt$17$8$1$<salt>$<hash>` (base64url) so they can be raised later without losing the
 * accounts hashed before. Compared in constant time.
 */
export interface ScryptCost {
  log2N: number;
  r: number;
  p: number;
}

export const PASSWORD_COST: ScryptCost = { log2N: 17, r: 8, p: 1 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const STORED = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/** The limits of NIST SP 800-63B: at least 8 characters, at least 64 allowed (here 256). */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
/** How many of the most common passwords (by rank) are refused. */
export const COMMON_PASSWORDS_REFUSED = 10_000;

/**
 * The 10,000 most common passwords of the list zxcvbn ships (@zxcvbn-ts/language-common, drawn
 * from leaked password sets and ranked by frequency), lower-case as the list is. Loaded by the
 * first new password, not by every process that loads the services.
 */
let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  if (!common) {
    const { dictionary } = createRequire(import.meta.url)(
      "@zxcvbn-ts/language-common",
    ) as typeof import("@zxcvbn-ts/language-common");
    common = new Set(dictionary["passwords-common"].slice(0, COMMON_PASSWORDS_REFUSED));
  }
  return common;
}

function hashWith(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** cost.log2N,
    r: cost.r,
    p: cost.p,
    // scrypt needs 128·N·r bytes; Node refuses more than 32 MiB unless told.
    maxmem: 256 * 2 ** cost.log2N * cost.r + 2 ** 20,
  };
  return new Promise((resolve, reject) =>
    scrypt(password, salt, HASH_BYTES, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** The form a password is compared in: NFKC (NIST SP 800-63B §5.1.1.2), nothing else changed. */
export const normalizePassword = (password: string): string => password.normalize("NFKC");

/**
 * Refuses a new password that is too short or too long once normalised, or commonly used: a 400
 * that names the field and says why, and never repeats the password.
 */
export function checkNewPassword(password: string, field: string): string {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  const refuse = (message: string) =>
    badRequest(`${field} ${message}`, [{ in: "body", pointer: `/${field}`, message }]);
  if (length < PASSWORD_MIN_LENGTH) throw refuse(`must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (length > PASSWORD_MAX_LENGTH) throw refuse(`must be at most ${PASSWORD_MAX_LENGTH} characters`);
  if (commonPasswords().has(normalized.toLowerCase())) {
    throw refuse("is one of the most commonly used passwords, which are tried first: choose another");
  }
  return normalized;
}

export class PasswordHasher {
  #dummy: Promise<string> | undefined;

  constructor(private readonly cost: ScryptCost = PASSWORD_COST) {}

  /** The stored form of an (already normalised) password. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await hashWith(password, salt, this.cost);
    const { log2N, r, p } = this.cost;
    return `scrypt$${log2N}$${r}$${p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
  }

  /** Whether the password is the one stored; false for a malformed stored form. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parts = STORED.exec(stored);
    if (!parts) return false;
    const cost = { log2N: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]) };
    const expected = Buffer.from(parts[5] as string, "base64url");
    if (cost.log2N < 10 || cost.log2N > 22 || cost.r < 1 || cost.p < 1 || expected.length !== HASH_BYTES) return false;
    const key = await hashWith(normalizePassword(password), Buffer.from(parts[4] as string, "base64url"), cost);
    return timingSafeEqual(key, expected);
  }

  /**
   * Spends the time a real check takes, for a name that has no password: the answer then takes
   * as long whether the name exists or not. Always false.
   */
  async verifyNothing(password: string): Promise<false> {
    this.#dummy ??= this.hash(randomBytes(18).toString("base64url"));
    await this.verify(password, await this.#dummy);
    return false;
  }
}
