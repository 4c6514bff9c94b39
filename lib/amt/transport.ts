import { createHash, constants as cryptoConstants } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { currentAmtCancellation } from './cancellation';
import { AmtCancelledError, AmtConnectionError, AmtError, AmtLimitError, AmtTimeoutError, AmtTlsError } from './errors';

/**
 * HTTP exchanges with an AMT device. A connection (TCP, and TLS with every certificate check,
 * pinning included) is completed before a single request byte is written, so a failure in that
 * phase is certainly `not-delivered`; anything that goes wrong after is `unknown` — except a TLS
 * alert on a fresh connection, which means the device tore the session down at the TLS layer and
 * never handed the request to the application. `postOnce` uses a fresh connection for one request;
 * a `DeviceConnection` keeps the device's connection open between the requests of one client when
 * the device allows it (HTTP/1.1 persistent connections), and opens — and checks — a new one when not.
 */

export const AMT_HTTP_PORT = 16992;
export const AMT_TLS_PORT = 16993;

/** Remote configuration (spec OOB3): our provisioning chain as client certificate; the device's
 *  pre-provisioning certificate is self-signed and cannot be verified, only optionally pinned. */
export interface ProvisioningTls {
  mode: 'provisioning';
  /** PEM: the provisioning certificate followed by its chain up to the root. */
  clientCertificateChainPem: string;
  clientKeyPem: string;
  /**
   * SHA-256 fingerprint(s) of the certificate the device may present (hex, colons optional);
   * checked when given: any other is TLS_PIN_MISMATCH before anything is sent.
   */
  pinnedServerSha256?: string | readonly string[];
  /** Allow TLS 1.0/1.1 and the old RSA ciphers AMT before 12 needs. */
  legacyProtocols?: boolean;
}

/** After stage one: the device presents the certificate amtflow's CA issued for its FQDN. */
export interface VerifiedTls {
  mode: 'verified';
  /** PEM of amtflow's CA certificate(s). */
  caPem: string;
  /** The device FQDN its certificate is issued for; also sent as SNI. */
  serverName: string;
  /** Client certificate when the device requires mutual authentication. */
  clientCertificateChainPem?: string;
  clientKeyPem?: string;
  legacyProtocols?: boolean;
  /**
   * Serials (hex, any case, colons optional) of certificates amtflow's CA revoked: a device
   * presenting one is refused before anything is sent (TLS_SERVER_REVOKED), though it chains to the CA.
   */
  refusedSerials?: readonly string[];
}

export type AmtTlsOptions = ProvisioningTls | VerifiedTls;

export interface AmtEndpoint {
  /** Address to connect to (IP or DNS name). */
  host: string;
  /** Default 16993 with TLS, 16992 without. */
  port?: number;
  tls?: AmtTlsOptions;
}

export interface AmtTimeouts {
  /** TCP connect plus TLS handshake. */
  connectMs: number;
  /** From the first request byte to the last response byte. */
  responseMs: number;
}

export interface HttpRequest {
  path: string;
  headers: Readonly<Record<string, string>>;
  body: string;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header name/value pairs as received, for headers a server may repeat (WWW-Authenticate). */
  rawHeaders: readonly string[];
  body: string;
}

/** No AMT answer comes near this; a device that sends more is cut off (RESPONSE_TOO_LARGE). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export function endpointPort(endpoint: AmtEndpoint): number {
  return endpoint.port ?? (endpoint.tls ? AMT_TLS_PORT : AMT_HTTP_PORT);
}

export function endpointLabel(endpoint: AmtEndpoint): string {
  return `${endpoint.tls ? 'https' : 'http'}://${endpoint.host}:${endpointPort(endpoint)}`;
}

/** Throws TypeError for a configuration that can never work, before anything is sent. */
export function validateEndpoint(endpoint: AmtEndpoint): void {
  if (endpoint.tls?.mode === 'verified' && net.isIP(endpoint.tls.serverName) !== 0) {
    throw new TypeError('verified TLS needs the device FQDN as serverName, not an IP address');
  }
}

function normaliseFingerprint(value: string): string {
  return value.replace(/:/g, '').toLowerCase();
}

