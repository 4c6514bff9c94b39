import type { Database } from '../lib/store/database';
import { auditRepository, type AuditEntry } from '../lib/store/audit';

/** What activities need from the outside world; the worker builds it once and injects it. */
export interface ActivityDeps {
  database: Database;
}

/** Activities as plain async functions over injected dependencies (Temporal's DI pattern). */
export function createActivities(deps: ActivityDeps) {
  const audit = auditRepository(deps.database.db);
  return {
    async recordAudit(entry: AuditEntry): Promise<string> {
      return (await audit.append(entry)).id;
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
