import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { components } from "../../openapi/types.js";
import type { AccessOptions } from "../../src/app.js";
import { changesAfter } from "../../src/db/changes/repository.js";
import { purgeExpired } from "../../src/db/trash-repository.js";
import { TokenService } from "../../src/domain/tokens.js";
import { TrashService } from "../../src/domain/trash.js";
import {
  bearer,
  engines,
  type Note,
  type NoteRevision,
  type Person,
  sendJson,
  type TestApp,
  withStartedApp,
} from "../support/app.js";

type TrashEntry = components["schemas"]["TrashEntry"];

async function withApp(
  engine: "sqlite" | "postgres",
  work: (app: TestApp) => Promise<void>,
  options: { access?: AccessOptions } = {},
) {
  return withStartedApp({ engine, ...options }, work);
}

const noteUrl = (personId: number, noteId: number) => `/api/people/${personId}/notes/${noteId}`;

async function read(app: TestApp, url: string) {
  const response = await app.inject({ url });
  return { status: response.statusCode, etag: response.headers.etag, body: response.body };
}

/** The whole trash as `headers` sees it, page by page, and the total each page gave. */
async function trash(app: TestApp, headers: Record<string, string> = {}, limit = 100) {
  const entries: TrashEntry[] = [];
  const totals = new Set<number>();
  let url: string | undefined = `/api/trash?limit=${limit}`;
  for (let pages = 0; url !== undefined; pages++) {
    assert.ok(pages < 100, "the pages end");
    const response = await app.inject({ url, headers });
    assert.equal(response.statusCode, 200, response.body);
    entries.push(...response.json<TrashEntry[]>());
    totals.add(Number(response.headers["x-total-count"]));
    url = /<([^>]+)>; rel="next"/.exec(String(response.headers.link ?? ""))?.[1];
  }
  assert.deepEqual([...totals], [entries.length], "every page gives the number of entries");
  return entries;
}

const restore = (app: TestApp, trashId: number, headers: Record<string, string> = {}) =>
  app.inject({ method: "POST", url: `/api/trash/${trashId}/restore`, headers });

const purge = (app: TestApp, trashId: number, headers: Record<string, string> = {}) =>
  app.inject({ method: "DELETE", url: `/api/trash/${trashId}`, headers });

async function remove(app: TestApp, url: string, headers: Record<string, string> = {}) {
  const response = await app.inject({ method: "DELETE", url, headers });
  assert.equal(response.statusCode, 204, response.body);
}

/** What the live data looks like from outside: every list, count and search that could show a deleted item. */
async function liveView(app: TestApp) {
  const people = await app.inject({ url: "/api/people" });
  const notes = await app.inject({ url: "/api/notes" });
  const found = await app.inject({ url: "/api/notes?q=useful" });
  return {
    people: people.body,
    peopleTotal: people.headers["x-total-count"],
    notes: notes.body,
    notesTotal: notes.headers["x-total-count"],
    found: found.body,
    foundTotal: found.headers["x-total-count"],
  };
}

async function kinds(app: TestApp, after: number) {
  return (await changesAfter(app.store, after, 1000)).rows.map((row) => [row.kind, row.resource_id]);
}

async function newestRevision(app: TestApp) {
  return (await changesAfter(app.store, 0, 100_000)).rows.at(-1)?.revision ?? 0;
}

