import type { ColumnType } from 'kysely';

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

export interface ContactTables {
  device_contacts: DeviceContactsTable;
}
