import type { Kysely } from 'kysely';
import type { Schema } from './schema';

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
    /** How many entries match, since `since` (rate limits read the log, so they hold across processes). */
    async count(filter: {
      actor?: string;
      action?: string;
      outcome?: AuditEntry['outcome'];
      since?: Date;
    }): Promise<number> {
      let query = db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n'));
      if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
      if (filter.action !== undefined) query = query.where('action', '=', filter.action);
      if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
      if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
      return Number((await query.executeTakeFirstOrThrow()).n);
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