for (const engine of engines()) {
  describe(`trash (${engine})`, () => {
    test("a deleted note is gone from every list, count and search, and comes back as it was, history and all", () =>
      withApp(engine, async (app) => {
        const edited = await sendJson(app, "PUT", noteUrl(1, 2), { content: "This could be very useful" });
        assert.equal(edited.statusCode, 200, edited.body);
        const before = await liveView(app);
        const note = await read(app, noteUrl(1, 2));
        const person = await read(app, "/api/people/1");
        const versions = (await app.inject({ url: `${noteUrl(1, 2)}/revisions` })).json<NoteRevision[]>();
        const since = await newestRevision(app);

        await remove(app, noteUrl(1, 2));
        assert.equal((await read(app, noteUrl(1, 2))).status, 404);
        const deleted = await liveView(app);
        assert.equal(Number(deleted.notesTotal), Number(before.notesTotal) - 1);
        assert.ok(!deleted.notes.includes("very useful"), "not in the list");
        assert.ok(!deleted.found.includes("very useful"), "not found by search");
        assert.equal(Number(deleted.foundTotal), Number(before.foundTotal) - 1);
        assert.ok(!(await read(app, "/api/people/1")).body.includes("very useful"), "not among the person's notes");
        const people = (await app.inject({ url: "/api/people/1/notes" })).headers["x-total-count"];
        assert.equal(people, "2");

        const [entry, ...others] = await trash(app);
        assert.equal(others.length, 0);
        assert.ok(entry);
        assert.deepEqual(
          [entry.kind, entry.person_id, entry.note_id, entry.fname, entry.lname, entry.content, entry.notes],
          ["note", 1, 2, "Doug", "Farrell", "This could be very useful", 1],
        );
        const days = (Date.parse(entry.expires_at) - Date.parse(entry.deleted_at)) / 86_400_000;
        assert.equal(days, 30, "kept for TRASH_RETENTION_DAYS");

        const restored = await restore(app, entry.trash_id);
        assert.equal(restored.statusCode, 200, restored.body);
        assert.equal(restored.json<TrashEntry>().trash_id, entry.trash_id);
        assert.deepEqual(await read(app, noteUrl(1, 2)), note, "the same note: id, content, time, version (ETag)");
        assert.deepEqual(await read(app, "/api/people/1"), person);
        assert.deepEqual(await liveView(app), before);
        const after = (await app.inject({ url: `${noteUrl(1, 2)}/revisions` })).json<NoteRevision[]>();
        assert.deepEqual(after, versions, "its history came back with it");
        assert.deepEqual(await trash(app), []);
        assert.equal((await restore(app, entry.trash_id)).statusCode, 404, "restored once");

        assert.deepEqual(await kinds(app, since), [
          ["note.deleted", 2],
          ["note.restored", 2],
        ]);
        const event = (await changesAfter(app.store, since, 10)).rows[1];
        assert.deepEqual(JSON.parse(event?.data ?? "{}"), JSON.parse(note.body), "note.restored carries the note");
      }));

    test("a deleted person is one entry with their notes; restoring brings all of it back", () =>
      withApp(engine, async (app) => {
        await sendJson(app, "PUT", noteUrl(2, 4), { content: "Profound, really" });
        const before = await liveView(app);
        const person = await read(app, "/api/people/2");
        const notes = await read(app, "/api/people/2/notes");
        const history = await read(app, `${noteUrl(2, 4)}/revisions`);
        const since = await newestRevision(app);

        await remove(app, "/api/people/2");
        assert.equal((await read(app, "/api/people/2")).status, 404);
        assert.equal((await read(app, noteUrl(2, 4))).status, 404);
        assert.equal(Number((await liveView(app)).peopleTotal), Number(before.peopleTotal) - 1);
        assert.equal(Number((await liveView(app)).notesTotal), Number(before.notesTotal) - 2);
        const [entry] = await trash(app);
        assert.ok(entry);
        assert.deepEqual(
          [entry.kind, entry.person_id, entry.note_id, entry.fname, entry.lname, entry.content, entry.notes],
          ["person", 2, null, "Kent", "Brockman", null, 2],
        );

        assert.equal((await restore(app, entry.trash_id)).statusCode, 200);
        assert.deepEqual(await read(app, "/api/people/2"), person);
        assert.deepEqual(await read(app, "/api/people/2/notes"), notes);
        assert.deepEqual(await read(app, `${noteUrl(2, 4)}/revisions`), history);
        assert.deepEqual(await liveView(app), before);
        assert.deepEqual(await kinds(app, since), [
          ["person.deleted", 2],
          ["person.restored", 2],
        ]);
        // The restored person is written to as before: counts and search follow.
        await sendJson(app, "POST", "/api/people/2/notes", { content: "Back again" });
        assert.equal((await app.inject({ url: "/api/people/2/notes" })).headers["x-total-count"], "3");
        assert.equal((await app.inject({ url: "/api/notes?q=brockman" })).headers["x-total-count"], "3");
      }));

    test("a person whose names someone else took meanwhile is not restored: 409 names who has them", () =>
      withApp(engine, async (app) => {
        await remove(app, "/api/people/3");
        const taken = await sendJson(app, "POST", "/api/people", { fname: "bunny", lname: "EASTER" });
        assert.equal(taken.statusCode, 201, taken.body);
        const holder = taken.json<Person>();
        const [entry] = await trash(app);
        assert.ok(entry);
        const refused = await restore(app, entry.trash_id);
        assert.equal(refused.statusCode, 409);
        assert.match(String(refused.headers["content-type"]), /application\/problem\+json/);
        assert.equal(
          refused.json().detail,
          `bunny EASTER (person ${holder.person_id}) has the names of person 3 now: rename one of them to restore it`,
        );
        assert.equal((await read(app, "/api/people/3")).status, 404, "nothing was written back");
        assert.equal((await read(app, noteUrl(3, 6))).status, 404);
        assert.equal((await trash(app)).length, 1, "the entry stays");

        const renamed = await sendJson(app, "PUT", `/api/people/${holder.person_id}`, {
          fname: "Bugs",
          lname: "Bunny",
        });
        assert.equal(renamed.statusCode, 200, renamed.body);
        assert.equal((await restore(app, entry.trash_id)).statusCode, 200);
        assert.equal((await read(app, noteUrl(3, 6))).status, 200);
      }));

    test("an entry whose ids are live again (a merge put rows there) is not restored: 409 says what holds them", () =>
      withApp(engine, async (app) => {
        await remove(app, noteUrl(1, 2));
        await remove(app, "/api/people/3");
        const [personEntry, noteEntry] = await trash(app);
        assert.ok(personEntry && noteEntry);
        // Rows written under the ids the entries keep, as a merge of a hand-edited file can.
        const timestamp = new Date().toISOString();
        await app.store.db
          .insertInto("note")
          .values({ note_id: 2, person_id: 2, content: "Someone else's", timestamp })
          .execute();
        await app.store.db
          .insertInto("person")
          .values({ person_id: 3, fname: "Bugs", lname: "Bunny", fname_key: "bugs", lname_key: "bunny", timestamp })
          .execute();
        const view = await liveView(app);
        const since = await newestRevision(app);

        const refused = await restore(app, noteEntry.trash_id);
        assert.equal(refused.statusCode, 409, refused.body);
        assert.match(String(refused.headers["content-type"]), /application\/problem\+json/);
        assert.equal(
          refused.json().detail,
          "Note 2 is live again, as a note of Kent Brockman (person 2): the entry cannot come back under its own ids",
        );
        const person = await restore(app, personEntry.trash_id);
        assert.equal(person.statusCode, 409, person.body);
        assert.equal(
          person.json().detail,
          "Person 3 is live again, as Bugs Bunny: the entry cannot come back under its own ids",
        );
        assert.deepEqual(await liveView(app), view, "nothing was written back");
        assert.equal((await read(app, noteUrl(3, 6))).status, 404);
        assert.deepEqual(await trash(app), [personEntry, noteEntry], "the entries stay");
        assert.deepEqual(await kinds(app, since), [], "nothing announced");

        // A person whose own id is free is still refused while one of their notes' ids is live.
        await app.store.db.deleteFrom("person").where("person_id", "=", 3).execute();
        await app.store.db
          .insertInto("note")
          .values({ note_id: 7, person_id: 1, content: "Doug's now", timestamp })
          .execute();
        const note = await restore(app, personEntry.trash_id);
        assert.equal(note.statusCode, 409, note.body);
        assert.equal(
          note.json().detail,
          "Note 7 is live again, as a note of Doug Farrell (person 1): the entry cannot come back under its own ids",
        );
        assert.equal((await read(app, "/api/people/3")).status, 404, "nothing was written back");

        // Once the rows holding the ids are gone (to the trash themselves), the entries come back.
        await remove(app, noteUrl(1, 7));
        await remove(app, noteUrl(2, 2));
        assert.equal((await restore(app, personEntry.trash_id)).statusCode, 200);
        assert.equal((await restore(app, noteEntry.trash_id)).statusCode, 200);
        assert.equal((await read(app, noteUrl(1, 2))).status, 200);
        assert.equal((await read(app, noteUrl(3, 7))).status, 200);
      }));

    test("a note of a person in the trash waits for the person; purging the person takes the note's entry", () =>
      withApp(engine, async (app) => {
        await remove(app, noteUrl(1, 1));
        await remove(app, "/api/people/1");
        const [personEntry, noteEntry] = await trash(app);
        assert.equal(personEntry?.kind, "person");
        assert.equal(personEntry?.notes, 2, "the note deleted before is not in the person's entry");
        assert.equal(noteEntry?.kind, "note");
        const refused = await restore(app, noteEntry?.trash_id ?? 0);
        assert.equal(refused.statusCode, 409);
        assert.equal(refused.json().detail, "Note 1 belongs to person 1, who is in the trash: restore them first");

        assert.equal((await purge(app, personEntry?.trash_id ?? 0)).statusCode, 204);
        assert.deepEqual(await trash(app), [], "the note's entry went with its person's");
        assert.equal((await purge(app, personEntry?.trash_id ?? 0)).statusCode, 404);
        assert.equal((await restore(app, personEntry?.trash_id ?? 0)).statusCode, 404);
      }));

    test("ids are never handed out again while their rows are in the trash", () =>
      withApp(engine, async (app) => {
        const newest = await sendJson(app, "POST", "/api/people/1/notes", { content: "The newest" });
        const { note_id } = newest.json<Note>();
        await remove(app, noteUrl(1, note_id));
        const next = await sendJson(app, "POST", "/api/people/1/notes", { content: "Another" });
        assert.ok(next.json<Note>().note_id > note_id);
        const person = await sendJson(app, "POST", "/api/people", { fname: "New", lname: "Comer" });
        const { person_id } = person.json<Person>();
        await remove(app, `/api/people/${person_id}`);
        const other = await sendJson(app, "POST", "/api/people", { fname: "Other", lname: "Comer" });
        assert.ok(other.json<Person>().person_id > person_id);
        for (const entry of await trash(app)) assert.equal((await restore(app, entry.trash_id)).statusCode, 200);
        assert.equal((await read(app, noteUrl(1, note_id))).status, 200);
        assert.equal((await read(app, `/api/people/${person_id}`)).status, 200);
      }));

    test("If-Match on a delete: a changed note stays, and nothing goes to the trash", () =>
      withApp(engine, async (app) => {
        const { etag } = await read(app, noteUrl(1, 3));
        await sendJson(app, "PUT", noteUrl(1, 3), { content: "Changed meanwhile" });
        const refused = await app.inject({
          method: "DELETE",
          url: noteUrl(1, 3),
          headers: { "if-match": String(etag) },
        });
        assert.equal(refused.statusCode, 412);
        assert.deepEqual(await trash(app), []);
        const person = await read(app, "/api/people/1");
        const stale = await app.inject({ method: "DELETE", url: "/api/people/1", headers: { "if-match": '"nope"' } });
        assert.equal(stale.statusCode, 412);
        assert.deepEqual(await trash(app), []);
        await remove(app, "/api/people/1", { "if-match": String(person.etag) });
        assert.equal((await trash(app)).length, 1);
      }));

    test("paged like every list, newest first", () =>
      withApp(engine, async (app) => {
        for (const noteId of [1, 2, 3, 4, 5]) {
          const personId = noteId <= 3 ? 1 : 2;
          await remove(app, noteUrl(personId, noteId));
        }
        const entries = await trash(app, {}, 2);
        assert.deepEqual(
          entries.map((entry) => entry.note_id),
          [5, 4, 3, 2, 1],
        );
        const forged = await app.inject({ url: "/api/trash?cursor=WyJ4Il0" });
        assert.equal(forged.statusCode, 400);
      }));

    test("an admin sees and restores everything; a person their own notes' entries; only an admin purges", () =>
      withApp(
        engine,
        async (app) => {
          const tokens = new TokenService(app.store);
          const admin = bearer((await tokens.create({ kind: "admin", name: "ops" })).token);
          const doug = bearer((await tokens.create({ kind: "person", personId: 1, name: "Doug's" })).token);
          const kent = bearer((await tokens.create({ kind: "person", personId: 2, name: "Kent's" })).token);
          await remove(app, noteUrl(1, 1), doug);
          await remove(app, noteUrl(2, 4), kent);
          await remove(app, "/api/people/3", admin);

          assert.equal((await app.inject({ url: "/api/trash" })).statusCode, 401);
          assert.equal((await trash(app, admin)).length, 3);
          const dougs = await trash(app, doug);
          assert.deepEqual(
            dougs.map((entry) => entry.note_id),
            [1],
          );
          const all = await trash(app, admin);
          const kents = all.find((entry) => entry.note_id === 4);
          const bunny = all.find((entry) => entry.kind === "person");
          assert.ok(kents && bunny && dougs[0]);

          assert.equal((await restore(app, kents.trash_id, doug)).statusCode, 404, "not Doug's to see");
          const personRefused = await restore(app, bunny.trash_id, doug);
          assert.equal(personRefused.statusCode, 404);
          assert.equal((await purge(app, dougs[0].trash_id, doug)).statusCode, 403);
          assert.equal((await trash(app, admin)).length, 3, "nothing changed");

          assert.equal((await restore(app, dougs[0].trash_id, doug)).statusCode, 200);
          assert.equal((await restore(app, bunny.trash_id, admin)).statusCode, 200);
          assert.equal((await purge(app, kents.trash_id, admin)).statusCode, 204);
          assert.deepEqual(await trash(app, admin), []);
          assert.equal((await read(app, noteUrl(2, 4))).status, 404, "purged for good");
        },
        { access: { mode: "always" } },
      ));

    test("expired entries are purged, each once, by two servers purging at once", () =>
      withApp(engine, async (app) => {
        for (const noteId of [1, 2, 3]) await remove(app, noteUrl(1, noteId));
        await remove(app, "/api/people/2");
        // Deleted 31 days ago, as far as the purge can tell.
        const longAgo = new Date(Date.now() - 31 * 86_400_000).toISOString();
        await app.store.db.updateTable("trash_entry").set({ deleted_at: longAgo }).execute();
        await remove(app, noteUrl(3, 6));

        const other = app.database.openAnother();
        const purger = (store: TestApp["store"]) => new TrashService(store, undefined, { retentionDays: 30 });
        const purged = await Promise.all([purger(app.store).purgeExpired(), purger(other).purgeExpired()]);
        assert.equal(purged[0] + purged[1], 4, `purged ${purged.join(" and ")}`);
        assert.deepEqual(
          (await trash(app)).map((entry) => entry.note_id),
          [6],
        );
        assert.deepEqual(await Promise.all([purger(app.store).purgeExpired(), purger(other).purgeExpired()]), [0, 0]);
        // A longer retention keeps what a shorter one purges.
        await app.store.db.updateTable("trash_entry").set({ deleted_at: longAgo }).execute();
        assert.equal(await new TrashService(app.store, undefined, { retentionDays: 32 }).purgeExpired(), 0);
        assert.equal(await purger(other).purgeExpired(), 1);
        if (engine === "postgres") {
          // While one server's purge is under way, another's finds the turn taken and purges nothing.
          await remove(app, noteUrl(3, 7));
          const written = await sendJson(app, "POST", "/api/people/3/notes", { content: "One more" });
          await remove(app, noteUrl(3, written.json<Note>().note_id));
          await app.store.db.updateTable("trash_entry").set({ deleted_at: longAgo }).execute();
          const cutoff = new Date().toISOString();
          await other.transaction(async (tx) => {
            assert.equal(await purgeExpired(tx, cutoff, 1), 1);
            assert.equal(await purger(app.store).purgeExpired(), 0);
          });
          assert.equal(await purger(app.store).purgeExpired(), 1);
        }
      }));
  });
}
