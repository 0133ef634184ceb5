#!/usr/bin/env node
// Runs the tests: all of them, a layer, or some files, several test files at a time.
//
//   node scripts/test.mjs                        every test file (npm run test:all)
//   node scripts/test.mjs api db                 the files of test/api and test/db (npm run test:api, …)
//   node scripts/test.mjs test/api/notes.test.ts some files
//   node scripts/test.mjs --coverage …           under c8, which checks the coverage floor (.c8rc.json)
//   node scripts/test.mjs --concurrency=N …      N test processes at a time (default: see CONCURRENCY)
//   node scripts/test.mjs --list …               the files, a process a line, in the order they start
//   node scripts/test.mjs --ci                   what `npm test` does: the generated files; then
//                                                typecheck + lint beside the build, and then beside
//                                                every test under c8; a summary of times
//
// Those whose timing bounds other test files would break (ALONE) run first, one at a time; then the
// others, slowest first (SLOWEST, then the groups, then by the LAYERS order, then by size), a process
// to each file or to each group of small files (GROUPS), so the long ones start while the short ones
// fill the gaps; each process's report is printed when it ends, then the totals and the slowest. A
// skipped or todo test fails the run.
// Temporary files (SQLite databases, export files, browser profiles) go to /dev/shm when it has
// room: the tests' many small commits each wait for a disk flush otherwise. This file uses Node's
// own modules only.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statfsSync, statSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The files that take longest, started first so that none of them is left running alone at the end;
 * then the layers under test/, slowest first. Measured: docs/decisions.md, "A suite that people run".
 * A file not named here (a new or moved one) is ordered by its layer and size.
 */
const SLOWEST = [
  "test/e2e/swagger-ui.test.ts",
  "test/fault/cluster.test.ts",
  "test/cli/export.test.ts",
  "test/api/fuzz.test.ts",
  "test/e2e/sign-in.test.ts",
  "test/db/copy.test.ts",
  "test/e2e/quality.test.ts",
];
/**
 * Files whose bounds other test files on the same cores would break: run before the others, one at
 * a time, with one lane of the others beside them (about one core), so that no core is left idle
 * at the end of the run while they go on, nor beside them at the start.
 * test/fault/sqlite-lock.test.ts measures its own server's event-loop lag (it failed so with four
 * files at a time at load 7, and passed alone); test/fault/topology.test.ts asserts when HAProxy
 * marks a host down, and a 1 s health check that a loaded host answers late marks it down early.
 * Both passed beside a typecheck at load 5–7, and beside one lane of the others in every run since.
 */
const ALONE = ["test/fault/sqlite-lock.test.ts", "test/fault/topology.test.ts"];
const LAYERS = ["cli", "e2e", "fault", "api", "db", "http", "domain", "architecture"];
/**
 * Layers whose test processes start and drive others (servers, browsers, load). Under c8 those
 * processes run without block coverage of their own, and the ones they start with it
 * (scripts/children-coverage.mjs): coverage only slowed the drivers' own code. Not test/cli, whose
 * tests also run the CLI's commands in-process (`runCommand`), the only run of much of src/cli/;
 * nor the files of these layers that build the app or prepare a database in-process
 * (DRIVING_IN_PROCESS_TOO): without their coverage src/http/server-limits.ts and src/db/setup.ts
 * lost lines.
 */
const DRIVERS = ["e2e", "fault", "bench"];
const DRIVING_IN_PROCESS_TOO = ["test/fault/server-limits.test.ts", "test/fault/server.test.ts"];

/**
 * Files that run several to a process (scripts/test-group.mjs) rather than one each: those of the
 * layers that test in-process (an app through `inject`, a store, a module), and the browser files,
 * whose suites each start their own server (and share the process's browser). A test process pays about 2 s of CPU before
 * its first test (Node, tsx, importing the app or Playwright and the test support, the first
 * compiles), more than most of these files' tests take; measured in docs/decisions.md, "A suite
 * that people run". Each entry: the layers, and about how many files to a process (the files are
 * spread over the groups by size, so a group may have a file more or less).
 */