/** Serials compared as numbers: OpenSSL prints `0A1B…`, the CA stores `a1b…`. */
function normaliseSerial(value: string): string {
  return value
    .replace(/[:\s]/g, '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
}

/** Why the presented certificate is refused after a completed handshake; undefined when it is not. */
function refusal(socket: tls.TLSSocket, options: AmtTlsOptions, target: string): AmtTlsError | undefined {
  // The X509Certificate computes only the field asked for; getPeerCertificate() would build every
  // field and three fingerprints on each connection (docs/benchmarks.md, "Profile and tuning").
  const certificate = socket.getPeerX509Certificate();
  if (options.mode === 'provisioning') {
    const pins = options.pinnedServerSha256;
    const seen = normaliseFingerprint(certificate?.fingerprint256 ?? '');
    if (pins !== undefined && ![pins].flat().some((pin) => normaliseFingerprint(pin) === seen)) {
      return new AmtTlsError('TLS_PIN_MISMATCH', `${target}: device certificate does not match the pinned fingerprint`);
    }
    return undefined;
  }
  const serial = normaliseSerial(certificate?.serialNumber ?? '');
  if (options.refusedSerials?.some((refused) => normaliseSerial(refused) === serial)) {
    return new AmtTlsError(
      'TLS_SERVER_REVOKED',
      `${target}: device presented certificate ${serial}, which amtflow revoked`,
    );
  }
  return undefined;
}

function presentsClientCertificate(options: AmtTlsOptions): boolean {
  return options.mode === 'provisioning' || options.clientCertificateChainPem !== undefined;
}

/**
 * OpenSSL options for every TLS connection to AMT, and only to AMT: SSL_OP_LEGACY_SERVER_CONNECT
 * lets the handshake complete with firmware that predates RFC 5746 (no renegotiation_info in its
 * ServerHello). OpenSSL 3 — Node 17 and later — refuses such servers by default with "unsafe
 * legacy renegotiation disabled"; MeshCentral (PR #4766) and MeshCommander set the same option for
 * the same devices. It does not allow an insecure renegotiation, only the first handshake.
 */
export const AMT_TLS_SECURE_OPTIONS = cryptoConstants.SSL_OP_LEGACY_SERVER_CONNECT;

/**
 * Protocol settings every TLS connection to AMT shares (the transport's and any raw handshake with
 * a device): legacy servers allowed, and TLS 1.0/1.1 with the old RSA suites when the firmware
 * needs them (AMT before 12).
 */
export function amtTlsProtocolOptions(legacyProtocols: boolean | undefined): tls.ConnectionOptions {
  return {
    secureOptions: AMT_TLS_SECURE_OPTIONS,
    ...(legacyProtocols ? { minVersion: 'TLSv1' as const, ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
  };
}

/**
 * Secure contexts (the parsed client certificate chain and key, the trusted CA, the protocol and
 * cipher settings) by what they are made of, most recently used last. Building one parses the PEM
 * key and chain: before this cache that was a fifth of a worker's CPU time, once per WS-Man request
 * (docs/benchmarks.md, "Profile and tuning"). Every device of a fleet shares the same few (one
 * provisioning chain, one CA), so a small bound suffices; what is checked per connection — the
 * pinned fingerprint, the revoked serials, the server name — stays in `tlsConnectOptions` and
 * `refusal`. Keyed by a digest, so no key PEM is held as a map key.
 */
const SECURE_CONTEXT_CACHE_SIZE = 16;
const secureContexts = new Map<string, tls.SecureContext>();

export function cachedSecureContext(options: tls.SecureContextOptions): tls.SecureContext {
  const id = createHash('sha256').update(JSON.stringify(options)).digest('hex');
  const cached = secureContexts.get(id);
  if (cached) {
    secureContexts.delete(id);
    secureContexts.set(id, cached);
    return cached;
  }
  const context = tls.createSecureContext(options);
  secureContexts.set(id, context);
  if (secureContexts.size > SECURE_CONTEXT_CACHE_SIZE)
    secureContexts.delete(secureContexts.keys().next().value as string);
  return context;
}

function tlsConnectOptions(endpoint: AmtEndpoint, options: AmtTlsOptions): tls.ConnectionOptions {
  // With a client certificate, stay at TLS 1.2: there the server accepts or refuses the certificate
  // before its Finished, so a completed handshake proves acceptance before any request byte is
  // sent. TLS 1.3 reports a refusal only after the client has finished and written its request.
  const clientAuth = presentsClientCertificate(options) ? { maxVersion: 'TLSv1.2' as const } : {};
  const protocol = { ...amtTlsProtocolOptions(options.legacyProtocols), ...clientAuth };
  const base = { host: endpoint.host, port: endpointPort(endpoint) };
  if (options.mode === 'provisioning') {
    return {
      ...base,
      secureContext: cachedSecureContext({
        ...protocol,
        cert: options.clientCertificateChainPem,
        key: options.clientKeyPem,
      }),
      rejectUnauthorized: false,
      ...(net.isIP(endpoint.host) === 0 ? { servername: endpoint.host } : {}),
    };
  }
  const { serverName } = options;
  return {
    ...base,
    secureContext: cachedSecureContext({
      ...protocol,
      ca: options.caPem,
      ...(options.clientCertificateChainPem ? { cert: options.clientCertificateChainPem } : {}),
      ...(options.clientKeyPem ? { key: options.clientKeyPem } : {}),
    }),
    rejectUnauthorized: true,
    servername: serverName,
    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(serverName, cert),
  };
}

const errorCode = (err: unknown): string =>
  typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';

const isTlsAlert = (code: string): boolean => /^ERR_SSL_.*ALERT/.test(code);

const SERVER_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);

/** OpenSSL's own words for a failure (`unsafe legacy renegotiation disabled`), else Node's code. */
function opensslReason(err: unknown, code: string): string {
  const reason = typeof err === 'object' && err !== null && 'reason' in err ? (err as { reason: unknown }).reason : '';
  return typeof reason === 'string' && reason !== '' ? `${reason} (${code})` : code;
}

/**
 * A TLS handshake that failed, as what it is. The device ended it — a TLS alert from the device,
 * or the connection dropped mid-handshake, as AMT does when it refuses a client certificate — is
 * TLS_HANDSHAKE_REJECTED; our side gave up — no common protocol or cipher, a server without RFC
 * 5746 — is TLS_HANDSHAKE_FAILED. Both name OpenSSL's reason, and in both nothing was sent.
 * `undefined` when `err` is not a TLS failure.
 */
export function tlsHandshakeError(err: unknown, target: string): AmtTlsError | undefined {
  const code = errorCode(err);
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new AmtTlsError(
      'TLS_HANDSHAKE_REJECTED',
      `${target}: device closed the connection during the TLS handshake`,
      err,
    );
  }
  if (isTlsAlert(code)) {
    return new AmtTlsError(
      'TLS_HANDSHAKE_REJECTED',
      `${target}: device refused the TLS handshake: ${opensslReason(err, code)}`,
      err,
    );
  }
  if (code.startsWith('ERR_SSL_')) {
    return new AmtTlsError('TLS_HANDSHAKE_FAILED', `${target}: TLS handshake failed: ${opensslReason(err, code)}`, err);
  }
  return undefined;
}

/** Errors before the connection was ready: nothing was sent. */
function connectError(err: unknown, target: string, duringTlsHandshake: boolean): AmtError {
  if (err instanceof AmtError) return err;
  const code = errorCode(err);
  const reason = err instanceof Error ? err.message : String(err);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new AmtTlsError('TLS_SERVER_NAME_MISMATCH', `${target}: device certificate does not name the FQDN`, err);
  }
  if (SERVER_CERT_CODES.has(code)) {
    return new AmtTlsError('TLS_SERVER_UNTRUSTED', `${target}: device certificate not trusted (${code})`, err);
  }
  // AMT (like OpenSSL servers) may just drop the connection when it refuses our certificate.
  const tlsFailure = duringTlsHandshake || code.startsWith('ERR_SSL_') ? tlsHandshakeError(err, target) : undefined;
  if (tlsFailure) return tlsFailure;
  const network: Record<string, string> = {
    ECONNREFUSED: 'CONNECTION_REFUSED',
    EHOSTUNREACH: 'HOST_UNREACHABLE',
    ENETUNREACH: 'HOST_UNREACHABLE',
    ENOTFOUND: 'HOST_NOT_FOUND',
    EAI_AGAIN: 'HOST_NOT_FOUND',
    ECONNRESET: 'CONNECTION_RESET',
  };
  return new AmtConnectionError(
    network[code] ?? 'CONNECTION_FAILED',
    `${target}: connection failed (${code || reason})`,
    'not-delivered',
    {
      transient: true,
      cause: err,
    },
  );
}

