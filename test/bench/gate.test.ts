/**
 * The benchmark gate (bench/gate.ts) itself: what it calls a regression, and that it names an
 * endpoint made costlier on purpose. Needs the built service (npm run build) and wrk.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  GATED,
  type GateFile,
  type GateResult,
  measureGate,
  readGateFile,
  runGate,
  updatedGateFile,
  verdict,
} from "../../bench/gate.js";
import { ensureLoadTool } from "../../bench/load.js";

const committed: GateFile = {
  why: "test",
  endpoints: { "GET /api/people/{id}": { ratio: 2, band: 0.15 }, "GET /api/notes": { ratio: 1, band: 0.15 } },
};
const measured = (endpoint: string, ratio: number): GateResult => ({
  endpoint,
  ratios: [ratio],
  ratio,
  serviceUs: ratio * 100,
  baselineUs: 100,
});

describe("the benchmark gate's verdict", () => {
  it("fails an endpoint costlier than committed by more than the band, and names it", () => {
    const { failures } = verdict([measured("GET /api/people/{id}", 2.4), measured("GET /api/notes", 1.1)], committed);
    assert.equal(failures.length, 1);
    assert.match(failures[0] ?? "", /^GET \/api\/people\/\{id\} is costlier: 2\.40× .* committed 2\.00× \(\+20 %\)/);
  });

  it("passes ratios within the band either way, and says when one got cheaper beyond it", () => {
    const { failures, notes } = verdict(
      [measured("GET /api/people/{id}", 2.28), measured("GET /api/notes", 0.8)],
      committed,
    );
    assert.deepEqual(failures, []);
    assert.deepEqual(verdict([measured("GET /api/people/{id}", 1.8)], committed).failures, [], "10 % cheaper");
    assert.match(notes[1] ?? "", /^GET \/api\/notes is cheaper: .*--update --why/);
  });

  it("fails an endpoint with no committed figure", () => {
    const { failures } = verdict([measured("PUT /api/people/{id}/notes/{note_id}", 1)], committed);
    assert.match(failures[0] ?? "", /no committed figure/);
  });

  it("commits a figure for every gated endpoint", () => {
    const file = readGateFile();
    assert.deepEqual(Object.keys(file.endpoints).sort(), [...GATED].sort());
    for (const [endpoint, { ratio, band }] of Object.entries(file.endpoints)) {
      assert.ok(ratio > 0 && band > 0 && band < 1, `${endpoint}: ratio ${ratio}, band ${band}`);
    }
    assert.ok(file.why.trim().length > 0, "the committed figures say why they are what they are");
  });
});

describe("updating the committed figures", () => {
  it("refuses without a reason, before measuring anything", async () => {
    const lines: string[] = [];
    const code = await runGate({ tool: "wrk", update: true, log: (line) => lines.push(line) });
    assert.equal(code, 2);
    assert.match(lines.join("\n"), /--update needs --why/);
  });

  it("writes the ratios rounded, keeps each endpoint's band, records why, one endpoint a line", () => {
    const text = updatedGateFile(
      [measured("GET /api/people/{id}", 1.834), measured("GET /api/notes", 1.1), measured("POST /new", 3)],
      { why: "before", endpoints: { ...committed.endpoints, "GET /api/people/{id}": { ratio: 2, band: 0.25 } } },
      "the search index moved to its own table",
    );
    assert.deepEqual(JSON.parse(text), {
      why: "the search index moved to its own table",
      endpoints: {
        "GET /api/people/{id}": { ratio: 1.83, band: 0.25 },
        "GET /api/notes": { ratio: 1.1, band: 0.15 },
        "POST /new": { ratio: 3, band: 0.15 },
      },
    });
    assert.match(text, /^ {4}"GET \/api\/notes": \{ "ratio": 1\.1, "band": 0\.15 \},?$/m);
  });
});

describe("the benchmark gate on a deliberately slowed endpoint", () => {
  it("fails, naming the endpoint", async () => {
    const endpoint = "GET /api/people/{id}";
    // Most of what the read costs again (about 190 µs): far beyond the band, so never passed by chance.
    const results = await measureGate({
      tool: ensureLoadTool(() => {}),
      rounds: 3,
      seconds: 1,
      only: [endpoint],
      slow: { request: "GET /api/people/", microseconds: 150 },
      log: () => {},
    });
    const { failures } = verdict(results, readGateFile());
    assert.equal(failures.length, 1, JSON.stringify(results));
    assert.ok(failures[0]?.startsWith(`${endpoint} is costlier`), failures[0]);
  });
});
