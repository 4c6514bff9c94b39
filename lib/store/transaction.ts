import type { Kysely } from 'kysely';
import type { Schema } from './schema';

/**
 * Runs `fn` in a transaction, or inside the caller's when `db` already is one: repositories built
 * over a transaction (Store.transaction) then join it instead of opening a nested one, which Kysely
 * refuses and which, on PGlite's single connection, would wait for itself forever.
 */
export function inTransaction<T>(db: Kysely<Schema>, fn: (trx: Kysely<Schema>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
