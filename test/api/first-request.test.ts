import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { InjectOptions } from "fastify";
import { loadContract } from "../../src/contract/document.js";
import { checkRouteSchemas } from "../../src/contract/schemas.js";
import { engines, type Problem, startApp, type TestApp } from "../support/app.js";
import { operations, spec } from "../support/contract.js";

/**
 * A route's validators and serializers are compiled when it first needs them, not when the app
 * starts. So the very first request to each operation of a fresh app, if it is bad, must get the
 * same 400 problem document as any later one: checked, with the failing field named.
 */

const tooLong = "x".repeat(4097);

/** One bad request per operation that validates anything, and where its first error is. */
const BAD: Record<string, { request: InjectOptions; at: { in: string; pointer: string } }> = {
  "people.read_all": { request: { method: "GET", url: "/api/people?limit=0" }, at: { in: "query", pointer: "/limit" } },
  "people.create": {
    request: { method: "POST", url: "/api/people", payload: { fname: 5, lname: "Farrell" } },
    at: { in: "body", pointer: "/fname" },
  },
  "people.read_one": { request: { method: "GET", url: "/api/people/x" }, at: { in: "path", pointer: "/person_id" } },
  "people.update": {
    request: { method: "PUT", url: "/api/people/1", payload: { fname: "Doug", lname: " " } },
    at: { in: "body", pointer: "/lname" },
  },
  "people.delete": {
    request: { method: "DELETE", url: "/api/people/1", headers: { "if-match": tooLong } },
    at: { in: "header", pointer: "/if-match" },
  },
  "notes.read_by_person": {
    request: { method: "GET", url: "/api/people/1/notes?limit=abc" },
    at: { in: "query", pointer: "/limit" },
  },
  "notes.create": {
    request: { method: "POST", url: "/api/people/1/notes", payload: { content: " \n " } },
    at: { in: "body", pointer: "/content" },
  },
  "notes.read_one": {
    request: { method: "GET", url: "/api/people/1/notes/0" },
    at: { in: "path", pointer: "/note_id" },
  },
  "notes.update": {
    request: { method: "PUT", url: "/api/people/1/notes/1", payload: { content: "ok", extra: 1 } },
    at: { in: "body", pointer: "/extra" },
  },
  "notes.delete": {
    request: { method: "DELETE", url: "/api/people/1/notes/1e3" },
    at: { in: "path", pointer: "/note_id" },
  },
  "session.read": {
    request: { method: "GET", url: "/api/session", headers: { "if-none-match": tooLong } },
    at: { in: "header", pointer: "/if-none-match" },
  },
  "notes.read_all": {
    request: { method: "GET", url: "/api/notes?limit=1001" },
    at: { in: "query", pointer: "/limit" },
  },
  "events.stream": { request: { method: "GET", url: "/api/events?since=x" }, at: { in: "query", pointer: "/since" } },
  "notes.revisions": {
    request: { method: "GET", url: "/api/people/1/notes/1/revisions?limit=0" },
    at: { in: "query", pointer: "/limit" },
  },
  "notes.revision": {
    request: { method: "GET", url: "/api/people/1/notes/1/revisions/x" },
    at: { in: "path", pointer: "/version" },
  },
  "notes.restore_revision": {
    request: { method: "POST", url: "/api/people/1/notes/1/revisions/0/restore" },
    at: { in: "path", pointer: "/version" },
  },
  "account.sign_in": {
    request: { method: "POST", url: "/api/account/sign-in", payload: { name: "ops", password: 5 } },
    at: { in: "body", pointer: "/password" },
  },
  "account.passkey_options": {
    request: { method: "POST", url: "/api/account/passkey/options", payload: { purpose: "other" } },
    at: { in: "body", pointer: "/purpose" },
  },
  "account.passkey_verify": {
    request: { method: "POST", url: "/api/account/passkey/verify", payload: { challenge_id: "x", response: {} } },
    at: { in: "body", pointer: "/challenge_id" },
  },
  "account.end_session": {
    request: { method: "DELETE", url: "/api/account/sessions/x" },
    at: { in: "path", pointer: "/session_id" },
  },
  "account.change_password": {
    request: { method: "PUT", url: "/api/account/password", payload: { current_password: 5, new_password: "x" } },
    at: { in: "body", pointer: "/current_password" },
  },
  "account.rename_passkey": {
    request: { method: "PUT", url: "/api/account/passkeys/1", payload: { name: " " } },
    at: { in: "body", pointer: "/name" },
  },
  "account.remove_passkey": {
    request: { method: "DELETE", url: "/api/account/passkeys/0" },
    at: { in: "path", pointer: "/passkey_id" },
  },
  "invites.create": {
    request: { method: "POST", url: "/api/invites", payload: { person_id: "1" } },
    at: { in: "body", pointer: "/person_id" },
  },
  "invites.accept": {
    request: { method: "POST", url: "/api/invites/accept", payload: { password: 5 } },
    at: { in: "body", pointer: "/password" },
  },
  "tokens.create": {
    request: { method: "POST", url: "/api/tokens", payload: { name: " " } },
    at: { in: "body", pointer: "/name" },
  },
  "tokens.delete": { request: { method: "DELETE", url: "/api/tokens/x" }, at: { in: "path", pointer: "/token_id" } },
  "export.read_all": {
    request: { method: "GET", url: "/api/export?history=maybe" },
    at: { in: "query", pointer: "/history" },
  },
  "trash.read_all": { request: { method: "GET", url: "/api/trash?limit=0" }, at: { in: "query", pointer: "/limit" } },
  "trash.restore": {
    request: { method: "POST", url: "/api/trash/0/restore" },
    at: { in: "path", pointer: "/trash_id" },
  },
  "trash.purge": { request: { method: "DELETE", url: "/api/trash/x" }, at: { in: "path", pointer: "/trash_id" } },
  "webhooks.create": {
    request: { method: "POST", url: "/api/webhooks", payload: { url: "ftp://example.com/", events: ["note.created"] } },
    at: { in: "body", pointer: "/url" },
  },
  "webhooks.update": {
    request: { method: "PUT", url: "/api/webhooks/1", payload: { url: "https://example.com/", events: [] } },
    at: { in: "body", pointer: "/events" },
  },
  "webhooks.delete": {
    request: { method: "DELETE", url: "/api/webhooks/0" },
    at: { in: "path", pointer: "/webhook_id" },
  },
  "webhooks.rotate_secret": {
    request: { method: "POST", url: "/api/webhooks/1/secret", payload: { overlap_hours: 169 } },
    at: { in: "body", pointer: "/overlap_hours" },
  },
  "webhooks.deliveries": {
    request: { method: "GET", url: "/api/webhooks/1/deliveries?limit=201" },
    at: { in: "query", pointer: "/limit" },
  },
  "webhooks.replay": {
    request: { method: "POST", url: "/api/webhooks/1/replay", payload: { from_revision: -1 } },
    at: { in: "body", pointer: "/from_revision" },
  },
};

