import type { X509Certificate } from 'node:crypto';
import type net from 'node:net';
import type { Logger } from 'pino';
import { CLASSES } from '../classes';
import { identifyResponse, isIdentifyRequest } from '../discovery/identify';
import { Host } from '../host/host';
import { RedirectionService } from '../redirection/listener';
import { EmulatorError } from '../errors';
import type { Fault, FaultRegistry } from '../fleet/faults';
import { HelloSender, type HelloAttempt } from '../hello/sender';
import { formatResponse } from '../http/response';
import { NonceTable, challenge, parseAuthorization, verifyResponse } from '../http/digest';
import type { HttpRequest } from '../http/parser';
import type { KeyPool } from '../keys/pool';
import {
  EOI_SERVICES,
  EoiFault,
  eoiBusy,
  eoiFaultEnvelope,
  eoiOperation,
  handleEoi,
  type EoiService,
} from '../legacy/eoi';
import { EnumerationContexts, dispatch } from '../wsman/dispatch';
import { parseEnvelope, type WsmanRequest } from '../wsman/envelope';
import { WsmanFault, faults as wsmanFaults } from '../wsman/faults';
import type { AuthContext, FirmwareContext, FirmwareEvent, ProvisioningSession } from '../wsman/registry';
import { NS } from '../wsman/namespaces';
import { MessageIds, envelope, faultEnvelope, outputXml } from '../wsman/writer';
import { XmlInputError, childText, parseXml } from '../wsman/xml';
import { DeviceNetwork, acceptTls, serveHttp, type DeviceStream, type Reply } from './network';
import { ha1, inSetupMode, unprovision, type Nvram } from './nvram';
import { checkProvisioningChain } from './provisioning-cert';
import { NvramWriter, nvramPath } from './store';
import { checkMutualClient, tlsModeFor, type TlsMode } from './tls';
import type { DeviceProfile } from './profile';
import { isLegacy } from './version';

export const AMT_HTTP_PORT = 16992;
export const AMT_TLS_PORT = 16993;
/** Kerberos' allowed clock skew (5 minutes), which AMT applies to tickets. */
const KERBEROS_MAX_SKEW_MS = 5 * 60 * 1000;

export interface DeviceOptions {
  nvram: Nvram;
  stateDir: string;
  keyPool: KeyPool;
  faults: FaultRegistry;
  log: Logger;
  latencyMs: number;
  /** The switch port's 802.1X (profile `wiredNetwork8021x`); absent: none. */
  wiredNetwork8021x?: DeviceProfile['wiredNetwork8021x'];
  /** 0 asks the OS for ephemeral ports. */
  ports: { http: number; tls: number };
  helloTimeScale: number;
  onHello?: (uuid: string, attempt: HelloAttempt) => void;
  /** False: firmware without RFC 5746, its TLS port served by the legacy engine (legacy-tls.ts). */
  secureRenegotiation: boolean;
}

interface Connection {
  tls: boolean;
  /** Set when this TLS connection passed the remote-configuration certificate checks. */
  session: ProvisioningSession | null;
}

/** Faults that play a hostile or broken device on WS-Man (faults.ts). */
const HOSTILE_KINDS: readonly Fault['kind'][] = ['endlessPull', 'hugeTotalCount', 'hugeFaultReason'];
type HostileFault = Extract<Fault, { kind: 'endlessPull' | 'hugeTotalCount' | 'hugeFaultReason' }>;

const READ_ONLY_OPERATIONS = new Set(['Get', 'Enumerate', 'Pull', 'Release']);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

const UNAUTHORIZED_HTML =
  '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<html><head>' +
  '<meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>Intel&reg; Active Management Technology</title>' +
  '</head><body><p>Log on failed. Incorrect user name or password, or user account temporarily locked.</p></body></html>\n';

/** How many operations a device remembers for `operations()`. */
const JOURNAL_SIZE = 1000;

/**
 * One emulated AMT device: its NVRAM, its two listening ports and the firmware services behind
 * them. All state changes go through NVRAM, which is persisted before the answer leaves the device.
 */
