import type { AuditTables } from './tables/audit';
import type { CertificateTables } from './tables/certificates';
import type { CollectionActionTables } from './tables/collection-actions';
import type { ConsoleTables } from './tables/console';
import type { ContactTables } from './tables/contacts';
import type { CoreTables } from './tables/core';
import type { ForgottenTables } from './tables/forgotten';
import type { PrincipalTables } from './tables/principals';

/** Table types of the site database, one file per area, matching lib/store/migrations. */
export type Schema = AuditTables &
  CoreTables &
  CertificateTables &
  ContactTables &
  CollectionActionTables &
  PrincipalTables &
  ConsoleTables &
  ForgottenTables;
