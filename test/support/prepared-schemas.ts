import pg from "pg";
import { openStore } from "../../src/db/database.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { TEST_DATABASE_LIMITS } from "./limits.js";
import { createSchema, POSTGRES_URL, type TestSchema } from "./postgres.js";

/**
 * Migrated and seeded PostgreSQL schemas, reused within a test process. Migrating and seeding a
 * schema costs the server about 290 ms of CPU, and the in-process layers make a few hundred. A
 * schema a test has finished with is instead put back as it was when prepared (its rows, and its
 * sequences where they were) in one statement of a few milliseconds, and the next test of the
 * process takes it. Only a schema whose catalog rows are all still the ones its migrations made is
 * reused: one a test changed in any way (a table, column, default, index, constraint, trigger or
 * function added, altered or dropped) is dropped, as every schema was before. Those still kept are
 * dropped when the process ends.
 */

/** A prepared schema as a test holds it: give it back when done, instead of dropping it. */
export interface PreparedSchema {
  schema: string;
  giveBack(): Promise<void>;
}

interface Kept {
  schema: TestSchema;
  /** The schema's catalog rows right after it was prepared (SHAPE). */
  shape: string;
  /** One statement that puts the prepared rows and sequences back. */
  reset: string;
}

const idle: Kept[] = [];
/** Connections for checking, resetting and dropping kept schemas; idle ones do not keep the process alive. */
let admin: pg.Pool | undefined;

function adminPool(): pg.Pool {
  if (admin === undefined) {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2, allowExitOnIdle: true });
    admin = pool;
    // beforeExit lets the drop finish; it fires again once it has, and the pool ends.
    process.on("beforeExit", () => {
      if (idle.length > 0) void dropIdle(pool);
      else if (admin === pool) {
        admin = undefined;
        void pool.end();
      }
    });
  }
  return admin;
}

/** A prepared schema: one given back by an earlier test of this process, or a new one. */
export async function takePreparedSchema(): Promise<PreparedSchema> {
  const kept = idle.pop() ?? (await prepareNew());
  let given = false;
  return {
    schema: kept.schema.schema,
    async giveBack() {
      if (given) return;
      given = true;
      if (await resetToPrepared(kept)) idle.push(kept);
      else await kept.schema.drop();
    },
  };
}

async function prepareNew(): Promise<Kept> {
  const schema = await createSchema();
  try {
    const store = openStore({
      engine: "postgres",
      url: POSTGRES_URL,
      schema: schema.schema,
      limits: TEST_DATABASE_LIMITS,
    });
    try {
      await prepareDatabase(store);
    } finally {
      await store.close();
    }
    const client = await adminPool().connect();
    try {
      return {
        schema,
        shape: await readShape(client, schema.schema),
        reset: await resetStatement(client, schema.schema),
      };
    } finally {
      client.release();
    }
  } catch (error) {
    await schema.drop();
    throw error;
  }
}

async function dropIdle(pool: pg.Pool): Promise<void> {
  const names = idle.splice(0).map((kept) => pg.escapeIdentifier(kept.schema.schema));
  await pool.query(`drop schema ${names.join(", ")} cascade`);
}

/**
 * The schema's catalog rows, each with the transaction that last wrote it (xmin), hashed: what
 * lives in the schema (pg_depend on the namespace, read by index), its tables, sequences and views
 * with their columns, defaults, indexes, constraints and triggers, and its functions. Any DDL on
 * them writes a new row version; deleting and inserting rows, setval, and vacuum and analyze
 * (which update pg_class in place) do not.
 */
