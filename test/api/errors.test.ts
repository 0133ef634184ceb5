import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { engines, json, type Person, useApp } from "../support/app.js";
import { assertInvalidFields, assertProblem } from "../support/assertions.js";

/** Ids that are not integers from 1 to 2^53−1, as they appear in a URL. */
const BAD_IDS = [
  "0",
  "-1",
  "1.5",
  "abc",
  "1e3",
  "01",
  "%00",
  "99999999999999999999",
  "9007199254740992",
  "9007199254740993",
  "1".repeat(101),
  "9".repeat(5000),
];

for (const engine of engines()) {
  describe(`routing errors (${engine})`, () => {
    const api = useApp(engine);

    test("an unknown route under /api is a 404 problem", async () => {
      for (const url of ["/api", "/api/", "/api/nothing", "/api/people/1/friends", "/api/notes/1"]) {
        assertProblem(await api.get(url), 404, "There is no resource at this URL");
      }
      assertProblem(await api.post("/api/nothing", { fname: "a", lname: "b" }), 404);
    });

    test("a known path with another method is 405 with Allow", async () => {
      const cases: [string, string, string[]][] = [
        ["PATCH", "/api/people/1", ["GET", "PUT", "DELETE", "HEAD"]],
        ["POST", "/api/people/1", ["GET", "PUT", "DELETE", "HEAD"]],
        ["DELETE", "/api/people", ["GET", "POST", "HEAD"]],
        ["PUT", "/api/notes", ["GET", "HEAD"]],
        ["DELETE", "/api/people/1/notes", ["GET", "POST", "HEAD"]],
        ["POST", "/api/people/1/notes/1", ["GET", "PUT", "DELETE", "HEAD"]],
        ["OPTIONS", "/api/people", ["GET", "POST", "HEAD"]],
        ["TRACE", "/api/people/1", ["GET", "PUT", "DELETE", "HEAD"]],
      ];
      for (const [method, url, allow] of cases) {
        const response = await api.inject({ method: method as "GET", url });
        assertProblem(response, 405);
        const allowed = String(response.headers.allow)
          .split(",")
          .map((m) => m.trim());
        assert.deepEqual(allowed.sort(), [...allow].sort(), `${method} ${url}`);
      }
    });

    test("a known path answers 405 with Allow whatever the method and whatever the body", async () => {
      const bodies: { label: string; headers?: Record<string, string>; payload?: string }[] = [
        { label: "no body" },
        { label: "an empty JSON body", headers: { "content-type": "application/json" }, payload: "" },
        { label: "malformed JSON", headers: { "content-type": "application/json" }, payload: '{"content":' },
        { label: "a JSON body", headers: { "content-type": "application/json" }, payload: '{"content":"x"}' },
        { label: "a text body", headers: { "content-type": "text/plain" }, payload: "words" },
        { label: "a body with no type", headers: { "content-length": "5" }, payload: "words" },
        { label: "a body over 128 KiB", headers: { "content-type": "application/json" }, payload: "x".repeat(131_073) },
      ];
      const paths: [string, string[]][] = [
        ["/api/people", ["GET", "POST", "HEAD"]],
        ["/api/notes", ["GET", "HEAD"]],
        ["/api/people/1/notes/1", ["GET", "PUT", "DELETE", "HEAD"]],
      ];
      for (const method of ["QUERY", "PROPFIND", "MKCOL", "SEARCH", "PATCH", "POST"]) {
        for (const [url, allow] of paths) {
          if (allow.includes(method)) continue;
          for (const { label, headers, payload } of bodies) {
            const response = await api.inject({
              method: method as "GET",
              url,
              ...(headers ? { headers } : {}),
              ...(payload !== undefined ? { payload } : {}),
            });
            assertProblem(response, 405, `${method} is not allowed here; use ${allow.join(", ")}`);
            assert.equal(response.headers.allow, allow.join(", "), `${method} ${url} with ${label}`);
          }
        }
      }
    });

    test("an unknown path is 404 whatever the method and whatever the body", async () => {
      for (const method of ["GET", "POST", "QUERY", "PROPFIND"]) {
        for (const payload of [undefined, "", '{"content":', "x".repeat(131_073)]) {
          const response = await api.inject({
            method: method as "GET",
            url: "/api/nothing/here",
            ...(payload !== undefined ? { headers: { "content-type": "application/json" }, payload } : {}),
          });
          assertProblem(response, 404, "There is no resource at this URL");
        }
      }
    });

    test("HEAD answers like GET, without a body", async () => {
      const response = await api.inject({ method: "HEAD", url: "/api/people" });
      assert.equal(response.statusCode, 200);
      assert.equal(response.body, "");
      assert.equal(response.headers["x-total-count"], "3");
    });
  });

  describe(`id errors (${engine})`, () => {
    const api = useApp(engine);

    for (const id of BAD_IDS) {
      test(`person id ${id.length > 20 ? `of ${id.length} digits` : id} is 400 on every person route`, async () => {
        for (const [method, url] of [
          ["GET", `/api/people/${id}`],
          ["PUT", `/api/people/${id}`],
          ["DELETE", `/api/people/${id}`],
          ["GET", `/api/people/${id}/notes`],
          ["POST", `/api/people/${id}/notes`],
          ["GET", `/api/people/${id}/notes/1`],
        ] as const) {
          const body = method === "PUT" ? { fname: "A", lname: "B" } : method === "POST" ? { content: "x" } : undefined;
          const response = await api.inject({
            method,
            url,
            ...(body ? { payload: body } : {}),
          });
          assertInvalidFields(response, [{ in: "path", pointer: "/person_id" }]);
        }
      });

      test(`note id ${id.length > 20 ? `of ${id.length} digits` : id} is 400`, async () => {
        for (const method of ["GET", "PUT", "DELETE"] as const) {
          const response = await api.inject({
            method,
            url: `/api/people/1/notes/${id}`,
            ...(method === "PUT" ? { payload: { content: "x" } } : {}),
          });
          assertInvalidFields(response, [{ in: "path", pointer: "/note_id" }]);
        }
      });
    }

    test("an empty id is 400", async () => {
      assertInvalidFields(await api.get("/api/people/"), [{ in: "path", pointer: "/person_id" }]);
      assertInvalidFields(await api.get("/api/people/1/notes/"), [{ in: "path", pointer: "/note_id" }]);
    });

    test("the largest id is valid and simply not found", async () => {
      assertProblem(await api.get("/api/people/9007199254740991"), 404, "Person not found for Id: 9007199254740991");
      assertProblem(
        await api.get("/api/people/1/notes/9007199254740991"),
        404,
        "Note not found for Id: 9007199254740991",
      );
    });

    test("bad ids change nothing", async () => {
      const before = (await api.get("/api/people")).json<Person[]>();
      assert.equal(before.length, 3);
      for (const id of BAD_IDS) await api.delete(`/api/people/${id}`);
      assert.deepEqual((await api.get("/api/people")).json(), before);
    });
  });

  describe(`request body errors (${engine})`, () => {
    const api = useApp(engine);

    test("a body that is not JSON is 415", async () => {
      for (const type of [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/html",
      ]) {
        const response = await api.inject({
          method: "POST",
          url: "/api/people",
          headers: { "content-type": type },
          payload: "fname=Homer&lname=Simpson",
        });
        assertProblem(response, 415);
      }
      const put = await api.inject({
        method: "PUT",
        url: "/api/people/1/notes/1",
        headers: { "content-type": "text/plain" },
        payload: "plain words",
      });
      assertProblem(put, 415);
    });

    test("malformed JSON is 400", async () => {
      for (const payload of ['{"fname":', "{fname: 'Homer'}", "{'a':1}", '{"fname":"Homer",}', "undefined"]) {
        assertProblem(await api.post("/api/people", payload), 400);
      }
      assertProblem(await api.put("/api/people/1/notes/1", '{"content": "x"'), 400);
    });

    test("an empty JSON body is 400", async () => {
      assertProblem(await api.post("/api/people", ""), 400);
      assertProblem(await api.put("/api/people/1", ""), 400);
    });

    test("a POST or PUT with no body at all is 400", async () => {
      assertProblem(await api.inject({ method: "POST", url: "/api/people" }), 400);
      assertProblem(await api.inject({ method: "PUT", url: "/api/people/1" }), 400);
      assertProblem(await api.inject({ method: "POST", url: "/api/people/1/notes" }), 400);
      assertProblem(await api.inject({ method: "PUT", url: "/api/people/1/notes/1" }), 400);
    });

    test("a body of 128 KiB is read, one byte more is 413", async () => {
      /** A JSON body of exactly `bytes` bytes, its content too long to be a note. */
      const body = (bytes: number) => `{"content":"${"x".repeat(bytes - 14)}"}`;
      assert.equal(Buffer.byteLength(body(131_073)), 131_073);
      for (const [method, url] of [
        ["POST", "/api/people/1/notes"],
        ["PUT", "/api/people/1/notes/1"],
      ] as const) {
        const atLimit = await api.inject({ method, url, ...json(body(131_072)) });
        assertInvalidFields(atLimit, [{ in: "body", pointer: "/content" }]);
        assertProblem(await api.inject({ method, url, ...json(body(131_073)) }), 413);
      }
      const name = `{"fname":"${"x".repeat(131_073)}","lname":"Big"}`;
      assertProblem(await api.post("/api/people", name), 413);
    });

    test("a __proto__ key is refused and pollutes nothing", async () => {
      const payload = '{"fname":"Proto","lname":"Type","__proto__":{"polluted":true}}';
      assertProblem(await api.post("/api/people", payload), 400);
      assertProblem(await api.put("/api/people/1", payload), 400);
      assertProblem(await api.post("/api/people/1/notes", '{"content":"x","__proto__":{"polluted":true}}'), 400);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    test("a constructor.prototype key is refused", async () => {
      const payload = '{"fname":"Con","lname":"Structor","constructor":{"prototype":{"polluted":true}}}';
      assertProblem(await api.post("/api/people", payload), 400);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    test("refused bodies create no one", async () => {
      const lastNames = async () => (await api.get("/api/people?limit=1000")).json<Person[]>().map((p) => p.lname);
      const before = await lastNames();
      const form = await api.inject({
        method: "POST",
        url: "/api/people",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: "fname=Homer&lname=Simpson",
      });
      assertProblem(form, 415);
      assertProblem(await api.post("/api/people", '{"fname":"Homer","lname":"Simpson",}'), 400);
      assertProblem(
        await api.post("/api/people", '{"fname":"Proto","lname":"Type","__proto__":{"polluted":true}}'),
        400,
      );
      assertProblem(
        await api.post(
          "/api/people",
          '{"fname":"Con","lname":"Structor","constructor":{"prototype":{"polluted":true}}}',
        ),
        400,
      );
      assertProblem(await api.post("/api/people", { fname: "x".repeat(131_072), lname: "Big" }), 413);
      const after = await lastNames();
      assert.deepEqual(after, before);
      for (const name of ["Simpson", "Type", "Structor", "Big"]) assert.ok(!after.includes(name), name);
    });

    test("a DELETE's body is ignored whatever it holds: malformed, oversized or untyped", async () => {
      const person = await api.createSomeone();
      const bodies: [Record<string, string>, string][] = [
        [{ "content-type": "application/json" }, '{"content":'],
        [{ "content-type": "application/json" }, "x".repeat(131_073)],
        [{ "content-type": "application/json; charset=utf-8" }, '{"unknown":true}'],
        [{ "content-type": "text/plain" }, "x".repeat(131_073)],
        [{}, "words"],
      ];
      for (const [headers, payload] of bodies) {
        const note = await api.createNote(person.person_id, "To delete");
        const url = `/api/people/${person.person_id}/notes/${note.note_id}`;
        const response = await api.inject({ method: "DELETE", url, headers, payload });
        assert.equal(response.statusCode, 204, `${JSON.stringify(headers)} ${payload.slice(0, 20)}: ${response.body}`);
        assertProblem(await api.get(url), 404);
      }
      const gone = await api.inject({
        method: "DELETE",
        url: `/api/people/${person.person_id}`,
        headers: { "content-type": "application/json" },
        payload: "{",
      });
      assert.equal(gone.statusCode, 204, gone.body);
    });

    test("a DELETE with no body is accepted whatever its content type", async () => {
      const person = await api.createSomeone();
      const noteUrl = async (content: string) =>
        `/api/people/${person.person_id}/notes/${(await api.createNote(person.person_id, content)).note_id}`;
      const cases: [string, string][] = [
        ["plain/text", await noteUrl("First")],
        ["application/json", await noteUrl("Second")],
        ["text/plain", await noteUrl("Third")],
        ["application/x-www-form-urlencoded", await noteUrl("Fourth")],
        ["plain/text", `/api/people/${person.person_id}`],
      ];
      for (const [type, url] of cases) {
        const response = await api.inject({ method: "DELETE", url, headers: { "content-type": type } });
        assert.equal(response.statusCode, 204, `${type}: ${response.body}`);
      }
      assertProblem(await api.get(`/api/people/${person.person_id}`), 404);
    });
  });

  describe(`problem documents (${engine})`, () => {
    const api = useApp(engine);

    test("every error is application/problem+json with type, title, status and detail", async () => {
      const responses = [
        await api.get("/api/people/999"),
        await api.post("/api/people", { fname: "Doug", lname: "Farrell" }),
        await api.post("/api/people", {}),
        await api.inject({ method: "PATCH", url: "/api/notes" }),
        await api.get("/api/nowhere"),
      ];
      const expected = [
        [404, "Not Found"],
        [409, "Conflict"],
        [400, "Bad Request"],
        [405, "Method Not Allowed"],
        [404, "Not Found"],
      ];
      responses.forEach((response, i) => {
        const [status, title] = expected[i] as [number, string];
        const problem = assertProblem(response, status);
        assert.equal(problem.title, title);
        assert.equal(problem.type, "about:blank");
        assert.ok(problem.detail.length > 0);
      });
    });

    test("a validation problem lists every failing field with where it is", async () => {
      const problem = assertInvalidFields(await api.post("/api/people", { fname: 5, lname: " ", extra: 1 }), [
        { in: "body", pointer: "/fname" },
        { in: "body", pointer: "/lname" },
        { in: "body", pointer: "/extra" },
      ]);
      for (const field of ["fname", "lname", "extra"]) assert.match(problem.detail, new RegExp(field));
      assertInvalidFields(await api.get("/api/notes?limit=0"), [{ in: "query", pointer: "/limit" }]);
    });

    test("errors never reveal internals", async () => {
      const responses = [
        await api.post("/api/people", '{"fname":'),
        await api.get("/api/people/abc"),
        await api.post("/api/people", "x".repeat(131_073)),
      ];
      for (const response of responses) {
        assert.doesNotMatch(response.body, /\bat .*\(|node_modules|\/src\/|SQLITE|select |stack/i);
      }
    });
  });
}
