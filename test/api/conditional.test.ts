import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { engines, sendJson, type TestApp, withStartedApp } from "../support/app.js";

async function withApp(engine: "sqlite" | "postgres", work: (app: TestApp) => Promise<void>, requireIfMatch = false) {
  return withStartedApp({ engine, ...(requireIfMatch ? { requireIfMatch } : {}) }, work);
}

/** A write with a JSON body (or none) and, when given, If-Match. */
const send = (app: TestApp, method: "PUT" | "DELETE" | "POST", url: string, body?: object, ifMatch?: string) =>
  sendJson(app, method, url, body, ifMatch === undefined ? {} : { "if-match": ifMatch });

const etagOf = async (app: TestApp, url: string) => {
  const response = await app.inject({ url });
  assert.equal(response.statusCode, 200);
  const etag = response.headers.etag;
  assert.equal(typeof etag, "string", `${url} has an ETag`);
  return etag as string;
};

for (const engine of engines()) {
  describe(`conditional requests (${engine})`, () => {
    test("a person and a note carry strong ETags; If-None-Match with a current one gives 304 and no body", () =>
      withApp(engine, async (app) => {
        for (const url of ["/api/people/1", "/api/people/1/notes/1"]) {
          const etag = await etagOf(app, url);
          assert.match(etag, /^"[^"]+"$/, "strong");
          const cached = await app.inject({ url, headers: { "if-none-match": etag } });
          assert.equal(cached.statusCode, 304);
          assert.equal(cached.body, "");
          assert.equal(cached.headers.etag, etag);
          const weakly = await app.inject({ url, headers: { "if-none-match": `"other", W/${etag}` } });
          assert.equal(weakly.statusCode, 304, "If-None-Match compares weakly");
          assert.equal((await app.inject({ url, headers: { "if-none-match": '"other"' } })).statusCode, 200);
        }
      }));

    test("a person's ETag changes with their names and with their embedded notes; a note's with its author", () =>
      withApp(engine, async (app) => {
        const person = await etagOf(app, "/api/people/1");
        const note = await etagOf(app, "/api/people/1/notes/1");
        assert.equal((await send(app, "POST", "/api/people/1/notes", { content: "New" })).statusCode, 201);
        const afterNote = await etagOf(app, "/api/people/1");
        assert.notEqual(afterNote, person, "a new embedded note changes the person's tag");
        assert.equal(await etagOf(app, "/api/people/1/notes/1"), note, "another note does not change this one's");
        assert.equal((await send(app, "PUT", "/api/people/1", { fname: "Douglas", lname: "Farrell" })).statusCode, 200);
        assert.notEqual(await etagOf(app, "/api/people/1"), afterNote);
        assert.notEqual(await etagOf(app, "/api/people/1/notes/1"), note, "the embedded author changed");
        assert.equal((await send(app, "PUT", "/api/people/1", { fname: "Douglas", lname: "Farrell" })).statusCode, 200);
        const same = await etagOf(app, "/api/people/1");
        assert.equal(await etagOf(app, "/api/people/1"), same, "no change, same tag");
      }));

    test("editing an embedded note changes the person's tag, so a cached copy of the person is not reused", () =>
      withApp(engine, async (app) => {
        // The newest embedded note: editing it keeps the order of the embedded notes, so only its
        // version tells the two representations apart.
        const person = await app.inject({ url: "/api/people/1" });
        const newest = (person.json() as { notes: { note_id: number }[] }).notes[0];
        assert.ok(newest, "person 1 has notes");
        const before = await etagOf(app, "/api/people/1");
        const edited = await send(app, "PUT", `/api/people/1/notes/${newest.note_id}`, { content: "Edited in place" });
        assert.equal(edited.statusCode, 200);
        const after = await etagOf(app, "/api/people/1");
        assert.notEqual(after, before, "the embedded note's new version changes the person's tag");
        const revalidated = await app.inject({ url: "/api/people/1", headers: { "if-none-match": before } });
        assert.equal(revalidated.statusCode, 200, "the old tag no longer matches");
        assert.match(revalidated.body, /Edited in place/);
      }));

    test("list pages carry a weak ETag that changes with their content, and answer 304 to it", () =>
      withApp(engine, async (app) => {
        const etag = await etagOf(app, "/api/notes?limit=2");
        assert.match(etag, /^W\/"[^"]+"$/, "weak");
        const cached = await app.inject({ url: "/api/notes?limit=2", headers: { "if-none-match": etag } });
        assert.equal(cached.statusCode, 304);
        assert.equal(cached.body, "");
        assert.equal((await send(app, "POST", "/api/people/2/notes", { content: "Newest" })).statusCode, 201);
        assert.equal(
          (await app.inject({ url: "/api/notes?limit=2", headers: { "if-none-match": etag } })).statusCode,
          200,
        );
      }));

    test("If-Match with the current ETag changes; with an old one it is 412 with the current ETag, and nothing changes", () =>
      withApp(engine, async (app) => {
        const url = "/api/people/1/notes/1";
        const read = await etagOf(app, url);
        const first = await send(app, "PUT", url, { content: "First writer" }, read);
        assert.equal(first.statusCode, 200, first.body);
        const current = first.headers.etag as string;
        assert.notEqual(current, read);
        const second = await send(app, "PUT", url, { content: "Second writer" }, read);
        assert.equal(second.statusCode, 412, second.body);
        assert.match(String(second.headers["content-type"]), /^application\/problem\+json/);
        assert.equal(second.headers.etag, current);
        assert.equal((await app.inject({ url })).json().content, "First writer");
        const deleted = await send(app, "DELETE", url, undefined, read);
        assert.equal(deleted.statusCode, 412);
        assert.equal(
          (await send(app, "DELETE", url, undefined, `W/${current}`)).statusCode,
          412,
          "If-Match compares strongly",
        );
        assert.equal((await send(app, "DELETE", url, undefined, current)).statusCode, 204);
        assert.equal((await send(app, "PUT", url, { content: "Gone" }, current)).statusCode, 404);
      }));

    test("If-Match on a person: a stale tag is 412 for a rename and for a delete; * matches any", () =>
      withApp(engine, async (app) => {
        const read = await etagOf(app, "/api/people/3");
        assert.equal(
          (await send(app, "POST", "/api/people/3/notes", { content: "Changes the person" })).statusCode,
          201,
        );
        assert.equal((await send(app, "PUT", "/api/people/3", { fname: "B", lname: "E" }, read)).statusCode, 412);
        assert.equal((await send(app, "DELETE", "/api/people/3", undefined, read)).statusCode, 412);
        assert.equal((await app.inject({ url: "/api/people/3" })).json().fname, "Bunny");
        assert.equal((await send(app, "PUT", "/api/people/3", { fname: "B", lname: "E" }, "*")).statusCode, 200);
        assert.equal(
          (await send(app, "DELETE", "/api/people/3", undefined, await etagOf(app, "/api/people/3"))).statusCode,
          204,
        );
      }));

    test("If-Match with several tags goes ahead when any of them is current, else 412 and nothing changes", () =>
      withApp(engine, async (app) => {
        const url = "/api/people/2/notes/4";
        const read = await etagOf(app, url);
        const later = await send(app, "PUT", url, { content: "Matched second" }, `"n999.1.1", ${read}`);
        assert.equal(later.statusCode, 200, later.body);
        const current = later.headers.etag as string;
        const last = await send(app, "PUT", url, { content: "Matched last" }, `"a", W/${current}, "b",${current}`);
        assert.equal(last.statusCode, 200, last.body);
        const now = last.headers.etag as string;

        for (const stale of [`"a", "b"`, `${current}, ${read}`, `"a", W/${now}`]) {
          const refused = await send(app, "PUT", url, { content: "Not current" }, stale);
          assert.equal(refused.statusCode, 412, `${stale}: ${refused.body}`);
          assert.equal(refused.headers.etag, now);
          assert.equal((await send(app, "DELETE", url, undefined, stale)).statusCode, 412, stale);
        }
        assert.equal((await app.inject({ url })).json().content, "Matched last");

        const deleted = await send(app, "DELETE", url, undefined, `"z", ${now}`);
        assert.equal(deleted.statusCode, 204, deleted.body);

        const person = await etagOf(app, "/api/people/2");
        const renamed = await send(app, "PUT", "/api/people/2", { fname: "Kent", lname: "B" }, `"p0", ${person}`);
        assert.equal(renamed.statusCode, 200, renamed.body);
        assert.equal((await send(app, "DELETE", "/api/people/2", undefined, `"p0", ${person}`)).statusCode, 412);
        assert.equal(
          (await send(app, "DELETE", "/api/people/2", undefined, `${person}, ${renamed.headers.etag as string}`))
            .statusCode,
          204,
        );
      }));

    test("If-Match: * goes ahead whatever the current tag, for notes and people, changes and deletions", () =>
      withApp(engine, async (app) => {
        assert.equal((await send(app, "PUT", "/api/people/1/notes/1", { content: "Any" }, "*")).statusCode, 200);
        assert.equal((await app.inject({ url: "/api/people/1/notes/1" })).json().content, "Any");
        assert.equal((await send(app, "DELETE", "/api/people/1/notes/1", undefined, " * ")).statusCode, 204);
        assert.equal((await send(app, "PUT", "/api/people/1", { fname: "D", lname: "F" }, "*")).statusCode, 200);
        assert.equal((await send(app, "DELETE", "/api/people/1", undefined, "*")).statusCode, 204);
        assert.equal((await app.inject({ url: "/api/people/1" })).statusCode, 404);
      }));

    test("two writers racing with the same ETag: exactly one succeeds, the other gets 412", () =>
      withApp(engine, async (app) => {
        const url = "/api/people/2/notes/4";
        const read = await etagOf(app, url);
        const answers = await Promise.all(
          Array.from({ length: 8 }, (_, i) => send(app, "PUT", url, { content: `Racer ${i}` }, read)),
        );
        const statuses = answers.map((answer) => answer.statusCode).sort();
        assert.deepEqual(statuses, [200, 412, 412, 412, 412, 412, 412, 412]);
        const winner = answers.find((answer) => answer.statusCode === 200)?.json().content;
        assert.equal((await app.inject({ url })).json().content, winner);
      }));
  });

  describe(`REQUIRE_IF_MATCH (${engine})`, () => {
    test("an unconditional PUT or DELETE is 428 and changes nothing; with If-Match it goes ahead", () =>
      withApp(
        engine,
        async (app) => {
          const url = "/api/people/1/notes/1";
          for (const answer of [await send(app, "PUT", url, { content: "Blind" }), await send(app, "DELETE", url)]) {
            assert.equal(answer.statusCode, 428, answer.body);
            assert.match(answer.json().detail, /If-Match/);
          }
          assert.equal((await send(app, "DELETE", "/api/people/1")).statusCode, 428);
          assert.notEqual((await app.inject({ url })).json().content, "Blind");
          assert.equal((await send(app, "PUT", url, { content: "Seen" }, await etagOf(app, url))).statusCode, 200);
          assert.equal(
            (await send(app, "POST", "/api/people/1/notes", { content: "Creating needs none" })).statusCode,
            201,
          );
        },
        true,
      ));
  });
}
