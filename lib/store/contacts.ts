import { sql, type Kysely } from 'kysely';
import type { Schema } from './schema';
import type { RootHashRecord } from './tables/contacts';

export interface DeviceContact {
  deviceUuid: string;
  host: string;
  httpPort: number;
  tlsPort: number;
  source: 'hello' | 'agent' | 'operator';
  rootHashes: RootHashRecord[];
  adminCredentialsSet: boolean | null;
  hellos: number;
  seenAt: Date;
}

export interface ContactUpdate {
  host: string;
  httpPort?: number;
  tlsPort?: number;
  rootHashes?: RootHashRecord[];
  adminCredentialsSet?: boolean;
}

/** Where each device was last heard from (hello, agent report, or an operator's entry). */
export function contactRepository(db: Kysely<Schema>) {
  const record = async (deviceUuid: string, source: DeviceContact['source'], update: ContactUpdate): Promise<void> => {
    const values = {
      device: deviceUuid,
      host: update.host,
      source,
      root_hashes: JSON.stringify(update.rootHashes ?? []),
      admin_credentials_set: update.adminCredentialsSet ?? null,
      hellos: source === 'hello' ? 1 : 0,
      ...(update.httpPort !== undefined ? { http_port: update.httpPort } : {}),
      ...(update.tlsPort !== undefined ? { tls_port: update.tlsPort } : {}),
    };
    await db
      .insertInto('device_contacts')
      .values(values)
      .onConflict((oc) =>
        oc.column('device').doUpdateSet({
          host: values.host,
          source,
          seen_at: new Date(),
          hellos: source === 'hello' ? sql`device_contacts.hellos + 1` : sql`device_contacts.hellos`,
          // Root hashes only come with hellos; an agent report keeps the last hello's.
          ...(source === 'hello'
            ? { root_hashes: values.root_hashes, admin_credentials_set: values.admin_credentials_set }
            : {}),
          ...(update.httpPort !== undefined ? { http_port: update.httpPort } : {}),
          ...(update.tlsPort !== undefined ? { tls_port: update.tlsPort } : {}),
        }),
      )
      .execute();
  };
  return {
    recordHello: (deviceUuid: string, update: ContactUpdate) => record(deviceUuid, 'hello', update),
    recordAgentReport: (deviceUuid: string, update: ContactUpdate) => record(deviceUuid, 'agent', update),
    recordOperatorEntry: (deviceUuid: string, update: ContactUpdate) => record(deviceUuid, 'operator', update),
    /** The devices whose last contact is `host` on `httpPort` (OPS1: an address a sweep found). */
    async findByAddress(host: string, httpPort: number): Promise<string[]> {
      const rows = await db
        .selectFrom('device_contacts')
        .select('device')
        .where('host', '=', host)
        .where('http_port', '=', httpPort)
        .execute();
      return rows.map((r) => r.device);
    },
    async get(deviceUuid: string): Promise<DeviceContact | undefined> {
      const row = await db
        .selectFrom('device_contacts')
        .selectAll()
        .where('device', '=', deviceUuid)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        deviceUuid: row.device,
        host: row.host,
        httpPort: row.http_port,
        tlsPort: row.tls_port,
        source: row.source,
        rootHashes: row.root_hashes,
        adminCredentialsSet: row.admin_credentials_set,
        hellos: row.hellos,
        seenAt: row.seen_at,
      };
    },
  };
}
