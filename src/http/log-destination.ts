import pino from "pino";

/**
 * The most one write to a pipe may hold and still arrive whole when other processes write to the
 * same pipe (POSIX PIPE_BUF, 4096 bytes on Linux): cluster workers share their standard output.
 */
export const PIPE_BUF = 4096;

/** Where the batched lines go. */
export interface LineSink {
  write(text: string): void;
}

export interface DestinationOptions {
  /**
   * The most bytes one write may hold. Set it to PIPE_BUF when other processes write to the same
   * pipe: every write is then whole lines within the limit, and a longer line is shortened (see
   * `shortenedLine`). A process that writes alone needs no limit and keeps every line whole.
   */
  maxWriteBytes?: number;
}

/**
 * Log lines are written once per turn of the event loop. Under load one turn answers many
 * requests, so their lines leave in one system call instead of one each (pino's default stream
 * hands every line to a worker thread, which costs more than the line). A line is written as soon
 * as the turn that logged it ends, and what is pending is written before the process exits.
 */
export class TurnBatchedDestination {
  readonly #sink: LineSink;
  readonly #maxWriteBytes: number;
  #pending: string[] = [];
  #scheduled = false;

  constructor(sink: LineSink, { maxWriteBytes = Number.POSITIVE_INFINITY }: DestinationOptions = {}) {
    this.#sink = sink;
    this.#maxWriteBytes = maxWriteBytes;
    process.on("exit", () => this.flush());
  }

  write(line: string): void {
    this.#pending.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushTurn);
    }
  }

  /** Writes every pending line now; `logger.flush(done)` ends up here. */
  flush(done?: () => void): void {
    if (this.#pending.length > 0) {
      const lines = this.#pending;
      this.#pending = [];
      for (const text of wholeLineWrites(lines, this.#maxWriteBytes)) this.#sink.write(text);
    }
    done?.();
  }

  /** pino's name for the same, used when it must write before the process dies. */
  flushSync(): void {
    this.flush();
  }

  readonly #flushTurn = () => {
    this.#scheduled = false;
    this.flush();
  };
}

/** UTF-8 takes at most 3 bytes for one UTF-16 code unit (4 for a surrogate pair). */
const MAX_BYTES_PER_CODE_UNIT = 3;

/** The lines joined into as few texts as fit in `limit` bytes each, without splitting a line. */
export function wholeLineWrites(lines: string[], limit = PIPE_BUF): string[] {
  let units = 0;
  for (const line of lines) units += line.length;
  if (units * MAX_BYTES_PER_CODE_UNIT <= limit) return [lines.length === 1 ? (lines[0] as string) : lines.join("")];
  const writes: string[] = [];
  let batch = "";
  let batchBytes = 0;
  for (const logged of lines) {
    let line = logged;
    let bytes = Buffer.byteLength(line);
    if (bytes > limit) {
      line = shortenedLine(line, limit);
      bytes = Buffer.byteLength(line);
    }
    if (batchBytes + bytes > limit) {
      writes.push(batch);
      batch = "";
      batchBytes = 0;
    }
    batch += line;
    batchBytes += bytes;
  }
  if (batch !== "") writes.push(batch);
  return writes;
}

const CUT_MARK = "…";
/** Strings shorter than this are not worth cutting; a record made only of those is rebuilt smaller. */
const SHORTEST_CUT = 16;
const MAX_CUTS = 64;

/**
 * A line of at most `limit` bytes standing for a longer one. A JSON record stays a valid JSON
 * record: its longest strings (a stack, a long URL) are cut, marked with "…", and
 * `truncatedFromBytes` tells how long the line was. Any other text is cut at a character boundary.
 */
export function shortenedLine(line: string, limit = PIPE_BUF): string {
  const bytes = Buffer.byteLength(line);
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    record = undefined;
  }
  if (record !== null && typeof record === "object" && !Array.isArray(record)) {
    const fitted = fitRecord(record as Record<string, unknown>, bytes, limit);
    if (fitted !== undefined) return fitted;
  }
  return `${cutText(line.endsWith("\n") ? line.slice(0, -1) : line, limit - 1)}\n`;
}

function fitRecord(record: Record<string, unknown>, originalBytes: number, limit: number): string | undefined {
  const fits = (candidate: object) => {
    const text = `${JSON.stringify(candidate)}\n`;
    return Buffer.byteLength(text) <= limit ? text : undefined;
  };
  const marked = { ...record, truncatedFromBytes: originalBytes };
  for (let cut = 0; cut < MAX_CUTS; cut++) {
    const text = `${JSON.stringify(marked)}\n`;
    const excess = Buffer.byteLength(text) - limit;
    if (excess <= 0) return text;
    const longest = longestString(marked);
    if (!longest || longest.value.length < SHORTEST_CUT) break;
    // Each code unit cut removes at least one byte of JSON; the mark adds three.
    const keep = Math.max(0, longest.value.length - excess - Buffer.byteLength(CUT_MARK));
    longest.holder[longest.key] = longest.value.slice(0, keep) + CUT_MARK;
  }
  // Whatever made it long is not a string: keep what says what happened, and when.
  const { level, time, pid, hostname, reqId, msg } = record;
  const essentials = { level, time, pid, hostname, reqId, msg, truncatedFromBytes: originalBytes };
  return fits(essentials) ?? fits({ ...essentials, msg: typeof msg === "string" ? cutText(msg, limit / 2) : msg });
}

interface StringSlot {
  holder: Record<string, unknown>;
  key: string;
  value: string;
}

function longestString(value: Record<string, unknown>, depth = 0): StringSlot | undefined {
  let longest: StringSlot | undefined;
  for (const [key, field] of Object.entries(value)) {
    let candidate: StringSlot | undefined;
    if (typeof field === "string") candidate = { holder: value, key, value: field };
    else if (field !== null && typeof field === "object" && depth < 8) {
      candidate = longestString(field as Record<string, unknown>, depth + 1);
    }
    if (candidate && (!longest || candidate.value.length > longest.value.length)) longest = candidate;
  }
  return longest;
}

/** The text cut to at most `maxBytes` bytes of UTF-8 without splitting a character. */
function cutText(text: string, maxBytes: number): string {
  const encoded = Buffer.from(text);
  let end = Math.min(encoded.length, Math.floor(maxBytes));
  // Back off continuation bytes (10xxxxxx) to the start of the character they belong to.
  while (end > 0 && end < encoded.length && ((encoded[end] as number) & 0xc0) === 0x80) end--;
  return encoded.subarray(0, end).toString();
}

/**
 * Standard output, written synchronously (retrying when a pipe is full) in per-turn batches;
 * `shared` when other processes (cluster workers and their primary) write to it too.
 */
export function stdoutDestination({ shared }: { shared: boolean }): TurnBatchedDestination {
  const sink = pino.destination({ dest: 1, sync: true });
  return new TurnBatchedDestination(sink, shared ? { maxWriteBytes: PIPE_BUF } : {});
}
