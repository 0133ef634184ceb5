/**
 * Mutation run of the guards: plants each one-line bug listed in ./guards.ts in its file, one at a
 * time, runs the test files named for it, and reports the bugs that no test caught (the survivors).
 * Every file is put back after each bug, also when a run fails or is interrupted (Ctrl-C, SIGTERM);
 * a tree with uncommitted changes is refused, so what is put back is what git has.
 *
 *   npm run mutants                  every mutant; exits 1 when one survived
 *   npm run mutants -- if-match feed only the mutants whose name holds one of these words
 *   npm run mutants -- --list        the mutants, checked against the source, without running anything
 *
 * Test output goes to a log per mutant in a temporary folder, named in the report.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Mutant, mutants } from "./guards.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** A bug may make a test wait forever; past this the run counts as caught (the tests did not pass). */
const RUN_TIMEOUT_MS = 10 * 60_000;

type Outcome = "killed" | "survived" | "timed out";

interface Planted {
  path: string;
  content: string;
}

/** The file that holds a bug right now, and what it held before. */
let planted: Planted | undefined;
/** dist/ was compiled from a planted bug and must be compiled again from the clean source. */
let distHasBug = false;
let running: ChildProcess | undefined;

function restore(): void {
  if (planted) {
    writeFileSync(planted.path, planted.content);
    planted = undefined;
  }
}

function compileDist(): void {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) throw new Error("compiling dist/ failed");
}

/** Puts everything back as it was: the planted file, then dist/ if a bug was compiled into it. */
function restoreAll(): void {
  restore();
  if (distHasBug) {
    distHasBug = false;
    compileDist();
  }
}

function stopRunning(): void {
  if (running?.pid !== undefined && running.exitCode === null) {
    try {
      process.kill(-running.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    stopRunning();
    console.error(`\nmutants: ${signal}: putting every file back`);
    restoreAll();
    process.exit(130);
  });
}
// The last line of defence (an exception that escaped, process.exit from elsewhere): synchronous.
process.on("exit", restore);

function occurrences(text: string, part: string): number {
  let count = 0;
  for (let at = text.indexOf(part); at !== -1; at = text.indexOf(part, at + 1)) count++;
  return count;
}

/** What is wrong with an entry against today's source, if anything. */
function staleness(mutant: Mutant): string | undefined {
  const path = join(root, mutant.file);
  if (!existsSync(path)) return `${mutant.file} does not exist`;
  const found = occurrences(readFileSync(path, "utf8"), mutant.original);
  if (found !== 1) return `its original text occurs ${found} times in ${mutant.file} (it must occur once)`;
  if (mutant.mutated === mutant.original) return "the mutated text is the original";
  const missing = mutant.tests.filter((test) => !existsSync(join(root, test)));
  if (mutant.tests.length === 0) return "it names no test file";
  if (missing.length > 0) return `no such test file: ${missing.join(", ")}`;
  return undefined;
}

function uncommittedChanges(): string {
  const status = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" });
  if (status.status !== 0) throw new Error(`git status failed: ${status.stderr}`);
  return status.stdout.trim();
}

/** Runs test files in a process group of their own, so a timeout or Ctrl-C ends every child. */
function runTests(files: string[], log: string): Promise<{ passed: boolean; timedOut: boolean }> {
  return new Promise((done, fail) => {
    const out = openSync(log, "w");
    const child = spawn(process.execPath, ["--import", "tsx", "--test", ...files], {
      cwd: root,
      detached: true,
      stdio: ["ignore", out, out],
    });
    running = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stopRunning();
    }, RUN_TIMEOUT_MS);
    child.on("error", fail);
    child.on("exit", (code) => {
      clearTimeout(timer);
      running = undefined;
      done({ passed: code === 0 && !timedOut, timedOut });
    });
  });
}

/**
 * The tests that failed, as TAP names them, each with the first line of its error: a bug is caught
 * by the failures it causes, and a failure unrelated to it (say, a 503 on an overloaded machine)
 * should be told apart from them. Suites that failed only through their tests are left out.
 */
