import { IderSession, SolSession, type AmtCredential, type AmtError, type AmtTlsOptions, type DriveKind } from '../amt';
import type { DeviceUuid } from '../device-uuid';
import { deviceEndpoint, deviceProfile, tlsOptions, type DeviceAccess } from '../provisioning';
import type { RedirectionKind, RedirectionOutcome, RedirectionSession } from '../store';
import { openConsoleSession, storedAdminCredentials } from './device-access';
import { ConsoleError } from './errors';

/**
 * Serial over LAN and IDE redirection sessions for operators (spec OPS3, P5 ports 16994/16995,
 * P7 "Manage management controllers"). The broker lives in the front door, not in a workflow: a
 * session is an interactive byte stream between one operator and one device that lasts as long as
 * the operator types — nothing to resume after a crash (the firmware drops the session with the
 * connection), and nothing a replay could redo. What must be durable is the record: every session
 * is written to `redirection_sessions` (who, device, kind, start, deadline, end, how it ended)
 * and to the audit log before any byte flows, and ended there whatever ends it.
 *
 * The device is reached with its stored admin credential, server-side: the operator never sees
 * it. The session is refused (REDIRECTION_DISABLED, audited as denied) when the device's settings
 * profile leaves the feature off (OOB9.2 `serialOverLan` / `ideRedirection`), and closed by the
 * broker at its time limit (`expired`).
 */

export interface BrokerOptions {
  /** Longest session allowed, ms; a request asks for at most this. Default 1 hour. */
  maxSessionMs?: number;
}

export interface SessionRequest {
  deviceUuid: DeviceUuid;
  /** The authenticated principal's name (P7), for the records. */
  actor: string;
  /** Time limit of this session, ms; default and maximum the broker's `maxSessionMs`. */
  timeLimitMs?: number;
}

export interface BrokeredSession<S> {
  record: RedirectionSession;
  session: S;
  /** Resolves once the session ended and its end is recorded: `closed`, `expired` or `failed`. */
  ended: Promise<RedirectionOutcome>;
  /** Ends the session from the operator's side (recorded as `closed`). */
  close(): Promise<void>;
}

const DEFAULT_MAX_MS = 3_600_000;

export class RedirectionBroker {
  private readonly maxSessionMs: number;

  constructor(
    private readonly access: DeviceAccess,
    options: BrokerOptions = {},
  ) {
    this.maxSessionMs = options.maxSessionMs ?? DEFAULT_MAX_MS;
  }

  /** An SOL terminal session: a Duplex of the host's serial console. */
  async openSol(request: SessionRequest): Promise<BrokeredSession<SolSession>> {
    return this.open(request, 'sol', async (target) => {
      const sol = await SolSession.open(target);
      return {
        session: sol,
        outcome: sol.outcome,
        stop: async () => {
          sol.end();
          await sol.outcome;
        },
      };
    });
  }

  /** An IDE-R session serving `image` read-only to the device as a CD-ROM (or floppy). */
  async openIder(
    request: SessionRequest & { image: string; device?: DriveKind },
  ): Promise<BrokeredSession<IderSession>> {
    return this.open(request, 'ider', async (target) => {
      const ider = await IderSession.open({
        ...target,
        image: request.image,
        ...(request.device ? { device: request.device } : {}),
      });
      return { session: ider, outcome: ider.outcome, stop: () => ider.close() };
    });
  }

  private async open<S>(
    request: SessionRequest,
    kind: RedirectionKind,
    start: (target: {
      host: string;
      port: number;
      tls?: AmtTlsOptions;
      credential: AmtCredential;
      timeouts: DeviceAccess['amtTimeouts'];
    }) => Promise<{ session: S; outcome: Promise<AmtError | null>; stop(): Promise<void> }>,
  ): Promise<BrokeredSession<S>> {
    const { deviceUuid, actor } = request;
    const timeLimitMs = request.timeLimitMs ?? this.maxSessionMs;
    if (!Number.isInteger(timeLimitMs) || timeLimitMs < 1_000 || timeLimitMs > this.maxSessionMs)
      throw new ConsoleError(
        'INVALID_SESSION_REQUEST',
        `session time limit must be from 1000 to ${this.maxSessionMs} ms, not ${timeLimitMs}`,
      );
    const { store } = this.access;
    const profile = await deviceProfile(store, deviceUuid);
    const enabled = kind === 'sol' ? profile.settings.serialOverLan : profile.settings.ideRedirection;
    if (!enabled) {
      const feature = kind === 'sol' ? 'serial over LAN' : 'IDE redirection';
      await store.audit.append({
        actor,
        action: `redirection.${kind}.start`,
        target: deviceUuid,
        outcome: 'denied',
        details: { reason: `settings profile ${profile.name ?? '(default)'} leaves ${feature} disabled` },
      });
      throw new ConsoleError(
        'REDIRECTION_DISABLED',
        `${feature} is disabled for ${deviceUuid} by settings profile ${profile.name ?? '(default)'}`,
      );
    }

    // Which stored credential the device takes, and whether it serves TLS, from one WS-Man login.
    const { amt, transport } = await openConsoleSession(this.access, deviceUuid);
    const credential = (await storedAdminCredentials(store, deviceUuid)).find((c) => c.ref === amt.credentialRef);
    if (!credential) throw new ConsoleError('NO_STORED_CREDENTIALS', `${deviceUuid} took no stored credential`);
    const endpoint = await deviceEndpoint(this.access, deviceUuid);
    // The redirection ports are the management ports + 2 (16992 → 16994, 16993 → 16995; spec P5).
    const target =
      transport === 'tls'
        ? {
            host: endpoint.host,
            port: endpoint.tlsPort + 2,
            tls: await tlsOptions(this.access, { deviceUuid, protocol: 'wsman', tls: 'managed' }),
          }
        : { host: endpoint.host, port: endpoint.httpPort + 2 };

    const expiresAt = new Date(Date.now() + timeLimitMs);
    const record = await store.console.openSession({ deviceUuid, kind, actor, expiresAt });
    await store.audit.append({
      actor,
      action: `redirection.${kind}.start`,
      target: deviceUuid,
      outcome: 'success',
      details: { session: record.id, expiresAt: expiresAt.toISOString(), credential: credential.ref },
    });
    let opened: Awaited<ReturnType<typeof start>>;
    try {
      opened = await start({ ...target, credential, timeouts: this.access.amtTimeouts });
    } catch (err) {
      await this.finish(record, 'failed', { error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
    let ending: RedirectionOutcome | undefined;
    const timer = setTimeout(() => {
      ending = 'expired';
      void opened.stop();
    }, timeLimitMs);
    timer.unref();
    const ended = opened.outcome.then(async (error) => {
      clearTimeout(timer);
      const outcome: RedirectionOutcome = ending ?? (error ? 'failed' : 'closed');
      await this.finish(record, outcome, error ? { error: error.message } : {});
      return outcome;
    });
    return {
      record,
      session: opened.session,
      ended,
      async close() {
        ending ??= 'closed';
        await opened.stop();
        await ended;
      },
    };
  }

  private async finish(record: RedirectionSession, outcome: RedirectionOutcome, details: Record<string, unknown>) {
    await this.access.store.console.endSession(record.id, outcome, details);
    await this.access.store.audit.append({
      actor: record.actor,
      action: `redirection.${record.kind}.end`,
      target: record.deviceUuid,
      outcome: outcome === 'failed' ? 'failure' : 'success',
      details: { session: record.id, outcome, ...details },
    });
  }
}
