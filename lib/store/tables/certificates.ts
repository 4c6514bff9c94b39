import type { ColumnType } from 'kysely';

/** Device certificate templates (lib/pki/templates.ts describes each). */
export type CertificateTemplateName = 'amt-web-server' | 'ieee8021x-client';

/** RFC 5280 CRLReason names amtflow records (lib/pki/crl.ts holds their codes). */
export type RevocationReasonName =
  | 'unspecified'
  | 'keyCompromise'
  | 'cACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'privilegeWithdrawn';

/** Written once at issue; only the status columns change afterwards, and only to revoked. */
export interface CertificatesTable {
  serial: ColumnType<string, string, never>;
  request_id: ColumnType<string, string, never>;
  request_fingerprint: ColumnType<string, string, never>;
  template: ColumnType<CertificateTemplateName, CertificateTemplateName, never>;
  device_uuid: ColumnType<string, string, never>;
  dns_name: ColumnType<string, string, never>;
  subject: ColumnType<string, string, never>;
  issuer_sha256: ColumnType<string, string, never>;
  key_source: ColumnType<'device' | 'amtflow', 'device' | 'amtflow', never>;
  certificate_pem: ColumnType<string, string, never>;
  not_before: ColumnType<Date, Date, never>;
  not_after: ColumnType<Date, Date, never>;
  issued_at: ColumnType<Date, Date | undefined, never>;
  status: ColumnType<'issued' | 'revoked', undefined, 'revoked'>;
  revocation_reason: ColumnType<RevocationReasonName | null, undefined, RevocationReasonName>;
  revoked_at: ColumnType<Date | null, undefined, Date>;
}

export interface CertificatePrivateKeysTable {
  serial: string;
  sealed_key: string;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface CertificateRevocationListsTable {
  issuer_sha256: string;
  /** int8: a decimal string on both backends. */
  crl_number: ColumnType<string, string, string>;
  this_update: Date;
  next_update: Date;
  /** bytea: a Buffer from node-postgres, a Uint8Array from PGlite. */
  der: ColumnType<Uint8Array, Buffer, Buffer>;
}

/** Certificates issued and revoked by the built-in CA. */
export interface CertificateTables {
  certificates: CertificatesTable;
  certificate_private_keys: CertificatePrivateKeysTable;
  certificate_revocation_lists: CertificateRevocationListsTable;
}