const GROUPS = [
  { layers: ["api", "db", "domain", "http", "web", "architecture"], size: 9 },
  { layers: ["e2e"], size: 4 },
];
/** Files of those layers that keep a process of their own, and why. */
const OWN_PROCESS = [
  // Installs the process's global tracer provider: every app built after it in the process would trace.
  "test/api/tracing.test.ts",
  // About a fresh process's first request to each operation, before any validator is compiled.
  "test/api/first-request.test.ts",
  // Rewrites the README's screenshots: alone, as `npm run screenshots` runs it.
  "test/e2e/screenshots.test.ts",
  // And those long enough to be started first (SLOWEST).
  ...SLOWEST,
];

/**
 * Test files at a time. Most of a test file's time is spent waiting (for PostgreSQL, a child
 * process, a browser, a timer), so on 2 cores 4 at a time finish sooner than 1 (node --test's own
 * default there) or 2; more than that only adds contention. Measured in docs/decisions.md.
 */
const CONCURRENCY = Math.max(2, 2 * availableParallelism());

/** Temporary files on memory when there is room for them; else the system's temporary folder. */
function tmpdirForTests() {
  if (process.env.PEOPLE_NOTES_TEST_TMPDIR) return process.env.PEOPLE_NOTES_TEST_TMPDIR;
  try {
    const shm = statfsSync("/dev/shm");
    if (shm.bavail * shm.bsize >= 2 ** 30) return "/dev/shm";
  } catch {
    // no /dev/shm here
  }
  return process.env.TMPDIR;
}

function testEnv() {
  const tmp = tmpdirForTests();
  return { ...process.env, ...(tmp ? { TMPDIR: tmp } : {}) };
}

function layerFiles(layer) {
  const dir = join(root, "test", layer);
  return readdirSync(dir)
    .filter((name) => name.endsWith(".test.ts"))
    .map((name) => join("test", layer, name));
}

/** Slowest first: by layer, then the larger file first within one. */
function order(files) {
  const rank = (file) => {
    if (ALONE.includes(file)) return -SLOWEST.length - 1;
    const slow = SLOWEST.indexOf(file);
    if (slow !== -1) return slow - SLOWEST.length;
    const layer = LAYERS.indexOf(layerOf(file));
    // A group of files (jobs) takes longer than one file of its layer: right after SLOWEST.
    if (groupFor(file)) return -0.5;
    return layer === -1 ? LAYERS.length : layer;
  };
  return [...files].sort((a, b) => rank(a) - rank(b) || size(b) - size(a) || a.localeCompare(b));
}

function allLayers() {
  return readdirSync(join(root, "test"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== "support")
    .map((entry) => entry.name);
}

/**
 * What the pool runs, each in a process of its own: a file, or a group of files of GROUPS
 * layers (sizes spread evenly over the groups), in the order given, each group where its first
 * file was.
 */
function jobs(files) {
  const groupOf = new Map();
  for (const entry of GROUPS) {
    const groupable = files.filter((file) => groupFor(file) === entry);
    if (groupable.length < 2) continue;
    const groups = Array.from({ length: Math.ceil(groupable.length / entry.size) }, () => ({ files: [], size: 0 }));
    for (const file of [...groupable].sort((a, b) => size(b) - size(a))) {
      const group = groups.reduce((least, next) => (next.size < least.size ? next : least));
      group.files.push(file);
      group.size += size(file);
    }
    for (const group of groups) for (const file of group.files) groupOf.set(file, group.files);
  }
  const started = new Set();
  const result = [];
  for (const file of files) {
    const group = groupOf.get(file);
    if (!group) result.push([file]);
    else if (!started.has(group)) {
      started.add(group);
      result.push(group);
    }
  }
  return result;
}

const layerOf = (file) => relative("test", dirname(file));
const size = (file) => statSync(join(root, file)).size;
/** The GROUPS entry a file runs in, or undefined for a file with a process of its own. */
const groupFor = (file) =>
  OWN_PROCESS.includes(file) ? undefined : GROUPS.find(({ layers }) => layers.includes(layerOf(file)));

/** `api` → test/api's files; a path → itself. */
function filesFor(targets) {
  const given = targets.length > 0 ? targets : allLayers();
  return order(
    given.flatMap((target) => {
      if (target.endsWith(".ts")) return [relative(root, resolve(target))];
      if (!existsSync(join(root, "test", target))) throw new Error(`no test layer test/${target}`);
      return layerFiles(target);
    }),
  );
}

/** What runs now; stopped with this process, so a stopped run leaves no test process behind. */
const children = new Set();
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of children) killGroup(child, signal);
    process.exit(130);
  });
}