const answersBadInput = (operation: (typeof operations)[number]) => {
  const item = (spec.paths[operation.template] as Record<string, { responses: Record<string, unknown> }>)[
    operation.method.toLowerCase()
  ];
  return item !== undefined && "400" in item.responses;
};

test("every operation that can answer 400 has a bad first request here", () => {
  const validating = operations.filter(answersBadInput).map((operation) => operation.operationId);
  assert.deepEqual(validating.sort(), Object.keys(BAD).sort());
});

describe("the request schemas, compiled without Ajv's own check", () => {
  test("every one is valid JSON Schema 2020-12", async () => {
    assert.deepEqual(checkRouteSchemas((await loadContract()).routes), []);
  });

  test("an invalid one is found", () => {
    const schema = { params: { type: "object", properties: { person_id: { type: "integer", minimum: "1" } } } };
    const problems = checkRouteSchemas([{ operationId: "people.read_one", schema }]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? "", /^people\.read_one params: .*minimum/);
  });
});

for (const engine of engines()) {
  describe(`the first request to each operation of a fresh app (${engine})`, () => {
    let started: TestApp;
    before(async () => {
      started = await startApp({ engine });
    });
    after(() => started.close());

    for (const [operationId, { request, at }] of Object.entries(BAD)) {
      test(`${operationId}: the first bad request is the same 400 as the next`, async () => {
        const first = await started.inject(request);
        const next = await started.inject(request);
        assert.equal(first.statusCode, 400, first.body);
        assert.match(String(first.headers["content-type"]), /^application\/problem\+json/);
        const problem = first.json<Problem>();
        assert.deepEqual(
          { in: problem.errors?.[0]?.in, pointer: problem.errors?.[0]?.pointer },
          at,
          `the failing field is named: ${first.body}`,
        );
        assert.deepEqual({ status: next.statusCode, body: next.json() }, { status: 400, body: problem });
      });
    }
  });
}
