import type { ColumnType, Generated } from 'kysely';
import type { DiscoveryStatus } from '../vocabulary';

/** Table types of lib/store/migrations/0009_console.sql (OPS1, OPS3). */
export interface DiscoveredAddressesTable {
  host: string;
  http_port: number;
  tls_port: number;
  device: string | null;
  status: DiscoveryStatus;
  amt_version: string | null;
  evidence: ColumnType<Record<string, string>, string, string>;
  seen_by: string;
  seen_at: ColumnType<Date, Date | undefined, Date>;
}

export type RedirectionKind = 'sol' | 'ider';
export type RedirectionOutcome = 'closed' | 'expired' | 'failed' | 'refused';

export interface RedirectionSessionsTable {
  id: Generated<string>;
  device: string;
  kind: RedirectionKind;
  actor: string;
  started_at: ColumnType<Date, Date | undefined, never>;
  expires_at: Date;
  ended_at: Date | null;
  outcome: RedirectionOutcome | null;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface ConsoleTables {
  discovered_addresses: DiscoveredAddressesTable;
  redirection_sessions: RedirectionSessionsTable;
}
