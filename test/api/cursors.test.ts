import { describe, test } from "node:test";
import { engines, useApp } from "../support/app.js";
import { assertProblem } from "../support/assertions.js";

const cursor = (key: unknown) => Buffer.from(JSON.stringify(key)).toString("base64url");

/** Well-formed base64url JSON, the right length, but not what a cursor's parts stand for. */
const FORGED_NOTE_CURSORS = [
  ["not-a-time", 1],
  ["2020-13-45T00:00:00.000Z", 1],
  ["2020-02-30T00:00:00.000Z", 1],
  ["2020-01-01T00:00:00Z", 1],
  ["2020-01-01T00:00:00.000+01:00", 1],
  ["2020-01-01T00:00:00.000Z", 0],
  ["2020-01-01T00:00:00.000Z", -1],
  ["2020-01-01T00:00:00.000Z", 1.5],
  ["2020-01-01T00:00:00.000Z", 2 ** 53],
  ["2020-01-01T00:00:00.000Z\u0000", 1],
  ["2020-01-01T00:00:00.000Z", 1, 2],
];
const FORGED_PEOPLE_CURSORS = [
  ["doe\u0000", "jane", 1],
  ["doe", "\ud800", 1],
  ["x".repeat(577), "jane", 1],
  ["doe", "jane", 0],
  ["doe", "jane", "1"],
  ["doe", "jane", 1, 2],
];

for (const engine of engines()) {
  describe(`forged cursors (${engine})`, () => {
    const api = useApp(engine);

    test("a forged note cursor is the same 400 on every note list, before any query runs", async () => {
      for (const key of FORGED_NOTE_CURSORS) {
        for (const path of ["/api/notes", "/api/people/1/notes"]) {
          const response = await api.get(`${path}?cursor=${cursor(key)}`);
          assertProblem(response, 400, "The cursor is not valid: copy it from the next link of a previous page");
        }
      }
    });

    test("a forged people cursor is a 400", async () => {
      for (const key of FORGED_PEOPLE_CURSORS) {
        const response = await api.get(`/api/people?cursor=${cursor(key)}`);
        assertProblem(response, 400, "The cursor is not valid: copy it from the next link of a previous page");
      }
    });
  });
}
