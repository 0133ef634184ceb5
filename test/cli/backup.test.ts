import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import Database from "better-sqlite3";
import { sql } from "kysely";
import { migrateToLatest, openStore, type Store } from "../../src/db/database.js";
import { nameKey } from "../../src/db/names.js";
import { lines, runCli } from "../support/cli.js";
import { POSTGRES_URL } from "../support/postgres.js";

const dir = mkdtempSync(join(tmpdir(), "people-notes-backup-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], databaseUrl: string) => runCli(args, { env: { DATABASE_URL: databaseUrl } });

/**
 * A migrated SQLite database with one person and `notes` notes, open as the server would have it.
 * Nothing is checkpointed, so every committed row is still only in the WAL: a backup that misses
 * the WAL misses them all.
 */
async function database(name: string, notes: number): Promise<{ path: string; store: Store }> {
  const path = join(dir, `${name}.db`);
  const store = openStore({ engine: "sqlite", path });
  await sql`pragma wal_autocheckpoint = 0`.execute(store.db);
  await migrateToLatest(store);
  await store.db
    .insertInto("person")
    .values({ fname: "Writer", lname: name, fname_key: "writer", lname_key: nameKey(name), timestamp: stamp(0) })
    .execute();
  await store.db.transaction().execute(async (tx) => {
    for (let start = 0; start < notes; start += 1_000) {
      const rows = Array.from({ length: Math.min(1_000, notes - start) }, (_, k) => ({
        person_id: 1,
        content: `Written before, number ${start + k}: ${"x".repeat(100)}`,
        timestamp: stamp(start + k),
      }));
      await tx.insertInto("note").values(rows).execute();
    }
  });
  return { path, store };
}

const stamp = (i: number) => new Date(Date.UTC(2022, 0, 1) + i).toISOString();

function opened(path: string) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma("integrity_check", { simple: true });
    const journal = db.pragma("journal_mode", { simple: true });
    const noteIds = (db.prepare("select note_id from note order by note_id").all() as { note_id: number }[]).map(
      (row) => row.note_id,
    );
    return { integrity, journal, noteIds };
  } finally {
    db.close();
  }
}

describe("people-notes db backup", () => {
  test("a backup taken while a writer keeps writing opens, is intact, and holds every note committed before", async () => {
    const { path, store } = await database("busy", 100_000);
    let stop = false;
    let written = 0;
    // One note per turn of the event loop, each its own committed transaction, until told to stop.
    const writer = (async () => {
      for (let i = 0; i < 1_000_000 && !stop; i++) {
        await store.db
          .insertInto("note")
          .values({ person_id: 1, content: `Written during, number ${i}`, timestamp: stamp(200_000 + i) })
          .execute();
        written += 1;
        await nextTurn();
      }
    })();
    try {
      while (written < 20) await nextTurn();
      const committed = await store.db.selectFrom("note").select("note_id").orderBy("note_id").execute();
      const writtenBefore = written;
      const file = join(dir, "busy-backup.db");

      const result = await cli(["db", "backup", file], `sqlite:${path}`);
      const writtenDuring = written - writtenBefore;
      stop = true;
      await writer;

      assert.equal(result.code, 0, result.stderr);
      assert.equal(lines(result.stdout).length, 1);
      assert.match(
        result.stdout,
        /^people-notes: backed up .*busy\.db to .*busy-backup\.db: [\d,]+ pages \([\d.]+ MB, [\d,]+ bytes\), 1 people and [\d,]+ notes; integrity check ok/,
      );
      assert.ok(writtenDuring > 0, "the writer kept writing while the backup ran");
      const backup = opened(file);
      assert.equal(backup.integrity, "ok");
      assert.equal(backup.journal, "delete");
      const inBackup = new Set(backup.noteIds);
      const missing = committed.filter((row) => !inBackup.has(row.note_id));
      assert.deepEqual(missing, []);
      assert.ok(existsSync(path));
      assert.deepEqual(
        readdirSync(dir).filter((name) => name.startsWith("busy-backup")),
        ["busy-backup.db"],
      );
    } finally {
      stop = true;
      await writer;
      await store.close();
    }
  });

  test("an existing file is refused in one line and kept, and --force replaces it", async () => {
    const { path, store } = await database("existing", 10);
    await store.close();
    const file = join(dir, "existing-backup.db");
    writeFileSync(file, "not a backup");

    const refused = await cli(["db", "backup", file], `sqlite:${path}`);
    assert.equal(refused.code, 1);
    assert.deepEqual(lines(refused.stderr), [`people-notes: ${file} exists already; pass --force to replace it`]);
    assert.equal(readFileSync(file, "utf8"), "not a backup");

    const forced = await cli(["db", "backup", file, "--force"], `sqlite:${path}`);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /1 people and 10 notes; integrity check ok/);
    assert.equal(opened(file).noteIds.length, 10);
  });

  test("on PostgreSQL the backup is refused in one line that points to pg_dump", async () => {
    const file = join(dir, "postgres-backup.db");
    const refused = await cli(["db", "backup", file], POSTGRES_URL);
    assert.equal(refused.code, 1);
    const output = lines(refused.stderr);
    assert.equal(output.length, 1);
    assert.match(output[0] ?? "", /^people-notes: db backup is for SQLite; back up PostgreSQL with pg_dump/);
    assert.equal(existsSync(file), false);
  });

  test("a missing database or a missing FILE argument fails without making anything", async () => {
    const missing = join(dir, "missing.db");
    const file = join(dir, "missing-backup.db");
    const refused = await cli(["db", "backup", file], `sqlite:${missing}`);
    assert.equal(refused.code, 1);
    assert.deepEqual(lines(refused.stderr), [`people-notes: there is no SQLite database at ${missing}`]);
    assert.equal(existsSync(missing), false);
    assert.equal(existsSync(file), false);

    const usage = await cli(["db", "backup"], `sqlite:${missing}`);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /FILE is required/);
  });
});