function failures(log: string): string[] {
  const lines = readFileSync(log, "utf8").split("\n");
  const found: string[] = [];
  for (const [i, line] of lines.entries()) {
    const failed = /^(\s*)not ok \d+ - (.*)$/.exec(line);
    if (!failed) continue;
    const end = lines.findIndex((next, j) => j > i && next === `${failed[1]}  ...`);
    const block = lines.slice(i + 1, end === -1 ? undefined : end);
    const at = block.findIndex((next) => /^\s*error: /.test(next));
    let error = at === -1 ? "" : (block[at]?.replace(/^\s*error: /, "") ?? "");
    if (/^\|-?$/.test(error)) error = block.slice(at + 1).find((next) => next.trim() !== "") ?? "";
    error = error.trim().replace(/^'(.*)'$/, "$1");
    if (/^\d+ subtests? failed$/.test(error)) continue;
    const value = (name: string) => block.find((next) => next.startsWith(`${failed[1]}  ${name}: `))?.trim();
    const [actual, expected] = [value("actual"), value("expected")];
    if (actual && expected) error = `${error.replace(/:$/, "")} (${actual}, ${expected})`;
    found.push(`${failed[2]}${error ? `: ${error.slice(0, 120)}` : ""}`);
  }
  return [...new Set(found)];
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const words = args.filter((arg) => !arg.startsWith("--")).map((word) => word.toLowerCase());
  const chosen = words.length
    ? mutants.filter((mutant) => words.some((word) => mutant.name.toLowerCase().includes(word)))
    : mutants;
  if (chosen.length === 0) {
    console.error(`mutants: no mutant's name holds ${words.join(" or ")}`);
    return 2;
  }

  const stale = chosen.flatMap((mutant) => {
    const problem = staleness(mutant);
    return problem ? [`  - ${mutant.name}: ${problem}`] : [];
  });
  if (args.includes("--list")) {
    for (const [i, mutant] of chosen.entries()) {
      console.log(`${i + 1}. ${mutant.name}\n   ${mutant.file}; tests: ${mutant.tests.join(", ")}`);
    }
  }
  if (stale.length > 0) {
    console.error(`mutants: these entries of scripts/mutants/guards.ts no longer fit the source:\n${stale.join("\n")}`);
    return 2;
  }
  if (args.includes("--list")) return 0;

  const dirty = uncommittedChanges();
  if (dirty) {
    console.error(`mutants: the tree has uncommitted changes; commit or stash them first:\n${dirty}`);
    return 2;
  }
  if (!existsSync(join(root, "dist", "server.js"))) {
    console.error("mutants: dist/ is missing: run `npm run build` first");
    return 2;
  }

  const logs = mkdtempSync(join(tmpdir(), "people-notes-mutants-"));
  if (chosen.some((mutant) => mutant.build)) compileDist();
  const every = [...new Set(chosen.flatMap((mutant) => mutant.tests))].sort();
  console.log(`mutants: first the ${every.length} test files without any bug`);
  const baseline = await runTests(every, join(logs, "baseline.log"));
  if (!baseline.passed) {
    console.error(`mutants: the tests fail without any bug; see ${logs}/baseline.log`);
    for (const failure of failures(join(logs, "baseline.log")).slice(0, 5)) console.error(`  - ${failure}`);
    return 2;
  }

  const results: { mutant: Mutant; outcome: Outcome; caughtBy: string[]; seconds: number }[] = [];
  for (const [i, mutant] of chosen.entries()) {
    const path = join(root, mutant.file);
    const content = readFileSync(path, "utf8");
    const log = join(logs, `${String(i + 1).padStart(2, "0")}.log`);
    const started = Date.now();
    process.stdout.write(`${i + 1}/${chosen.length} ${mutant.name} … `);
    try {
      planted = { path, content };
      writeFileSync(
        path,
        content.replace(mutant.original, () => mutant.mutated),
      );
      if (mutant.build) {
        distHasBug = true;
        compileDist();
      }
      const { passed, timedOut } = await runTests(mutant.tests, log);
      const outcome: Outcome = timedOut ? "timed out" : passed ? "survived" : "killed";
      const caughtBy = outcome === "killed" ? failures(log) : [];
      results.push({ mutant, outcome, caughtBy, seconds: (Date.now() - started) / 1000 });
      console.log(outcome === "survived" ? "SURVIVED" : outcome);
    } finally {
      restoreAll();
    }
  }

  const survivors = results.filter((result) => result.outcome === "survived");
  console.log(
    `\nmutants: ${results.length} planted, ${results.length - survivors.length} caught, ${survivors.length} survived`,
  );
  for (const [i, { mutant, outcome, caughtBy, seconds }] of results.entries()) {
    const log = `${String(i + 1).padStart(2, "0")}.log`;
    const label = outcome === "survived" ? "SURVIVED" : "caught  ";
    console.log(`  ${label}  ${mutant.name} (${mutant.file}; ${seconds.toFixed(0)} s; ${log})`);
    if (outcome === "timed out") console.log("            the tests did not finish in time");
    for (const failure of caughtBy.slice(0, 3)) console.log(`            failed: ${failure}`);
    if (caughtBy.length > 3) console.log(`            and ${caughtBy.length - 3} more`);
  }
  if (survivors.length > 0) {
    console.log("\nNo test caught these bugs: each needs a test that fails with it in place.");
  }
  console.log(`Logs: ${logs}`);
  return survivors.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    stopRunning();
    restoreAll();
    console.error(error);
    process.exitCode = 2;
  },
);
