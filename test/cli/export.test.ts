import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { buildApp } from "../../src/app.js";
import { parseDatabaseUrl } from "../../src/config.js";
import { migrateToLatest, openStore, type Store } from "../../src/db/database.js";
import { nameKey } from "../../src/db/names.js";
import { countNotes, countNotesOfPerson } from "../../src/db/notes-repository.js";
import { countPeople } from "../../src/db/people-repository.js";
import { seedTutorialData } from "../../src/db/seed.js";
import { lines, runCli, runCommand } from "../support/cli.js";
import { TEST_DATABASE_LIMITS } from "../support/limits.js";
import { createSchema } from "../support/postgres.js";

const dir = mkdtempSync(join(tmpdir(), "people-notes-export-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const unique = () => randomBytes(4).toString("hex");
/** A new SQLite file name in the test's folder, as a DATABASE_URL. */
const sqliteUrl = (name: string) => `sqlite:${join(dir, `${name}-${unique()}.db`)}`;
const fileNamed = (name: string) => join(dir, `${unique()}-${name}`);

/** A new PostgreSQL schema, as a DATABASE_URL; dropped when the file's tests end. */
async function postgresUrl(): Promise<string> {
  const schema = await createSchema();
  after(() => schema.drop());
  return schema.url;
}

/**
 * How a test runs the commands: in this process (`runCommand`, the same code without a process
 * start each time), or as the built CLI in a process of its own where the process is part of what
 * is tested (a kill, exit codes and one-line failures, the volume through a pipe).
 */
type Run = "in-process" | "process";
const runner = (run: Run) => (run === "process" ? runCli : runCommand);

const exportFrom = (url: string, args: string[] = [], run: Run = "in-process") =>
  runner(run)(["export", ...args], { env: { DATABASE_URL: url } });
const importInto = (url: string, args: string[], run: Run = "in-process") =>
  runner(run)(["import", ...args], { env: { DATABASE_URL: url } });

/** Exports a database into a file; returns the file's path and its text. */
async function exportToFile(
  url: string,
  format = "ndjson",
  run: Run = "in-process",
): Promise<{ file: string; text: string }> {
  const exported = await exportFrom(url, ["--format", format], run);
  assert.equal(exported.code, 0, exported.stderr);
  const file = fileNamed(`export.${format}`);
  writeFileSync(file, exported.stdout);
  return { file, text: exported.stdout };
}

async function withStore<T>(url: string, work: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore({ ...parseDatabaseUrl(url), limits: TEST_DATABASE_LIMITS });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** A migrated database with `people` people (ids 1, 3, 5, …) and `notes` notes spread over them. */
async function fill(url: string, people: number, notes: number): Promise<void> {
  await withStore(url, async (store) => {
    await migrateToLatest(store);
    await store.db.transaction().execute(async (tx) => {
      const personIds = Array.from({ length: people }, (_, i) => 1 + 2 * i);
      const personRows = personIds.map((person_id, i) => ({
        person_id,
        fname: `Fname ${i} ✓`,
        lname: `Lname "${i}"`,
        fname_key: nameKey(`Fname ${i} ✓`),
        lname_key: nameKey(`Lname "${i}"`),
        timestamp: new Date(Date.UTC(2020, 0, 1) + i * 1_000).toISOString(),
        version: 1 + (i % 2),
      }));
      for (let start = 0; start < people; start += 1_000) {
        await tx
          .insertInto("person")
          .values(personRows.slice(start, start + 1_000))
          .execute();
      }
      for (let start = 0; start < notes; start += 1_000) {
        const rows = Array.from({ length: Math.min(1_000, notes - start) }, (_, k) => {
          const i = start + k;
          return {
            note_id: 10 + i,
            person_id: personIds[i % people] as number,
            content: i % 7 === 0 ? `Line one\nline two \\ "quoted" 😀 ${i}` : `Note ${i} ✓`,
            timestamp: new Date(Date.UTC(2021, 0, 1) + i * 997).toISOString(),
            version: 1 + (i % 3),
          };
        });
        await tx.insertInto("note").values(rows).execute();
      }
    });
  });
}

async function seedTutorial(url: string): Promise<void> {
  await withStore(url, async (store) => {
    await migrateToLatest(store);
    await seedTutorialData(store);
  });
}

/** Every person and note (the columns both engines have), and the kept counts, of a database. */
function contents(url: string) {
  return withStore(url, async (store) => ({
    people: await store.db
      .selectFrom("person")
      .select(["person_id", "fname", "lname", "fname_key", "lname_key", "timestamp", "version"])
      .orderBy("person_id")
      .execute(),
    notes: await store.db
      .selectFrom("note")
      .select(["note_id", "person_id", "content", "timestamp", "version"])
      .orderBy("note_id")
      .execute(),
    counts: [await countPeople(store), await countNotes(store)],
  }));
}

/**
 * A one-line failure: exit code 1, nothing on stdout, one line on stderr matching `message`. Only
 * the load's own progress may come before it; a file that fails its check shows none.
 */
function assertOneLineFailure(run: { code: number | null; stdout: string; stderr: string }, message: RegExp) {
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, "");
  const output = lines(run.stderr).filter((line) => !/^people-notes: (importing|clearing|verifying) /.test(line));
  assert.equal(output.length, 1, run.stderr);
  assert.match(output[0] ?? "", message);
}

const record = (fields: Record<string, unknown>) => JSON.stringify(fields);
const person = (id: number, fname: string, lname: string, version = 1, timestamp = "2020-01-01T00:00:00.000Z") =>
  record({ type: "person", person_id: id, fname, lname, timestamp, version });
const note = (id: number, personId: number, content: string, version = 1, timestamp = "2021-01-01T00:00:00.000Z") =>
  record({ type: "note", note_id: id, person_id: personId, content, timestamp, version });
const HEADER = record({ type: "export", format_version: 1 });
const end = (people: number, notes: number) => record({ type: "end", people, notes });

function ndjsonFile(recordLines: string[]): string {
  const file = fileNamed("hand-made.ndjson");
  writeFileSync(file, `${recordLines.join("\n")}\n`);
  return file;
}

/** Runs `work` with the service on that database, as a client would see it. */
async function withService<T>(
  url: string,
  work: (app: Awaited<ReturnType<typeof buildApp>>) => Promise<T>,
): Promise<T> {
  return withStore(url, async (store) => {
    const app = await buildApp({ store });
    try {
      return await work(app);
    } finally {
      await app.close();
    }
  });
}

type Service = Awaited<ReturnType<typeof buildApp>>;
const json = { "content-type": "application/json" };

async function call(app: Service, method: "GET" | "POST" | "PUT" | "DELETE", url: string, body?: unknown) {
  const response = await app.inject({
    method,
    url,
    ...(body === undefined ? {} : { headers: json, payload: JSON.stringify(body) }),
  });
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
  return response;
}

/**
 * The tutorial's data with history and a trash: an edited note (two versions), a deleted note, and
 * a person made last and deleted with their note, so the trash holds the highest person and note
 * ids. Returns the ETags and versions the trashed items had.
 */
async function fillWithHistory(url: string) {
  await seedTutorial(url);
  return withService(url, async (app) => {
    await call(app, "PUT", "/api/people/1/notes/2", { content: "Edited once" });
    await call(app, "PUT", "/api/people/1/notes/2", { content: "Edited twice" });
    const deletedNote = await call(app, "GET", "/api/people/1/notes/1");
    await call(app, "DELETE", "/api/people/1/notes/1");
    const person = (await call(app, "POST", "/api/people", { fname: "Last", lname: "Made" })).json<{
      person_id: number;
    }>();
    const note = (
      await call(app, "POST", `/api/people/${person.person_id}/notes`, { content: "Made last, deleted with them" })
    ).json<{ note_id: number }>();
    await call(app, "PUT", `/api/people/${person.person_id}/notes/${note.note_id}`, { content: "And edited" });
    const deletedPerson = await call(app, "GET", `/api/people/${person.person_id}`);
    const personNote = await call(app, "GET", `/api/people/${person.person_id}/notes/${note.note_id}`);
    await call(app, "DELETE", `/api/people/${person.person_id}`);
    return {
      personId: person.person_id,
      noteId: note.note_id,
      etags: {
        "/api/people/1/notes/1": deletedNote.headers.etag,
        [`/api/people/${person.person_id}`]: deletedPerson.headers.etag,
        [`/api/people/${person.person_id}/notes/${note.note_id}`]: personNote.headers.etag,
      },
      revisions: (await call(app, "GET", "/api/people/1/notes/2/revisions")).body,
    };
  });
}

/**
 * New rows get ids above every id the trash keeps, and every trash entry restores with the ETags
 * its items had when they were deleted.
 */
async function assertTrashRestores(url: string, made: Awaited<ReturnType<typeof fillWithHistory>>): Promise<void> {
  await withService(url, async (app) => {
    const person = (await call(app, "POST", "/api/people", { fname: "After", lname: "The Load" })).json<{
      person_id: number;
    }>();
    assert.ok(person.person_id > made.personId, `person id ${person.person_id} is above the trashed ${made.personId}`);
    const note = (await call(app, "POST", `/api/people/${person.person_id}/notes`, { content: "After" })).json<{
      note_id: number;
    }>();
    assert.ok(note.note_id > made.noteId, `note id ${note.note_id} is above the trashed ${made.noteId}`);
    const entries = (await call(app, "GET", "/api/trash")).json<{ trash_id: number }[]>();
    assert.equal(entries.length, 2);
    for (const { trash_id } of entries) await call(app, "POST", `/api/trash/${trash_id}/restore`);
    for (const [itemUrl, etag] of Object.entries(made.etags)) {
      assert.equal((await call(app, "GET", itemUrl)).headers.etag, etag, `${itemUrl} keeps its ETag`);
    }
    assert.equal((await call(app, "GET", "/api/people/1/notes/2/revisions")).body, made.revisions);
  });
}

describe("people-notes export and import", () => {
  test("history and the trash go SQLite → PostgreSQL → SQLite byte for byte, and restore there as they were", async () => {
    const [first, middle, last] = [sqliteUrl("first"), await postgresUrl(), sqliteUrl("last")];
    const made = await fillWithHistory(first);

    const original = await exportToFile(first);
    const types = lines(original.text).map((line) => (JSON.parse(line) as { type: string }).type);
    assert.ok(types.includes("note_revision") && types.includes("trash_entry"), original.text);
    assert.deepEqual(
      [...new Set(types)],
      ["export", "person", "note", "note_revision", "trash_entry", "end"],
      "history follows the notes, the trash comes last",
    );
    assert.match(original.text, /\{"type":"end","people":3,"notes":\d+,"revisions":\d+,"trash":2\}\n$/);

    const there = await importInto(middle, [original.file]);
    assert.equal(there.code, 0, there.stderr);
    assert.match(there.stdout, /imported 3 people, \d+ notes, \d+ revisions and 2 trash entries from /);
    const fromPostgres = await exportToFile(middle);
    assert.ok(fromPostgres.text === original.text, "PostgreSQL exports the same bytes");
    const back = await importInto(last, [fromPostgres.file]);
    assert.equal(back.code, 0, back.stderr);
    assert.ok((await exportToFile(last)).text === original.text, "SQLite exports the same bytes again");
    const json = await exportToFile(middle, "json");
    assert.match(json.text, /"revisions":\[\n\{"type":"note_revision",/);
    assert.ok((await exportToFile(last, "json")).text === json.text, "the JSON format too");

    await assertTrashRestores(middle, made);
    await assertTrashRestores(last, made);
  });

  test("--merge keeps the versions and trash entries the database has, and leaves out entries of its live rows", async () => {
    const [source, target] = [sqliteUrl("merge-source"), await postgresUrl()];
    const made = await fillWithHistory(source);
    const { file, text } = await exportToFile(source);
    const revisions = lines(text).filter((line) => line.includes('"type":"note_revision"')).length;
    // The target has note 1 live, which the file has in its trash: that entry could never be restored there.
    await seedTutorial(target);

    const merged = await importInto(target, [file, "--merge"]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(
      merged.stdout,
      new RegExp(`revisions ${revisions} added, 0 updated, 0 kept; trash 1 added, 0 updated, 1 kept`),
    );
    const again = await importInto(target, [file, "--merge"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      new RegExp(`revisions 0 added, 0 updated, ${revisions} kept; trash 0 added, 0 updated, 2 kept`),
    );
    const versions = (body: string) => lines(body).filter((line) => line.includes('"type":"note_revision"'));
    assert.deepEqual(versions((await exportToFile(target)).text), versions(text));
    await withService(target, async (app) => {
      const entries = (await call(app, "GET", "/api/trash")).json<{ trash_id: number; kind: string }[]>();
      assert.deepEqual(
        entries.map(({ kind }) => kind),
        ["person"],
      );
      const note = (await call(app, "POST", "/api/people/1/notes", { content: "After the merge" })).json<{
        note_id: number;
      }>();
      assert.ok(note.note_id > made.noteId, `note id ${note.note_id} is above the trashed ${made.noteId}`);
      await call(app, "POST", `/api/trash/${entries[0]?.trash_id}/restore`);
      const person = `/api/people/${made.personId}`;
      assert.equal((await call(app, "GET", person)).headers.etag, made.etags[person]);
    });
  });

  test("--no-history leaves history and the trash out; such a file loads as one made before they were carried", async () => {
    const [source, target] = [sqliteUrl("source"), sqliteUrl("target")];
    await fillWithHistory(source);
    const run = await exportFrom(source, ["--no-history"]);
    assert.equal(run.code, 0, run.stderr);
    const types = new Set(lines(run.stdout).map((line) => (JSON.parse(line) as { type: string }).type));
    assert.deepEqual([...types], ["export", "person", "note", "end"]);
    assert.match(run.stdout, /\{"type":"end","people":3,"notes":\d+\}\n$/);
    const json = await exportFrom(source, ["--no-history", "--format", "json"]);
    assert.ok(!json.stdout.includes('"revisions"') && !json.stdout.includes('"trash"'), json.stdout);

    const file = fileNamed("no-history.ndjson");
    writeFileSync(file, run.stdout);
    const loaded = await importInto(target, [file]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout, /imported 3 people and \d+ notes from /);
    const again = await exportToFile(target);
    assert.ok(!again.text.includes("note_revision") && !again.text.includes("trash_entry"));
    assert.match(again.text, /"revisions":0,"trash":0\}\n$/);
    assert.equal((await exportFrom(target, ["--no-history"])).stdout, run.stdout);
  });

  // Five batches of notes at the default 5,000 rows, the last one partial, through pipes between
  // processes: every batch boundary and the last short batch, each way. What is asserted holds at
  // any size past them; a million notes, with time and memory, are bench/'s (npm run bench -- --export).
  test("22,500 notes go SQLite → PostgreSQL → SQLite and export byte for byte the same each time", {
    timeout: 600_000,
  }, async () => {
    const [first, middle, last] = [sqliteUrl("first"), await postgresUrl(), sqliteUrl("last")];
    await fill(first, 1_000, 22_500);

    const original = await exportToFile(first, "ndjson", "process");
    assert.equal(lines(original.text).length, 1 + 1_000 + 22_500 + 1);
    assert.match(original.text, /^\{"type":"export","format_version":1\}\n\{"type":"person","person_id":1,/);
    assert.match(original.text, /\{"type":"end","people":1000,"notes":22500,"revisions":0,"trash":0\}\n$/);

    const there = await importInto(middle, [original.file], "process");
    assert.equal(there.code, 0, there.stderr);
    assert.match(there.stdout, /^people-notes: imported 1,000 people and 22,500 notes from .* in [\d.]+ s; migrated/);
    assert.match(there.stdout, /verified: 1,000 people, 22,500 notes, sha256 [0-9a-f]{64}\n$/);
    assert.match(there.stderr, /checking the file: [\d,]+\/[\d,]+ \(100%\)/);
    assert.match(there.stderr, /importing notes: 22,500\/22,500 \(100%\)/);
    const fromPostgres = await exportToFile(middle, "ndjson", "process");
    assert.ok(fromPostgres.text === original.text, "PostgreSQL exports the same bytes");

    const back = await importInto(last, [fromPostgres.file], "process");
    assert.equal(back.code, 0, back.stderr);
    const fromSqlite = await exportToFile(last, "ndjson", "process");
    assert.ok(fromSqlite.text === original.text, "SQLite exports the same bytes again");
    assert.deepEqual(await contents(last), await contents(first));
    assert.deepEqual(await contents(middle), await contents(first));
  });

  test("the JSON format round-trips too, across engines, and both formats hold the same records", async () => {
    const [source, target] = [sqliteUrl("json"), await postgresUrl()];
    await fill(source, 7, 300);
    const json = await exportToFile(source, "json");
    assert.match(json.text, /^\{"format_version":1,"people":\[\n\{"type":"person",/);
    const ndjson = await exportToFile(source, "ndjson");
    const document = JSON.parse(json.text) as { people: unknown[]; notes: unknown[] };
    const records = lines(ndjson.text).map((line) => JSON.parse(line));
    assert.deepEqual([...document.people, ...document.notes], records.slice(1, -1));

    const loaded = await importInto(target, [json.file]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.equal((await exportToFile(target, "json")).text, json.text);
    assert.equal((await exportToFile(target, "ndjson")).text, ndjson.text);
  });

  test("a database with people or notes is refused in one line and left as it was", async () => {
    const [source, target] = [sqliteUrl("source"), await postgresUrl()];
    await fill(source, 3, 10);
    await seedTutorial(target);
    const { file } = await exportToFile(source);
    const before = await contents(target);

    const refused = await importInto(target, [file]);
    assertOneLineFailure(
      refused,
      /^people-notes: the database is not empty: it has 3 people and 7 notes; pass --replace to replace them, or --merge/,
    );
    assert.deepEqual(await contents(target), before);
  });

  test("--replace puts the file's people and notes in place of the database's", async () => {
    const [source, target] = [await postgresUrl(), sqliteUrl("target")];
    await fill(source, 5, 40);
    await seedTutorial(target);
    const exported = await exportToFile(source);

    const replaced = await importInto(target, [exported.file, "--replace"]);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, /imported 5 people and 40 notes .*; replaced its 3 people and 7 notes/);
    assert.equal((await exportToFile(target)).text, exported.text);
    assert.deepEqual(await contents(target), await contents(source));
  });

  for (const engine of ["sqlite", "postgres"] as const) {
    test(`--merge (${engine}): the higher version wins, a tie keeps the database's row, new ids are added`, async () => {
      const target = engine === "sqlite" ? sqliteUrl("merge") : await postgresUrl();
      await seedTutorial(target);
      await withStore(target, async (store) => {
        // Person 1 and note 1 at version 2 in the database.
        await store.db.updateTable("person").set({ version: 2 }).where("person_id", "=", 1).execute();
        await store.db.updateTable("note").set({ version: 2 }).where("note_id", "=", 1).execute();
      });
      const file = ndjsonFile([
        HEADER,
        person(1, "Douglas", "Farrell", 2), // tie: the database's Doug stays
        person(2, "Kent", "Brockmann", 3, "2030-01-01T00:00:00.000Z"), // higher: replaces
        person(10, "Homer", "Simpson", 1), // new
        note(1, 1, "Older text", 1), // lower: kept
        note(2, 10, "Moved to Homer", 5), // higher: replaces, and moves to person 10
        note(4, 2, "Same version, other text", 1), // tie: kept
        note(20, 3, "For Bunny, who is only in the database", 1), // new, person in the database only
        end(3, 4),
      ]);
      const merged = await importInto(target, [file, "--merge"]);
      assert.equal(merged.code, 0, merged.stderr);
      assert.match(
        merged.stdout,
        /merged .*: people 1 added, 1 updated, 1 kept; notes 1 added, 1 updated, 2 kept in [\d.]+ s; verified: 4 people, 8 notes/,
      );
      const after = await contents(target);
      const byId = new Map(after.people.map((p) => [p.person_id, p]));
      assert.equal(byId.get(1)?.fname, "Doug");
      assert.deepEqual(
        [byId.get(2)?.lname, byId.get(2)?.lname_key, byId.get(2)?.version, byId.get(2)?.timestamp],
        ["Brockmann", "brockmann", 3, "2030-01-01T00:00:00.000Z"],
      );
      assert.equal(byId.get(10)?.fname_key, "homer");
      const notes = new Map(after.notes.map((n) => [n.note_id, n]));
      assert.equal(notes.get(1)?.version, 2);
      assert.notEqual(notes.get(1)?.content, "Older text");
      assert.deepEqual(
        [notes.get(2)?.person_id, notes.get(2)?.content, notes.get(2)?.version],
        [10, "Moved to Homer", 5],
      );
      assert.notEqual(notes.get(4)?.content, "Same version, other text");
      assert.equal(notes.get(20)?.person_id, 3);
      assert.deepEqual(after.counts, [4, 8]);
      await withStore(target, async (store) => {
        const tutorialNotesOfDoug = 3;
        assert.equal(await countNotesOfPerson(store, 1), tutorialNotesOfDoug - 1, "note 2 left Doug");
        assert.equal(await countNotesOfPerson(store, 10), 1, "and is counted for Homer");
        // New people and notes get ids after the imported ones.
        const [created] = await store.db
          .insertInto("person")
          .values({
            fname: "Marge",
            lname: "Simpson",
            fname_key: "marge",
            lname_key: "simpson",
            timestamp: "2030-01-01T00:00:00.000Z",
          })
          .returning("person_id")
          .execute();
        assert.ok((created?.person_id ?? 0) > 10);
      });
    });
  }

  test("--merge refuses a note whose person is in neither the file nor the database, and a taken name", async () => {
    const target = await postgresUrl();
    await seedTutorial(target);
    const before = await contents(target);
    const orphan = ndjsonFile([HEADER, person(10, "Homer", "Simpson"), note(30, 99, "Whose?"), end(1, 1)]);
    assertOneLineFailure(
      await importInto(target, [orphan, "--merge"]),
      /hand-made\.ndjson line 3: a note belongs to person 99, who is in neither the file nor the database; nothing was imported$/,
    );
    const taken = ndjsonFile([HEADER, person(10, "doug ", "FARRELL"), end(1, 0)]);
    assertOneLineFailure(
      await importInto(target, [taken, "--merge"]),
      /line 2: fname must not start or end with whitespace/,
    );
    const sameName = ndjsonFile([HEADER, person(10, "doug", "FARRELL"), end(1, 0)]);
    assertOneLineFailure(
      await importInto(target, [sameName, "--merge"]),
      /line 2: person 10 \(doug FARRELL\) has the name of person 1 in the database; nothing was imported$/,
    );
    const takenJson = fileNamed("taken.json");
    writeFileSync(takenJson, `{"format_version":1,"people":[\n${person(10, "doug", "FARRELL")}\n],"notes":[\n]}\n`);
    assertOneLineFailure(
      await importInto(target, [takenJson, "--merge"]),
      /taken\.json line 2: person 10 \(doug FARRELL\) has the name of person 1 in the database; nothing was imported$/,
    );
    // Found after five people were written, one batch each: they are rolled back with the rest.
    const late = ndjsonFile([
      HEADER,
      ...[10, 11, 12, 13, 14].map((id) => person(id, "New", `Person ${id}`)),
      person(15, "Bunny", "EASTER"),
      end(6, 0),
    ]);
    assertOneLineFailure(
      await importInto(target, [late, "--merge", "--batch-rows", "1"]),
      /line 7: person 15 \(Bunny EASTER\) has the name of person 3 in the database; nothing was imported$/,
    );
    assert.deepEqual(await contents(target), before);
  });

  test("a bad file changes nothing and fails in one line that says where and what", async () => {
    const target = sqliteUrl("bad");
    await seedTutorial(target);
    const before = await contents(target);
    const good = [HEADER, person(1, "Doug", "Farrell"), person(2, "Kent", "Brockman"), note(1, 1, "Hi"), end(2, 1)];
    const cases: [string[], RegExp][] = [
      [good.with(2, person(2, "", "Brockman")), /line 3: fname must not be blank/],
      [good.with(2, person(2, "Kent", "Brockman", 0)), /line 3: version must be >= 1/],
      [
        good.with(2, record({ ...JSON.parse(person(2, "Kent", "Brockman")), secret: "x" })),
        /line 3: secret is not allowed/,
      ],
      [
        good.with(2, person(2, "Kent", "Brockman", 1, "2020-01-01T00:00:00Z")),
        /line 3: timestamp must be an ISO 8601 UTC time/,
      ],
      [good.with(3, note(1, 7, "Hi")), /line 4: note 1 belongs to person 7, who is not in the file/],
      [good.with(3, '{"type":"note","note_id":1,'), /line 4: is not valid JSON/],
      [good.with(2, person(1, "Kent", "Brockman")), /line 3: person 1 appears twice/],
      [good.with(2, person(2, "DOUG", "farrell")), /line 3: person 2 has the name of person 1 \(line 2\)/],
      [good.with(0, person(9, "Homer", "Simpson")), /line 1: the first record must be the export header/],
      [good.with(4, end(2, 2)), /line 5: the end record says 2 people and 2 notes; the file has 2 and 1/],
      [good.slice(0, 4), /the file has no end record: it was cut short \(line 4 is the last\)/],
      [
        [...good.slice(0, 3), '{"type":"comment"}', ...good.slice(3)],
        /line 4: type must be one of export, person, note, note_revision, trash_entry, end/,
      ],
    ];
    for (const [recordLines, message] of cases) {
      const file = ndjsonFile(recordLines);
      const run = await importInto(target, [file, "--replace"]);
      assertOneLineFailure(run, new RegExp(`^people-notes: ${file} ${message.source}.*; nothing was imported$`));
    }
    // What `npm run cli -- export > FILE` (without -s) writes before the export.
    const banner = ndjsonFile(["", "> people-notes@1.0.0 cli", "> tsx src/cli.ts export", "", ...good]);
    // A file check failing in a process of its own: one line, exit code 1, as in every case above.
    assertOneLineFailure(
      await importInto(target, [banner, "--replace"], "process"),
      /line 2: is npm's own output, not an export/,
    );
    // JSON: a syntax error and a record that breaks the schema, each with its line.
    const json = fileNamed("bad.json");
    writeFileSync(json, '{"format_version":1,"people":[\n{"type":"person"}\n],"notes":[\n]}\n');
    assertOneLineFailure(await importInto(target, [json, "--replace"]), /bad\.json line 2: person_id is required/);
    writeFileSync(json, '{"format_version":1,"people":[\n{"type":"person",}\n],"notes":[\n]}\n');
    assertOneLineFailure(await importInto(target, [json, "--replace"]), /bad\.json line 2: is not valid JSON/);
    assert.deepEqual(await contents(target), before);
  });

  for (const engine of ["sqlite", "postgres"] as const) {
    test(`names and contents must be as stored (${engine}): trimmed, not blank, no NUL, within the limits`, async () => {
      const target = engine === "sqlite" ? sqliteUrl("stored") : await postgresUrl();
      await seedTutorial(target);
      const before = await contents(target);
      const good = [HEADER, person(1, "Doug", "Farrell"), person(2, "Kent", "Brockman"), note(1, 1, "Hi"), end(2, 1)];
      const cases: [string[], RegExp][] = [
        [good.with(3, note(1, 1, " Hi")), /line 4: content must not start or end with whitespace/],
        [good.with(2, person(2, "Kent ", "Brockman")), /line 3: fname must not start or end with whitespace/],
        [good.with(3, note(1, 1, " \t\n ")), /line 4: content must not be blank/],
        [good.with(3, note(1, 1, "Hi\n")), /line 4: content must not start or end with whitespace/],
        [good.with(3, note(1, 1, "")), /line 4: content must not be blank/],
        [good.with(3, note(1, 1, "Nul\u0000")), /line 4: content must not .*NUL characters/],
        [good.with(3, note(1, 1, "x".repeat(10_001))), /line 4: content must NOT have more than 10000 characters/],
        [good.with(2, person(2, "Kent", "\u00a0Brockman")), /line 3: lname must not start or end with whitespace/],
        [good.with(2, person(2, "Kent", "  ")), /line 3: lname must not be blank/],
        [good.with(2, person(2, "K".repeat(33), "Brockman")), /line 3: fname must NOT have more than 32 characters/],
      ];
      // The file is checked before the database is touched: PostgreSQL runs a few, to see nothing changes there either.
      for (const [recordLines, message] of engine === "sqlite" ? cases : cases.slice(0, 3)) {
        const file = ndjsonFile(recordLines);
        const run = await importInto(target, [file, "--replace"]);
        assertOneLineFailure(run, new RegExp(`^people-notes: ${file} ${message.source}.*; nothing was imported$`));
      }
      assert.deepEqual(await contents(target), before);

      // The longest names and note the API stores are imported as they are.
      const longest = ndjsonFile([
        HEADER,
        person(1, "F".repeat(32), "\u{1F600}".repeat(32)),
        note(1, 1, "\u{1F600}".repeat(10_000)),
        end(1, 1),
      ]);
      const loaded = await importInto(target, [longest, "--replace"]);
      assert.equal(loaded.code, 0, loaded.stderr);
      const after = await contents(target);
      assert.deepEqual(
        [after.people[0]?.lname, after.notes[0]?.content],
        ["\u{1F600}".repeat(32), "\u{1F600}".repeat(10_000)],
      );
    });
  }

  test("an import killed half-way leaves the database as it was, and running it again succeeds", {
    timeout: 300_000,
  }, async () => {
    // Forty batches of 250: enough to stop in the middle of the notes, which is what matters here
    // (the number of batches, not their size); the volume is the round trip's above.
    const [source, target] = [sqliteUrl("large"), await postgresUrl()];
    await fill(source, 200, 10_000);
    const { file, text } = await exportToFile(source);
    await seedTutorial(target);
    const before = await contents(target);

    const args = [file, "--replace", "--batch-rows", "250"];
    let killedAt: number | undefined;
    const killed = await runCli(["import", ...args], {
      env: { DATABASE_URL: target },
      watch: (stderr, kill) => {
        const done = [...stderr.matchAll(/importing notes: ([\d,]+)\/10,000/g)].map((m) =>
          Number(m[1]?.replace(/,/g, "")),
        );
        const furthest = Math.max(0, ...done);
        if (killedAt === undefined && furthest >= 5_000) {
          killedAt = furthest;
          kill();
        }
      },
    });
    assert.equal(killed.signal, "SIGKILL", `the import was not killed: ${killed.stdout}${killed.stderr}`);
    assert.ok(killedAt !== undefined && killedAt < 10_000);
    assert.deepEqual(await contents(target), before);

    const again = await importInto(target, args);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await exportToFile(target)).text, text);
  });

  test("--help states the merge rule; a missing database or file is one line", async () => {
    const help = await runCli(["import", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stderr, /--merge +merge the file into the people and notes the database has/);
    assert.match(
      help.stderr.replace(/\s+/g, " "),
      /Merge rule: a person or note whose id the database has already is taken from the file only if the file's version is higher \(a tie keeps the database's row\)/,
    );
    assert.match(help.stderr, /Tokens are not part of an export/);
    const all = await runCli(["--help"]);
    assert.match(all.stderr, /^ {2}export {2,}write every person and note/m);
    assert.match(all.stderr, /^ {2}import {2,}load an export/m);

    assertOneLineFailure(
      await exportFrom(sqliteUrl("missing"), [], "process"),
      /^people-notes: there is no SQLite database at /,
    );
    const bare = await postgresUrl();
    assertOneLineFailure(
      await exportFrom(bare, [], "process"),
      /^people-notes: the database has no people-notes tables$/,
    );
    assertOneLineFailure(
      await importInto(sqliteUrl("new"), [fileNamed("none.ndjson")], "process"),
      /^people-notes: there is no file /,
    );
    const usage = await runCli(["export", "--format", "xml"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--format must be json or ndjson/);
  });
});
