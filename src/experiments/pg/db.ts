/**
 * A PostgreSQL store's connection and schema. The URL carries user, host, port, database and, optionally, the
 * password (else PGPASSWORD, as libpq reads it); no message ever prints the password. The schema lives in its own
 * `crossmon` schema, created and migrated here under an advisory lock, so workers starting together agree.
 */
import pg from "pg";
import { InputError } from "../../core/errors.js";

export function isPostgresUrl(s: string | undefined): s is string {
  return !!s && /^postgres(ql)?:\/\//.test(s);
}

/** The URL with its password replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://(unparseable URL)";
  }
}

/** Each step brings the schema from the version before it; never edit a step once shipped, add one. */
const MIGRATIONS: string[] = [
  // spec and plan as the JSON text crossmon wrote: a cell's key hashes its spec, and jsonb would reorder the keys
  `CREATE TABLE crossmon.runs (name text PRIMARY KEY, spec text NOT NULL, plan text NOT NULL, fingerprint text,
     created timestamptz NOT NULL DEFAULT now());
   CREATE TABLE crossmon.cells (run text NOT NULL REFERENCES crossmon.runs ON DELETE CASCADE, key text NOT NULL,
     ord int NOT NULL, kind text NOT NULL, spec text NOT NULL, needs text[] NOT NULL DEFAULT '{}',
     status text NOT NULL DEFAULT 'queued', result jsonb, error text, attempts int NOT NULL DEFAULT 0, worker text,
     started timestamptz, finished timestamptz, lease_until timestamptz, seconds double precision,
     PRIMARY KEY (run, key));
   CREATE INDEX cells_status ON crossmon.cells (status);
   CREATE TABLE crossmon.predictions (run text NOT NULL, cell text NOT NULL, ord int NOT NULL, task text NOT NULL,
     example text NOT NULL, format text NOT NULL, label int NOT NULL, score double precision NOT NULL, extra jsonb,
     PRIMARY KEY (run, cell, task, example, format),
     FOREIGN KEY (run, cell) REFERENCES crossmon.cells ON DELETE CASCADE);
   CREATE TABLE crossmon.blobs (sha256 text PRIMARY KEY, bytes bytea NOT NULL);`,
  // model calls by content key, shared by every run and worker (the JSON text crossmon wrote, as in SQLite)
  `CREATE TABLE crossmon.calls (key text PRIMARY KEY, value text NOT NULL,
     created timestamptz NOT NULL DEFAULT now());`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

export async function connect(url: string): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // a connection's error (the server restarting) must not crash the process: the query in flight rejects with it
  // and the caller retries; an idle client's is reported by the next query
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw new InputError(`cannot connect to ${redactUrl(url)}: ${(e as Error).message}`, "--store");
  }
  await migrate(pool);
  return pool;
}

/** Creates or brings up to date crossmon's tables; a database newer than this crossmon is refused. */
export async function migrate(pool: pg.Pool): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    await c.query("SELECT pg_advisory_xact_lock(hashtext('crossmon schema'))");
    await c.query("CREATE SCHEMA IF NOT EXISTS crossmon");
    await c.query("CREATE TABLE IF NOT EXISTS crossmon.schema_version (version int NOT NULL)");
    const r = await c.query<{ version: number }>("SELECT version FROM crossmon.schema_version");
    const have = r.rows[0]?.version ?? 0;
    if (have > SCHEMA_VERSION)
      throw new InputError(
        `the database's crossmon schema is version ${have}; this crossmon knows up to ${SCHEMA_VERSION} (upgrade it)`,
        "--store",
      );
    for (let v = have; v < SCHEMA_VERSION; v++) await c.query(MIGRATIONS[v]);
    if (have === 0) await c.query("INSERT INTO crossmon.schema_version VALUES ($1)", [SCHEMA_VERSION]);
    else if (have < SCHEMA_VERSION) await c.query("UPDATE crossmon.schema_version SET version = $1", [SCHEMA_VERSION]);
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

/** Runs fn in one transaction: all of it is committed, or none. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    const out = await fn(c);
    await c.query("COMMIT");
    return out;
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}
