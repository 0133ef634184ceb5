import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { components } from "../../openapi/types.js";
import { engines, type Note, type Person, sendJson, startApp, type TestApp } from "../support/app.js";
import { propertyParameters } from "../support/property.js";

type TrashEntry = components["schemas"]["TrashEntry"];

/** One thing a writer does; `slot` picks one of the notes written so far. */
type Step =
  | { kind: "write" }
  | { kind: "edit"; slot: number; word: string }
  | { kind: "delete"; slot: number }
  | { kind: "restore"; slot: number }
  | { kind: "purge"; slot: number }
  | { kind: "delete-person" }
  | { kind: "restore-person" };

const slot = fc.nat({ max: 2 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "write" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("edit" as const), slot, word: fc.constantFrom("red", "green", "blue") }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("delete" as const), slot }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("restore" as const), slot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("purge" as const), slot }) },
  { weight: 1, arbitrary: fc.constant({ kind: "delete-person" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "restore-person" as const }) },
);

/**
 * A word found by nothing but this run's notes: fixed length, so none begins another, and ending
 * in a letter no English stemmer takes off, so none is cut to the beginning of another.
 */
const wordOf = (run: number) =>
  `q${[...run.toString(26).padStart(5, "0")].map((c) => String.fromCharCode(97 + Number.parseInt(c, 26))).join("")}x`;

/** What one run's data must look like from outside. */
interface Model {
  person: "live" | "trashed" | "purged";
  /** Every note written, by slot: its id, content, versions kept, and where it is. */
  notes: { id: number; content: string; versions: number; where: "live" | "trash" | "with-person" | "gone" }[];
}

for (const engine of engines()) {
  describe(`the trash under any sequence of writes, deletes, restores and purges (${engine})`, () => {
    let app: TestApp;
    let runs = 0;
    before(async () => {
      app = await startApp({ engine });
    });
    after(() => app.close());

    const total = async (url: string) => {
      const response = await app.inject({ url });
      assert.equal(response.statusCode, 200, response.body);
      return Number(response.headers["x-total-count"]);
    };
    const trashOf = async (personId: number) =>
      (await app.inject({ url: "/api/trash?limit=1000" }))
        .json<TrashEntry[]>()
        .filter((entry) => entry.person_id === personId);

    test("lists, counts, search and the trash agree with a model of what was deleted and restored", async (t) => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 14 }), async (steps) => {
          runs += 1;
          const word = wordOf(runs);
          const created = await sendJson(app, "POST", "/api/people", { fname: "Trash", lname: `Model ${word}` });
          assert.equal(created.statusCode, 201, created.body);
          const personId = created.json<Person>().person_id;
          const personUrl = `/api/people/${personId}`;
          const everyone = await total("/api/notes");
          const model: Model = { person: "live", notes: [] };
          // Two notes to start from, so that most steps act on one.
          for (const content of [`${word} first`, `${word} second`]) {
            const written = await sendJson(app, "POST", `${personUrl}/notes`, { content });
            model.notes.push({ id: written.json<Note>().note_id, content, versions: 1, where: "live" });
          }
          const entryOf = async (kind: "note" | "person", id: number) =>
            (await trashOf(personId)).find((e) => e.kind === kind && (kind === "person" || e.note_id === id));

          for (const action of steps) {
            const note = "slot" in action ? model.notes[action.slot % Math.max(1, model.notes.length)] : undefined;
            const noteUrl = note && `${personUrl}/notes/${note.id}`;
            switch (action.kind) {
              case "write": {
                const response = await sendJson(app, "POST", `${personUrl}/notes`, { content: `${word} note` });
                if (model.person !== "live") {
                  assert.equal(response.statusCode, 404);
                  break;
                }
                assert.equal(response.statusCode, 201, response.body);
                const id = response.json<Note>().note_id;
                model.notes.push({ id, content: `${word} note`, versions: 1, where: "live" });
                break;
              }
              case "edit": {
                if (!note || !noteUrl) break;
                const content = `${word} ${action.word}`;
                const response = await sendJson(app, "PUT", noteUrl, { content });
                if (note.where !== "live") {
                  assert.equal(response.statusCode, 404);
                  break;
                }
                assert.equal(response.statusCode, 200, response.body);
                if (content !== note.content) note.versions += 1;
                note.content = content;
                break;
              }
              case "delete": {
                if (!note || !noteUrl) break;
                const response = await app.inject({ method: "DELETE", url: noteUrl });
                assert.equal(response.statusCode, note.where === "live" ? 204 : 404, response.body);
                if (note.where === "live") note.where = "trash";
                break;
              }
              case "restore": {
                if (note?.where !== "trash") break;
                const entry = await entryOf("note", note.id);
                assert.ok(entry, "a deleted note is in the trash");
                const response = await app.inject({ method: "POST", url: `/api/trash/${entry.trash_id}/restore` });
                assert.equal(response.statusCode, model.person === "live" ? 200 : 409, response.body);
                if (model.person === "live") note.where = "live";
                break;
              }
              case "purge": {
                if (note?.where !== "trash") break;
                const entry = await entryOf("note", note.id);
                assert.ok(entry);
                assert.equal(
                  (await app.inject({ method: "DELETE", url: `/api/trash/${entry.trash_id}` })).statusCode,
                  204,
                );
                note.where = "gone";
                break;
              }
              case "delete-person": {
                const response = await app.inject({ method: "DELETE", url: personUrl });
                assert.equal(response.statusCode, model.person === "live" ? 204 : 404, response.body);
                if (model.person !== "live") break;
                model.person = "trashed";
                for (const each of model.notes) if (each.where === "live") each.where = "with-person";
                break;
              }
              case "restore-person": {
                if (model.person !== "trashed") break;
                const entry = await entryOf("person", personId);
                assert.ok(entry, "a deleted person is in the trash");
                const response = await app.inject({ method: "POST", url: `/api/trash/${entry.trash_id}/restore` });
                assert.equal(response.statusCode, 200, response.body);
                model.person = "live";
                for (const each of model.notes) if (each.where === "with-person") each.where = "live";
                break;
              }
            }
          }

          const live = model.notes.filter((each) => each.where === "live");
          assert.equal(await total("/api/notes"), everyone + live.length, "every note counted once");
          assert.equal(await total(`/api/notes?q=${word}`), live.length, "search finds the live notes only");
          if (model.person === "live") {
            const listed = (await app.inject({ url: `${personUrl}/notes?limit=1000` })).json<Note[]>();
            assert.deepEqual(
              listed.map((each) => [each.note_id, each.content]).sort(),
              live.map((each) => [each.id, each.content]).sort(),
            );
            assert.equal(await total(`${personUrl}/notes`), live.length);
            for (const each of live) {
              assert.equal(await total(`${personUrl}/notes/${each.id}/revisions`), each.versions, "history kept");
            }
          } else {
            assert.equal((await app.inject({ url: personUrl })).statusCode, 404);
          }
          const inTrash = (await trashOf(personId)).map((e) => (e.kind === "person" ? "person" : e.note_id));
          const expected = [
            ...(model.person === "trashed" ? ["person"] : []),
            ...model.notes.filter((each) => each.where === "trash").map((each) => each.id),
          ];
          assert.deepEqual(inTrash.map(String).sort(), expected.map(String).sort(), "the trash holds what was deleted");
          const personEntry = (await trashOf(personId)).find((e) => e.kind === "person");
          if (personEntry) {
            assert.equal(personEntry.notes, model.notes.filter((each) => each.where === "with-person").length);
          }
        }),
        propertyParameters(t, 25),
      );
    });
  });
}
