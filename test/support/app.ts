import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import type { Tracer } from "@opentelemetry/api";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import type { components } from "../../openapi/types.js";
import { type AccessOptions, type AppOptions, buildApp } from "../../src/app.js";
import { openStore, type Store } from "../../src/db/database.js";
import { nameKey } from "../../src/db/names.js";
import type { Engine } from "../../src/db/schema.js";
import { prepareDatabase } from "../../src/db/setup.js";
import type { ScryptCost } from "../../src/domain/passwords.js";
import type { HistorySettings } from "../../src/domain/settings.js";
import { assertMatchesContract } from "./contract.js";
import { TEST_DATABASE_LIMITS } from "./limits.js";
import { createSchema, POSTGRES_URL } from "./postgres.js";
import { takePreparedSchema } from "./prepared-schemas.js";

export { createSchema, engines, POSTGRES_URL, type TestSchema, withAdmin } from "./postgres.js";

export type { Engine };
export type Person = components["schemas"]["Person"];
export type Note = components["schemas"]["Note"];
export type NoteRevision = components["schemas"]["NoteRevision"];
export type Problem = components["schemas"]["Problem"];

/**
 * The scrypt cost the test apps hash new passwords with: the lowest the service accepts, 1 MiB and
 * about a millisecond, where the server's (2^17) takes 128 MiB and a few hundred. The API tests set
 * hundreds of passwords; one test checks the server's own cost (test/api/accounts.test.ts).
 */
export const TEST_PASSWORD_COST: ScryptCost = { log2N: 10, r: 8, p: 1 };

export interface TestDatabase {
  store: Store;
  /** The SQLite file, for tests that open it from outside the service; undefined on PostgreSQL. */
  path?: string;
  /** Opens another store on the same database, as a second server process would. */
  openAnother(): Store;
  /** Closes the store (once) and removes the database. */
  destroy(): Promise<void>;
}

function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= close();
    return closing;
  };
}

/**
 * A SQLite database migrated and seeded once per test process, which `createDatabase(…, { prepared })`
 * copies: a copy takes a millisecond where migrating and seeding takes about 100 ms of CPU, and the
 * API tests make hundreds. A schema cannot be copied: prepared PostgreSQL schemas are reused instead
 * (prepared-schemas.ts).
 */
let preparedSqlite: Promise<string> | undefined;
function preparedSqliteFile(): Promise<string> {
  preparedSqlite ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "people-notes-prepared-"));
    // Kept until the process ends: node:test's after() would tie it to the suite that made it first.
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "people.db");
    const store = openStore({ engine: "sqlite", path: file, limits: TEST_DATABASE_LIMITS });
    try {
      await prepareDatabase(store);
    } finally {
      await store.close();
    }
    return file;
  })();
  return preparedSqlite;
}

/**
 * A new database: a temp SQLite file, or a fresh PostgreSQL schema `t_<random>`; empty, or with
 * `prepared` migrated and seeded as a new server's is. With a tracer, its stores make spans as the
 * server's do when tracing is on.
 */
export async function createDatabase(
  engine: Engine,
  tracer?: Tracer,
  { prepared = false }: { prepared?: boolean } = {},
): Promise<TestDatabase> {
  let open: () => Store;
  let remove: () => Promise<void>;
  let path: string | undefined;
  if (engine === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "people-notes-test-"));
    const file = join(dir, "people.db");
    if (prepared) copyFileSync(await preparedSqliteFile(), file);
    path = file;
    open = () => openStore({ engine: "sqlite", path: file, limits: TEST_DATABASE_LIMITS }, undefined, tracer);
    remove = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    // Prepared: a schema migrated and seeded once in this process, and put back as it was after each use.
    let schema: string;
    if (prepared) ({ schema, giveBack: remove } = await takePreparedSchema());
    else ({ schema, drop: remove } = await createSchema());
    open = () =>
      openStore({ engine: "postgres", url: POSTGRES_URL, schema, limits: TEST_DATABASE_LIMITS }, undefined, tracer);
  }
  const store = open();
  const closeStore = once(() => store.close());
  const others: Store[] = [];
  return {
    ...(path ? { path } : {}),
    store: { ...store, close: closeStore },
    openAnother() {
      const another = open();
      others.push(another);
      return another;
    },
    async destroy() {
      await Promise.all([closeStore(), ...others.map((other) => other.close())]);
      await remove();
    },
  };
}

