import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { buildApp } from "../../src/app.js";
import { parseDatabaseUrl } from "../../src/config.js";
import { migrateToLatest, openStore, type Store } from "../../src/db/database.js";
import { nameKey } from "../../src/db/names.js";
import { countNotes } from "../../src/db/notes-repository.js";
import { countPeople } from "../../src/db/people-repository.js";
import { seedTutorialData } from "../../src/db/seed.js";
import { TABLES } from "../../src/db/transfer/tables.js";
import { TokenService } from "../../src/domain/tokens.js";
import { lines, runCli, runCommand } from "../support/cli.js";
import { TEST_DATABASE_LIMITS } from "../support/limits.js";
import { POSTGRES_URL, withAdmin } from "../support/postgres.js";

const dir = mkdtempSync(join(tmpdir(), "people-notes-copy-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs `people-notes ARGS…` in this process (`runCommand`: the same code without a process start),
 * or as the built CLI in a process of its own where the process is part of what is tested: a kill,
 * exit codes and one-line failures.
 */
const cli = (args: string[]) => runCommand(args);
const cliProcess = (args: string[], watch?: (stderr: string, kill: () => void) => void) =>
  runCli(args, watch ? { watch } : {});

/** A new SQLite file name in the test's folder, as a DATABASE_URL. */
const sqliteUrl = (name: string) => `sqlite:${join(dir, `${name}-${randomBytes(4).toString("hex")}.db`)}`;

/** A new PostgreSQL schema, as a DATABASE_URL; dropped when the file's tests end. */
async function postgresUrl(): Promise<string> {
  const schema = `t_${randomBytes(8).toString("hex")}`;
  await withAdmin((client) => client.query(`create schema ${schema}`));
  after(() => withAdmin((client) => client.query(`drop schema if exists ${schema} cascade`)));
  const url = new URL(POSTGRES_URL);
  url.searchParams.set("schema", schema);
  return url.toString();
}

async function withStore<T>(url: string, work: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore({ ...parseDatabaseUrl(url), limits: TEST_DATABASE_LIMITS });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** A migrated database with `people` people (ids 1, 3, 5, …) and `notes` notes spread over them. */
async function fill(url: string, people: number, notes: number): Promise<void> {
  await withStore(url, async (store) => {
    await migrateToLatest(store);
    await store.db.transaction().execute(async (tx) => {
      const personIds = Array.from({ length: people }, (_, i) => 1 + 2 * i);
      const personRows = personIds.map((person_id, i) => ({
        person_id,
        fname: `Fname ${i}`,
        lname: `Lname ${i}`,
        fname_key: nameKey(`Fname ${i}`),
        lname_key: nameKey(`Lname ${i}`),
        timestamp: new Date(Date.UTC(2020, 0, 1) + i * 1_000).toISOString(),
        version: 1 + (i % 2),
      }));
      for (let start = 0; start < people; start += 1_000) {
        await tx
          .insertInto("person")
          .values(personRows.slice(start, start + 1_000))
          .execute();
      }
      for (let start = 0; start < notes; start += 1_000) {
        const rows = Array.from({ length: Math.min(1_000, notes - start) }, (_, k) => {
          const i = start + k;
          return {
            note_id: 10 + i,
            person_id: personIds[i % people] as number,
            content: `Note ${i} ✓`,
            timestamp: new Date(Date.UTC(2021, 0, 1) + i * 997).toISOString(),
            version: 1 + (i % 3),
          };
        });
        await tx.insertInto("note").values(rows).execute();
      }
    });
  });
}

async function seedTutorial(url: string): Promise<void> {
  await withStore(url, async (store) => {
    await migrateToLatest(store);
    await seedTutorialData(store);
  });
}

/** Every row, and the kept counts, of a database. */
function contents(url: string) {
  return withStore(url, async (store) => ({
    people: await store.db.selectFrom("person").select(TABLES.person.columns).orderBy("person_id").execute(),
    // Columns the engines share: PostgreSQL also keeps each note's search vector.
    notes: await store.db.selectFrom("note").select(TABLES.note.columns).orderBy("note_id").execute(),
    counts: [
      ["note", await countNotes(store)],
      ["person", await countPeople(store)],
    ],
  }));
}

/** What `GET /api/session` says about access control for a server on loopback on this database. */
async function sessionAccessControl(url: string): Promise<boolean> {
  return withStore(url, async (store) => {
    const app = await buildApp({ store });
    try {
      return (await app.inject({ url: "/api/session" })).json().access_control;
    } finally {
      await app.close();
    }
  });
}

const checksumOf = (stdout: string) => /sha256 ([0-9a-f]{64})/.exec(stdout)?.[1];

describe("people-notes db copy", () => {
  test("copies SQLite to PostgreSQL and back: one summary line on stdout, progress on stderr", async () => {
    const [first, middle, last] = [sqliteUrl("first"), await postgresUrl(), sqliteUrl("last")];
    await fill(first, 50, 10_000);

    const there = await cli(["db", "copy", "--from", first, "--to", middle]);
    assert.equal(there.code, 0, there.stderr);
    assert.equal(lines(there.stdout).length, 1);
    assert.match(there.stdout, /^people-notes: copied 50 people and 10,000 notes in [\d.]+ s \([\d,]+ rows\/s\)/);
    assert.match(there.stdout, /verified: 50 people, 10,000 notes, sha256 [0-9a-f]{64} on source and target/);
    assert.match(there.stderr, /copying notes: 10,000\/10,000 \(100%\), [\d,]+ rows\/s/);
    assert.match(there.stderr, /verifying: 10,050\/10,050 \(100%\)/);

    const back = await cli(["db", "copy", "--from", middle, "--to", last]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(checksumOf(back.stdout), checksumOf(there.stdout));
    const [original, copied] = [await contents(first), await contents(last)];
    assert.deepEqual(copied, original);
  });

  test("a target that holds people or notes is refused in one line and left as it was", async () => {
    const [source, target] = [sqliteUrl("source"), await postgresUrl()];
    await fill(source, 5, 20);
    await seedTutorial(target);
    const before = await contents(target);

    const refused = await cliProcess(["db", "copy", "--from", source, "--to", target]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, "");
    assert.deepEqual(lines(refused.stderr), [
      "people-notes: the target database is not empty: it has 3 people and 7 notes; pass --replace to replace them",
    ]);
    assert.deepEqual(await contents(target), before);
  });

  test("--replace puts the source's people and notes in place of the target's", async () => {
    const [source, target] = [await postgresUrl(), sqliteUrl("target")];
    await fill(source, 5, 20);
    await seedTutorial(target);

    const replaced = await cli(["db", "copy", "--from", source, "--to", target, "--replace"]);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, /replaced its 3 people and 7 notes/);
    assert.deepEqual(await contents(target), await contents(source));
  });

  test("a copy killed half-way leaves the target as it was, and running it again succeeds", {
    timeout: 480_000,
  }, async () => {
    // Forty batches of 250: enough to stop in the middle of the notes, which is what matters here
    // (the number of batches, not their size); the volume each way is test/db/copy.test.ts's.
    const [source, target] = [sqliteUrl("large"), await postgresUrl()];
    await fill(source, 200, 10_000);
    await seedTutorial(target);
    const before = await contents(target);

    const args = ["db", "copy", "--from", source, "--to", target, "--replace", "--batch-rows", "250"];
    let killedAt: number | undefined;
    const killed = await cliProcess(args, (stderr, kill) => {
      const done = [...stderr.matchAll(/copying notes: ([\d,]+)\/10,000/g)].map((m) => Number(m[1]?.replace(/,/g, "")));
      const furthest = Math.max(0, ...done);
      if (killedAt === undefined && furthest >= 5_000) {
        killedAt = furthest;
        kill();
      }
    });
    assert.equal(killed.signal, "SIGKILL", `the copy was not killed: ${killed.stdout}${killed.stderr}`);
    assert.ok(killedAt !== undefined && killedAt < 10_000);
    assert.deepEqual(await contents(target), before);

    const again = await cli(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /copied 200 people and 10,000 notes/);
    const [original, copied] = [await contents(source), await contents(target)];
    assert.deepEqual(copied, original);
  });

  test("tokens stay behind unless --with-tokens, and the copy says what that means for access control", async () => {
    const [source, target] = [sqliteUrl("tokens-source"), await postgresUrl()];
    await seedTutorial(source);
    const made = await withStore(source, async (store) => {
      const tokens = new TokenService(store);
      return { admin: await tokens.create({ kind: "admin", name: "ops" }) };
    });

    const plain = await cli(["db", "copy", "--from", source, "--to", target]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(lines(plain.stdout).length, 1);
    const said = lines(plain.stderr).filter((line) => !/^people-notes: (copying|verifying|clearing)\b/.test(line));
    assert.equal(said.length, 1, plain.stderr);
    assert.match(
      said[0] ?? "",
      /^people-notes: the source's 1 usable token was not copied and the target has none: .*access_control: false.*--with-tokens/,
    );
    await withStore(target, async (store) => {
      assert.equal(await new TokenService(store).anyUsable(), false, "a server on the copy would let anyone write");
    });
    assert.equal(await sessionAccessControl(target), false);

    const withTokens = await cli(["db", "copy", "--from", source, "--to", target, "--replace", "--with-tokens"]);
    assert.equal(withTokens.code, 0, withTokens.stderr);
    assert.match(withTokens.stdout, /; copied 1 token\b/);
    assert.doesNotMatch(withTokens.stderr, /not copied/);
    assert.equal(await sessionAccessControl(target), true);
    await withStore(target, async (store) => {
      const tokens = new TokenService(store);
      assert.equal((await tokens.authenticate(made.admin.token))?.kind, "admin", "the copied token works on the copy");
      const next = await tokens.create({ kind: "person", personId: 1, name: "made on the copy" });
      assert.ok(next.row.token_id > made.admin.row.token_id, "new tokens get ids after the copied ones");
    });
  });

  test("--with-tokens keeps each token's kind, person, expiry and revocation, both ways", async () => {
    const [first, middle, last] = [sqliteUrl("tokens-first"), await postgresUrl(), sqliteUrl("tokens-last")];
    await seedTutorial(first);
    const made = await withStore(first, async (store) => {
      const tokens = new TokenService(store);
      const admin = await tokens.create({ kind: "admin", name: "ops" });
      const person = await tokens.create({
        kind: "person",
        personId: 2,
        name: "Kent's phone",
        expiresAt: "2999-01-01T00:00:00.000Z",
      });
      const revoked = await tokens.create({ kind: "admin", name: "old" });
      await tokens.revoke(revoked.row.token_id);
      return { admin, person, revoked, listed: await tokens.list() };
    });
    await seedTutorial(last);
    const theirs = await withStore(last, (store) => new TokenService(store).create({ kind: "admin", name: "theirs" }));

    const there = await cli(["db", "copy", "--from", first, "--to", middle, "--with-tokens"]);
    assert.equal(there.code, 0, there.stderr);
    const refused = await cli(["db", "copy", "--from", middle, "--to", last, "--with-tokens"]);
    assert.equal(refused.code, 1, "a target with people, notes and tokens of its own needs --replace");
    const back = await cli(["db", "copy", "--from", middle, "--to", last, "--with-tokens", "--replace"]);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /; copied 3 tokens\b/);

    await withStore(last, async (store) => {
      const tokens = new TokenService(store);
      assert.deepEqual(await tokens.list(), made.listed, "every token as it was, ids and times included");
      assert.equal(await tokens.authenticate(theirs.token), undefined, "the target's own tokens were replaced");
      assert.equal(await tokens.authenticate(made.revoked.token), undefined, "a revoked token stays revoked");
      const person = await tokens.authenticate(made.person.token);
      assert.deepEqual({ kind: person?.kind, personId: person?.personId }, { kind: "person", personId: 2 });
    });
  });

  test("a bad URL, an unreachable database or a missing file is one line and a failing exit code", async () => {
    const target = sqliteUrl("never");
    const cases: [string[], RegExp][] = [
      [["--from", "mysql://somewhere/db", "--to", target], /--from must start with sqlite: or postgres:\/\//],
      [
        ["--from", "postgres://postgres@127.0.0.1:1/test", "--to", target],
        /cannot reach the source database at postgres:\/\/postgres@127\.0\.0\.1:1\/test \(.*ECONNREFUSED.*\): .*--from is right/,
      ],
      [["--from", sqliteUrl("missing"), "--to", target], /there is no SQLite database at /],
      [["--from", "postgres://postgres@127.0.0.1:5432/test?schema=Bad-Name", "--to", target], /schema must be/],
    ];
    for (const [args, message] of cases) {
      const run = await cliProcess(["db", "copy", ...args]);
      assert.equal(run.code, 1, `${args.join(" ")}: ${run.stderr}`);
      assert.equal(run.stdout, "");
      const output = lines(run.stderr);
      assert.equal(output.length, 1, run.stderr);
      assert.match(output[0] ?? "", message);
    }
    const usage = await cliProcess(["db", "copy", "--from", target]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--from URL and --to URL are both required/);
  });
});
