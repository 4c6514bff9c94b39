import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Database } from './database';

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/** Arbitrary constant: the advisory-lock key that serialises migrations across processes. */
const MIGRATION_LOCK = 7199171;

export interface Migration {
  version: number;
  name: string;
  text: string;
}

/** Numbered SQL files `NNNN_name.sql`, in order. A duplicate number is a packaging error. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((file) => {
      const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
      if (!match) throw new Error(`migration file name must be NNNN_name.sql: ${file}`);
      return { version: Number(match[1]), name: match[2] as string, text: readFileSync(path.join(dir, file), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  // Numbers only increase. Parallel branches take numbers ahead of main (a gap until they are all
  // merged); a duplicate number is two migrations claiming one place, a packaging error.
  migrations.forEach((m, i) => {
    const before = migrations[i - 1];
    if (before && before.version === m.version) {
      throw new Error(`two migrations share the number ${m.version}: ${before.name} and ${m.name}`);
    }
  });
  return migrations;
}

/**
 * Applies pending migrations and returns their versions. Each migration runs in one transaction
 * with the row that records it, so a crash leaves all of it or none. On PostgreSQL a session
 * advisory lock lets several amtflow processes start at once: the second waits, then finds the
 * work done.
 */
export async function migrate(database: Database, dir = MIGRATIONS_DIR): Promise<number[]> {
  const migrations = readMigrations(dir);
  return database.db.connection().execute(async (conn) => {
    const postgres = database.backend === 'postgres';
    if (postgres) await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
    try {
      await sql`create table if not exists schema_migrations (
                  version integer primary key,
                  name text not null,
                  applied_at timestamptz not null default now())`.execute(conn);
      const done = await sql<{ version: number }>`select version from schema_migrations`.execute(conn);
      const appliedBefore = new Set(done.rows.map((r) => r.version));
      const applied: number[] = [];
      for (const migration of migrations) {
        if (appliedBefore.has(migration.version)) continue;
        await conn.transaction().execute(async (trx) => {
          await sql.raw(migration.text).execute(trx);
          await sql`insert into schema_migrations (version, name) values (${migration.version}, ${migration.name})`.execute(
            trx,
          );
        });
        applied.push(migration.version);
      }
      return applied;
    } finally {
      if (postgres) await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
    }
  });
}
