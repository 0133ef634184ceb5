import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { FastifyInstance } from "fastify";
import ts from "typescript";
import { buildApp } from "../../src/app.js";
import { openStore, type Store } from "../../src/db/database.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { spec } from "../support/contract.js";
import { openStream, type StreamEvent } from "../support/event-stream.js";

type Json = Record<string, unknown>;

const root = join(import.meta.dirname, "..", "..");
const webSource = join(root, "web", "src");
const components = spec.components as { schemas: Record<string, Json>; parameters: Record<string, Json> };

/** Every TypeScript file of the web app, parsed. */
function webFiles(): ts.SourceFile[] {
  return readdirSync(webSource, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => {
      const path = join(webSource, name);
      return ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
    });
}

function eachNode(file: ts.SourceFile, visit: (node: ts.Node) => void): void {
  const walk = (node: ts.Node) => {
    visit(node);
    ts.forEachChild(node, walk);
  };
  walk(file);
}

const where = (node: ts.Node) => {
  const file = node.getSourceFile();
  const { line } = file.getLineAndCharacterOfPosition(node.getStart());
  return `${relative(root, file.fileName)}:${line + 1}`;
};

/** The largest values the contract allows (lengths, numbers, item counts) of its named schemas and parameters. */
function contractMaxima(): Map<number, string> {
  const maxima = new Map<number, string>();
  const named = [
    ...Object.entries(components.schemas),
    ...Object.entries(components.parameters).map(([name, parameter]) => [name, parameter.schema as Json] as const),
  ];
  for (const [name, schema] of named) {
    for (const keyword of ["maxLength", "maximum", "maxItems"]) {
      const value = schema?.[keyword];
      if (typeof value === "number") maxima.set(value, `${name}.${keyword}`);
    }
  }
  return maxima;
}

/** A time in milliseconds is the app's own choice, never a limit of the contract (`RETRY_MS`, `REMEMBER_MS`). */
function isDuration(node: ts.Node): boolean {
  for (let at: ts.Node | undefined = node; at; at = at.parent) {
    if (ts.isVariableDeclaration(at) && ts.isIdentifier(at.name)) return /(_MS|Ms)$/.test(at.name.text);
  }
  return false;
}

/** The event names of `GET /api/events`, from the contract's `StreamEvent` schema. */
function eventNames(): string[] {
  const streamEvent = components.schemas.StreamEvent as { oneOf?: { $ref: string }[] } | undefined;
  assert.ok(streamEvent?.oneOf, "the contract has a StreamEvent schema, one branch per kind of event");
  return streamEvent.oneOf.flatMap(({ $ref }) => {
    const schema = components.schemas[$ref.replace("#/components/schemas/", "")] as Json;
    const event = (schema.properties as Record<string, { enum: string[] } | undefined>).event;
    assert.ok(event, `${$ref} names its event`);
    return event.enum;
  });
}