/**
 * Errors after request bytes may have been written: the outcome is unknown. A TLS alert on a fresh
 * connection is the handshake's refusal (TLS 1.3 reports it after the client's first write); on a
 * reused connection the handshake was over long before, so an alert there says nothing about the
 * request.
 */
function exchangeError(err: unknown, target: string, reused: boolean): AmtError {
  if (err instanceof AmtError) return err;
  const code = errorCode(err);
  if (isTlsAlert(code) && !reused) {
    return new AmtTlsError(
      'TLS_HANDSHAKE_REJECTED',
      `${target}: device rejected the TLS session: ${opensslReason(err, code)}`,
      err,
    );
  }
  const malformed = code.startsWith('HPE_');
  return new AmtConnectionError(
    malformed ? 'MALFORMED_HTTP' : 'CONNECTION_RESET',
    `${target}: connection lost before the response was complete (${code || 'closed'})`,
    'unknown',
    { transient: true, cause: err },
  );
}

/** Opens the connection (TCP, or TLS with every check done) within `timeoutMs`; typed errors, nothing sent. */
export function connect(endpoint: AmtEndpoint, timeoutMs: number, target: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const options = endpoint.tls;
    const socket = options
      ? tls.connect(tlsConnectOptions(endpoint, options))
      : net.connect({ host: endpoint.host, port: endpointPort(endpoint) });
    let settled = false;
    const settle = (err?: AmtError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const timer = setTimeout(() => settle(new AmtTimeoutError('connect', timeoutMs, target)), timeoutMs);
    let tcpConnected = false;
    socket.once('connect', () => (tcpConnected = true));
    // Stays attached: errors after `settled` belong to the exchange, which has its own listener.
    socket.on('error', (err) => settle(connectError(err, target, options !== undefined && tcpConnected)));
    if (!options) {
      socket.once('connect', () => settle());
      return;
    }
    socket.once('secureConnect', () => settle(refusal(socket as tls.TLSSocket, options, target)));
  });
}