export class Device {
  private state: Nvram;
  private readonly writer: NvramWriter;
  private readonly nonces = new NonceTable();
  private readonly enumerations = new EnumerationContexts();
  private readonly messageIds = new MessageIds();
  private readonly network: DeviceNetwork;
  private readonly hello: HelloSender;
  private rebootTimer: NodeJS.Timeout | null = null;
  /** The last authenticated operations served (RAM only), oldest first: the test oracle of who spoke when. */
  private readonly journal: { operation: string; at: number }[] = [];
  httpPort = 0;
  tlsPort = 0;
  /** The computer around the ME: power state and transitions, serial console, IDE-R drive. */
  readonly host: Host;
  /** Redirection listener (16994/16995): `redirection.port`, `redirection.tlsPort`. */
  readonly redirection: RedirectionService;

  private constructor(private readonly options: DeviceOptions) {
    this.state = options.nvram;
    this.writer = new NvramWriter(nvramPath(options.stateDir, this.state.uuid), () => this.state);
    // The ME answers only while the host's power state lets it run (host/host.ts), and while the
    // network lets it on (802.1X with the OS down).
    this.network = new DeviceNetwork(this.state.address, () => this.reachable());
    this.hello = new HelloSender({
      nvram: () => this.state,
      timeScale: options.helloTimeScale,
      log: options.log,
      onAttempt: (a) => options.onHello?.(this.uuid, a),
    });
    const nvram = () => this.state;
    this.host = new Host({
      uuid: this.uuid,
      nvram,
      faults: options.faults,
      persist: () => this.writer.save(),
      now: () => this.now(),
    });
    this.redirection = new RedirectionService({ address: this.address, nvram, host: this.host, log: options.log });
  }

  static async start(options: DeviceOptions): Promise<Device> {
    const device = new Device(options);
    await device.writer.save();
    await device.listen();
    device.hello.start();
    return device;
  }

  get uuid(): string {
    return this.state.uuid;
  }

  get address(): string {
    return this.state.address;
  }

  /** A deep copy of the NVRAM: the test oracle. */
  nvram(): Nvram {
    return structuredClone(this.state);
  }

  /** Enumeration contexts open now (RAM, not NVRAM): the test oracle for clients that leak them. */
  get openEnumerations(): number {
    return this.enumerations.size;
  }

  /**
   * The last JOURNAL_SIZE authenticated operations the firmware began to serve (WS-Man action or
   * EOI operation name, with the time in ms since the epoch), oldest first.
   */
  operations(): { operation: string; at: number }[] {
    return this.journal.map((entry) => ({ ...entry }));
  }

  /** The ME runs and the network lets it on: its ports answer. */
  private reachable(): boolean {
    return this.host.meAwake() && this.onNetwork();
  }

  /**
   * Whether the wired network lets the device on. With the OS running its supplicant answers the
   * port; otherwise AMT's own 802.1X settings must be enabled (Enabled 2) with a method and an
   * identity the network accepts — else the switch keeps the port closed, and the device cannot be
   * reached until the OS runs again (spec UPD4).
   */
  onNetwork(): boolean {
    const network = this.options.wiredNetwork8021x;
    if (!network || this.host.state === 'S0') return true;
    const d = this.state.ieee8021x;
    return (
      d.enabled === 2 &&
      network.protocols.includes(d.authenticationProtocol) &&
      (network.usernames === undefined || network.usernames.includes(d.username))
    );
  }

  /** AMT's clock now (the host's clock plus the firmware's offset). */
  clock(): Date {
    return this.now();
  }

  /**
   * The real-time clock drifts by `seconds` (a flat CMOS battery, months without power): what
   * SetHighAccuracyTimeSynch corrects.
   */
  async driftClock(seconds: number): Promise<void> {
    this.state.clockOffsetSeconds += seconds;
    await this.writer.save();
  }

  /**
   * Whether the firmware accepts a Kerberos ticket whose authenticator was made at `clientTime`:
   * like every Kerberos service, AMT refuses one more than 5 minutes from its own clock
   * (KRB_AP_ERR_SKEW, RFC 4120 §5.2.4's default skew; Intel's AMT SDK: "the Intel AMT clock must be
   * synchronised within 5 minutes of the KDC"). The emulator has no Kerberos on its ports: this is
   * the rule, for tests.
   */
  acceptsKerberosTicket(clientTime: Date): boolean {
    return Math.abs(clientTime.getTime() - this.now().getTime()) <= KERBEROS_MAX_SKEW_MS;
  }

  get helloRunning(): boolean {
    return this.hello.running;
  }

  // ---- MEI (host-side) operations: what the OS agent can do over HECI (reference §6.6) ----