describe("the web app takes the contract's shapes and limits from the contract", () => {
  test("the generated limits module holds exactly the contract's limits", async () => {
    const { renderContractLimits } = await import("../../scripts/contract-limits.js");
    const generated = readFileSync(join(root, "openapi", "limits.ts"), "utf8");
    assert.equal(generated, renderContractLimits(spec), "openapi/limits.ts is stale: run npm run gen");
    const { limits } = await import("../../openapi/limits.js");
    assert.equal(limits.schemas.Name.maxLength, components.schemas.Name?.maxLength);
    assert.equal(limits.schemas.Content.maxLength, components.schemas.Content?.maxLength);
    assert.equal(limits.schemas.SearchText.maxLength, components.schemas.SearchText?.maxLength);
    assert.equal(limits.parameters.limit.maximum, (components.parameters.limit?.schema as Json | undefined)?.maximum);
    assert.deepEqual(limits.enums.WebhookEventKind, components.schemas.WebhookEventKind?.enum);
  });

  test("the web app's limits are read from the generated module", () => {
    const source = readFileSync(join(webSource, "model", "limits.ts"), "utf8");
    assert.match(source, /from "\.\.\/\.\.\/\.\.\/openapi\/limits\.js"/);
  });

  test("no number in web/src is a copy of a contract limit", () => {
    const maxima = contractMaxima();
    assert.ok(maxima.size >= 4, "the contract has limits to look for");
    const copies: string[] = [];
    for (const file of webFiles()) {
      eachNode(file, (node) => {
        if (ts.isNumericLiteral(node)) {
          const limit = maxima.get(Number(node.text));
          if (limit !== undefined && !isDuration(node)) copies.push(`${where(node)}: ${node.getText()} is ${limit}`);
        } else if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) {
          // Written out for people: "Up to 32 characters", "10,000 characters".
          for (const match of node.text.matchAll(/(\d[\d,_ ]*\d|\d)\s*(characters|chars)/g)) {
            const limit = maxima.get(Number((match[1] ?? "").replace(/[,_ ]/g, "")));
            if (limit !== undefined) copies.push(`${where(node)}: "${match[0]}" is ${limit}`);
          }
        }
      });
    }
    assert.deepEqual(copies, [], "limits come from openapi/limits.ts, generated from the contract");
  });

  test("no type in web/src spells out an event name: the event types are the contract's", () => {
    const names = new Set(eventNames());
    assert.ok(names.has("note.created") && names.has("reload"), "the contract names the events");
    /** `ready` is also a loading state: as an event name it is what a property `event` or `kind` holds. */
    const asEventName = (node: ts.Node) => {
      for (let at: ts.Node | undefined = node.parent; at && !ts.isTypeLiteralNode(at); at = at.parent) {
        if (ts.isPropertySignature(at)) return ["event", "kind"].includes(at.name.getText());
      }
      return false;
    };
    const spelled: string[] = [];
    for (const file of webFiles()) {
      eachNode(file, (node) => {
        if (!ts.isLiteralTypeNode(node) || !ts.isStringLiteral(node.literal)) return;
        const name = node.literal.text;
        if (names.has(name) && (name.includes(".") || asEventName(node))) {
          spelled.push(`${where(node)}: ${node.getText()}`);
        }
      });
    }
    assert.deepEqual(spelled, [], 'event types come from components["schemas"]["StreamEvent"]');
  });
});

describe("the events of GET /api/events are the contract's StreamEvent", () => {
  let store: Store;
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    store = openStore({ engine: "sqlite", path: ":memory:" });
    await prepareDatabase(store);
    app = await buildApp({ store });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    url = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await app.close();
    await store.close();
  });

  const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(spec, "contract");

  function assertStreamEvent(event: StreamEvent | undefined): void {
    assert.ok(event, "an event came");
    const validate = ajv.getSchema("contract#/components/schemas/StreamEvent");
    assert.ok(validate, "the contract has a StreamEvent schema");
    const value = { id: event.id, event: event.event, data: JSON.parse(event.data) };
    assert.ok(validate(value), `${JSON.stringify(value)}: ${ajv.errorsText(validate.errors)}`);
  }

  const send = async (method: string, path: string, body?: Json) => {
    const response = await fetch(`${url}/api${path}`, {
      method,
      ...(body ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
    });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return response.status === 204 ? undefined : ((await response.json()) as Json);
  };

  test("ready, every change to people and notes, their deletions and restores match the schema of their name", async () => {
    const stream = await openStream(`${url}/api/events`);
    try {
      const person = await send("POST", "/people", { fname: "Stream", lname: "Schema" });
      const personId = person?.person_id as number;
      await send("PUT", `/people/${personId}`, { fname: "Streamed", lname: "Schema" });
      const note = await send("POST", `/people/${personId}/notes`, { content: "first" });
      const noteId = note?.note_id as number;
      await send("PUT", `/people/${personId}/notes/${noteId}`, { content: "second" });
      await send("DELETE", `/people/${personId}/notes/${noteId}`);
      const newestInTrash = async () => ((await send("GET", "/trash?limit=1")) as unknown as Json[])[0]?.trash_id;
      await send("POST", `/trash/${await newestInTrash()}/restore`);
      await send("DELETE", `/people/${personId}`);
      await send("POST", `/trash/${await newestInTrash()}/restore`);
      const events = await stream.take(8);
      assert.deepEqual(
        events.map((event) => event.event),
        [
          "person.created",
          "person.updated",
          "note.created",
          "note.updated",
          "note.deleted",
          "note.restored",
          "person.deleted",
          "person.restored",
        ],
      );
      assertStreamEvent(stream.ready);
      for (const event of events) assertStreamEvent(event);
      assert.deepEqual(
        new Set(eventNames()),
        new Set(["ready", "reload", ...events.map((event) => event.event)]),
        "the schema names every kind of event, and no other",
      );
    } finally {
      stream.close();
    }
  });

  test("reload matches its schema", async () => {
    const stream = await openStream(`${url}/api/events?since=999999999`);
    try {
      const [reload] = await stream.take(1);
      assert.equal(reload?.event, "reload");
      assertStreamEvent(reload);
    } finally {
      stream.close();
    }
  });
});
