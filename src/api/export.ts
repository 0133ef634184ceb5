import { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ExportService } from "../domain/export.js";

/** Bytes the response stream buffers ahead of a slow client before it stops reading the database. */
const BUFFERED_BYTES = 64 * 1024;

export function exportHandlers(exporter: ExportService) {
  return {
    /** NDJSON, streamed with backpressure: a batch is read only when the client has taken the last. */
    async read_all(request: FastifyRequest, reply: FastifyReply): Promise<Readable> {
      const { history } = request.query as { history?: "true" | "false" };
      const { chunks, close } = await exporter.ndjson(history !== "false");
      reply
        .type("application/x-ndjson; charset=utf-8")
        .header("content-disposition", 'attachment; filename="people-notes-export.ndjson"');
      const body = Readable.from(chunks, { objectMode: false, highWaterMark: BUFFERED_BYTES });
      // However the response ends (sent, failed, the client gone), the snapshot ends with it.
      body.once("close", () => {
        close().catch((error: unknown) => reply.log.warn({ err: error }, "ending the export's snapshot failed"));
      });
      return body;
    },
  };
}