/**
 * Runs a command; resolves to its exit code and, when `quiet`, what it printed. With `limitMs` it
 * runs in a process group of its own, which is killed whole (servers, browsers and all) when the
 * limit passes, and it fails.
 */
function run(command, args, { quiet = false, env = process.env, limitMs } = {}) {
  return new Promise((done) => {
    const detached = limitMs !== undefined;
    const stdio = quiet ? ["ignore", "pipe", "pipe"] : "inherit";
    const child = spawn(command, args, { cwd: root, env, stdio, detached });
    children.add(child);
    child.on("exit", () => children.delete(child));
    let overran = false;
    const timer = detached
      ? setTimeout(() => {
          overran = true;
          killGroup(child, "SIGKILL");
        }, limitMs)
      : undefined;
    let output = "";
    if (quiet) {
      child.stdout.on("data", (chunk) => {
        output += chunk;
      });
      child.stderr.on("data", (chunk) => {
        output += chunk;
      });
    }
    child.on("error", (error) => done({ code: 1, output: `${output}${error.message}\n` }));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (overran) output += `\nstopped after ${limitMs / 1000} s: a test file must end by itself well within that\n`;
      done({ code: overran ? 1 : (code ?? (signal ? 1 : 0)), output });
    });
  });
}

/** Signals a child and, when it leads a process group of its own, everything in that group. */
function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/**
 * How long one test file may run before it is stopped, with what it started, and counted as failed:
 * a file waiting on something that never comes must not hold the run without end. The longest file
 * takes a few minutes on a loaded machine.
 */
const FILE_LIMIT_MS = 25 * 60_000;
/** GNU time, when the machine has it: the CPU (user + system) of a process and every one it waited for. */
const TIME = "/usr/bin/time";

