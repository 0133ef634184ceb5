import type { FastifyRequest } from "fastify";
import { ANONYMOUS, type Caller } from "../domain/policy.js";

/**
 * Who the request's guard found the caller to be. An operation whose contract declares no
 * security has no guard and is open to anyone, as the contract says.
 */
export const callerOf = (request: FastifyRequest): Caller => request.caller ?? ANONYMOUS;
