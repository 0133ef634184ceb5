import type { FastifyReply, FastifyRequest } from "fastify";
import type { LiveSession } from "../domain/accounts.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The session the request's cookie stands for, when it is live. */
    signedIn?: LiveSession;
  }
}

const NAME = "pn_session";

export interface CookieSettings {
  /** `PUBLIC_URL` is https: the cookie is `Secure` and takes the `__Host-` prefix. */
  secure: boolean;
  /** The origin writes made with the cookie must come from; unset, the request's own host. */
  publicOrigin?: string;
}

/**
 * The session cookie: `HttpOnly` (no script reads it), `SameSite=Lax` (not sent with cross-site
 * writes by browsers that honour it), `Path=/`, and over https `Secure` with the `__Host-` prefix,
 * which browsers accept only from a secure origin without a `Domain`, so no sibling host can set
 * or shadow it (RFC 6265bis §4.1.3.2).
 */
export class SessionCookie {
  readonly name: string;

  constructor(private readonly settings: CookieSettings) {
    this.name = settings.secure ? `__Host-${NAME}` : NAME;
  }

  /** The secret the request's cookie carries, if any. */
  read(request: FastifyRequest): string | undefined {
    const value = request.cookies?.[this.name];
    return value === undefined || value === "" ? undefined : value;
  }

  set(reply: FastifyReply, secret: string, expiresAt: string): void {
    const maxAge = Math.max(0, Math.floor((Date.parse(expiresAt) - Date.now()) / 1000));
    reply.setCookie(this.name, secret, {
      httpOnly: true,
      sameSite: "lax",
      secure: this.settings.secure,
      path: "/",
      maxAge,
    });
  }

  clear(reply: FastifyReply): void {
    reply.clearCookie(this.name, { httpOnly: true, sameSite: "lax", secure: this.settings.secure, path: "/" });
  }

  /**
   * Whether a request comes from the app's own pages: `Sec-Fetch-Site: same-origin` when the
   * browser sends it, and an `Origin` equal to the app's when it sends that. A request with
   * neither is not taken as the app's (every browser sends `Origin` with a write).
   */
  fromOwnOrigin(request: FastifyRequest): boolean {
    const site = request.headers["sec-fetch-site"];
    const origin = request.headers.origin;
    if (site === undefined && origin === undefined) return false;
    if (site !== undefined && site !== "same-origin") return false;
    return origin === undefined || origin === this.ownOrigin(request);
  }

  /**
   * Whether a request is plainly from another site (a sign-in or an invite posted by another
   * site's page): with neither header, as from a script, it is not.
   */
  fromOtherSite(request: FastifyRequest): boolean {
    const site = request.headers["sec-fetch-site"];
    const origin = request.headers.origin;
    if (site !== undefined && site !== "same-origin" && site !== "none") return true;
    return origin !== undefined && origin !== this.ownOrigin(request);
  }

  private ownOrigin(request: FastifyRequest): string {
    return this.settings.publicOrigin ?? `${request.protocol}://${request.host}`;
  }
}