const SHAPE = `
  with objects as (
    select classid, objid from pg_depend
     where refclassid = 'pg_namespace'::regclass and refobjid = $1::regnamespace and deptype = 'n'
  ), relations as (
    select objid as oid from objects where classid = 'pg_class'::regclass
  )
  select md5(string_agg(line, ',' order by line)) as shape from (
    select concat_ws(':', 'object', classid, objid) as line from objects
    union all select concat_ws(':', 'class', oid, xmin) from pg_class where oid in (select oid from relations)
    union all select concat_ws(':', 'attribute', attrelid, attnum, xmin) from pg_attribute
               where attrelid in (select oid from relations)
    union all select concat_ws(':', 'default', oid, xmin) from pg_attrdef where adrelid in (select oid from relations)
    union all select concat_ws(':', 'index', indexrelid, xmin) from pg_index where indrelid in (select oid from relations)
    union all select concat_ws(':', 'constraint', oid, xmin) from pg_constraint
               where conrelid in (select oid from relations)
    union all select concat_ws(':', 'trigger', oid, xmin) from pg_trigger where tgrelid in (select oid from relations)
    union all select concat_ws(':', 'function', oid, xmin) from pg_proc
               where oid in (select objid from objects where classid = 'pg_proc'::regclass)
  ) as lines`;

async function readShape(client: pg.ClientBase, schema: string): Promise<string> {
  const { rows } = await client.query<{ shape: string | null }>(SHAPE, [schema]);
  const shape = rows[0]?.shape;
  if (!shape) throw new Error(`schema ${schema} has nothing in it`);
  return shape;
}

/**
 * The statement that puts the schema's rows and sequences back as they are now: every table's rows
 * deleted and the present ones inserted again, with triggers and foreign keys not run
 * (session_replication_role = replica), and every sequence set where it is.
 */
async function resetStatement(client: pg.ClientBase, schema: string): Promise<string> {
  const { rows: tables } = await client.query<{ name: string; columns: string[] }>(
    `select c.relname as name,
            array_agg(a.attname::text order by a.attnum) filter (where a.attgenerated = '') as columns
       from pg_class c
       join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where c.relnamespace = $1::regnamespace and c.relkind = 'r'
      group by c.relname order by c.relname`,
    [schema],
  );
  const statements = ["set local lock_timeout = '10s'", "set local session_replication_role = replica"];
  for (const { name } of tables) statements.push(`delete from ${qualified(schema, name)}`);
  for (const { name, columns } of tables) {
    const target = qualified(schema, name);
    const { rows } = await client.query<{ rows: string | null }>(
      `select json_agg(t)::text as rows from ${target} as t`,
    );
    const json = rows[0]?.rows;
    if (!json) continue;
    const list = columns.map((column) => pg.escapeIdentifier(column)).join(", ");
    statements.push(
      `insert into ${target} (${list}) overriding system value
       select ${list} from json_populate_recordset(null::${target}, ${pg.escapeLiteral(json)}::json)`,
    );
  }
  const { rows: sequences } = await client.query<{ name: string }>(
    `select relname as name from pg_class where relnamespace = $1::regnamespace and relkind = 'S' order by relname`,
    [schema],
  );
  for (const { name } of sequences) {
    const sequence = qualified(schema, name);
    const { rows } = await client.query<{ last_value: string; is_called: boolean }>(
      `select last_value::text, is_called from ${sequence}`,
    );
    const row = rows[0];
    if (!row) continue;
    statements.push(`select setval(${pg.escapeLiteral(sequence)}, ${BigInt(row.last_value)}, ${row.is_called})`);
  }
  return ["begin", ...statements, "commit"].join(";\n");
}

/**
 * Puts a schema back as it was prepared, when its catalog rows are still the prepared ones. False
 * when the schema is not fit for another test (it was changed, or the reset failed): the caller
 * drops it.
 */
async function resetToPrepared(kept: Kept): Promise<boolean> {
  let client: pg.PoolClient | undefined;
  try {
    client = await adminPool().connect();
    if ((await readShape(client, kept.schema.schema)) !== kept.shape) return false;
    await client.query(kept.reset);
    return true;
  } catch {
    // A connection that failed mid-statement is not given back to the pool.
    client?.release(true);
    client = undefined;
    return false;
  } finally {
    client?.release();
  }
}

const qualified = (schema: string, name: string) => `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
