import { sql, type Kysely } from 'kysely';
import type { Schema } from './schema';
import { inTransaction } from './transaction';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  outcome: 'success' | 'failure' | 'denied';
  details?: Record<string, unknown>;
}

export interface AuditRecord extends Required<AuditEntry> {
  id: string;
  at: Date;
}

/** The append-only audit log (spec P7). There is deliberately no update or delete. */
export function auditRepository(db: Kysely<Schema>) {
  return {
    async append(entry: AuditEntry): Promise<AuditRecord> {
      return db
        .insertInto('audit_log')
        .values({ ...entry, details: entry.details ?? {} })
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    /**
     * Appends `entry` (a success) unless its actor already has `limit` successful entries of the same
     * action since `since`. The count and the append hold one lock per actor and action until the
     * transaction ends, so concurrent callers — in this process or another — cannot both pass the
     * last free place. Join a `Store.transaction` to make what the entry records part of it.
     */
    async appendWithinLimit(
      entry: AuditEntry & { outcome: 'success' },
      limit: { count: number; since: Date },
    ): Promise<{ used: number; record?: AuditRecord }> {
      return inTransaction(db, async (trx) => {
        const key = `audit-limit:${entry.actor}:${entry.action}`;
        await sql`select pg_advisory_xact_lock(hashtext(${key}))`.execute(trx);
        const { n } = await trx
          .selectFrom('audit_log')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('actor', '=', entry.actor)
          .where('action', '=', entry.action)
          .where('outcome', '=', 'success')
          .where('at', '>=', limit.since)
          .executeTakeFirstOrThrow();
        const used = Number(n);
        if (used >= limit.count) return { used };
        const record = await trx
          .insertInto('audit_log')
          .values({ ...entry, details: entry.details ?? {} })
          .returningAll()
          .executeTakeFirstOrThrow();
        return { used, record };
      });
    },

    /** The newest entries first, `limit` at most, optionally for one target or actor. */
    async recent(filter: { target?: string; actor?: string; limit?: number } = {}): Promise<AuditRecord[]> {
      let query = db
        .selectFrom('audit_log')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(filter.limit ?? 100);
      if (filter.target !== undefined) query = query.where('target', '=', filter.target);
      if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
      return query.execute();
    },

    async forTarget(target: string): Promise<AuditRecord[]> {
      return db.selectFrom('audit_log').selectAll().where('target', '=', target).orderBy('id').execute();
    },
  };
}
