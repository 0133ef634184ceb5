import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import { DEFAULT_BATCH_ROWS, RefusedError } from "../db/transfer/bulk.js";
import {
  DatabaseNotEmptyError,
  type ImportBatch,
  ImportConflictError,
  type ImportMode,
  type ImportReport,
  type ImportSource,
  importRows,
  MERGE_RULE,
} from "../db/transfer/import.js";
import { inCommas, inWords, type Row, TRANSFERRED, type Transferred, totalOf } from "../db/transfer/tables.js";
import {
  type CheckedFile,
  checkJsonDocument,
  EXPORT_FORMATS,
  ExportChecker,
  ExportFileError,
  type ExportFormat,
  syntaxProblem,
  tableRowOf,
} from "../domain/export.js";
import type { Command } from "./command.js";
import { withStore } from "./copy.js";
import { failureLine } from "./errors.js";
import { io, printError, printLine } from "./io.js";
import { number, type ProgressDisplay, progressDisplay } from "./progress.js";

const OPTIONS = `FILE              an export (people-notes export, or GET /api/export); its format is told by its name
                  (.ndjson, .jsonl, .json) or its first line, unless --format says
--replace         delete the database's people and notes first, then load the file
--merge           merge the file into the people and notes the database has, by the merge rule below
--format F        ndjson or json
--batch-rows N    rows written per batch (default ${DEFAULT_BATCH_ROWS})
The whole file is checked against the contract's export schemas first; then it is loaded in one
transaction (all or nothing: a bad file, a conflict or an interruption leaves the database as it
was), ids, versions and timestamps kept. A database with people or notes is refused unless
--replace or --merge. Tokens are not part of an export and are left as they are.
${wrap(`Merge rule: ${MERGE_RULE}.`, 96)}`;

/** Lines of at most `width` characters, broken between words. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line].join("\n");
}

const PHASES = {
  checking: "checking the file",
  clearing: "clearing the database",
  ...Object.fromEntries(
    TRANSFERRED.map(({ plural }) => [plural, `importing ${plural === "trash" ? "the trash" : plural}`]),
  ),
  verifying: "verifying",
};

interface ImportArgs {
  file: string;
  mode: ImportMode;
  format: ExportFormat | undefined;
  batchRows: number;
}

function parseImportArgs(args: string[]): ImportArgs | string {
  let values: { [name: string]: string | boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        replace: { type: "boolean", default: false },
        merge: { type: "boolean", default: false },
        format: { type: "string" },
        "batch-rows": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (values.help) return "help";
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) return "give one FILE to import";
  if (values.replace && values.merge) return "give at most one of --replace and --merge";
  const format = values.format as ExportFormat | undefined;
  if (format !== undefined && !EXPORT_FORMATS.includes(format)) {
    return `--format must be json or ndjson (got ${JSON.stringify(format)})`;
  }
  const batchRows = Number(values["batch-rows"] ?? DEFAULT_BATCH_ROWS);
  if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 100_000) {
    return "--batch-rows must be a whole number from 1 to 100000";
  }
  const mode: ImportMode = values.replace ? "replace" : values.merge ? "merge" : "empty";
  return { file, mode, format, batchRows };
}

export const importCommand: Command = {
  summary: "load an export into the database, all or nothing (people-notes import backup.ndjson)",
  options: OPTIONS,
  async run(args) {
    const parsed = parseImportArgs(args);
    if (typeof parsed === "string") {
      printError(`people-notes import: ${parsed}\n\nUsage: people-notes import FILE [--replace | --merge]\n${OPTIONS}`);
      return parsed === "help" ? 0 : 2;
    }
    const { file } = parsed;
    if (!existsSync(file) || !statSync(file).isFile()) throw new ConfigError(`there is no file ${file}`);
    const { database } = loadConfig(io().env);
    const started = performance.now();
    const display = progressDisplay(io().stderr, PHASES);
    const nothing = "; nothing was imported";
    let report: ImportReport;
    try {
      refuseNpmBanner(file);
      const format = parsed.format ?? detectFormat(file);
      const source = format === "json" ? jsonSource(file, parsed.mode) : await ndjsonSource(file, parsed.mode, display);
      report = await withStore(database, { setting: "DATABASE_URL" }, (store) =>
        importRows(store, source, {
          mode: parsed.mode,
          batchRows: parsed.batchRows,
          onProgress: (progress) => display.update(progress),
        }),
      );
    } catch (error) {
      display.stop();
      if (error instanceof ExportFileError || error instanceof ImportConflictError) {
        throw new ConfigError(`${file} ${error.message}${nothing}`);
      }
      if (error instanceof DatabaseNotEmptyError) {
        throw new ConfigError(
          `${error.message}; pass --replace to replace them, or --merge to merge the file into them (see people-notes import --help)`,
        );
      }
      if (error instanceof ConfigError) throw error;
      if (error instanceof RefusedError) throw new ConfigError(`${error.message}${nothing}`);
      throw new ConfigError(`import failed, the database is unchanged: ${failureLine(error)}`);
    } finally {
      display.stop();
    }
    printLine(`people-notes: ${summaryLine(file, report, (performance.now() - started) / 1000)}`);
    return 0;
  },
};

function summaryLine(file: string, report: ImportReport, seconds: number): string {
  const { tallies, verified, replaced, migrated } = report;
  const what = report.merged
    ? `merged ${file}: ${TRANSFERRED.filter((table) => {
        const { added, updated, kept } = tallies[table.plural];
        return !("history" in table) || added + updated + kept > 0;
      })
        .map(({ plural }) => {
          const { added, updated, kept } = tallies[plural];
          return `${plural} ${number(added)} added, ${number(updated)} updated, ${number(kept)} kept`;
        })
        .join("; ")}`
    : `imported ${inWords(
        Object.fromEntries(TRANSFERRED.map(({ plural }) => [plural, tallies[plural].added])) as typeof replaced,
        number,
      )} from ${file}`;
  return [
    `${what} in ${seconds.toFixed(1)} s`,
    migrated.length > 0 ? `migrated the database (${migrated.join(", ")})` : "",
    totalOf(replaced) > 0 ? `replaced its ${inWords(replaced, number)}` : "",
    `verified: ${inCommas(verified, number)}, sha256 ${verified.checksum}`,
  ]
    .filter(Boolean)
    .join("; ");
}

/** `npm run cli -- export > FILE` puts npm's own lines first; `npm run -s` does not. */
function refuseNpmBanner(file: string): void {
  const head = readHead(file, 4096);
  const lines = head.split("\n");
  const line = lines.findIndex((text) => text.trim() !== "");
  if (line >= 0 && /^> \S+@\S+ /.test(lines[line] ?? "")) {
    throw new ExportFileError(
      line + 1,
      "is npm's own output, not an export: export with `npm run -s cli -- export` (or `people-notes export`)",
    );
  }
}

