import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { engines, type Note, type NoteRevision, sendJson, startApp, type TestApp } from "../support/app.js";
import { propertyParameters } from "../support/property.js";

/** One step a writer can take on a note. */
type Step =
  | { kind: "edit"; content: string }
  /** Restores the version this far back from the newest (0: the current one). */
  | { kind: "restore"; back: number }
  /** The same, with an If-Match read before someone else's edit: refused, and changes nothing. */
  | { kind: "stale-restore"; back: number };

// Few distinct words, so that edits to the same content (which keep nothing) and restores of
// content the note already has come up often.
const content = fc.constantFrom("alpha", "beta", "gamma", "  beta  ", "alpha beta");
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: content.map((text) => ({ kind: "edit" as const, content: text })) },
  { weight: 2, arbitrary: fc.nat({ max: 6 }).map((back) => ({ kind: "restore" as const, back })) },
  { weight: 1, arbitrary: fc.nat({ max: 6 }).map((back) => ({ kind: "stale-restore" as const, back })) },
);

async function versionsOf(app: TestApp, url: string): Promise<NoteRevision[]> {
  const response = await app.inject({ url: `${url}/revisions?limit=1000` });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<NoteRevision[]>();
}

for (const engine of engines()) {
  describe(`note history under any sequence of edits and restores (${engine})`, () => {
    let app: TestApp;
    before(async () => {
      app = await startApp({ engine });
    });
    after(() => app.close());

    test("versions only go up, each change keeps one, and the current version is the last change", async (t) => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
          const created = await sendJson(app, "POST", "/api/people/2/notes", { content: "start" });
          assert.equal(created.statusCode, 201);
          const url = `/api/people/2/notes/${created.json<Note>().note_id}`;
          // What the history must hold: every version's content, oldest first.
          const model: string[] = ["start"];
          const tag = async () => String((await app.inject({ url })).headers.etag);

          for (const action of steps) {
            if (action.kind === "edit") {
              const response = await sendJson(app, "PUT", url, { content: action.content });
              assert.equal(response.statusCode, 200, response.body);
              const text = action.content.trim();
              if (text !== model.at(-1)) model.push(text);
              continue;
            }
            const version = Math.max(1, model.length - action.back);
            let headers: Record<string, string> = {};
            if (action.kind === "stale-restore") {
              headers = { "if-match": await tag() };
              const other = `someone else ${model.length}`;
              assert.equal((await sendJson(app, "PUT", url, { content: other })).statusCode, 200);
              model.push(other);
            }
            const response = await app.inject({ method: "POST", url: `${url}/revisions/${version}/restore`, headers });
            if (action.kind === "stale-restore") {
              assert.equal(response.statusCode, 412, response.body);
              continue;
            }
            assert.equal(response.statusCode, 200, response.body);
            const restored = model[version - 1] as string;
            if (restored !== model.at(-1)) model.push(restored);
            assert.equal(response.json<Note>().content, restored);
          }

          const versions = await versionsOf(app, url);
          const numbers = versions.map((v) => v.version);
          for (let i = 1; i < numbers.length; i++) {
            assert.ok((numbers[i - 1] as number) > (numbers[i] as number), `strictly newest first: ${numbers}`);
          }
          assert.deepEqual(
            versions.map((v) => v.content).reverse(),
            model,
            "one version for each change, with its content",
          );
          assert.deepEqual(
            versions.map((v) => v.current),
            versions.map((_, i) => i === 0),
            "only the newest is current",
          );
          const note = (await app.inject({ url })).json<Note>();
          assert.equal(note.content, model.at(-1), "the note says what its last change said");
          assert.equal(versions[0]?.timestamp, note.timestamp);
        }),
        propertyParameters(t, 25),
      );
    });
  });
}
