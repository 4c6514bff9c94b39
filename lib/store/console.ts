import type { Kysely } from 'kysely';
import { normaliseDeviceUuid } from './fields';
import type { Schema } from './schema';
import type { RedirectionKind, RedirectionOutcome } from './tables/console';
import { inTransaction } from './transaction';
import type { DiscoveryStatus } from './vocabulary';

export type { RedirectionKind, RedirectionOutcome } from './tables/console';

/** One address's finding in a discovery sweep (OPS1). */
export interface DiscoveryObservation {
  host: string;
  httpPort: number;
  tlsPort: number;
  /** The known device at this address (its contact), if any. */
  deviceUuid: string | null;
  status: DiscoveryStatus;
  amtVersion: string | null;
  /** Human-readable facts the status rests on; never a secret. */
  evidence: Record<string, string>;
  /** Workflow id of the sweep. */
  seenBy: string;
  seenAt: Date;
}

export interface RedirectionSession {
  id: string;
  deviceUuid: string;
  kind: RedirectionKind;
  actor: string;
  startedAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
  outcome: RedirectionOutcome | null;
  details: Record<string, unknown>;
}

/**
 * What the console operations keep: discovery findings per address (the device's own status is
 * `devices.discovery_status` with `discovery_seen_at`), and the redirection sessions operators opened.
 */
export function consoleRepository(db: Kysely<Schema>) {
  return {
    /**
     * Records one finding: the address row, and, for a known device, its status, the time seen and
     * the AMT version when one was read. Idempotent: recording the same finding again changes nothing
     * but the times.
     */
    async recordDiscovery(o: DiscoveryObservation): Promise<void> {
      const device = o.deviceUuid === null ? null : normaliseDeviceUuid(o.deviceUuid);
      await inTransaction(db, async (trx) => {
        const values = {
          host: o.host,
          http_port: o.httpPort,
          tls_port: o.tlsPort,
          device,
          status: o.status,
          amt_version: o.amtVersion,
          evidence: JSON.stringify(o.evidence),
          seen_by: o.seenBy,
          seen_at: o.seenAt,
        };
        await trx
          .insertInto('discovered_addresses')
          .values(values)
          .onConflict((oc) => oc.columns(['host', 'http_port', 'tls_port']).doUpdateSet(values))
          .execute();
        if (device === null) return;
        await trx
          .updateTable('devices')
          .set({
            discovery_status: o.status,
            discovery_seen_at: o.seenAt,
            updated_at: new Date(),
            ...(o.amtVersion !== null ? { amt_version: o.amtVersion } : {}),
          })
          .where('uuid', '=', device)
          .execute();
      });
    },

    async discoveredAddresses(): Promise<DiscoveryObservation[]> {
      const rows = await db.selectFrom('discovered_addresses').selectAll().orderBy('host').execute();
      return rows.map((r) => ({
        host: r.host,
        httpPort: r.http_port,
        tlsPort: r.tls_port,
        deviceUuid: r.device,
        status: r.status,
        amtVersion: r.amt_version,
        evidence: r.evidence,
        seenBy: r.seen_by,
        seenAt: r.seen_at,
      }));
    },

    /** OPS3: a session opened by `actor`, ending at the latest at `expiresAt`. */
    async openSession(input: {
      deviceUuid: string;
      kind: RedirectionKind;
      actor: string;
      expiresAt: Date;
    }): Promise<RedirectionSession> {
      const row = await db
        .insertInto('redirection_sessions')
        .values({
          device: normaliseDeviceUuid(input.deviceUuid),
          kind: input.kind,
          actor: input.actor,
          expires_at: input.expiresAt,
          ended_at: null,
          outcome: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toSession(row);
    },

    /** Ends a session once; a second call leaves the first ending as it was. */
    async endSession(id: string, outcome: RedirectionOutcome, details: Record<string, unknown> = {}): Promise<void> {
      await db
        .updateTable('redirection_sessions')
        .set({ ended_at: new Date(), outcome, details: JSON.stringify(details) })
        .where('id', '=', id)
        .where('ended_at', 'is', null)
        .execute();
    },

    async sessions(deviceUuid: string): Promise<RedirectionSession[]> {
      const rows = await db
        .selectFrom('redirection_sessions')
        .selectAll()
        .where('device', '=', normaliseDeviceUuid(deviceUuid))
        .orderBy('id')
        .execute();
      return rows.map(toSession);
    },
  };
}

function toSession(r: {
  id: string;
  device: string;
  kind: RedirectionKind;
  actor: string;
  started_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  outcome: RedirectionOutcome | null;
  details: Record<string, unknown>;
}): RedirectionSession {
  return {
    id: String(r.id),
    deviceUuid: r.device,
    kind: r.kind,
    actor: r.actor,
    startedAt: r.started_at,
    expiresAt: r.expires_at,
    endedAt: r.ended_at,
    outcome: r.outcome,
    details: r.details,
  };
}
