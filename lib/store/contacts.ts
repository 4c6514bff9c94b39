import { createHash, randomBytes } from 'node:crypto';
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

/**
 * A hello or agent report naming a device's UUID from another address than the device's contact
 * while a run of that device is in flight (its address must not move under the run): kept, never
 * used. A hello for a provisioned device with no run in flight is audited, not kept here.
 */
export interface IdentityConflict {
  id: string;
  deviceUuid: string;
  host: string;
  knownHost: string;
  source: 'hello' | 'agent';
  workflowId: string | null;
  seenAt: Date;
}

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

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
    /** Issue 9: keeps a conflicting message; while one is open the device is DUPLICATE_UUID. */
    async recordConflict(deviceUuid: string, conflict: Omit<IdentityConflict, 'id' | 'deviceUuid' | 'seenAt'>) {
      await db
        .insertInto('device_identity_conflicts')
        .values({
          device: deviceUuid,
          host: conflict.host,
          known_host: conflict.knownHost,
          source: conflict.source,
          workflow_id: conflict.workflowId,
        })
        .execute();
    },
    /** The conflicts no operator has cleared yet, oldest first. */
    async openConflicts(deviceUuid: string): Promise<IdentityConflict[]> {
      const rows = await db
        .selectFrom('device_identity_conflicts')
        .selectAll()
        .where('device', '=', deviceUuid)
        .where('cleared_at', 'is', null)
        .orderBy('id')
        .execute();
      return rows.map((row) => ({
        id: String(row.id),
        deviceUuid: row.device,
        host: row.host,
        knownHost: row.known_host,
        source: row.source,
        workflowId: row.workflow_id,
        seenAt: row.seen_at,
      }));
    },
    /** An operator has told the devices apart; resolves with how many conflicts were cleared. */
    async clearConflicts(deviceUuid: string, by: string): Promise<number> {
      const result = await db
        .updateTable('device_identity_conflicts')
        .set({ cleared_at: new Date(), cleared_by: by })
        .where('device', '=', deviceUuid)
        .where('cleared_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    /**
     * Issue 9: a new credential for the in-band agent of one computer, replacing any earlier one.
     * Resolves with the token, which is shown once: only its SHA-256 is stored.
     */
    async issueAgentCredential(deviceUuid: string, by: string): Promise<string> {
      const token = randomBytes(32).toString('base64url');
      const values = { device: deviceUuid, token_sha256: tokenHash(token), issued_by: by };
      await db
        .insertInto('agent_credentials')
        .values(values)
        .onConflict((oc) => oc.column('device').doUpdateSet({ ...values, issued_at: new Date(), revoked_at: null }))
        .execute();
      return token;
    },
    /** Revokes the agent credential of one computer; resolves with whether one was in force. */
    async revokeAgentCredential(deviceUuid: string): Promise<boolean> {
      const result = await db
        .updateTable('agent_credentials')
        .set({ revoked_at: new Date() })
        .where('device', '=', deviceUuid)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    /** The computer an agent token speaks for, if it is one in force. */
    async agentDevice(token: string): Promise<string | undefined> {
      const row = await db
        .selectFrom('agent_credentials')
        .select('device')
        .where('token_sha256', '=', tokenHash(token))
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return row?.device;
    },
    /**
     * An operator clears "client installed" (IB7): the agent's address stays as the operator's
     * entry, and the device's hellos count again. Resolves with whether the agent had reported.
     */
    async clearAgentReport(deviceUuid: string): Promise<boolean> {
      const result = await db
        .updateTable('device_contacts')
        .set({ source: 'operator' })
        .where('device', '=', deviceUuid)
        .where('source', '=', 'agent')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
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
