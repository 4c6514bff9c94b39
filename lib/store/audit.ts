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
    async forTarget(target: string): Promise<AuditRecord[]> {
      return db.selectFrom('audit_log').selectAll().where('target', '=', target).orderBy('id').execute();
    },
  };
}
