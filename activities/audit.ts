import type { Store } from '../lib/store';
import type { AuditEntry } from '../lib/store/audit';

export function auditActivities(store: Pick<Store, 'audit'>) {
  return {
    /** P7: records who did what to which device, and how it ended. */
    async recordAudit(entry: AuditEntry): Promise<string> {
      return (await store.audit.append(entry)).id;
    },
  };
}