  /** GET_LOCAL_SYSTEM_ACCOUNT: the `$$OsAdmin` credentials. */
  localSystemAccount(): { username: string; password: string } {
    return { ...this.state.localAccount };
  }

  /** SET_PROVISIONING_SERVER_OTP (pre-provisioning only). */
  async setProvisioningOtp(otp: string): Promise<void> {
    if (this.state.provisioning.state !== 0)
      throw new EmulatorError('AGENT_NOT_UNPROVISIONED', 'device is provisioned');
    this.state.provisioning.otp = otp;
    await this.writer.save();
  }

  /** START_CONFIGURATION: enable the network interface and remote configuration; hellos begin. */
  async startConfiguration(): Promise<void> {
    if (this.state.provisioning.state !== 0)
      throw new EmulatorError('AGENT_NOT_UNPROVISIONED', 'device is provisioned');
    this.state.provisioning.remoteConfigEnabled = true;
    this.state.provisioning.helloEnabled = true;
    this.state.general.amtNetworkEnabled = 1;
    await this.writer.save();
    this.hello.stop();
    this.hello.start();
  }

  /** MEI UNPROVISION: allowed for CCM only (ACM needs admin credentials over the network). */
  async localUnprovision(): Promise<boolean> {
    if (this.state.provisioning.controlMode !== 1) return false;
    unprovision(this.state, false);
    await this.writer.save();
    this.onProvisioningChanged();
    return true;
  }

  /** Power cycle: sessions, nonces and enumerations are lost; the ports refuse service for `ms`. */
  reboot(ms: number): void {
    this.network.powerCycle(ms);
    this.nonces.clear();
    this.enumerations.clear();
    this.redirection.dropSessions();
    this.hello.stop();
    if (this.rebootTimer) clearTimeout(this.rebootTimer);
    this.rebootTimer = setTimeout(() => {
      this.rebootTimer = null;
      this.hello.start();
    }, ms);
    this.rebootTimer.unref();
  }

  async stop(): Promise<void> {
    this.hello.stop();
    if (this.rebootTimer) clearTimeout(this.rebootTimer);
    await Promise.all([this.network.close(), this.redirection.close()]);
    await this.writer.flush();
  }

  // ---- network ----

  private async listen(): Promise<void> {
    this.httpPort = await this.network.listen(this.options.ports.http, (socket) =>
      this.serve(socket, { tls: false, session: null }),
    );
    this.tlsPort = await this.network.listen(this.options.ports.tls, (socket) => this.acceptTls(socket));
    await this.redirection.listen(this.options.ports.http === 0);
  }

  private acceptTls(raw: net.Socket): void {
    const mode = tlsModeFor(this.state);
    if (mode.kind === 'closed') {
      raw.destroy();
      return;
    }
    acceptTls(
      raw,
      {
        context: mode.context,
        keyPem: mode.keyPem,
        certPem: mode.certPem,
        requestCert: mode.kind === 'setup' || mode.mutual,
        secureRenegotiation: this.options.secureRenegotiation,
      },
      this.secured(mode),
    );
  }

  /** After the handshake: the client's certificate checks of this mode, then HTTP. */
  private secured(mode: Exclude<TlsMode, { kind: 'closed' }>) {
    return (socket: DeviceStream, chain: X509Certificate[]): void => {
      if (mode.kind === 'configured') {
        if (mode.mutual && !checkMutualClient(chain, this.state))
          return this.refuseTls(socket, 'mutual authentication failed');
        this.serve(socket, { tls: true, session: null });
        return;
      }
      const verdict = checkProvisioningChain(chain, this.state, this.now());
      if (!verdict.ok) return this.refuseTls(socket, verdict.reason);
      void this.enterInProvisioning(verdict).then(() =>
        this.serve(socket, {
          tls: true,
          session: { algorithm: verdict.algorithm, rootHash: verdict.rootHash, leafCn: verdict.leafCn },
        }),
      );
    };
  }

  /** The firmware refuses the provisioning server before any HTTP is answered. */
  private refuseTls(socket: DeviceStream, reason: string): void {
    this.options.log.info({ uuid: this.uuid, reason }, 'TLS client certificate rejected');
    socket.destroy();
  }