/** Runs a test file's process within FILE_LIMIT_MS; with GNU time, also its CPU (else NaN). */
async function runCounted(command, args, env) {
  const options = { quiet: true, env, limitMs: FILE_LIMIT_MS };
  if (!existsSync(TIME)) return { ...(await run(command, args, options)), cpu: Number.NaN };
  const report = join(tmpdir(), `people-notes-cpu-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    const result = await run(TIME, ["-q", "-o", report, "-f", "%U %S", command, ...args], options);
    // The last line: GNU time writes a note above it for a process ended by a signal.
    const last = existsSync(report) ? readFileSync(report, "utf8").trim().split("\n").at(-1) : "";
    const [user, system] = last.split(" ").map(Number);
    return { ...result, cpu: user + system };
  } finally {
    rmSync(report, { force: true });
  }
}

const npm = (script) => ["npm", ["run", "--silent", script]];
const bin = (name) => join(root, "node_modules", ".bin", name);

/** The summary lines node:test's spec reporter ends a file with: ℹ tests 18, ℹ pass 18, … */
const COUNTED = ["tests", "pass", "fail", "cancelled", "skipped", "todo"];
function counts(output) {
  return Object.fromEntries(
    COUNTED.map((name) => [name, Number(new RegExp(`^ℹ ${name} (\\d+)$`, "m").exec(output)?.[1] ?? Number.NaN)]),
  );
}

/**
 * Runs the files, `concurrency` at a time in the order given (node --test would sort them by name),
 * each in a process of its own as node --test does; prints each file's report when it ends, then the
 * totals and the slowest files. Fails when a file fails, or when a test was skipped or left to do.
 */
async function pool(files, concurrency) {
  const all = jobs(files);
  const alone = all.filter((job) => ALONE.includes(job[0]));
  const queue = all.filter((job) => !ALONE.includes(job[0]));
  const results = [];
  const env = testEnv();
  const runJob = async (job) => {
    const started = Date.now();
    const file = job.length === 1 ? job[0] : `${job.length} files: ${job.join(" ")}`;
    const args = ["--import", "tsx", "--test-reporter=spec"];
    const driver =
      env.NODE_V8_COVERAGE &&
      job.every((path) => DRIVERS.includes(layerOf(path)) && !DRIVING_IN_PROCESS_TOO.includes(path));
    if (driver) args.push("--import", "./scripts/children-coverage.mjs");
    args.push(...(job.length === 1 ? job : [join("scripts", "test-group.mjs"), ...job]));
    // Empty, not left out: Node gives a child its own NODE_V8_COVERAGE when the env it is handed
    // has none, and an empty one collects nothing.
    const jobEnv = driver
      ? { ...env, NODE_V8_COVERAGE: "", PEOPLE_NOTES_CHILDREN_COVERAGE: env.NODE_V8_COVERAGE }
      : env;
    const { code, output, cpu } = await runCounted(process.execPath, args, jobEnv);
    const seconds = (Date.now() - started) / 1000;
    const counted = counts(output);
    const failed = code !== 0 || Number.isNaN(counted.tests) || counted.fail > 0 || counted.cancelled > 0;
    results.push({ file, seconds, cpu, failed, ...counted });
    const used = Number.isNaN(cpu) ? "" : `, ${cpu.toFixed(1)} s of CPU`;
    process.stdout.write(`\n── ${file}: ${failed ? "FAILED" : "passed"} in ${seconds.toFixed(1)} s${used}\n${output}`);
  };
  const worker = async () => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) await runJob(job);
  };
  const started = Date.now();
  const jobCount = all.length;
  const lanes = Math.min(concurrency, jobCount);
  // The ALONE files one at a time, with one lane of the others beside them (about one core, as
  // beside the typecheck they were checked against), then every lane.
  const beside = lanes > 1 ? worker() : undefined;
  for (const job of alone) await runJob(job);
  await Promise.all([beside, ...Array.from({ length: beside ? lanes - 1 : lanes }, worker)]);
  const total = (name) => results.reduce((sum, result) => sum + (Number.isNaN(result[name]) ? 0 : result[name]), 0);
  console.log(
    `\n── ${files.length} files in ${jobCount} processes, ${lanes} at a time, in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log(COUNTED.map((name) => `${name} ${total(name)}`).join(", "));
  console.log("slowest files:");
  for (const result of [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 8)) {
    const used = Number.isNaN(result.cpu) ? "" : `${result.cpu.toFixed(1).padStart(6)} s CPU`;
    console.log(`  ${result.seconds.toFixed(1).padStart(6)} s  ${used}  ${result.file}`);
  }
  const cpu = results.reduce((sum, result) => sum + (Number.isNaN(result.cpu) ? 0 : result.cpu), 0);
  if (cpu > 0)
    console.log(
      `CPU of the test processes and what they waited for (not the database servers, nor Chromium's renderers, which its zygote starts): ${cpu.toFixed(0)} s`,
    );
  const failed = results.filter((result) => result.failed);
  for (const result of failed) console.log(`FAILED ${result.file}`);
  const leftOut = total("skipped") + total("todo");
  if (leftOut > 0) console.log(`FAILED: ${leftOut} tests skipped or to do; every test runs`);
  return failed.length > 0 || leftOut > 0 ? 1 : 0;
}

/** What the coverage counts: the service's sources, but for the modules generated from the contract. */
const COVERED = ["src/**"];
const NOT_COVERED = ["src/api/types.ts", "src/domain/types.ts", "src/db/schema.ts"];

/**
 * c8's include and exclude arguments for `patterns`, matched against absolute paths. The servers and
 * CLIs the tests start run the bundle (dist/, scripts/bundle.ts), whose source maps name many files
 * each; c8 checks those files against include and exclude as Node's source map cache names them,
 * as file URLs, which patterns relative to the project never match (a bundled module was then
 * counted as wholly run). So every pattern is given absolute, as a path and as a file URL, and
 * c8 is told that absolute names are expected (--allowExternal).
 */
function coverageArguments(option, patterns) {
  return patterns.flatMap((pattern) => {
    const absolute = join(root, pattern);
    return [`--${option}=${absolute}`, `--${option}=${pathToFileURL(absolute).href}`];
  });
}

async function runTests(files, { coverage, concurrency }) {
  if (!coverage) return { code: await pool(files, concurrency) };
  // c8 collects the coverage of every process the pool starts (NODE_V8_COVERAGE), then checks the
  // floor (.c8rc.json).
  const self = fileURLToPath(import.meta.url);
  return run(bin("c8"), [
    "--allowExternal",
    ...coverageArguments("include", COVERED),
    ...coverageArguments("exclude", NOT_COVERED),
    process.execPath,
    self,
    "--pool",
    `--concurrency=${concurrency}`,
    ...files,
  ]);
}

/** A step of `--ci`: its name, its time, and whether it passed. */
async function timed(name, work) {
  const started = Date.now();
  const result = await work();
  const seconds = (Date.now() - started) / 1000;
  return { name, seconds, ...result };
}

/**
 * The type checks (`npm run typecheck`: the service with Node's types alone, the tests with bench/
 * and scripts/, the web app, by TypeScript 7's native compiler, package typescript7; the
 * typescript package, 5.9, stays for the compiler API that openapi-typescript and two tests read:
 * docs/decisions.md), then the lint's result (`linting`, started before them).
 */
async function checks(linting) {
  const typecheck = await run(...npm("typecheck"), { quiet: true });
  if (typecheck.code !== 0) return { code: typecheck.code, output: `npm run typecheck:\n${typecheck.output}` };
  const lint = await linting;
  const output = typecheck.output + lint.output;
  return lint.code === 0 ? { code: 0, output } : { code: lint.code, output: `biome check .:\n${output}` };
}

/** A machine already busy makes the tests' fixed limits (20 s for a server to start, 5 s per statement) fail. */
function warnIfBusy() {
  const [load] = loadavg();
  const cores = availableParallelism();
  if (load > cores) {
    console.log(`load average ${load.toFixed(1)} on ${cores} cores before the tests start: other work is running, and`);
    console.log("the tests' time limits (a server starting within 20 s, statements within 5 s) may fail for it");
  }
}

async function ci(concurrency) {
  warnIfBusy();
  const started = Date.now();
  // `npm run build` is the generated files, then the type check of src/ and the bundles (build:app).
  // Lint reads none of the generated files (biome.json leaves them out), so it starts at once; the
  // type checks need only the generated files and check src/ themselves, so they start beside the
  // bundles (`npm run bundle`; a core would wait otherwise), and go on beside the tests. The Node 24
  // run of the runtime-sensitive files (npm run test:node24) and the benchmark gate (npm run bench --
  // --gate) are CI's steps after this command (.ci/run): docs/decisions.md, "A suite that people run".
  const linting = run(bin("biome"), ["check", "."], { quiet: true });
  const gen = await timed("generate", () => run(...npm("gen")));
  if (gen.code !== 0) process.exit(gen.code);
  const checking = timed("typecheck + lint", () => checks(linting));
  const build = await timed("build", () => run(...npm("bundle")));
  if (build.code !== 0) {
    await checking;
    process.exit(build.code);
  }
  const lanes = await Promise.all([
    checking,
    timed("tests (coverage)", () => runTests(filesFor([]), { coverage: true, concurrency })),
  ]);
  for (const lane of lanes) {
    if (lane.output) process.stdout.write(`\n== ${lane.name}\n${lane.output}`);
  }
  console.log("\n== times");
  for (const step of [gen, build, ...lanes]) {
    console.log(`${step.code === 0 ? "ok    " : "FAILED"} ${step.seconds.toFixed(0).padStart(4)} s  ${step.name}`);
  }
  console.log(`       ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  in all`);
  process.exit(lanes.some((lane) => lane.code !== 0) ? 1 : 0);
}

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const concurrencyArg = argv.find((arg) => arg.startsWith("--concurrency="));
const concurrency = concurrencyArg ? Number(concurrencyArg.split("=")[1]) : CONCURRENCY;
if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`bad ${concurrencyArg}`);
const targets = argv.filter((arg) => !arg.startsWith("--"));

if (flag("pool")) {
  process.exit(await pool(targets, concurrency));
} else if (flag("list")) {
  for (const job of jobs(filesFor(targets))) console.log(job.join(" "));
} else if (flag("ci")) {
  await ci(concurrency);
} else {
  const files = filesFor(targets);
  warnIfBusy();
  const { code } = await runTests(files, { coverage: flag("coverage"), concurrency });
  process.exit(code);
}