interface Exchanged {
  response: HttpResponse;
  /** The device left the connection open for another request (HTTP/1.1 keep-alive, answer read in full). */
  reusable: boolean;
}

/**
 * One request and its whole response on `socket`. The socket is destroyed on any failure and after
 * an answer that closes the connection; otherwise it is left to the caller, free for the next
 * request.
 */
function exchange(
  socket: net.Socket,
  endpoint: AmtEndpoint,
  request: HttpRequest,
  timeoutMs: number,
  target: string,
  signal: AbortSignal | undefined,
  connection: { reused: boolean; keepAlive: boolean },
): Promise<Exchanged> {
  const { reused } = connection;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (result: Exchanged | AmtError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
      if (result instanceof AmtError || !result.reusable) socket.destroy();
      if (result instanceof AmtError) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => settle(new AmtTimeoutError('response', timeoutMs, target)), timeoutMs);
    const cancel = () => settle(new AmtCancelledError(target, 'unknown'));
    signal?.addEventListener('abort', cancel, { once: true });
    const body = Buffer.from(request.body, 'utf8');
    const req = http.request({
      createConnection: () => socket,
      method: 'POST',
      path: request.path,
      headers: {
        Host: `${endpoint.host}:${endpointPort(endpoint)}`,
        ...request.headers,
        'Content-Length': String(body.length),
        // Without it (and without an Agent) Node's client asks for `Connection: close`.
        ...(connection.keepAlive ? { Connection: 'keep-alive' } : {}),
      },
    });
    req.on('error', (err) => settle(exchangeError(err, target, reused)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          settle(
            new AmtLimitError('RESPONSE_TOO_LARGE', `${target}: response larger than ${MAX_RESPONSE_BYTES} bytes`),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => settle(exchangeError(err, target, reused)));
      res.on('close', () => {
        if (!res.complete)
          settle(exchangeError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), target, reused));
      });
      res.on('end', () => {
        const response = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        // False when the device answered `Connection: close` (AMT does on 401 and 400) or HTTP/1.0.
        if (!req.shouldKeepAlive) {
          settle({ response, reusable: false });
          return;
        }
        // Node's HTTP client lets go of a kept-alive socket on the next tick (`free`); only then may
        // another request use it. A tick always runs before the next `setImmediate`.
        let freed = false;
        const onFree = () => (freed = true);
        socket.once('free', onFree);
        setImmediate(() => {
          socket.off('free', onFree);
          settle({ response, reusable: freed && !socket.destroyed });
        });
      });
    });
    req.end(body);
  });
}

