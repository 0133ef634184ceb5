import assert from "node:assert/strict";
import type { LightMyRequestResponse } from "fastify";
import type { Problem } from "./app.js";

/** ISO 8601 in UTC with a `Z`, as every timestamp the service sends. */
export const UTC_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The response is an RFC 9457 problem with this status (and this detail, when given). */
export function assertProblem(response: LightMyRequestResponse, status: number, detail?: string | RegExp): Problem {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
  const problem = response.json<Problem>();
  assert.equal(problem.status, status);
  assert.equal(typeof problem.type, "string");
  assert.equal(typeof problem.title, "string");
  assert.ok(problem.title.length > 0);
  if (typeof detail === "string") assert.equal(problem.detail, detail);
  else if (detail) assert.match(problem.detail, detail);
  return problem;
}

/** A 400 whose `errors` names exactly these fields (JSON pointers into `in`). */
export function assertInvalidFields(
  response: LightMyRequestResponse,
  fields: { in: string; pointer: string }[],
): Problem {
  const problem = assertProblem(response, 400);
  const got = (problem.errors ?? []).map((error) => `${error.in}:${error.pointer}`).sort();
  assert.deepEqual(got, fields.map((field) => `${field.in}:${field.pointer}`).sort(), JSON.stringify(problem));
  for (const error of problem.errors ?? []) assert.ok(error.message.length > 0);
  return problem;
}

export function assertUtcTimestamp(value: unknown): void {
  assert.equal(typeof value, "string");
  assert.match(value as string, UTC_TIMESTAMP);
}
