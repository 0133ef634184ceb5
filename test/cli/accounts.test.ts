import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseDatabaseUrl } from "../../src/config.js";
import { openStore } from "../../src/db/database.js";
import { AccountService } from "../../src/domain/accounts.js";
import { cliDatabases, lines, runCli, runCommand } from "../support/cli.js";
import { TEST_DATABASE_LIMITS } from "../support/limits.js";
import { engines } from "../support/postgres.js";
import { freePort, within } from "../support/server-process.js";

const databaseUrl = cliDatabases("accounts");

const LINK = /^(\S+)\/invite#(pi_[A-Za-z0-9_-]{43})\n$/;

/** Uses the link's code as the web app would, and says who it signed in. */
async function accept(url: string, code: string) {
  const store = openStore({ ...parseDatabaseUrl(url), limits: TEST_DATABASE_LIMITS });
  try {
    const started = await new AccountService(store, undefined).accept(code, "a long enough passphrase", {
      userAgent: null,
      address: null,
    });
    return started.live.account;
  } finally {
    await store.close();
  }
}

for (const engine of engines()) {
  describe(`people-notes invite and admin (${engine})`, () => {
    test("invite create prints a one-time link for the person, on PUBLIC_URL", async () => {
      const url = await databaseUrl(engine);
      const env = { DATABASE_URL: url, PUBLIC_URL: "https://notes.example/" };
      const made = await runCommand(["invite", "create", "--person", "3", "--expires", "2d"], { env });
      assert.equal(made.code, 0, made.stderr);
      const [, base, code] = LINK.exec(made.stdout) ?? [];
      assert.equal(base, "https://notes.example", made.stdout);
      assert.match(
        made.stderr,
        /made a setup invite for person 3: the link above lets "Bunny Easter" set a passkey or a password/,
      );
      const account = await accept(url, code as string);
      assert.deepEqual({ kind: account.kind, person: account.person_id }, { kind: "person", person: 3 });

      const reset = await runCommand(["invite", "create", "--person", "3", "--reset"], { env: { DATABASE_URL: url } });
      assert.equal(reset.code, 0, reset.stderr);
      assert.match(
        reset.stdout,
        /^http:\/\/127\.0\.0\.1:5000\/invite#pi_/,
        "without PUBLIC_URL, the listening address",
      );
      assert.match(reset.stderr, /reset invite/);

      // The first in a process of its own (the exit code and the one line), the others in this one.
      for (const [i, [args, message]] of (
        [
          [["--person", "99"], "people-notes: Person not found for Id: 99"],
          [[], "people-notes: --person is required"],
          [["--person", "1", "--expires", "31d"], "people-notes: --expires must be at most 30 days from now"],
        ] as const
      ).entries()) {
        const refused = await (i === 0 ? runCli : runCommand)(["invite", "create", ...args], { env });
        assert.equal(refused.code, 1, refused.stderr);
        assert.equal(lines(refused.stderr)[0], message);
        assert.equal(refused.stdout, "");
      }
    });

    test("admin create makes an admin account with a setup link; a second with the name is refused", async () => {
      const url = await databaseUrl(engine);
      const env = { DATABASE_URL: url };
      const made = await runCommand(["admin", "create", "--name", "ops"], { env });
      assert.equal(made.code, 0, made.stderr);
      const [, , code] = LINK.exec(made.stdout) ?? [];
      assert.equal((await accept(url, code as string)).kind, "admin");
      // In a process of its own: the exit code and the one line.
      const again = await runCli(["admin", "create", "--name", "OPS"], { env });
      assert.equal(again.code, 1);
      assert.deepEqual(lines(again.stderr), ["people-notes: Another account signs in as OPS"]);
    });
  });
}

describe("serving beyond loopback with an admin account", () => {
  test("an admin account (even before its setup link is used) lets the server start", async () => {
    const url = await databaseUrl("sqlite");
    assert.equal((await runCommand(["admin", "create", "--name", "ops"], { env: { DATABASE_URL: url } })).code, 0);
    const port = await freePort();
    const child = spawn(process.execPath, ["dist/server.js"], {
      cwd: join(import.meta.dirname, "../.."),
      // A busy test machine can lag at start-up, which would shed the first requests (503).
      env: {
        ...process.env,
        DATABASE_URL: url,
        HOST: "0.0.0.0",
        PORT: String(port),
        LOG_LEVEL: "warn",
        SHED_EVENT_LOOP_DELAY_MS: "10000",
      },
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((done) => child.once("exit", done));
    try {
      let answer: Response | undefined;
      // Start-up on a machine busy with other tests can take seconds: up to a minute, then fail.
      for (let i = 0; i < 600 && !answer && child.exitCode === null; i++) {
        answer = await fetch(`http://127.0.0.1:${port}/api/people/1/notes`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ content: "anonymous" }),
        }).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return undefined;
        });
      }
      assert.equal(child.exitCode, null, "the server did not refuse to start");
      assert.equal(answer?.status, 401, "and writes need a token or a session");
    } finally {
      child.kill("SIGTERM");
      await within(exited, 20_000, "the server's exit");
    }
  });
});