  /** A provisioning server authenticated by TLS-PKI moves the device to in-provisioning (§3.3). */
  private async enterInProvisioning(verdict: {
    algorithm: 'sha1' | 'sha256' | 'sha384';
    rootHash: string;
    leafCn: string;
  }) {
    const p = this.state.provisioning;
    if (p.state !== 0) return;
    p.state = 1;
    p.loginHa1 = ha1(this.state.admin.username, this.state.realm, this.state.mebx.password);
    p.record = {
      hashAlgorithm: verdict.algorithm,
      hash: verdict.rootHash,
      serverCertCn: verdict.leafCn,
      hostInitiated: false,
      createdAt: this.now().toISOString(),
    };
    this.hello.stop();
    await this.writer.save();
  }

  private serve(socket: DeviceStream, connection: Connection): void {
    serveHttp(socket, {
      handle: (request) => this.reply(request, connection),
      // The request just answered took the ME down (a power change): the connection goes with it.
      closeAfterReply: () => !this.reachable(),
      badRequest: (status) => this.plainError(status),
      log: this.options.log,
      uuid: this.uuid,
    });
  }

  // ---- HTTP ----

  private get serverHeader(): string {
    return `Intel(R) Active Management Technology ${this.state.amtVersion}.${this.state.build}`;
  }

  private now(): Date {
    return new Date(Date.now() + this.state.clockOffsetSeconds * 1000);
  }

  private ok(body: string, contentType: string): Reply {
    const headers: [string, string][] = [
      ['Date', this.now().toUTCString()],
      ['Server', this.serverHeader],
      ['X-Frame-Options', 'DENY'],
      ['Content-Type', contentType],
    ];
    return { bytes: formatResponse({ status: 200, headers, body, chunked: true }), close: false };
  }

  private soapError(status: 400 | 500, body: string, contentType: string): Reply {
    const headers: [string, string][] = [
      ['Date', this.now().toUTCString()],
      ['Server', this.serverHeader],
      ['X-Frame-Options', 'DENY'],
      ['Content-Type', contentType],
    ];
    return {
      bytes: formatResponse({ status, headers, body, chunked: true, after: [['Connection', 'close']] }),
      close: true,
    };
  }

  private wsmanFault(fault: WsmanFault, relatesTo: string | undefined): Reply {
    return this.soapError(
      400,
      faultEnvelope(fault, relatesTo, this.messageIds.next()),
      'application/soap+xml; charset=UTF-8',
    );
  }

  private unauthorized(): Reply {
    const headers: [string, string][] = [
      ['WWW-Authenticate', challenge(this.state.realm, this.nonces.issue())],
      ['Content-Type', 'text/html'],
      ['Server', this.serverHeader],
    ];
    const bytes = formatResponse({
      status: 401,
      headers,
      body: UNAUTHORIZED_HTML,
      chunked: false,
      after: [['Connection', 'close']],
    });
    return { bytes, close: true };
  }

  private plainError(status: number): Buffer {
    return formatResponse({
      status,
      headers: [
        ['Content-Type', 'text/html'],
        ['Server', this.serverHeader],
      ],
      body: `<html><head><title>${status}</title></head><body>${status}</body></html>\n`,
      chunked: false,
      after: [['Connection', 'close']],
    });
  }

  private async reply(req: HttpRequest, conn: Connection): Promise<Reply> {
    // A request on a connection kept open from before the ME lost power (or its network): nothing
    // runs to answer it, the connection just dies.
    if (!this.reachable()) return { drop: true };
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
    const path = req.target.split('?')[0]!;
    const eoiService = isLegacy(this.state.amtVersion) ? EOI_SERVICES.find((s) => path === `/${s}Service`) : undefined;
    if (path === '/wsman' || eoiService) {
      if (req.method !== 'POST') return { bytes: this.plainError(405), close: true };
      if (!eoiService && isIdentifyRequest(req.body))
        return this.ok(identifyResponse(this.state, conn.tls), 'application/soap+xml; charset=UTF-8');
      const auth = this.authenticate(req, conn);
      if (!auth) return this.unauthorized();
      return eoiService ? this.eoi(eoiService, req, auth, conn) : this.wsman(req, auth, conn);
    }
    if (path === '/' || path === '/index.htm' || path === '/logon.htm') {
      if (req.method !== 'GET') return { bytes: this.plainError(405), close: true };
      if (!this.state.general.webUiEnabled || this.state.provisioning.state !== 2)
        return { bytes: this.plainError(404), close: true };
      if (!this.authenticate(req, conn)) return this.unauthorized();
      return this.ok(
        `<html><head><title>Intel&reg; Active Management Technology</title></head><body>${this.state.general.hostName}</body></html>`,
        'text/html',
      );
    }
    return { bytes: this.plainError(404), close: true };
  }

