import createClient from "openapi-fetch";
import type { components, paths } from "../../../openapi/types.js";
import { bearer, currentToken } from "./token.js";

/** The typed client: every path, parameter and body is checked against openapi/openapi.yaml. */
export const api = createClient<paths>({ baseUrl: "/api", credentials: "same-origin" });

/**
 * Every request carries the signed-in token, unless it names a token of its own (signing in).
 * Without one, the session cookie goes with it (same origin only); the browser adds the `Origin`
 * and `Sec-Fetch-Site: same-origin` headers the server asks of a write made with the cookie, and
 * no script can set or forge them, which is why the server can rely on them.
 */
api.use({
  onRequest({ request }) {
    const token = currentToken();
    if (token !== undefined && !request.headers.has("authorization")) {
      request.headers.set("authorization", bearer(token));
    }
    return request;
  },
});

type Schemas = components["schemas"];
export type Person = Schemas["Person"];
export type PersonInput = Pick<Schemas["PersonInput"], "fname" | "lname">;
export type PersonNote = Schemas["PersonNote"];
export type PersonSummary = Schemas["PersonSummary"];
export type Note = Schemas["Note"];
export type NoteInput = Pick<Schemas["NoteInput"], "content">;
export type NoteRevision = Schemas["NoteRevision"];
export type TrashEntry = Schemas["TrashEntry"];
export type Problem = Schemas["Problem"];
export type FieldProblem = NonNullable<Problem["errors"]>[number];
export type AccountState = Schemas["AccountState"];
export type Account = NonNullable<AccountState["account"]>;
export type TokenHolder = NonNullable<AccountState["token"]>;
export type AccountSession = Schemas["AccountSession"];
export type Passkey = Schemas["Passkey"];
export type Token = Schemas["Token"];
export type CreatedToken = Schemas["CreatedToken"];
export type TokenInput = Schemas["TokenInput"];
export type Invite = Schemas["Invite"];
export type InviteKind = NonNullable<Schemas["InviteInput"]["kind"]>;
export type Webhook = Schemas["Webhook"];
export type CreatedWebhook = Schemas["CreatedWebhook"];
export type WebhookInput = Schemas["WebhookInput"];
export type WebhookEventKind = Schemas["WebhookEventKind"];
export type WebhookDelivery = Schemas["WebhookDelivery"];

/** What the page shows when a request fails: the server's own words when it gave any. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && typeof (value as Problem).detail === "string";
}

/** Turns an openapi-fetch result into its data, or throws an ApiError with the problem's detail. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  const { data, error, response } = result;
  if (error === undefined && response.ok) return data as T;
  if (isProblem(error)) throw new ApiError(error.detail, response.status, error.errors ?? []);
  throw new ApiError(`The server answered ${response.status} ${response.statusText}`.trim(), response.status);
}

/** A person or note as read or written, with the strong ETag that identifies that version of it. */
export interface Tagged<T> {
  value: T;
  etag: string | undefined;
}

/** Like `unwrap`, keeping the response's ETag for the next conditional change. */
export function unwrapTagged<T>(result: { data?: T; error?: unknown; response: Response }): Tagged<T> {
  return { value: unwrap(result), etag: result.response.headers.get("etag") ?? undefined };
}

/** The header that makes a change apply only to the version read, when its ETag is known. */
export function ifMatch(etag: string | undefined): { "If-Match": string } | undefined {
  return etag === undefined ? undefined : { "If-Match": etag };
}

/** Network failures surface as TypeError from fetch; give them a sentence a person can act on. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError("Could not reach the server. Check your connection and try again.", undefined);
}
