import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseDatabaseUrl } from "../../src/config.js";
import { openStore } from "../../src/db/database.js";
import { TokenService } from "../../src/domain/tokens.js";
import { cliDatabases, lines, runCli, runCommand } from "../support/cli.js";
import { START_LIMIT_MS, TEST_DATABASE_LIMITS } from "../support/limits.js";
import { engines } from "../support/postgres.js";
import { freePort, runToExit, within } from "../support/server-process.js";

const databaseUrl = cliDatabases("token");

const TOKEN = /^pn_[A-Za-z0-9_-]{8}_[A-Za-z0-9_-]{43}$/;

/** What the service makes of a token on that database. */
async function principalOf(url: string, token: string) {
  const store = openStore({ ...parseDatabaseUrl(url), limits: TEST_DATABASE_LIMITS });
  try {
    return await new TokenService(store).authenticate(token);
  } finally {
    await store.close();
  }
}

for (const engine of engines()) {
  describe(`people-notes token (${engine})`, () => {
    test("create prints the token alone on stdout; list shows it without its secret; revoke ends it", async () => {
      const url = await databaseUrl(engine);
      const env = { DATABASE_URL: url };
      const made = await runCommand(["token", "create", "--admin", "--name", "ops"], { env });
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stdout, /^pn_\S+\n$/, "only the token, on one line");
      const token = made.stdout.trim();
      assert.match(token, TOKEN);
      assert.match(made.stderr, /made an admin token, id 1, prefix \S{8}, named "ops"/);
      assert.equal((await principalOf(url, token))?.kind, "admin");

      const listed = await runCommand(["token", "list"], { env });
      assert.equal(listed.code, 0, listed.stderr);
      const [header, row] = lines(listed.stdout);
      assert.match(header ?? "", /^id\s+prefix\s+kind\s+person\s+state\s+name/);
      assert.match(
        row ?? "",
        new RegExp(`^1\\s+${token.slice(3, 11).replace(/[-_]/g, "[-_]")}\\s+admin\\s+-\\s+usable\\s+ops`),
      );
      assert.ok(!listed.stdout.includes(token.slice(12)), "the secret is not listed");

      const revoked = await runCommand(["token", "revoke", "1"], { env });
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.equal(await principalOf(url, token), undefined);
      assert.match(lines((await runCommand(["token", "list"], { env })).stdout)[1] ?? "", /\brevoked\b/);
      // In a process of its own: the exit code and the one line.
      const again = await runCli(["token", "revoke", "1"], { env });
      assert.equal(again.code, 1);
      assert.deepEqual(lines(again.stderr), ["people-notes: there is no token 1 that is not revoked already"]);
    });

    test("a person token on a database that did not exist yet, and one for nobody refused", async () => {
      const url = await databaseUrl(engine);
      const env = { DATABASE_URL: url };
      const args = ["token", "create", "--person", "3", "--name", "Doug's phone", "--expires", "30d"];
      const made = await runCommand(args, { env });
      assert.equal(made.code, 0, made.stderr);
      const principal = await principalOf(url, made.stdout.trim());
      assert.deepEqual({ kind: principal?.kind, personId: principal?.personId }, { kind: "person", personId: 3 });
      const listed = lines((await runCommand(["token", "list"], { env })).stdout)[1] ?? "";
      const expires = Date.parse(listed.split(/\s+/).at(-1) ?? "");
      const days = (expires - Date.now()) / 86_400_000;
      assert.ok(days > 29.9 && days <= 30, `expires in 30 days (got ${days})`);

      // The first in a process of its own (the exit code and the one line), the others in this one.
      for (const [i, [args, message]] of (
        [
          [["--person", "99", "--name", "x"], "people-notes: Person not found for Id: 99"],
          [["--admin", "--person", "1", "--name", "x"], "people-notes: give exactly one of --admin and --person ID"],
          [["--admin"], "people-notes: --name is required"],
          [
            ["--admin", "--name", "x", "--expires", "2001-01-01"],
            "people-notes: --expires must be in the future (got 2001-01-01)",
          ],
        ] as const
      ).entries()) {
        const refused = await (i === 0 ? runCli : runCommand)(["token", "create", ...args], { env });
        assert.equal(refused.code, 1, refused.stderr);
        assert.equal(lines(refused.stderr)[0], message);
        assert.equal(refused.stdout, "");
      }
    });
  });
}

describe("serving beyond loopback", () => {
  test("with no admin token the server refuses to start, in one line", async () => {
    const url = await databaseUrl("sqlite");
    const { code, output } = await runToExit({ DATABASE_URL: url, HOST: "0.0.0.0", PORT: String(await freePort()) });
    assert.equal(code, 1);
    const said = lines(output).filter((line) => line.startsWith("people-notes:"));
    assert.equal(said.length, 1, output);
    assert.match(said[0] ?? "", /HOST=0\.0\.0\.0 listens beyond loopback and there is no admin token/);
    assert.match(said[0] ?? "", /ALLOW_ANONYMOUS_WRITES=true/);
  });

  test("with an admin token it starts, and writes need a token", async () => {
    const url = await databaseUrl("sqlite");
    const made = await runCommand(["token", "create", "--admin", "--name", "ops"], { env: { DATABASE_URL: url } });
    assert.equal(made.code, 0, made.stderr);
    const port = await freePort();
    const child = spawn(process.execPath, ["dist/server.js"], {
      cwd: join(import.meta.dirname, "../.."),
      env: { ...process.env, DATABASE_URL: url, HOST: "0.0.0.0", PORT: String(port), LOG_LEVEL: "warn" },
      stdio: "ignore",
    });
    const exited = new Promise((done) => child.once("exit", done));
    try {
      let answer: Response | undefined;
      const deadline = Date.now() + START_LIMIT_MS;
      while (!answer && Date.now() < deadline) {
        answer = await fetch(`http://127.0.0.1:${port}/api/people/1/notes`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ content: "anonymous" }),
        }).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return undefined;
        });
      }
      assert.equal(answer?.status, 401);
      const allowed = await fetch(`http://127.0.0.1:${port}/api/people/1/notes`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${made.stdout.trim()}` },
        body: JSON.stringify({ content: "signed" }),
      });
      assert.equal(allowed.status, 201);
    } finally {
      child.kill("SIGTERM");
      await within(exited, 10_000, "the exit");
    }
  });
});