  /** Digest check against the accounts valid in the current state (reference §1.3, §9.3). */
  private authenticate(req: HttpRequest, conn: Connection): AuthContext | null {
    const creds = parseAuthorization(req.headers.get('authorization'));
    const n = this.state;
    if (!creds || creds.realm !== n.realm) return null;
    const candidates: { ha1: string; auth: AuthContext }[] = [];
    if (creds.username === n.localAccount.username) {
      candidates.push({
        ha1: ha1(creds.username, n.realm, n.localAccount.password),
        auth: { username: creds.username, kind: 'local', realms: 'all' },
      });
    } else if (n.provisioning.state === 1 && conn.session && creds.username === n.admin.username) {
      // In-provisioning over TLS-PKI: the admin account with the MEBx password it had when the
      // session began (a SetMEBxPassword mid-session must not lock the server out), or the
      // password the provisioning server already set.
      const admin: AuthContext = { username: creds.username, kind: 'admin', realms: 'all' };
      if (n.provisioning.loginHa1) candidates.push({ ha1: n.provisioning.loginHa1, auth: admin });
      if (n.admin.ha1) candidates.push({ ha1: n.admin.ha1, auth: admin });
    } else if (n.provisioning.state === 2) {
      if (creds.username === n.admin.username && n.admin.ha1) {
        candidates.push({ ha1: n.admin.ha1, auth: { username: creds.username, kind: 'admin', realms: 'all' } });
      }
      for (const u of n.users) {
        if (u.enabled && u.username === creds.username && u.ha1 && u.accessPermission !== 0) {
          candidates.push({ ha1: u.ha1, auth: { username: creds.username, kind: 'user', realms: u.realms } });
        }
      }
    }
    const match = candidates.find((c) => verifyResponse(creds, req.method, c.ha1));
    if (!match || !this.nonces.use(creds.nonce, creds.cnonce ?? '', creds.nc ?? '')) return null;
    return match.auth;
  }

  private firmwareContext(auth: AuthContext, conn: Connection): FirmwareContext {
    return {
      nvram: this.state,
      auth,
      session: conn.session,
      now: () => this.now(),
      drawKey: () => this.options.keyPool.draw(),
      signal: (event) => this.onSignal(event),
      host: this.host,
    };
  }

  private onSignal(event: FirmwareEvent): void {
    if (event.kind === 'extend-provisioning-period') this.hello.extend(event.hours);
    else this.onProvisioningChanged();
  }

  private onProvisioningChanged(): void {
    if (inSetupMode(this.state)) this.hello.start();
    else this.hello.stop();
  }

  /**
   * Runs a firmware operation under the injected faults, persisting NVRAM before answering.
   * `run` is synchronous, so a lost-write snapshot cannot swallow a concurrent request's change.
   */
  private async withFaults(
    operation: string,
    mutating: boolean,
    busy: () => Reply,
    run: () => Reply,
    hostile?: (fault: HostileFault) => Reply,
  ): Promise<Reply> {
    this.journal.push({ operation, at: Date.now() });
    if (this.journal.length > JOURNAL_SIZE) this.journal.shift();
    const injected = this.options.faults.take(this.uuid, operation);
    const find = <K extends Fault['kind']>(kind: K) =>
      injected.find((f): f is Extract<Fault, { kind: K }> => f.kind === kind);
    const bad = injected.find((f): f is HostileFault => HOSTILE_KINDS.includes(f.kind));
    if (bad && hostile) return hostile(bad);
    const delay = find('delay');
    if (delay) await sleep(delay.ms);
    if (find('drop')) return { drop: true };
    if (find('http500')) return { bytes: this.plainError(500), close: true };
    if (find('busy')) return busy();
    const reboot = find('rebootDuringCommit');
    if (reboot && !reboot.applied) {
      this.reboot(reboot.rebootMs);
      return { drop: true };
    }
    const before = find('lostWrite') ? structuredClone(this.state) : null;
    const reply = run();
    if (before) this.state = before;
    else if (mutating) await this.writer.save();
    if (reboot) {
      this.reboot(reboot.rebootMs);
      return { drop: true };
    }
    return reply;
  }

