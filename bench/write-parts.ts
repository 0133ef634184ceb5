/**
 * What the parts of a note write cost (issue 22: the search index, the change row, the counts and
 * the access check together at most 25 % of a note POST). The service runs on copies of the 1k
 * dataset that differ only in their triggers: as migrated, without the search index's triggers,
 * without the count triggers, and without both, beside the bare baseline; each server is loaded in
 * turn with note POSTs under one connection (as the gate does: each request a turn of the event
 * loop of its own), and its CPU time per request read from the scheduler's per-thread counts. The
 * files live in /dev/shm, so a commit's fsync costs nothing there: this measures CPU, not the disk.
 * The change row cannot be left out without changing the service, nor the Markdown parse that
 * makes the text the index reads: both are timed alone, in this process, on the same files.
 *
 *   npx tsx bench/write-parts.ts [--rounds 7] [--seconds 2]
 */
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { searchText } from "../src/db/search-text.js";
import { median } from "./compare.js";
import { endpointsOf } from "./endpoints.js";
import { ensureLoadTool } from "./load.js";
import { loadAverageLine, rotatingRounds, scratchDir } from "./rounds.js";
import { ensureSqliteDataset } from "./seed.js";
import { baselineSpec, type RunningServer, type ServerSpec, serviceSpec, startServer, stopServer } from "./servers.js";

const { values: args } = parseArgs({
  options: { rounds: { type: "string", default: "7" }, seconds: { type: "string", default: "2" } },
});
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);

const SEARCH_TRIGGERS = ["note_search_insert", "note_search_update", "note_search_delete"];
const COUNT_TRIGGERS = ["note_counted_insert", "note_counted_delete"];

interface Variant {
  name: string;
  drop: string[];
  baseline?: true;
}

const VARIANTS: Variant[] = [
  { name: "service, as migrated", drop: [] },
  { name: "service, no search-index triggers", drop: SEARCH_TRIGGERS },
  { name: "service, no count triggers", drop: COUNT_TRIGGERS },
  { name: "service, neither", drop: [...SEARCH_TRIGGERS, ...COUNT_TRIGGERS] },
  { name: "bare baseline", drop: [], baseline: true },
];

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/**
 * CPU µs per transaction, in this process on one of the files: the note insert (with whatever
 * triggers that file has), alone and followed by the change row, as the service writes them in
 * one transaction; medians of 5 runs of 2,000.
 */
function timeStatements(path: string, personId: number): { note: number; noteAndChange: number } {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  const note = db.prepare("insert into note (person_id, content, search_text, timestamp) values (?, ?, ?, ?)");
  const change = db.prepare(
    "insert into change (kind, person_id, resource_id, data, recorded_at) values (?, ?, ?, ?, ?) returning revision",
  );
  const N = 2000;
  let at = Date.UTC(2030, 0, 1);
  const run = (withChange: boolean) => {
    const start = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const timestamp = new Date(at++).toISOString();
      const content = `Benchmark note number ${i}, written to measure creating notes.`;
      db.transaction(() => {
        const noteId = Number(note.run(personId, content, content, timestamp).lastInsertRowid);
        if (withChange) {
          const data = JSON.stringify({ note_id: noteId, person_id: personId, content, timestamp, version: 1 });
          change.get("note.created", personId, noteId, data, timestamp);
        }
      })();
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / N;
  };
  const plain: number[] = [];
  const changed: number[] = [];
  for (let i = 0; i < 5; i++) {
    plain.push(run(false));
    changed.push(run(true));
  }
  db.close();
  return { note: median(plain), noteAndChange: median(changed) };
}

/** CPU µs per call of the search text's Markdown parse, on the benchmark's note text. */
function timeSearchText(): number {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < 5000; i++) searchText(`Benchmark note number ${i}, written to measure creating notes.`);
    const used = process.cpuUsage(start);
    runs.push((used.user + used.system) / 5000);
  }
  return median(runs);
}

async function main(): Promise<void> {
  const tool = ensureLoadTool(log);
  const seeded = await ensureSqliteDataset("1k");
  const dir = scratchDir("parts");
  const servers: { variant: Variant; server: RunningServer }[] = [];
  try {
    const post = endpointsOf(seeded.path).find((e) => e.name === "POST /api/people/{id}/notes");
    if (!post) throw new Error("no POST endpoint");
    let port = 5401;
    for (const variant of VARIANTS) {
      const path = join(dir, `${servers.length}.db`);
      copyFileSync(seeded.path, path);
      const db = new Database(path);
      for (const name of variant.drop) db.exec(`drop trigger ${name}`);
      db.close();
      const spec: ServerSpec = variant.baseline ? baselineSpec(port, path) : serviceSpec(port, `sqlite:${path}`);
      servers.push({ variant, server: await startServer(spec) });
      port++;
    }
    const perRequest = await rotatingRounds(
      tool,
      servers.map(({ server }) => server),
      post.target,
      { rounds, seconds, log },
    );
    const full = median(perRequest[0] ?? []);
    console.log("\nCPU µs per note POST (one connection, median of rounds; per-round figures)");
    servers.forEach(({ variant }, i) => {
      const us = median(perRequest[i] ?? []);
      const share = variant.baseline || i === 0 ? "" : `  (saves ${(((full - us) / full) * 100).toFixed(1)} %)`;
      console.log(
        `${variant.name.padEnd(36)} ${us.toFixed(0).padStart(5)}${share}   ${(perRequest[i] ?? []).map((x) => x.toFixed(0)).join(" ")}`,
      );
    });
    for (const { server } of servers) await stopServer(server);
    servers.length = 0;
    console.log(
      "\nstatements alone, in this process (fsync at FULL on /dev/shm costs nothing), CPU µs per transaction",
    );
    VARIANTS.slice(0, 4).forEach((variant, i) => {
      const times = timeStatements(join(dir, `${i}.db`), post.target.ids?.[0] ?? 1);
      console.log(
        `${variant.name.replace("service, ", "").padEnd(30)} note insert ${times.note.toFixed(1).padStart(6)}, ` +
          `with the change row ${times.noteAndChange.toFixed(1).padStart(6)} (change row ${(times.noteAndChange - times.note).toFixed(1)})`,
      );
    });
    console.log(`searchText (Markdown parse for the index) per note: ${timeSearchText().toFixed(1)} µs`);
    console.log(loadAverageLine());
  } finally {
    for (const { server } of servers) await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
