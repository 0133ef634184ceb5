import { api, type Principal, type Session, unwrap } from "./api.js";
import { fullName } from "./people.js";
import { bearer } from "./token.js";

/** Where the app stands on who is signed in. */
export type SessionState =
  | { status: "checking" }
  | { status: "known"; session: Session }
  /** The server could not say: every control is offered, and the server decides. */
  | { status: "unknown" };

/**
 * Whether writes need a token, and who `token` stands for; without `token`, the signed-in one. A
 * refused token is an ApiError with status 401.
 */
export async function readSession(token?: string): Promise<Session> {
  const headers = token === undefined ? {} : { authorization: bearer(token) };
  return unwrap(await api.GET("/session", { headers }));
}

/** How the app names whoever a token stands for. */
export function principalName(principal: Principal): string {
  if (principal.kind === "admin") return "Admin";
  return principal.person ? fullName(principal.person) : principal.name;
}