  private async wsman(req: HttpRequest, auth: AuthContext, conn: Connection): Promise<Reply> {
    let request;
    try {
      request = parseEnvelope(parseXml(req.body.toString('utf8')));
    } catch (err) {
      if (err instanceof WsmanFault) return this.wsmanFault(err, undefined);
      if (err instanceof XmlInputError) return this.wsmanFault(wsmanFaults.schemaValidation(), undefined);
      throw err;
    }
    const operation = request.action.slice(request.action.lastIndexOf('/') + 1);
    return this.withFaults(
      operation,
      !READ_ONLY_OPERATIONS.has(operation),
      () => this.wsmanFault(wsmanFaults.quotaLimit(), request.messageId),
      () => {
        try {
          const body = dispatch(request, this.firmwareContext(auth, conn), {
            classes: CLASSES,
            enumerations: this.enumerations,
            nextMessageId: () => this.messageIds.next(),
          });
          return this.ok(body, 'application/soap+xml; charset=UTF-8');
        } catch (err) {
          if (err instanceof WsmanFault) return this.wsmanFault(err, request.messageId);
          this.options.log.error({ uuid: this.uuid, err }, 'WS-Man handler failed');
          return this.wsmanFault(wsmanFaults.internalError(), request.messageId);
        }
      },
      (fault) => this.hostileWsman(fault, request),
    );
  }

  /** What a hostile or broken device answers instead of the firmware (issue 12 §4). */
  private hostileWsman(fault: HostileFault, request: WsmanRequest): Reply {
    const base = { relatesTo: request.messageId, messageId: this.messageIds.next(), resourceUri: request.resourceUri };
    if (fault.kind === 'hugeFaultReason') {
      const reason = 'The service cannot comply. '.padEnd(fault.bytes, 'x');
      return this.wsmanFault(
        new WsmanFault('a:Receiver', 'e:InternalError', reason, wsmanFaults.internalError().action),
        request.messageId,
      );
    }
    const className = request.resourceUri.slice(request.resourceUri.lastIndexOf('/') + 1);
    if (fault.kind === 'endlessPull') {
      const item = `<h:${className}><h:InstanceID>${'x'.repeat(fault.itemBytes)}</h:InstanceID></h:${className}>`;
      // The context pulled stays in its firmware slot under the new name, so a client that gives
      // up must release the last one it was handed; one the firmware does not know gets a made-up name.
      const pulled = childText(request.body, 'EnumerationContext') ?? '';
      const context =
        this.enumerations.renew(pulled, className) ?? `${this.messageIds.next().slice(-8)}-0000-0000-0000-000000000000`;
      const body = `<g:PullResponse><g:Items>${item.repeat(fault.itemsPerPull)}</g:Items><g:EnumerationContext>${context}</g:EnumerationContext></g:PullResponse>`;
      return this.ok(
        envelope({ ...base, action: `${request.action}Response`, g: NS.enumeration, h: request.resourceUri, body }),
        'application/soap+xml; charset=UTF-8',
      );
    }
    const start = Math.max(1, Number(childText(request.body, 'StartIndex') ?? '1') || 1);
    const handles = Array.from({ length: 50 }, (_, i) => start + i);
    const body = outputXml(
      'g',
      'EnumerateUserAclEntries',
      { TotalCount: fault.totalCount, HandlesCount: handles.length, Handles: handles },
      0,
    );
    return this.ok(
      envelope({ ...base, action: `${request.action}Response`, g: request.resourceUri, body }),
      'application/soap+xml; charset=UTF-8',
    );
  }

  private async eoi(service: EoiService, req: HttpRequest, auth: AuthContext, conn: Connection): Promise<Reply> {
    const contentType = 'text/xml; charset=utf-8';
    let root;
    try {
      root = parseXml(req.body.toString('utf8'));
    } catch {
      return this.soapError(500, eoiFaultEnvelope('Client', 'Malformed SOAP request'), contentType);
    }
    const operation = eoiOperation(root) ?? '';
    return this.withFaults(
      operation,
      !/^Get/.test(operation),
      () => this.ok(eoiBusy(service, operation), contentType),
      () => {
        try {
          return this.ok(handleEoi(service, root, this.firmwareContext(auth, conn)), contentType);
        } catch (err) {
          if (err instanceof EoiFault) return this.soapError(500, eoiFaultEnvelope('Client', err.message), contentType);
          this.options.log.error({ uuid: this.uuid, err }, 'EOI handler failed');
          return this.soapError(500, eoiFaultEnvelope('Server', 'Internal error'), contentType);
        }
      },
    );
  }
}
