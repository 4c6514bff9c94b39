import type { ColumnType, Generated } from 'kysely';

export interface RootHashRecord {
  algorithm: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  hex: string;
}

/** Table types of lib/store/migrations/0004_device_contacts.sql. */
export interface DeviceContactsTable {
  device: string;
  host: string;
  http_port: ColumnType<number, number | undefined, number>;
  tls_port: ColumnType<number, number | undefined, number>;
  source: 'hello' | 'agent' | 'operator';
  root_hashes: ColumnType<RootHashRecord[], string | undefined, string>;
  admin_credentials_set: boolean | null;
  hellos: ColumnType<number, number | undefined, number>;
  seen_at: ColumnType<Date, Date | undefined, Date>;
}

/** Table types of lib/store/migrations/0006_device_trust.sql. */
export interface DeviceIdentityConflictsTable {
  id: Generated<string>;
  device: string;
  host: string;
  known_host: string;
  source: 'hello' | 'agent';
  workflow_id: string | null;
  seen_at: ColumnType<Date, Date | undefined, Date>;
  cleared_at: Date | null;
  cleared_by: string | null;
}

/** Table types of lib/store/migrations/0006_device_trust.sql. */
export interface AgentCredentialsTable {
  device: string;
  token_sha256: string;
  issued_at: ColumnType<Date, Date | undefined, Date>;
  issued_by: string;
  revoked_at: Date | null;
}

export interface ContactTables {
  device_contacts: DeviceContactsTable;
  device_identity_conflicts: DeviceIdentityConflictsTable;
  agent_credentials: AgentCredentialsTable;
}
