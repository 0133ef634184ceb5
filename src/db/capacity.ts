import { sql } from "kysely";
import type { Store } from "./database.js";

/** Connections kept free beyond the reserved ones: an operator's psql, a migration, a monitoring probe. */
export const CONNECTION_HEADROOM = 3;

/** What a PostgreSQL server can still give this service. */
export interface ConnectionCapacity {
  maxConnections: number;
  /** superuser_reserved_connections, plus reserved_connections where the server has it (16+). */
  reserved: number;
  /** Client connections open now, other than the one asking. */
  inUse: number;
}

export async function connectionCapacity(store: Store): Promise<ConnectionCapacity> {
  const { rows } = await sql<ConnectionCapacity>`
    select current_setting('max_connections')::int as "maxConnections",
           current_setting('superuser_reserved_connections')::int
             + coalesce(current_setting('reserved_connections', true), '0')::int as "reserved",
           (select count(*)::int from pg_stat_activity
             where backend_type = 'client backend' and pid <> pg_backend_pid()) as "inUse"`.execute(store.db);
  const [row] = rows;
  if (!row) throw new Error("the connection capacity query returned no row");
  return row;
}

/** Each process's connection for LISTEN, outside its pool. */
export const LISTENING_CONNECTIONS = 1;

export interface PoolShortfall extends ConnectionCapacity {
  workers: number;
  poolSize: number;
  /** workers × (poolSize + 1): what the service may open at its busiest (each process also listens for changes on one). */
  wanted: number;
  /** maxConnections − reserved − headroom − inUse. */
  available: number;
  headroom: number;
}

/** The numbers behind the rule workers × (pool + 1) ≤ max_connections − reserved − headroom − in use, when it is broken. */
export function poolShortfall(
  capacity: ConnectionCapacity,
  workers: number,
  poolSize: number,
): PoolShortfall | undefined {
  const wanted = workers * (poolSize + LISTENING_CONNECTIONS);
  const available = capacity.maxConnections - capacity.reserved - CONNECTION_HEADROOM - capacity.inUse;
  if (wanted <= available) return undefined;
  return { ...capacity, workers, poolSize, wanted, available, headroom: CONNECTION_HEADROOM };
}