export interface TestApp {
  engine: Engine;
  app: FastifyInstance;
  store: Store;
  database: TestDatabase;
  /** app.inject, with every response checked against the contract; a mismatch fails the test. */
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface StartAppOptions {
  engine: Engine;
  access?: AccessOptions;
  requireIfMatch?: boolean;
  history?: HistorySettings;
  webhooks?: AppOptions["webhooks"];
}

/** Builds the app as it runs in production, on a new database migrated and seeded with the tutorial's data. */
export async function startApp({
  engine,
  access,
  requireIfMatch,
  history,
  webhooks,
}: StartAppOptions): Promise<TestApp> {
  const database = await createDatabase(engine, undefined, { prepared: true });
  try {
    return await appOn(database, database.store, access, requireIfMatch, history, webhooks);
  } catch (error) {
    await database.destroy();
    throw error;
  }
}

/** The Authorization header for a token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Starts an app (startApp), runs `work` on it, and closes it whether `work` passed or failed. */
export async function withStartedApp(options: StartAppOptions, work: (app: TestApp) => Promise<void>): Promise<void> {
  const app = await startApp(options);
  try {
    await work(app);
  } finally {
    await app.close();
  }
}

/** The app over an existing database (say, a second server on the same data). */
export async function appOn(
  database: TestDatabase,
  store = database.store,
  access?: AccessOptions,
  requireIfMatch?: boolean,
  history?: HistorySettings,
  webhooks?: AppOptions["webhooks"],
): Promise<TestApp> {
  const app = await buildApp({
    store,
    // TEST_PASSWORD_COST unless the test names a cost (\`passwordCost: undefined\`: the server's own).
    access: { passwordCost: TEST_PASSWORD_COST, ...access },
    ...(requireIfMatch ? { requireIfMatch } : {}),
    ...(history ? { history } : {}),
    ...(webhooks ? { webhooks } : {}),
  });
  await app.ready();
  return {
    engine: store.engine,
    app,
    store,
    database,
    async inject(options) {
      const response = await app.inject(options);
      const url = typeof options.url === "string" ? options.url : String(options.path ?? "/");
      assertMatchesContract(options.method ?? "GET", url, response);
      return response;
    },
    async close() {
      await app.close();
      await database.destroy();
    },
  };
}

/**
 * A fresh seeded app for the enclosing describe block: started before its first test, removed
 * after its last. Read `api.current` (or use its helpers) inside tests.
 */
export function useApp(engine: Engine): Api {
  const api = new Api(engine);
  before(async () => {
    api.started = await startApp({ engine });
  });
  after(async () => {
    await api.started?.close();
  });
  return api;
}

type Body = Record<string, unknown> | string;

export class Api {
  started: TestApp | undefined;
  constructor(readonly engine: Engine) {}

  get current(): TestApp {
    if (!this.started) throw new Error("the app is not started yet");
    return this.started;
  }

  get store(): Store {
    return this.current.store;
  }

  inject(options: InjectOptions): Promise<LightMyRequestResponse> {
    return this.current.inject(options);
  }

  get(url: string, headers?: Record<string, string>) {
    return this.inject({ method: "GET", url, ...(headers ? { headers } : {}) });
  }

  post(url: string, body: Body) {
    return this.inject({ method: "POST", url, ...json(body) });
  }

  put(url: string, body: Body) {
    return this.inject({ method: "PUT", url, ...json(body) });
  }

  delete(url: string) {
    return this.inject({ method: "DELETE", url });
  }

  /** Creates a person and returns it; fails the test unless the answer is 201. */
  async createPerson(fname: string, lname: string): Promise<Person> {
    const response = await this.post("/api/people", { fname, lname });
    if (response.statusCode !== 201) throw new Error(`creating ${fname} ${lname}: ${response.body}`);
    return response.json();
  }

  /** A person whose name no other test uses. */
  createSomeone(): Promise<Person> {
    return this.createPerson("Someone", `Unique ${randomBytes(6).toString("hex")}`);
  }

  async createNote(personId: number, content: string): Promise<Note> {
    const response = await this.post(`/api/people/${personId}/notes`, { content });
    if (response.statusCode !== 201) throw new Error(`creating a note for ${personId}: ${response.body}`);
    return response.json();
  }
}

/** A JSON request body; a string is sent as it is, for malformed documents. */
/** A write with a JSON body (or none) and the given headers, checked against the contract. */
export function sendJson(
  app: TestApp,
  method: "POST" | "PUT" | "DELETE",
  url: string,
  body?: object,
  headers: Record<string, string> = {},
) {
  if (body === undefined) return app.inject({ method, url, headers });
  return app.inject({
    method,
    url,
    ...json(body as Body),
    headers: { ...headers, "content-type": "application/json" },
  });
}

export function json(body: Body): Pick<InjectOptions, "payload" | "headers"> {
  return {
    payload: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json" },
  };
}

/** Writes notes straight to the database, with chosen timestamps, for lists too long to build through the API. */
export async function insertNotes(store: Store, personId: number, timestamps: string[]): Promise<void> {
  await store.db
    .insertInto("note")
    .values(timestamps.map((timestamp, i) => ({ person_id: personId, content: `Note number ${i + 1}`, timestamp })))
    .execute();
}

/** Writes people straight to the database; names must be unique as the service compares them. */
export async function insertPeople(store: Store, names: [fname: string, lname: string][]): Promise<void> {
  await store.db
    .insertInto("person")
    .values(
      names.map(([fname, lname]) => ({
        fname,
        lname,
        fname_key: nameKey(fname),
        lname_key: nameKey(lname),
        timestamp: "2020-01-01T00:00:00.000Z",
      })),
    )
    .execute();
}
