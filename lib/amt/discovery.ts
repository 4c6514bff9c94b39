import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { versionFromServerHeader } from './session';
import { AMT_HTTP_PORT, AMT_TLS_PORT } from './transport';
import { createSoapParser, pathOf, textOf } from './xml';

/**
 * Discovery without credentials (spec OPS1; console reference §4): one WS-Management Identify
 * (DSP0226 §11, which a service may answer unauthenticated) to 16992 and to 16993 at once, each
 * under its own deadline. AMT shows itself in the HTTP `Server` header
 * (`Intel(R) Active Management Technology 11.8.50.3425`; MeshCentral's scanner reads the version
 * from it) and in the Identify answer (`ProductVendor` Intel, `ProductVersion` `AMT 11.8`, MAAS
 * fixture). What unauthenticated answers say about provisioning is little [inferred]:
 *
 * - `unprovisioned`: 16993 speaks TLS but drops a client without a certificate before any HTTP —
 *   remote configuration's setup mode, where the firmware waits for a provisioning certificate
 *   (spec OOB3). TLS with mutual authentication looks the same; amtflow never configures it, so
 *   such a device was provisioned elsewhere, which only credentials can tell;
 * - `provisioned`: 16993 answers HTTP over TLS — TLS is configured, which only provisioning does;
 * - `unknown`: 16993 is closed (provisioned without TLS, or unprovisioned outside setup mode).
 *
 * Only stored credentials tell more (the discovery flow reads the state with them).
 */

export interface DiscoveryTarget {
  host: string;
  /** Default 16992. */
  httpPort?: number;
  /** Default 16993. */
  tlsPort?: number;
}

export interface DiscoveryOptions {
  /** Deadline of each port's probe, connect to last byte. */
  timeoutMs: number;
}

export type PortProbe =
  | { port: number; answered: false; reason: 'refused' | 'reset' | 'timeout' | 'unreachable' }
  | {
      port: number;
      answered: true;
      /** HTTP status of the unauthenticated Identify; null when a TLS server refused us before HTTP. */
      status: number | null;
      server: string | undefined;
      identify: { vendor: string; version: string } | undefined;
      /** TLS only, when the handshake completed: the peer certificate's subject and whether it signed itself. */
      certificate?: { subject: string; selfSigned: boolean };
    };

export interface DiscoveryResult {
  host: string;
  /** `no-answer`: neither port answered; `not-amt`: something answered, but not AMT. */
  classification: 'no-answer' | 'not-amt' | 'amt';
  /** `11.8.50.3425` from the Server header, else `11.8` from Identify. */
  amtVersion: string | undefined;
  provisioning: 'unprovisioned' | 'provisioned' | 'unknown' | undefined;
  http: PortProbe;
  tls: PortProbe;
}

const IDENTIFY =
  '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ' +
  'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>';
/** A discovery answer is small; a peer sending more is not AMT answering Identify. */
const MAX_BODY = 64 * 1024;
const parser = createSoapParser(new Set());
/** Some 11.x releases send only `AMT` as Server (nmap#876 review). */
const AMT_SERVER = /^(Intel\(R\) Active Management Technology\b|AMT\b)/;

/** Probes one address on both ports in parallel; never rejects. */
export async function discoverAmt(target: DiscoveryTarget, options: DiscoveryOptions): Promise<DiscoveryResult> {
  const [plain, secure] = await Promise.all([
    probePort(target.host, target.httpPort ?? AMT_HTTP_PORT, false, options.timeoutMs),
    probePort(target.host, target.tlsPort ?? AMT_TLS_PORT, true, options.timeoutMs),
  ]);
  const answered = [plain, secure].filter((p) => p.answered);
  const amt = answered.some(
    (p) =>
      AMT_SERVER.test(p.server ?? '') ||
      (/^Intel/i.test(p.identify?.vendor ?? '') && /^AMT\b/.test(p.identify?.version ?? '')),
  );
  const version =
    answered.map((p) => versionFromServerHeader(p.server)).find((v) => v !== undefined) ??
    answered.map((p) => /^AMT\s+(\d+\.\d+)/.exec(p.identify?.version ?? '')?.[1]).find((v) => v !== undefined);
  return {
    host: target.host,
    classification: amt ? 'amt' : answered.length ? 'not-amt' : 'no-answer',
    amtVersion: amt ? version : undefined,
    provisioning: amt ? provisioningFrom(secure) : undefined,
    http: plain,
    tls: secure,
  };
}