/** By the file's name, else by its first line: NDJSON's is a whole record. */
function detectFormat(file: string): ExportFormat {
  if (/\.(ndjson|jsonl)$/i.test(file)) return "ndjson";
  if (/\.json$/i.test(file)) return "json";
  const head = readHead(file, 64 * 1024);
  const firstLine = head.split("\n", 1)[0] ?? "";
  try {
    const first = JSON.parse(firstLine) as { type?: unknown };
    return typeof first === "object" && first !== null && "type" in first ? "ndjson" : "json";
  } catch {
    return head.trimStart().startsWith('{"type"') ? "ndjson" : "json";
  }
}

function readHead(file: string, bytes: number): string {
  const fd = openSync(file, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0)).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

function jsonSource(file: string, mode: ImportMode): ImportSource {
  const { checked, rows } = checkJsonDocument(readFileSync(file, "utf8"), { allowOutsideParents: mode === "merge" });
  return {
    ...sourceFacts(checked),
    async *batches(batchRows) {
      yield* inBatches(rows(), batchRows);
    },
  };
}

const sourceFacts = (checked: CheckedFile) => ({
  expected: checked.expected,
  ids: checked.ids,
  outside: checked.outside,
});

interface LocatedRow {
  table: Transferred;
  row: Row;
  line: number | undefined;
}

/** Groups rows into batches of one table each, in the order they come (each table's, then the next's). */
async function* inBatches(
  rows: Iterable<LocatedRow> | AsyncIterable<LocatedRow>,
  batchRows: number,
): AsyncGenerator<ImportBatch> {
  let batch: ImportBatch | undefined;
  for await (const { table, row, line } of rows) {
    if (batch !== undefined && (batch.table !== table || batch.rows.length >= batchRows)) {
      yield batch;
      batch = undefined;
    }
    batch ??= { table, rows: [] };
    batch.rows.push({ row, line });
  }
  if (batch !== undefined && batch.rows.length > 0) yield batch;
}

/** Reads an NDJSON file a line at a time, hashing its bytes as they go by. */
async function* readLines(
  file: string,
  onBytes: (bytes: number) => void,
): AsyncGenerator<{ text: string; line: number }, string> {
  const stream = createReadStream(file);
  const hash = createHash("sha256");
  let bytes = 0;
  stream.on("data", (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
    onBytes(bytes);
  });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      if (text.trim() === "") continue;
      yield { text, line };
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  return hash.digest("hex");
}

/**
 * The first pass checks every line (showing progress in bytes: each MiB read, and the end once the
 * whole file passed, so a file that fails shows its error alone); the second, run by the load in
 * its transaction, reads the file again and must find the same bytes.
 */
async function ndjsonSource(file: string, mode: ImportMode, display: ProgressDisplay): Promise<ImportSource> {
  const size = statSync(file).size;
  const checker = new ExportChecker({ allowOutsideParents: mode === "merge" });
  let shown = 0;
  const progress = (bytes: number) => {
    if (bytes - shown < 1 << 20 || bytes >= size) return;
    shown = bytes;
    display.update({ phase: "checking", done: bytes, total: size, unit: "bytes" });
  };
  const reader = readLines(file, progress);
  let checkedHash: string;
  for (;;) {
    const next = await reader.next();
    if (next.done) {
      checkedHash = next.value;
      break;
    }
    const { text, line } = next.value;
    checker.add(parseLine(text, line), line);
  }
  const checked = checker.finish({ needsEnd: true });
  if (shown > 0) display.update({ phase: "checking", done: size, total: size, unit: "bytes" });
  return {
    ...sourceFacts(checked),
    async *batches(batchRows) {
      const again = readLines(file, () => {});
      async function* rows(): AsyncGenerator<LocatedRow> {
        for (;;) {
          const next = await again.next();
          if (next.done) {
            if (next.value !== checkedHash) {
              throw new ExportFileError(undefined, "changed while it was being imported");
            }
            return;
          }
          const { text, line } = next.value;
          const found = tableRowOf(JSON.parse(text) as Row);
          if (found) yield { ...found, line };
        }
      }
      yield* inBatches(rows(), batchRows);
    },
  };
}

function parseLine(text: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ExportFileError(line, syntaxProblem(error).detail);
  }
}
