import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { InjectOptions } from "fastify";
import { engines, sendJson, startApp, type TestApp } from "../support/app.js";
import { operations, spec } from "../support/contract.js";
import { propertyParameters } from "../support/property.js";

/**
 * Random sequences of valid and invalid requests for every operation of the contract. Whatever
 * arrives, no answer is a 5xx, every answer matches the contract (startApp's inject checks it), and
 * afterwards the database's invariants hold.
 */

type Json = Record<string, unknown>;

/** An endpoint at an address that needs no name lookup; nothing is delivered to it here. */
const WEBHOOK = { url: "https://93.184.215.14/hooks/people-notes", events: ["note.created"] };
/** Endpoints each run starts with: ids 1 to 6 of the 1 to 12 that `id` mostly makes. */
const ENDPOINTS = 6;

const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key)).toString("base64url");

const id = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 12 }).map(String) },
  fc.constantFrom("0", "-1", "1.5", "abc", "1e3", "01", "9007199254740992", "99999999999999999999", "%00"),
);

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
  fc.constantFrom("", "   ", "a\u0000b", "\ud800", "x".repeat(33), "y".repeat(10_001), "Doug", "doug  FARRELL"),
);

const query = fc.record(
  {
    limit: fc.oneof(fc.integer({ min: 1, max: 5 }).map(String), fc.constantFrom("0", "1001", "x", "-1", "2.5")),
    cursor: fc.oneof(
      fc.string({ minLength: 1, maxLength: 30 }).map((s) => Buffer.from(s).toString("base64url")),
      fc.constantFrom(
        cursorOf(["not-a-time", 1]),
        cursorOf(["2020-13-45T00:00:00Z", 1]),
        cursorOf(["2020-02-30T00:00:00.000Z", 1]),
        cursorOf(["doe\u0000", "jane", 1]),
        cursorOf(["a", "b", 2 ** 60]),
        cursorOf([1, 2]),
        cursorOf(["2030-01-01T00:00:00.000Z", 5]),
        cursorOf(["z", "z", 1]),
        "!!",
      ),
    ),
  },
  { requiredKeys: [] },
);

const schemas = (spec.components as Json & { schemas: Record<string, Json> }).schemas;

/**
 * Valid bodies that strings in every required field cannot make, so that the operations taking
 * them get past validation to the data (an endpoint's URL and events, a revision to replay from).
 */
const MADE: Record<string, fc.Arbitrary<Json>> = {
  WebhookInput: fc.record(
    {
      url: fc.constant(WEBHOOK.url),
      events: fc.subarray((schemas.WebhookEventKind as Json).enum as string[], { minLength: 1, maxLength: 6 }),
      person_id: fc.option(fc.integer({ min: 1, max: 12 })),
      enabled: fc.boolean(),
    },
    { requiredKeys: ["url", "events"] },
  ),
  WebhookReplay: fc.record({ from_revision: fc.integer({ min: 1, max: 40 }) }),
};

/** A body for a request schema: mostly valid, sometimes wrong in one of the ways clients are. */
function bodyFor(schemaRef: string): fc.Arbitrary<unknown> {
  const name = schemaRef.split("/").pop() as string;
  const schema = schemas[name] as Json;
  const fields = (schema.required as string[]) ?? [];
  const strings: fc.Arbitrary<Json> = fc.record(Object.fromEntries(fields.map((field) => [field, text])));
  const made = MADE[name];
  const valid = made ?? strings;
  return fc.oneof(
    { weight: 5, arbitrary: valid },
    ...(made ? [strings] : []),
    valid.map((body) => ({ ...body, unknown: 1 })),
    valid.map((body) => ({ ...body, [fields[0] as string]: 5 })),
    fc.constantFrom({}, [], "text", 42, null),
  );
}

interface Planned {
  method: string;
  url: string;
  payload?: unknown;
  raw?: string;
}

/** A stream never ends, so injecting it would never resolve; test/api/events.test.ts covers it. */
const isStream = (operation: (typeof operations)[number]) => operation.operationId === "events.stream";

/** The schemas of the path parameters `id` makes values for: whole numbers from 1. */
const ID_SCHEMAS = new Set(["#/components/schemas/Id", "#/components/schemas/Version"]);

/**
 * The path parameters of the operation, in the template's order. Each must be one `id` can stand
 * for: a new kind of path parameter fails here until the fuzzer makes values for it.
 */
