import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import pino from "pino";
import { PIPE_BUF, shortenedLine, TurnBatchedDestination } from "../../src/http/log-destination.js";

/** Every write call the destination makes, as the pipe would receive them. */
class RecordingSink {
  writes: string[] = [];
  write(text: string): void {
    this.writes.push(text);
  }
}

function assertWholeLinesWithinPipeBuf(writes: string[]): void {
  for (const [i, text] of writes.entries()) {
    assert.ok(text.endsWith("\n"), `write ${i} ends a line`);
    const bytes = Buffer.byteLength(text);
    assert.ok(bytes <= PIPE_BUF, `write ${i} holds ${bytes} bytes, more than PIPE_BUF`);
  }
}

const SHARED = { maxWriteBytes: PIPE_BUF };

const records = (writes: string[]) =>
  writes
    .join("")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));

describe("log writes on a pipe shared by several processes", () => {
  test("a turn's lines beyond PIPE_BUF leave in several writes of whole lines, in order", async () => {
    const sink = new RecordingSink();
    const logger = pino({ base: null }, new TurnBatchedDestination(sink, SHARED));
    for (let i = 0; i < 40; i++) logger.info({ i, url: `/api/people/${i}?${"q".repeat(300)}` }, "request completed");
    await nextTurn();
    assert.ok(sink.writes.length > 1, "more than PIPE_BUF bytes take more than one write");
    assertWholeLinesWithinPipeBuf(sink.writes);
    assert.deepEqual(
      records(sink.writes).map((record) => record.i),
      Array.from({ length: 40 }, (_, i) => i),
    );
  });

  test("lines of multi-byte characters are measured in bytes, not characters", async () => {
    const sink = new RecordingSink();
    const logger = pino({ base: null }, new TurnBatchedDestination(sink, SHARED));
    for (let i = 0; i < 12; i++) logger.info({ i, content: "ü€😀".repeat(150) }, "note");
    await nextTurn();
    assertWholeLinesWithinPipeBuf(sink.writes);
    assert.equal(records(sink.writes).length, 12);
  });

  test("a line longer than PIPE_BUF is written as a shorter, valid JSON record that says so", async () => {
    const sink = new RecordingSink();
    const logger = pino({ base: null }, new TurnBatchedDestination(sink, SHARED));
    const url = `/api/people/1?${"x".repeat(10_000)}`;
    logger.info("before");
    logger.warn({ reqId: "long-1", url, statusCode: 400 }, "request completed");
    logger.info("after");
    await nextTurn();
    assertWholeLinesWithinPipeBuf(sink.writes);
    const [before, long, after] = records(sink.writes);
    assert.equal(before.msg, "before");
    assert.equal(after.msg, "after");
    assert.equal(long.reqId, "long-1");
    assert.equal(long.statusCode, 400);
    assert.equal(long.msg, "request completed");
    assert.ok(long.url.startsWith("/api/people/1?xxx") && long.url.endsWith("…"), "the long field is cut and marked");
    assert.ok(long.truncatedFromBytes > 10_000, "the record says how long the line was");
  });

  test("a record that is long for another reason than one string keeps its level, time and message", () => {
    const numbers = Array.from({ length: 3000 }, (_, i) => i);
    const line = `${JSON.stringify({ level: 30, time: 1, pid: 7, msg: "many numbers", numbers })}\n`;
    const short = shortenedLine(line);
    assert.ok(Buffer.byteLength(short) <= PIPE_BUF && short.endsWith("\n"));
    assert.deepEqual(JSON.parse(short), {
      level: 30,
      time: 1,
      pid: 7,
      msg: "many numbers",
      truncatedFromBytes: Buffer.byteLength(line),
    });
  });

  test("a long line that is not JSON is cut at a character boundary", () => {
    const short = shortenedLine(`${"é".repeat(5000)}\n`);
    assert.ok(Buffer.byteLength(short) <= PIPE_BUF && short.endsWith("\n"));
    assert.match(short, /^é+\n$/, "no character is split");
  });
});

describe("log writes of a process that writes alone", () => {
  test("a line longer than PIPE_BUF is written whole", async () => {
    const sink = new RecordingSink();
    const logger = pino({ base: null }, new TurnBatchedDestination(sink));
    const url = `/api/people/1?${"x".repeat(10_000)}`;
    logger.info("before");
    logger.warn({ reqId: "long-1", url }, "request completed");
    await nextTurn();
    const [before, long] = records(sink.writes);
    assert.equal(before.msg, "before");
    assert.equal(long.url, url);
    assert.equal(long.truncatedFromBytes, undefined);
  });
});
