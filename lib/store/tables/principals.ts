import type { ColumnType, Generated } from 'kysely';
import type { Role } from '../../rights';

/** Table types of lib/store/migrations/0007_principals.sql. */

export interface PrincipalsTable {
  id: Generated<string>;
  name: string;
  kind: 'user' | 'service';
  created_at: ColumnType<Date, Date | undefined, never>;
  disabled_at: Date | null;
}

export interface PrincipalRolesTable {
  principal: string;
  collection: string;
  role: Role;
  granted_at: ColumnType<Date, Date | undefined, Date>;
}

export interface ApiTokensTable {
  id: Generated<string>;
  principal: string;
  label: string;
  sha256: string;
  created_at: ColumnType<Date, Date | undefined, never>;
  revoked_at: Date | null;
}

export interface PrincipalTables {
  principals: PrincipalsTable;
  principal_roles: PrincipalRolesTable;
  api_tokens: ApiTokensTable;
}
