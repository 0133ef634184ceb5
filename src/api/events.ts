import type { ChangeFeed } from "../domain/changes.js";
import { ProblemError } from "../domain/errors.js";
import type { EventStreams } from "../http/event-stream.js";
import type { ModuleHandlers } from "./types.js";

export interface EventSources {
  feed: ChangeFeed;
  streams: EventStreams;
}

/** The contract's pattern has been checked; this keeps a header that slipped past it from becoming NaN. */
function revisionOf(header: string): number {
  if (!/^[0-9]{1,15}$/.test(header)) throw new ProblemError(400, "Bad Request", "Last-Event-ID must be a revision");
  return Number(header);
}

export function eventsHandlers({ feed, streams }: EventSources): ModuleHandlers<"events"> {
  return {
    async stream(request, reply) {
      const { since, person_id } = request.query;
      const lastEventId = request.headers["last-event-id"];
      const from = typeof lastEventId === "string" ? revisionOf(lastEventId) : since;
      await streams.serve(request, reply, person_id === undefined ? {} : { personId: person_id }, (deliver) =>
        feed.subscribe(from, deliver),
      );
      return undefined;
    },
  };
}