/** Probes many addresses with at most `concurrency` in flight; results in input order, each as it completes to `onResult`. */
export async function discoverAll(
  targets: readonly DiscoveryTarget[],
  options: DiscoveryOptions & { concurrency: number; onResult?: (result: DiscoveryResult) => void },
): Promise<DiscoveryResult[]> {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1)
    throw new TypeError('discovery concurrency must be a positive integer');
  const results: DiscoveryResult[] = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < targets.length; i = next++) {
      results[i] = await discoverAmt(targets[i]!, options);
      options.onResult?.(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, targets.length) }, worker));
  return results;
}

function provisioningFrom(tls: PortProbe): DiscoveryResult['provisioning'] {
  if (!tls.answered) return 'unknown';
  return tls.status === null ? 'unprovisioned' : 'provisioned';
}

/** One unauthenticated Identify on one port under one deadline. */
function probePort(host: string, port: number, overTls: boolean, timeoutMs: number): Promise<PortProbe> {
  return new Promise((resolve) => {
    let certificate: { subject: string; selfSigned: boolean } | undefined;
    /** Key material was derived: the peer answered the ClientHello as a TLS server. */
    let spokeTls = false;
    let settled = false;
    const settle = (probe: PortProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(probe);
    };
    const timer = setTimeout(() => settle({ port, answered: false, reason: 'timeout' }), timeoutMs);
    const common = {
      host,
      port,
      method: 'POST',
      path: '/wsman',
      agent: false as const,
      headers: { 'Content-Type': 'application/soap+xml; charset=utf-8', 'Content-Length': Buffer.byteLength(IDENTIFY) },
    };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY) chunks.push(chunk);
      });
      res.on('end', () => {
        const server = typeof res.headers.server === 'string' ? res.headers.server : undefined;
        const identify = res.statusCode === 200 ? parseIdentify(Buffer.concat(chunks).toString('utf8')) : undefined;
        settle({
          port,
          answered: true,
          status: res.statusCode ?? 0,
          server,
          identify,
          ...(certificate ? { certificate } : {}),
        });
      });
      res.on('error', () => undefined);
    };
    const request = overTls
      ? https.request(
          { ...common, rejectUnauthorized: false, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' },
          onResponse,
        )
      : http.request(common, onResponse);
    request.on('socket', (socket) => {
      socket.once('keylog', () => (spokeTls = true));
      socket.once('secureConnect', () => {
        const peer = (socket as TLSSocket).getPeerCertificate();
        const subject = distinguishedName(peer.subject);
        certificate = { subject, selfSigned: subject === distinguishedName(peer.issuer) };
      });
    });
    request.on('error', (err: NodeJS.ErrnoException) => {
      // A TLS server that refused us (an alert, or a hang-up after the handshake) did answer, just not to us.
      if (spokeTls) {
        const refusedUs = { port, answered: true as const, status: null, server: undefined, identify: undefined };
        return settle(certificate ? { ...refusedUs, certificate } : refusedUs);
      }
      const reason = err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' ? 'reset' : 'unreachable';
      settle({ port, answered: false, reason });
    });
    request.end(IDENTIFY);
  });
}

function distinguishedName(name: Record<string, unknown> | undefined): string {
  return Object.entries(name ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(',');
}

function parseIdentify(body: string): { vendor: string; version: string } | undefined {
  try {
    const response = pathOf(parser.parse(body, 'Identify'), 'Envelope', 'Body', 'IdentifyResponse');
    const vendor = textOf(pathOf(response, 'ProductVendor'))?.trim();
    const version = textOf(pathOf(response, 'ProductVersion'))?.trim();
    return vendor !== undefined && version !== undefined ? { vendor, version } : undefined;
  } catch {
    return undefined;
  }
}
