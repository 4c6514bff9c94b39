import type { ColumnType, Generated } from 'kysely';
import type { ForgetReason } from '../vocabulary';

/** Table types of lib/store/migrations/0010_forgotten_devices.sql. */
export interface ForgottenDevicesTable {
  id: Generated<string>;
  device: string;
  fqdn: string;
  collection: string | null;
  reason: ForgetReason;
  note: string | null;
  forgotten_by: string;
  workflow_id: string;
  idempotency_key: string;
  forgotten_at: ColumnType<Date, Date | undefined, never>;
}

export interface ForgottenTables {
  forgotten_devices: ForgottenDevicesTable;
}
