import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "people-notes-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], databasePath: string) {
  const result = spawnSync(process.execPath, ["dist/cli.js", ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: `sqlite:${databasePath}` },
    encoding: "utf8",
  });
  return { code: result.status, output: result.stdout + result.stderr };
}

function counts(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    const count = (table: string) => (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    return { people: count("person"), notes: count("note") };
  } finally {
    db.close();
  }
}

describe("people-notes db", () => {
  test("build creates a database with the tutorial's data, and rebuilding starts over", () => {
    const path = join(dir, "build.db");
    assert.equal(cli(["db", "build"], path).code, 0);
    assert.deepEqual(counts(path), { people: 3, notes: 7 });
    const again = cli(["db", "build"], path);
    assert.equal(again.code, 0);
    assert.match(again.output, /rebuilt/);
    assert.deepEqual(counts(path), { people: 3, notes: 7 });
  });

  test("migrate applies pending migrations once, then reports nothing to do", () => {
    const path = join(dir, "migrate.db");
    assert.match(
      cli(["db", "migrate"], path).output,
      /applied 001_initial, 002_versions_and_slotted_counts, 003_cheaper_identity_check, 004_note_counts_folded, 005_tokens, 006_token_lookup, 007_note_search, 008_change_feed/,
    );
    assert.match(cli(["db", "migrate"], path).output, /already up to date/);
    assert.deepEqual(counts(path), { people: 0, notes: 0 });
  });

  test("seed adds the tutorial's data and refuses to add it twice", () => {
    const path = join(dir, "seed.db");
    assert.equal(cli(["db", "seed"], path).code, 0);
    const second = cli(["db", "seed"], path);
    assert.equal(second.code, 1);
    assert.match(second.output, /already; use `db build`/);
    assert.deepEqual(counts(path), { people: 3, notes: 7 });
  });

  test("an unknown command prints the usage and fails", () => {
    const result = cli(["db", "explode"], join(dir, "unused.db"));
    assert.equal(result.code, 2);
    assert.match(result.output, /Usage: people-notes <command>[\s\S]*db migrate/);
  });
});
