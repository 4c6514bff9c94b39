import type { ColumnType, Generated } from 'kysely';

export interface AuditLogTable {
  id: Generated<string>;
  at: ColumnType<Date, Date | undefined, never>;
  actor: string;
  action: string;
  target: string;
  outcome: 'success' | 'failure' | 'denied';
  details: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, never>;
}

export interface AuditTables {
  audit_log: AuditLogTable;
}