/** Connects, sends one POST and reads the whole response, within the given timeouts; the connection is closed after. */
export async function postOnce(
  endpoint: AmtEndpoint,
  timeouts: AmtTimeouts,
  request: HttpRequest,
): Promise<HttpResponse> {
  const target = endpointLabel(endpoint);
  const signal = currentAmtCancellation();
  if (signal?.aborted) throw new AmtCancelledError(target, 'not-delivered');
  const socket = await connect(endpoint, timeouts.connectMs, target);
  if (signal?.aborted) {
    socket.destroy();
    throw new AmtCancelledError(target, 'not-delivered');
  }
  const { response } = await exchange(socket, endpoint, request, timeouts.responseMs, target, signal, {
    reused: false,
    keepAlive: false,
  });
  socket.destroy();
  return response;
}

/**
 * How long an open connection waits for its client's next request before it is closed. The
 * requests of one step follow each other within milliseconds; a short wait keeps far inside any
 * firmware's own idle timeout (the emulator's is a minute), so the device practically never closes
 * a connection just as a request goes out on it — which would make that request's outcome
 * `unknown` where a fresh connection's refusal is `not-delivered`.
 */
export const IDLE_CONNECTION_MS = 1_000;

interface IdleSocket {
  socket: net.Socket;
  /** Stops watching it: the idle timer and the listeners that close it. */
  drop: () => void;
}

/**
 * The connection to one device that one client (lib/amt/http-client.ts: one per step's session)
 * keeps between its requests, one request at a time. Each new connection is opened by `connect`,
 * with every check of the endpoint's TLS settings (pin, CA and server name, revoked serials), before
 * a request byte is written; a connection is only reused by the same `DeviceConnection`, so under
 * the same settings. Reused only when the device kept it open (AMT closes after a 401 or a 400), it
 * is still open, and within IDLE_CONNECTION_MS of the last answer; it never keeps the process alive.
 * Before this, every WS-Man request paid a TCP and TLS handshake on both ends (docs/benchmarks.md,
 * "Profile and tuning"). Caller-side serialisation is the client's: `post` must not be called again
 * before the previous call settled.
 */
export class DeviceConnection {
  readonly #endpoint: AmtEndpoint;
  readonly #target: string;
  #idle: IdleSocket | undefined;

  constructor(endpoint: AmtEndpoint) {
    this.#endpoint = endpoint;
    this.#target = endpointLabel(endpoint);
  }

  async post(timeouts: AmtTimeouts, request: HttpRequest): Promise<HttpResponse> {
    const signal = currentAmtCancellation();
    if (signal?.aborted) throw new AmtCancelledError(this.#target, 'not-delivered');
    const idle = this.#takeIdle();
    const socket = idle ?? (await connect(this.#endpoint, timeouts.connectMs, this.#target));
    if (signal?.aborted) {
      socket.destroy();
      throw new AmtCancelledError(this.#target, 'not-delivered');
    }
    const { response, reusable } = await exchange(
      socket,
      this.#endpoint,
      request,
      timeouts.responseMs,
      this.#target,
      signal,
      { reused: idle !== undefined, keepAlive: true },
    );
    if (reusable) this.#park(socket);
    return response;
  }

  /** Closes the open connection, if any. */
  close(): void {
    this.#takeIdle()?.destroy();
  }

  /** The parked socket when it can carry a request now; any other is closed. */
  #takeIdle(): net.Socket | undefined {
    const idle = this.#idle;
    if (!idle) return undefined;
    this.#idle = undefined;
    idle.drop();
    const { socket } = idle;
    if (socket.destroyed || !socket.writable || socket.readableEnded) {
      socket.destroy();
      return undefined;
    }
    socket.ref();
    return socket;
  }

  #park(socket: net.Socket): void {
    this.#takeIdle()?.destroy();
    const closed = () => {
      if (this.#idle?.socket === socket) this.#idle = undefined;
      socket.destroy();
    };
    const timer = setTimeout(closed, IDLE_CONNECTION_MS).unref();
    socket.once('end', closed).once('close', closed).once('error', closed);
    socket.unref();
    this.#idle = {
      socket,
      drop: () => {
        clearTimeout(timer);
        socket.off('end', closed).off('close', closed).off('error', closed);
      },
    };
  }
}

/** Values of a header that may appear several times, one per line as sent. */
export function headerValues(response: HttpResponse, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
    if (response.rawHeaders[i]?.toLowerCase() === name) values.push(response.rawHeaders[i + 1] ?? '');
  }
  return values;
}
