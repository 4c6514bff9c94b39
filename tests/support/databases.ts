import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../lib/store/database';

/**
 * Every repository test runs against both backends: embedded PGlite and a real PostgreSQL
 * (127.0.0.1:5432, trust auth; scripts/test.sh starts it when stopped). Each PostgreSQL test
 * database is created fresh and dropped afterwards.
 */
export const POSTGRES_ADMIN_URL = process.env.AMTFLOW_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestBackend {
  name: 'pglite' | 'postgres';
  open(options?: { migrate?: boolean }): Promise<TestDatabase>;
}

export interface TestDatabase extends Database {
  /** Connection URL of the PostgreSQL database (undefined for PGlite). */
  url?: string;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export const backends: TestBackend[] = [
  {
    name: 'pglite',
    async open(options) {
      return openDatabase({ migrate: options?.migrate });
    },
  },
  {
    name: 'postgres',
    async open(options) {
      const name = `amtflow_test_${randomBytes(6).toString('hex')}`;
      await withAdmin((c) => c.query(`create database ${name}`));
      const url = POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
      const database = await openDatabase({ url, migrate: options?.migrate });
      return {
        ...database,
        url,
        async close() {
          await database.close();
          await withAdmin((c) => c.query(`drop database if exists ${name} with (force)`));
        },
      };
    },
  },
];
