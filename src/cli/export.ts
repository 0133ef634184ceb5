import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import { DEFAULT_BATCH_ROWS, RefusedError, requireLatestSchema } from "../db/transfer/bulk.js";
import { type ExportBatch, exportBatches, exportTotals } from "../db/transfer/export.js";
import { inWords, noCounts, TRANSFERRED } from "../db/transfer/tables.js";
import { EXPORT_FORMATS, type ExportFormat, jsonChunks, ndjsonChunks } from "../domain/export.js";
import type { Command } from "./command.js";
import { withStore } from "./copy.js";
import { failureLine } from "./errors.js";
import { io, printError } from "./io.js";
import { number, progressDisplay } from "./progress.js";

const OPTIONS = `--format F        ndjson (the default: a record a line, the last one the counts) or json (one document)
--no-history      leave out note history (the kept versions) and the trash
--batch-rows N    rows read per query (default ${DEFAULT_BATCH_ROWS})
Writes every person and note of DATABASE_URL to standard output, with ids, versions and
timestamps, people by id, then notes by id, then the notes' kept versions and the trash, from one
snapshot: the same data always gives the same bytes. Tokens are not exported. Restore with \`people-notes import FILE\`.`;

const PHASES = Object.fromEntries(
  TRANSFERRED.map(({ plural }) => [plural, `exporting ${plural === "trash" ? "the trash" : plural}`]),
);

interface ExportArgs {
  format: ExportFormat;
  history: boolean;
  batchRows: number;
}

function parseExportArgs(args: string[]): ExportArgs | string {
  let values: { [name: string]: string | boolean | undefined };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        format: { type: "string", default: "ndjson" },
        "no-history": { type: "boolean", default: false },
        "batch-rows": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (values.help) return "help";
  const format = values.format as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) return `--format must be json or ndjson (got ${JSON.stringify(format)})`;
  const batchRows = Number(values["batch-rows"] ?? DEFAULT_BATCH_ROWS);
  if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 100_000) {
    return "--batch-rows must be a whole number from 1 to 100000";
  }
  return { format, history: values["no-history"] !== true, batchRows };
}

export const exportCommand: Command = {
  summary:
    "write every person and note, with history and the trash, to standard output (people-notes export > backup.ndjson)",
  options: OPTIONS,
  async run(args) {
    const given = parseExportArgs(args);
    if (typeof given === "string") {
      printError(`people-notes export: ${given}\n\nOptions:\n${OPTIONS}`);
      return given === "help" ? 0 : 2;
    }
    const parsed: ExportArgs = given;
    const { database } = loadConfig(io().env);
    if (database.engine === "sqlite" && database.path !== ":memory:" && !existsSync(database.path)) {
      throw new ConfigError(`there is no SQLite database at ${database.path}`);
    }
    const started = performance.now();
    const counts = await withStore(database, { setting: "DATABASE_URL" }, async (store) => {
      const display = progressDisplay(io().stderr, PHASES);
      try {
        await requireLatestSchema(store, "the database");
        const totals = await exportTotals(store);
        const done = noCounts();
        async function* counted(): AsyncGenerator<ExportBatch> {
          for await (const batch of exportBatches(store, { batchRows: parsed.batchRows, history: parsed.history })) {
            yield batch;
            const phase = batch.table.plural;
            done[phase] += batch.rows.length;
            display.update({ phase, done: done[phase], total: Math.max(totals[phase], done[phase]) });
          }
        }
        const chunks =
          parsed.format === "json" ? jsonChunks(counted(), parsed.history) : ndjsonChunks(counted(), parsed.history);
        await writeAll(io().stdout, chunks);
        return done;
      } catch (error) {
        display.stop();
        if (error instanceof RefusedError) throw new ConfigError(error.message);
        throw new ConfigError(`export failed: ${failureLine(error)}`);
      } finally {
        display.stop();
      }
    });
    const seconds = (performance.now() - started) / 1000;
    printError(`people-notes: exported ${inWords(counts, number)} (${parsed.format}) in ${seconds.toFixed(1)} s`);
    return 0;
  },
};

/** Writes every chunk, waiting whenever the stream's buffer is full; a closed stream is an error. */
async function writeAll(stream: NodeJS.WritableStream, chunks: AsyncIterable<string>): Promise<void> {
  let failure: Error | undefined;
  const onError = (error: Error) => {
    failure ??= error;
  };
  stream.on("error", onError);
  try {
    for await (const chunk of chunks) {
      if (failure) throw failure;
      if (!stream.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          const settle = (error?: Error) => {
            stream.off("drain", settle);
            stream.off("error", settle);
            error ? reject(error) : resolve();
          };
          stream.once("drain", settle);
          stream.once("error", settle);
        });
      }
    }
    await new Promise<void>((resolve, reject) =>
      stream.write("", (error) => (error ? reject(error) : failure ? reject(failure) : resolve())),
    );
  } finally {
    stream.off("error", onError);
  }
}
