/** The results as JSON (bench/results/) and as the table in docs/benchmarks.md. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Comparison } from "./compare.js";
import { ROOT, SERVICE_LOG_LEVEL, SERVICE_ROOT } from "./servers.js";
import type { StartupResults } from "./startup.js";

export interface ScaleCheck {
  endpoint: string;
  p99SmallMs: number;
  p99LargeMs: number;
  factor: number;
}

export interface Results {
  date: string;
  command: string;
  machine: Record<string, string>;
  settings: { seconds: number; warmupSeconds: number; rounds: number; connections: number; tool: string };
  seeding: { dataset: string; engine: string; people: number; notes: number; seconds: number; reused: boolean }[];
  comparisons: Comparison[];
  scale: ScaleCheck[];
  peakRssMb: Record<string, Record<string, number>>;
  startup: StartupResults;
}

function packageVersion(name: string): string {
  const file = join(ROOT, "node_modules", name, "package.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version : "absent";
}

export function machine(loadTool: string, postgres: string | undefined): Record<string, string> {
  const sqlite = new Database(":memory:");
  const sqliteVersion = (sqlite.prepare("select sqlite_version() as v").get() as { v: string }).v;
  sqlite.close();
  const packages = ["fastify", "fastify-openapi-glue", "kysely", "better-sqlite3", "pg", "pino"]
    .map((name) => `${name} ${packageVersion(name)}`)
    .join(", ");
  let os = "";
  try {
    os = execFileSync("uname", ["-sr"], { encoding: "utf8" }).trim();
  } catch {}
  return {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? "unknown"}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os,
    node: process.version,
    packages,
    sqlite: `${sqliteVersion} (bundled with better-sqlite3)`,
    postgres: postgres ?? "not reachable",
    load: loadTool,
    ...(SERVICE_ROOT === ROOT ? {} : { "service build": SERVICE_ROOT }),
    "service log level": `${SERVICE_LOG_LEVEL} (one JSON line per request, written to /dev/null)`,
  };
}

export function saveJson(results: Results): string {
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${results.date.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

const n = (value: number, digits = 0) => value.toFixed(digits);

/** Two decimals, or three where two would round a miss up to the target (0.797 is not 0.80). */
const ratioText = (ratio: number, target: number) =>
  ratio < target && Number(n(ratio, 2)) >= target ? n(ratio, 3) : n(ratio, 2);
const mark = (ok: boolean) => (ok ? "yes" : "**no**");

export function resultsMarkdown(results: Results): string {
  const lines: string[] = [];
  const { settings } = results;
  lines.push(`Measured ${results.date.slice(0, 16).replace("T", " ")} UTC with \`${results.command}\`.`, "");
  for (const [name, value] of Object.entries(results.machine)) lines.push(`- ${name}: ${value}`);
  lines.push(
    `- load: \`wrk -t1 -c${settings.connections} -d${settings.seconds}s\` per round, one ${settings.warmupSeconds} s ` +
      `warm-up per side, then ${settings.rounds} interleaved rounds; figures are medians over the rounds`,
    "",
  );

  lines.push(
    "### Service vs baseline (req/s ratio, median of per-round ratios)",
    "",
    "| dataset | service on | endpoint | ratio | target | met | per-round ratios | service req/s | baseline req/s | service p50 / p99 ms | baseline p50 / p99 ms | CPU µs/req service / baseline |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const c of results.comparisons) {
    const met = c.engine === "postgres" ? "—" : mark(c.ratio >= c.target && c.errors === 0);
    const target = c.engine === "postgres" ? "(info)" : `≥ ${c.target}`;
    lines.push(
      `| ${c.dataset} | ${c.engine === "sqlite" ? "SQLite" : "PostgreSQL"} | ${c.endpoint} | ${ratioText(c.ratio, c.target)} | ${target} | ${met} | ` +
        `${c.ratios.map((r) => n(r, 2)).join(" ")} | ${n(c.service.rps)} | ${n(c.baseline.rps)} | ` +
        `${n(c.service.p50Ms, 2)} / ${n(c.service.p99Ms, 2)} | ${n(c.baseline.p50Ms, 2)} / ${n(c.baseline.p99Ms, 2)} | ` +
        `${n(c.service.cpuUs)} / ${n(c.baseline.cpuUs)} |`,
    );
  }
  const errors = results.comparisons.reduce((sum, c) => sum + c.errors, 0);
  lines.push("", `Non-2xx answers or socket errors during the rounds: ${errors}.`, "");

  if (results.scale.length > 0) {
    lines.push(
      "### Scale: service p99 at 1m notes vs 1k notes (target ≤ 1.5×)",
      "",
      "| page | p99 at 1k (ms) | p99 at 1m (ms) | factor | met |",
      "|---|---|---|---|---|",
    );
    for (const s of results.scale) {
      lines.push(
        `| ${s.endpoint} | ${n(s.p99SmallMs, 2)} | ${n(s.p99LargeMs, 2)} | ${n(s.factor, 2)} | ${mark(s.factor <= 1.5)} |`,
      );
    }
    lines.push("");
  }

  lines.push("### Seeding, memory, start-up", "", "| measure | value | target | met |", "|---|---|---|---|");
  for (const s of results.seeding) {
    const how = s.reused ? " (file reused; time from when it was seeded)" : "";
    const target = s.dataset === "1m" && s.engine === "SQLite" ? "< 30 s" : "";
    const met = target ? mark(s.seconds < 30) : "";
    lines.push(
      `| seed ${s.dataset} on ${s.engine}: ${s.people} people, ${s.notes} notes${how} | ${n(s.seconds, 1)} s | ${target} | ${met} |`,
    );
  }
  for (const [dataset, peaks] of Object.entries(results.peakRssMb)) {
    for (const [server, mb] of Object.entries(peaks)) {
      const isTarget = dataset === "1m" && server === "service";
      lines.push(
        `| peak RSS under load, ${server}, ${dataset} | ${n(mb)} MB | ${isTarget ? "< 150 MB" : ""} | ${isTarget ? mark(mb < 150) : ""} |`,
      );
    }
  }
  const { startup } = results;
  if (startup.service.length > 0) {
    const wall = (samples: StartupResults["service"]) => samples.map((s) => n(s.wallMs)).join(", ");
    const cpu = (samples: StartupResults["service"]) => samples.map((s) => n(s.cpuMs)).join(", ");
    const worst = Math.max(...startup.service.map((s) => s.wallMs));
    lines.push(
      `| process start → first answered request, service, ${startup.dataset} (each start; load average ${n(startup.load[0], 1)}) | ${wall(startup.service)} ms | < 500 ms | ${mark(worst < 500)} |`,
      `| same, CPU time used by then, service | ${cpu(startup.service)} ms | | |`,
      `| same, baseline (started through tsx): wall, CPU | ${wall(startup.baseline)} ms; ${cpu(startup.baseline)} ms | | |`,
    );
  }
  return lines.join("\n");
}

const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

/** Replaces the generated part of docs/benchmarks.md, keeping the prose around it. */
export function writeDocs(results: Results): string {
  const file = join(ROOT, "docs/benchmarks.md");
  const generated = `${START}\n${resultsMarkdown(results)}\n${END}`;
  let text = existsSync(file) ? readFileSync(file, "utf8") : `# Benchmarks\n\n${START}\n${END}\n`;
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  text =
    start === -1 || end === -1
      ? `${text.trimEnd()}\n\n${generated}\n`
      : `${text.slice(0, start)}${generated}${text.slice(end + END.length)}`;
  writeFileSync(file, text);
  return file;
}
