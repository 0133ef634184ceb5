import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/browser";
import {
  type AccountSession,
  type AccountState,
  ApiError,
  api,
  type CreatedToken,
  type Invite,
  type InviteKind,
  type Passkey,
  type Token,
  type TokenInput,
  unwrap,
} from "./api.js";
import { bearer } from "./token.js";

/**
 * Who the request stands for and whether writes need anyone; with `token`, who that token stands
 * for. A refused token is an ApiError with status 401.
 */
export async function readAccount(token?: string): Promise<AccountState> {
  const headers = token === undefined ? {} : { authorization: bearer(token) };
  return unwrap(await api.GET("/account", { headers }));
}

export async function signInWithPassword(name: string, password: string): Promise<AccountState> {
  return unwrap(await api.POST("/account/sign-in", { body: { name, password } }));
}

export async function signOut(): Promise<void> {
  unwrap(await api.POST("/account/sign-out"));
}

/**
 * The browser's passkey prompts. @simplewebauthn/browser is loaded only when a passkey is used, so
 * the pages that need none do not carry it.
 */
const webauthn = () => import("@simplewebauthn/browser");

/** Why a passkey prompt gave nothing, in words a person can act on. */
function passkeyFailure(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const name = error instanceof Error ? error.name : "";
  if (name === "NotAllowedError" || name === "AbortError") {
    return new ApiError("No passkey was used: the prompt was closed or timed out. Try again.", undefined);
  }
  if (name === "InvalidStateError") return new ApiError("This passkey is added already.", undefined);
  return new ApiError("This browser could not use a passkey here.", undefined);
}

/** One button: the browser offers this site's passkeys, and the one chosen signs in. */
export async function signInWithPasskey(): Promise<AccountState> {
  const { challenge_id, options } = unwrap(
    await api.POST("/account/passkey/options", { body: { purpose: "sign_in" } }),
  );
  let response: object;
  try {
    const { startAuthentication } = await webauthn();
    response = await startAuthentication({
      optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON,
    });
  } catch (error) {
    throw passkeyFailure(error);
  }
  return unwrap(await api.POST("/account/passkey/verify", { body: { challenge_id, response: { ...response } } }));
}

/**
 * Makes a passkey and adds it: to the signed-in account, or with `code` to the invite's account
 * (which signs in). `name` is what the person calls it.
 */
export async function addPasskey(name: string, code?: string): Promise<AccountState> {
  const body = code === undefined ? { purpose: "register" as const } : { purpose: "register" as const, code };
  const { challenge_id, options } = unwrap(await api.POST("/account/passkey/options", { body }));
  let response: object;
  try {
    const { startRegistration } = await webauthn();
    response = await startRegistration({
      optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON,
    });
  } catch (error) {
    throw passkeyFailure(error);
  }
  return unwrap(await api.POST("/account/passkey/verify", { body: { challenge_id, response: { ...response }, name } }));
}

export async function listPasskeys(): Promise<Passkey[]> {
  return unwrap(await api.GET("/account/passkeys"));
}

export async function renamePasskey(passkeyId: number, name: string): Promise<Passkey> {
  return unwrap(
    await api.PUT("/account/passkeys/{passkey_id}", { params: { path: { passkey_id: passkeyId } }, body: { name } }),
  );
}

export async function removePasskey(passkeyId: number): Promise<void> {
  unwrap(await api.DELETE("/account/passkeys/{passkey_id}", { params: { path: { passkey_id: passkeyId } } }));
}

export async function listSessions(): Promise<AccountSession[]> {
  return unwrap(await api.GET("/account/sessions"));
}

export async function endSession(sessionId: number): Promise<void> {
  unwrap(await api.DELETE("/account/sessions/{session_id}", { params: { path: { session_id: sessionId } } }));
}

/** `current`: undefined when the account has no password yet. */
export async function changePassword(current: string | undefined, next: string): Promise<void> {
  const body = current === undefined ? { new_password: next } : { current_password: current, new_password: next };
  unwrap(await api.PUT("/account/password", { body }));
}

export async function listTokens(): Promise<Token[]> {
  return unwrap(await api.GET("/tokens"));
}

export async function createToken(input: TokenInput): Promise<CreatedToken> {
  return unwrap(await api.POST("/tokens", { body: input }));
}

export async function revokeToken(tokenId: number): Promise<void> {
  unwrap(await api.DELETE("/tokens/{token_id}", { params: { path: { token_id: tokenId } } }));
}

export async function acceptInvite(code: string, password: string): Promise<AccountState> {
  return unwrap(await api.POST("/invites/accept", { body: { code, password } }));
}

export async function signUp(fname: string, lname: string, password: string): Promise<AccountState> {
  return unwrap(await api.POST("/invites/accept", { body: { fname, lname, password } }));
}

export async function createInvite(personId: number, kind: InviteKind, days: number): Promise<Invite> {
  return unwrap(await api.POST("/invites", { body: { person_id: personId, kind, expires_in_days: days } }));
}

/** "Chrome on Linux" from a user agent: enough to tell one's devices apart, not a fingerprint. */
export function deviceOf(userAgent: string | null): string {
  if (!userAgent) return "Unknown device";
  const browser =
    [
      ["Edg/", "Edge"],
      ["Firefox/", "Firefox"],
      ["Chrome/", "Chrome"],
      ["Safari/", "Safari"],
      ["curl/", "curl"],
    ].find(([mark]) => userAgent.includes(mark as string))?.[1] ?? "A browser";
  const system = [
    ["Android", "Android"],
    ["iPhone", "iOS"],
    ["iPad", "iPadOS"],
    ["Windows", "Windows"],
    ["Mac OS", "macOS"],
    ["Linux", "Linux"],
  ].find(([mark]) => userAgent.includes(mark as string))?.[1];
  return system ? `${browser} on ${system}` : browser;
}
