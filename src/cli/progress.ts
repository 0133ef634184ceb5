import cliProgress from "cli-progress";
import type { BulkProgress } from "../db/transfer/bulk.js";

export const number = (value: number) => value.toLocaleString("en-US");

const label = (labels: Record<string, string>, phase: string) => labels[phase] ?? phase;

export interface ProgressDisplay {
  update(progress: BulkProgress<string>): void;
  stop(): void;
}

/** A progress bar per phase on a terminal; otherwise a line at every tenth of a phase. */
export function progressDisplay(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  labels: Record<string, string>,
): ProgressDisplay {
  return stream.isTTY ? barDisplay(stream as NodeJS.WriteStream, labels) : lineDisplay(stream, labels);
}

function rate(done: number, since: number): string {
  return number(Math.round(done / Math.max((performance.now() - since) / 1000, 0.001)));
}

function barDisplay(stream: NodeJS.WriteStream, labels: Record<string, string>): ProgressDisplay {
  let bar: cliProgress.SingleBar | undefined;
  let phase: string | undefined;
  let since = performance.now();
  return {
    update(progress) {
      if (progress.phase !== phase || bar === undefined) {
        bar?.stop();
        phase = progress.phase;
        since = performance.now();
        bar = new cliProgress.SingleBar(
          {
            stream,
            hideCursor: true,
            format: "{phase} [{bar}] {percentage}% | {value}/{total} {unit} | {rate} {unit}/s | ETA {eta_formatted}",
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(progress.total, 0, {
          phase: label(labels, progress.phase).padEnd(19),
          rate: "0",
          unit: progress.unit ?? "rows",
        });
      }
      bar.setTotal(Math.max(progress.total, progress.done));
      bar.update(progress.done, { rate: rate(progress.done, since) });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

function lineDisplay(stream: NodeJS.WritableStream, labels: Record<string, string>): ProgressDisplay {
  let phase: string | undefined;
  let since = performance.now();
  let shownTenths = -1;
  return {
    update(progress) {
      if (progress.phase !== phase) {
        phase = progress.phase;
        since = performance.now();
        shownTenths = -1;
      }
      const total = Math.max(progress.total, progress.done, 1);
      const tenths = Math.floor((progress.done / total) * 10);
      if (tenths === shownTenths) return;
      shownTenths = tenths;
      const percent = Math.floor((progress.done / total) * 100);
      stream.write(
        `people-notes: ${label(labels, progress.phase)}: ${number(progress.done)}/${number(progress.total)} (${percent}%), ${rate(progress.done, since)} ${progress.unit ?? "rows"}/s\n`,
      );
    },
    stop() {},
  };
}
