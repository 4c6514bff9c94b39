import type { ColumnType, Generated } from 'kysely';
import type {
  CredentialKind,
  CredentialStatus,
  DirectoryObjectStatus,
  DiscoveryStatus,
  LifecycleOperation,
  OtpAlgorithm,
  ProvisioningState,
  ResultOutcome,
} from '../vocabulary';

/** Table types of lib/store/migrations/0002_core.sql. */

type CreatedAt = ColumnType<Date, Date | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | undefined, Date>;

export interface SettingsProfilesTable {
  name: string;
  /** Validated by `amtSettingsSchema` (lib/store/profile-settings.ts); never holds a secret. */
  settings: Record<string, unknown>;
  revision: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ProfileSecretsTable {
  profile: string;
  name: string;
  sealed: string;
}

export interface CollectionsTable {
  name: string;
  automatic_provisioning: Generated<boolean>;
  settings_profile: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface DevicesTable {
  uuid: string;
  host_name: string;
  domain: string;
  fqdn: ColumnType<string, never, never>;
  windows_computer_dn: string | null;
  amt_version: string | null;
  discovery_status: Generated<DiscoveryStatus>;
  /** When discovery_status was last determined (OPS1; migration 0009_console). */
  discovery_seen_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  provisioning_state: Generated<ProvisioningState>;
  provisioning_stage: string | null;
  automatic_provisioning_enabled: Generated<boolean>;
  collection: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface CredentialsTable {
  id: Generated<string>;
  device: string;
  kind: CredentialKind;
  version: number;
  status: CredentialStatus;
  username: string | null;
  sealed: string;
  idempotency_key: string;
  created_at: CreatedAt;
  status_changed_at: UpdatedAt;
}

export interface DirectoryObjectsTable {
  device: string;
  dn: string;
  spns: string[];
  windows_computer_dn: string | null;
  key_version: number | null;
  status: DirectoryObjectStatus;
  /** I5: DNs of the groups amtflow joined the account to (migration 0011). */
  security_groups: ColumnType<string[], string[] | undefined, string[]>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface OtpHashesTable {
  id: Generated<string>;
  device: string;
  algorithm: OtpAlgorithm;
  hash: string;
  reported_amt_version: string | null;
  wired_ip: string | null;
  received_at: CreatedAt;
  consumed_at: Date | null;
  consumed_by: string | null;
}

export interface ProvisioningResultsTable {
  id: Generated<string>;
  device: string;
  operation: LifecycleOperation;
  workflow_id: string;
  outcome: ResultOutcome;
  stage_reached: string | null;
  summary: string;
  details: Record<string, unknown>;
  started_at: Date | null;
  finished_at: ColumnType<Date, Date | undefined, never>;
  recorded_at: CreatedAt;
  idempotency_key: string;
}

export interface CoreTables {
  settings_profiles: SettingsProfilesTable;
  profile_secrets: ProfileSecretsTable;
  collections: CollectionsTable;
  devices: DevicesTable;
  credentials: CredentialsTable;
  directory_objects: DirectoryObjectsTable;
  otp_hashes: OtpHashesTable;
  provisioning_results: ProvisioningResultsTable;
}
