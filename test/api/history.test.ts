import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AccessOptions } from "../../src/app.js";
import { changesAfter } from "../../src/db/changes/repository.js";
import type { HistorySettings } from "../../src/domain/settings.js";
import { TokenService } from "../../src/domain/tokens.js";
import {
  bearer,
  engines,
  type Note,
  type NoteRevision,
  sendJson,
  startApp,
  type TestApp,
  withStartedApp,
} from "../support/app.js";

async function withApp(
  engine: "sqlite" | "postgres",
  work: (app: TestApp) => Promise<void>,
  options: { history?: HistorySettings; access?: AccessOptions } = {},
) {
  return withStartedApp({ engine, ...options }, work);
}

const noteUrl = (note: Pick<Note, "person_id" | "note_id">) => `/api/people/${note.person_id}/notes/${note.note_id}`;

/** Writes a note and returns it; fails unless the answer is 201. */
async function write(app: TestApp, personId: number, content: string, headers: Record<string, string> = {}) {
  const response = await sendJson(app, "POST", `/api/people/${personId}/notes`, { content }, headers);
  assert.equal(response.statusCode, 201, response.body);
  return response.json<Note>();
}

/** Edits a note and returns the answer's ETag; fails unless the answer is 200. */
async function edit(app: TestApp, note: Note, content: string, headers: Record<string, string> = {}) {
  const response = await sendJson(app, "PUT", noteUrl(note), { content }, headers);
  assert.equal(response.statusCode, 200, response.body);
  return response.headers.etag as string;
}

/** Every version of the note, newest first, read page by page, with the total each page gave. */
async function history(app: TestApp, note: Note, limit = 100) {
  const versions: NoteRevision[] = [];
  const totals = new Set<string>();
  let url: string | undefined = `${noteUrl(note)}/revisions?limit=${limit}`;
  for (let pages = 0; url !== undefined; pages++) {
    assert.ok(pages < 100, "the pages end");
    const response = await app.inject({ url });
    assert.equal(response.statusCode, 200, response.body);
    versions.push(...response.json<NoteRevision[]>());
    totals.add(String(response.headers["x-total-count"]));
    url = /<([^>]+)>; rel="next"/.exec(String(response.headers.link ?? ""))?.[1];
  }
  assert.equal(totals.size, 1, "every page gives the same total");
  assert.equal(Number([...totals][0]), versions.length, "the total is the number of versions");
  return versions;
}

const restore = (app: TestApp, note: Note, version: number, headers: Record<string, string> = {}) =>
  app.inject({ method: "POST", url: `${noteUrl(note)}/revisions/${version}/restore`, headers });

async function changeCount(app: TestApp): Promise<number> {
  return (await changesAfter(app.store, 0, 100_000)).rows.length;
}

