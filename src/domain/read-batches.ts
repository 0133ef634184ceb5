import DataLoader from "dataloader";

export interface ReadBatching {
  /** Batches out at the same time; a batch that finds them all out waits for one to come back. */
  inFlight: number;
  /** Keys in one batch at most. */
  maxBatch: number;
}

/**
 * Single-item reads gathered into batches: one query for many keys instead of one each. A batch
 * leaves on the next turn of the event loop while fewer than `inFlight` are out, otherwise as soon
 * as one comes back, with every read that joined it meanwhile, so the busier the database the
 * bigger the batches and no read waits on a timer. Nothing is cached: a batch's statements start
 * after every read in it was asked for, so each read sees every write that committed before it.
 */
export function batchedReads<K, V>(
  load: (keys: readonly K[]) => Promise<Map<K, V>>,
  { inFlight, maxBatch }: ReadBatching,
): (key: K) => Promise<V | undefined> {
  let out = 0;
  const queued: (() => void)[] = [];
  const loader = new DataLoader<K, V | undefined>(
    async (keys) => {
      try {
        const found = await load(keys);
        return keys.map((key) => found.get(key));
      } finally {
        const next = queued.shift();
        if (next) setImmediate(next);
        else out--;
      }
    },
    {
      cache: false,
      maxBatchSize: maxBatch,
      batchScheduleFn: (dispatch) => {
        if (out < inFlight) {
          out++;
          setImmediate(dispatch);
        } else queued.push(dispatch);
      },
    },
  );
  return (key) => loader.load(key);
}
