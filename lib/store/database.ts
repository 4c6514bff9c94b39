import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from './pglite-dialect';
import { migrate } from './migrate';
import type { Schema } from './schema';

export type Backend = 'pglite' | 'postgres';

/**
 * The site database: one Kysely query interface over either embedded PGlite or PostgreSQL.
 * Repositories only ever see `db`.
 */
export interface Database {
  readonly db: Kysely<Schema>;
  readonly backend: Backend;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** PostgreSQL URL; absent means PGlite. */
  url?: string;
  /** PGlite data directory; absent means in-memory (tests). */
  dataDir?: string;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  const database = options.url ? openPostgres(options.url) : await openPGlite(options.dataDir);
  if (options.migrate !== false) {
    try {
      await migrate(database);
    } catch (err) {
      await database.close();
      throw err;
    }
  }
  return database;
}

async function openPGlite(dataDir: string | undefined): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const options = {
    // int8 comes back as a string, as node-postgres returns it, so both backends agree on types.
    parsers: { 20: (value: string) => value },
    // Postgres' default 128 MB of shared buffers is zero-filled inside PGlite's WebAssembly memory
    // at start, so all of it is resident from the first second: 150 MB of the idle `npm start`
    // process. The site database is a few MB; 32 MB of buffers hold it (docs/benchmarks.md, "Idle
    // memory of the main process"). PGlite's own start parameters are kept, this one is added.
    startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'],
  };
  const client = dataDir ? new PGlite(dataDir, options) : new PGlite(options);
  await client.waitReady;
  const db = new Kysely<Schema>({ dialect: new PGliteDialect(client) });
  return {
    db,
    backend: 'pglite',
    async close() {
      await db.destroy();
      await client.close();
    },
  };
}

function openPostgres(url: string): Database {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection that the server closes (restart, failover, admin) emits 'error' on the pool;
  // unhandled, that would end the process. The pool drops the client and opens a new one on demand.
  pool.on('error', () => undefined);
  // A connection cut while a client is checked out (between the statements of a transaction) emits
  // 'error' on that client, where the pool does not listen: unhandled, it would end the process too.
  // The pending queries fail with the error, and the pool discards the client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    backend: 'postgres',
    async close() {
      await db.destroy();
    },
  };
}