function pathParameters(operation: (typeof operations)[number]): string[] {
  const pathItem = spec.paths[operation.template] as Json;
  const declared = [
    ...((pathItem.parameters as Json[] | undefined) ?? []),
    ...((((pathItem[operation.method.toLowerCase()] as Json).parameters as Json[] | undefined) ?? []) as Json[]),
  ].map((parameter) => {
    const ref = parameter.$ref;
    if (typeof ref !== "string") return parameter;
    const name = ref.replace("#/components/parameters/", "");
    return (spec.components as Json & { parameters: Record<string, Json> }).parameters[name] as Json;
  });
  return [...operation.template.matchAll(/\{([^}]+)\}/g)].map(([, name]) => {
    const parameter = declared.find((candidate) => candidate.in === "path" && candidate.name === name);
    const schema = (parameter?.schema as Json | undefined)?.$ref;
    if (typeof schema !== "string" || !ID_SCHEMAS.has(schema)) {
      throw new Error(`${operation.operationId}: no values are made for path parameter ${name} (schema ${schema})`);
    }
    return name as string;
  });
}

const requestFor = fc.constantFrom(...operations.filter((operation) => !isStream(operation))).chain((operation) => {
  const item = (spec.paths[operation.template] as Json)[operation.method.toLowerCase()] as Json;
  const bodyRef = ((item.requestBody as Json | undefined)?.content as Json | undefined)?.["application/json"] as
    | { schema: { $ref: string } }
    | undefined;
  const names = pathParameters(operation);
  return fc
    .record({
      ids: fc.tuple(...names.map(() => id)),
      query,
      body: bodyRef ? bodyFor(bodyRef.schema.$ref) : fc.constant(undefined),
      malformed: fc.boolean(),
    })
    .map(({ ids, query: q, body, malformed }): Planned => {
      let path = operation.template;
      names.forEach((name, i) => {
        path = path.replace(`{${name}}`, ids[i] as string);
      });
      if (operation.method === "GET") {
        const search = new URLSearchParams(q as Record<string, string>).toString();
        if (search) path += `?${search}`;
      }
      const url = `/api${path}`;
      if (body === undefined) return { method: operation.method, url };
      return malformed
        ? { method: operation.method, url, raw: '{"fname": ' }
        : { method: operation.method, url, payload: body };
    });
});

async function send(app: TestApp, request: Planned) {
  const options: InjectOptions = { method: request.method as "GET", url: request.url };
  if (request.payload !== undefined || request.raw !== undefined) {
    options.payload = request.raw ?? JSON.stringify(request.payload);
    options.headers = { "content-type": "application/json" };
  }
  const response = await app.inject(options);
  assert.ok(response.statusCode < 500, `${request.method} ${request.url}: ${response.statusCode} ${response.body}`);
}

async function assertInvariants(app: TestApp): Promise<void> {
  const { db } = app.store;
  const orphans = await db
    .selectFrom("note")
    .leftJoin("person", "person.person_id", "note.person_id")
    .select("note.note_id")
    .where("person.person_id", "is", null)
    .execute();
  assert.deepEqual(orphans, [], "no note without its person");
  const duplicates = await db
    .selectFrom("person")
    .select(["fname_key", "lname_key"])
    .groupBy(["fname_key", "lname_key"])
    .having((eb) => eb.fn.countAll(), ">", 1)
    .execute();
  assert.deepEqual(duplicates, [], "no two people with one name");
  const count = async (table: "person" | "note") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const people = await app.inject({ method: "GET", url: "/api/people?limit=1000" });
  assert.equal(people.headers["x-total-count"], String(await count("person")));
  const notes = await app.inject({ method: "GET", url: "/api/notes?limit=1" });
  assert.equal(notes.headers["x-total-count"], String(await count("note")));
  for (const person of people.json<{ person_id: number }[]>()) {
    const own = await app.inject({ method: "GET", url: `/api/people/${person.person_id}/notes?limit=1` });
    const real = await db
      .selectFrom("note")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("person_id", "=", person.person_id)
      .executeTakeFirstOrThrow();
    assert.equal(own.headers["x-total-count"], String(Number(real.n)), `person ${person.person_id}'s total`);
  }
}

for (const engine of engines()) {
  describe(`requests generated from the contract (${engine})`, () => {
    test("no sequence of requests gets a 5xx, breaks the contract, or breaks an invariant", async (t) => {
      await fc.assert(
        fc.asyncProperty(fc.array(requestFor, { minLength: 1, maxLength: 15 }), async (requests) => {
          const app = await startApp({ engine });
          try {
            // Endpoints, so that half the webhook ids the requests carry find one.
            for (let made = 0; made < ENDPOINTS; made++) {
              const webhook = await sendJson(app, "POST", "/api/webhooks", WEBHOOK);
              assert.equal(webhook.statusCode, 201, webhook.body);
            }
            for (const request of requests) await send(app, request);
            await assertInvariants(app);
          } finally {
            await app.close();
          }
        }),
        { ...propertyParameters(t, 40), endOnFailure: true },
      );
    });
  });
}