for (const engine of engines()) {
  describe(`note history (${engine})`, () => {
    test("each edit keeps one version, listed newest first and paged; an edit that changes nothing keeps none", () =>
      withApp(engine, async (app) => {
        const note = await write(app, 1, "First");
        await edit(app, note, "Second");
        await edit(app, note, "Second");
        await edit(app, note, "  Second  ");
        await edit(app, note, "Third");
        await edit(app, note, "Fourth");
        const versions = await history(app, note, 3);
        assert.deepEqual(
          versions.map((v) => [v.version, v.content, v.current]),
          [
            [4, "Fourth", true],
            [3, "Third", false],
            [2, "Second", false],
            [1, "First", false],
          ],
        );
        for (const version of versions) {
          assert.deepEqual(version.changed_by, { kind: "anonymous", person_id: null }, "access control is off");
          assert.equal(version.note_id, note.note_id);
          assert.equal(version.person_id, 1);
        }
        const current = (await app.inject({ url: noteUrl(note) })).json<Note>();
        assert.equal(versions[0]?.timestamp, current.timestamp, "the current version is the note as it is");
        const times = versions.map((v) => v.timestamp);
        assert.deepEqual([...times].sort().reverse(), times, "newest first");

        const first = await app.inject({ url: `${noteUrl(note)}/revisions?limit=3` });
        assert.match(String(first.headers.etag), /^W\/"/, "a list page's weak ETag");
        const cached = await app.inject({
          url: `${noteUrl(note)}/revisions?limit=3`,
          headers: { "if-none-match": String(first.headers.etag) },
        });
        assert.equal(cached.statusCode, 304);

        const one = await app.inject({ url: `${noteUrl(note)}/revisions/2` });
        assert.equal(one.statusCode, 200);
        assert.deepEqual(one.json(), versions[2]);
        assert.equal((await app.inject({ url: `${noteUrl(note)}/revisions/5` })).statusCode, 404);
        assert.equal((await app.inject({ url: `/api/people/2/notes/${note.note_id}/revisions` })).statusCode, 404);
        assert.equal((await app.inject({ url: `/api/people/2/notes/${note.note_id}/revisions/1` })).statusCode, 404);
        const forged = await app.inject({ url: `${noteUrl(note)}/revisions?cursor=${"x".repeat(10)}` });
        assert.equal(forged.statusCode, 400);
      }));

    test("a note written before history was kept shows its current version, its maker unknown, and its first edit keeps it", () =>
      withApp(engine, async (app) => {
        const seeded = (await app.inject({ url: "/api/people/1/notes/1" })).json<Note>();
        const before = await history(app, seeded);
        assert.deepEqual(
          before.map((v) => [v.version, v.content, v.current, v.changed_by]),
          [[1, seeded.content, true, null]],
        );
        await edit(app, seeded, "Edited once");
        const after = await history(app, seeded);
        assert.deepEqual(
          after.map((v) => [v.version, v.content, v.current, v.changed_by]),
          [
            [2, "Edited once", true, { kind: "anonymous", person_id: null }],
            [1, seeded.content, false, null],
          ],
        );
      }));

    test("a restore makes the old content the current version, as a new version with a new ETag, and is announced", () =>
      withApp(engine, async (app) => {
        const note = await write(app, 2, "Original words");
        await edit(app, note, "Changed words");
        const read = await app.inject({ url: noteUrl(note) });
        const changes = await changeCount(app);

        const restored = await restore(app, note, 1, { "if-match": String(read.headers.etag) });
        assert.equal(restored.statusCode, 200, restored.body);
        assert.equal(restored.json<Note>().content, "Original words");
        assert.notEqual(restored.headers.etag, read.headers.etag, "a new version, a new ETag");
        const now = await app.inject({ url: noteUrl(note) });
        assert.equal(now.json<Note>().content, "Original words");
        assert.equal(now.headers.etag, restored.headers.etag);

        const versions = await history(app, note);
        assert.deepEqual(
          versions.map((v) => [v.version, v.content, v.current]),
          [
            [3, "Original words", true],
            [2, "Changed words", false],
            [1, "Original words", false],
          ],
        );
        const { rows } = await changesAfter(app.store, 0, 100_000);
        assert.equal(rows.length, changes + 1, "the restore is one change in the feed");
        const last = rows.at(-1);
        assert.equal(last?.kind, "note.updated");
        assert.equal(last?.resource_id, note.note_id);
        assert.equal(JSON.parse(last?.data ?? "{}").content, "Original words");

        const again = await restore(app, note, 3);
        assert.equal(again.statusCode, 200, "restoring the current version");
        const same = await restore(app, note, 1);
        assert.equal(same.statusCode, 200, "restoring a version with the current content");
        assert.equal((await history(app, note)).length, 3, "restoring what the note says changes nothing");
        assert.equal(await changeCount(app), changes + 1, "and announces nothing");
        assert.equal((await restore(app, note, 4)).statusCode, 404);
        assert.equal((await restore(app, { ...note, person_id: 1 }, 1)).statusCode, 404);
      }));

    test("a restore with a stale If-Match is 412 with the current ETag, and changes nothing", () =>
      withApp(engine, async (app) => {
        const note = await write(app, 3, "Mine");
        const stale = String((await app.inject({ url: noteUrl(note) })).headers.etag);
        const current = await edit(app, note, "Someone else's");
        const changes = await changeCount(app);
        const refused = await restore(app, note, 1, { "if-match": stale });
        assert.equal(refused.statusCode, 412, refused.body);
        assert.match(String(refused.headers["content-type"]), /^application\/problem\+json/);
        assert.equal(refused.headers.etag, current);
        assert.equal((await app.inject({ url: noteUrl(note) })).json<Note>().content, "Someone else's");
        assert.equal((await history(app, note)).length, 2);
        assert.equal(await changeCount(app), changes);
        const missing = await restore(app, note, 9, { "if-match": stale });
        assert.equal(missing.statusCode, 412, "the note is checked before the version");
        const allowed = await restore(app, note, 1, { "if-match": current });
        assert.equal(allowed.statusCode, 200);
      }));

    test("a restore without If-Match is 428 when the server requires it", async () => {
      const app = await startApp({ engine, requireIfMatch: true });
      try {
        assert.equal((await restore(app, { person_id: 1, note_id: 1 } as Note, 1)).statusCode, 428);
      } finally {
        await app.close();
      }
    });

    test("racing changes: edits without If-Match all land, each keeping a version; of restores with one ETag one wins", () =>
      withApp(engine, async (app) => {
        const note = await write(app, 1, "Start");
        const edits = await Promise.all(
          [1, 2, 3, 4, 5].map((n) => sendJson(app, "PUT", noteUrl(note), { content: `Racer ${n}` })),
        );
        assert.deepEqual(
          edits.map((response) => response.statusCode),
          [200, 200, 200, 200, 200],
          edits.map((response) => response.body).join("\n"),
        );
        const versions = await history(app, note);
        assert.deepEqual(
          versions.map((v) => v.version),
          [6, 5, 4, 3, 2, 1],
        );
        assert.deepEqual(versions.map((v) => v.content).sort(), [
          "Racer 1",
          "Racer 2",
          "Racer 3",
          "Racer 4",
          "Racer 5",
          "Start",
        ]);

        const etag = String((await app.inject({ url: noteUrl(note) })).headers.etag);
        const restores = await Promise.all(
          [1, 2, 3].map((version) => restore(app, note, version, { "if-match": etag })),
        );
        assert.deepEqual(restores.map((response) => response.statusCode).sort(), [200, 412, 412]);
        assert.equal((await history(app, note)).length, 7, "one restore, one version");
      }));

    test("HISTORY_MAX_VERSIONS keeps only the newest replaced versions of each note", () =>
      withApp(
        engine,
        async (app) => {
          const note = await write(app, 1, "v1");
          const other = await write(app, 2, "other v1");
          for (const n of [2, 3, 4, 5, 6]) await edit(app, note, `v${n}`);
          await edit(app, other, "other v2");
          const versions = await history(app, note, 2);
          assert.deepEqual(
            versions.map((v) => [v.version, v.content]),
            [
              [6, "v6"],
              [5, "v5"],
              [4, "v4"],
            ],
          );
          assert.equal((await app.inject({ url: `${noteUrl(note)}/revisions/3` })).statusCode, 404);
          assert.equal((await restore(app, note, 3)).statusCode, 404);
          assert.equal((await history(app, other)).length, 2, "each note keeps its own");
          const restored = await restore(app, note, 4);
          assert.equal(restored.json<Note>().content, "v4");
          assert.deepEqual(
            (await history(app, note)).map((v) => v.version),
            [7, 6, 5],
          );
        },
        { history: { maxVersions: 2 } },
      ));

    test("whoever may change a note may restore it, and the version says who made it; anyone may read history", () =>
      withApp(engine, async (app) => {
        const tokens = new TokenService(app.store);
        const admin = (await tokens.create({ kind: "admin", name: "ops" })).token;
        const doug = (await tokens.create({ kind: "person", personId: 1, name: "Doug's" })).token;
        const kent = (await tokens.create({ kind: "person", personId: 2, name: "Kent's" })).token;
        const note = await write(app, 1, "Doug wrote this", bearer(doug));
        await edit(app, note, "The admin changed it", bearer(admin));
        const changes = await changeCount(app);

        assert.equal((await restore(app, note, 1)).statusCode, 401);
        const refused = await restore(app, note, 1, bearer(kent));
        assert.equal(refused.statusCode, 403, refused.body);
        assert.equal(await changeCount(app), changes, "a refused restore changes nothing");
        assert.equal((await app.inject({ url: noteUrl(note) })).json<Note>().content, "The admin changed it");

        const restored = await restore(app, note, 1, bearer(doug));
        assert.equal(restored.statusCode, 200, restored.body);
        const versions = await history(app, note);
        assert.deepEqual(
          versions.map((v) => [v.version, v.changed_by]),
          [
            [3, { kind: "person", person_id: 1 }],
            [2, { kind: "admin", person_id: null }],
            [1, { kind: "person", person_id: 1 }],
          ],
        );
        assert.equal((await restore(app, note, 2, bearer(admin))).statusCode, 200, "an admin may restore any note");
      }));

    test("deleting a note, or its person, deletes its history", () =>
      withApp(engine, async (app) => {
        const note = await write(app, 1, "Short-lived");
        await edit(app, note, "Shorter-lived");
        const kept = await write(app, 3, "Bunny's");
        await edit(app, kept, "Bunny's, edited");
        const rows = (noteId: number) =>
          app.store.db.selectFrom("note_revision").select("version").where("note_id", "=", noteId).execute();
        assert.equal((await rows(note.note_id)).length, 2);
        assert.equal((await sendJson(app, "DELETE", noteUrl(note))).statusCode, 204);
        assert.equal((await app.inject({ url: `${noteUrl(note)}/revisions` })).statusCode, 404);
        assert.deepEqual(await rows(note.note_id), []);
        assert.equal((await sendJson(app, "DELETE", "/api/people/3")).statusCode, 204);
        assert.deepEqual(await rows(kept.note_id), []);
      }));
  });
}
