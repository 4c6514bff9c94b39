import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { XMLParser } from 'fast-xml-parser';

/**
 * A deliberately small AMT client for the emulator's tests, written from the protocol reference
 * (never from the emulator's code): raw sockets, the three known digest styles, chunked or
 * Content-Length bodies.
 */
export interface Target {
  host: string;
  port: number;
  tls?: tls.ConnectionOptions;
}

export interface RawResponse {
  status: number;
  head: string;
  headers: Map<string, string>;
  body: Buffer;
  chunked: boolean;
}

function parseResponse(buf: Buffer): RawResponse | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1');
  const lines = head.split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) headers.set(l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 2));
  let rest = buf.subarray(end + 4);
  if (headers.get('transfer-encoding') === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) return null;
      const size = parseInt(rest.subarray(0, lineEnd).toString(), 16);
      if (rest.length < lineEnd + 2 + size + 2) return null;
      if (size === 0) return { status, head, headers, body: Buffer.concat(parts), chunked: true };
      parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
  }
  const length = Number(headers.get('content-length') ?? '0');
  if (rest.length < length) return null;
  return { status, head, headers, body: rest.subarray(0, length), chunked: false };
}

export function connect(target: Target): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = target.tls
      ? tls.connect({ host: target.host, port: target.port, rejectUnauthorized: false, ...target.tls }, () =>
          resolve(socket),
        )
      : net.connect({ host: target.host, port: target.port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends raw bytes on a new connection and reads one response; rejects if the peer closes first. */
export async function exchange(target: Target, request: Buffer | string): Promise<RawResponse> {
  const socket = await connect(target);
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const r = parseResponse(buf);
      if (r) {
        socket.destroy();
        resolve(r);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed without a complete response (${buf.length} bytes)`)));
    socket.write(request);
  });
}

export type DigestStyle = 'rps' | 'go' | 'mesh';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

interface Challenge {
  realm: string;
  nonce: string;
}

export function parseChallenge(header: string | undefined): Challenge {
  const realm = /realm="([^"]*)"/.exec(header ?? '')?.[1];
  const nonce = /nonce="([^"]*)"/.exec(header ?? '')?.[1];
  if (!realm || !nonce) throw new Error(`no digest challenge in ${header}`);
  return { realm, nonce };
}

export const xmlParser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Xml = any;

export interface ClientOptions extends Target {
  username: string;
  password: string;
  style?: DigestStyle;
  path?: string;
}

/**
 * One WS-Man (or EOI) client in the manner of RPS, go-wsman or MeshCentral: first request without
 * credentials, then the challenge's nonce is reused with an increasing nc on every later request
 * (MeshCentral: on a new connection each time, decimal nc).
 */
export class AmtClient {
  private challenge: Challenge | null = null;
  private nc = 0;
  private readonly cnonce: string;

  constructor(readonly options: ClientOptions) {
    this.cnonce = options.style === 'mesh' ? randomBytes(16).toString('hex') : randomBytes(3).toString('hex');
  }

  authorization(method: string, uri: string): string {
    const { username, password, style = 'go' } = this.options;
    const { realm, nonce } = this.challenge!;
    this.nc += 1;
    const nc = style === 'mesh' ? String(this.nc) : this.nc.toString(16).padStart(8, '0');
    const cnonce = style === 'rps' ? Math.random().toString(36).slice(2) : this.cnonce;
    const response = md5(
      `${md5(`${username}:${realm}:${password}`)}:${nonce}:${nc}:${cnonce}:auth:${md5(`${method}:${uri}`)}`,
    );
    const p = { username, realm, nonce, uri, response, qop: 'auth', nc, cnonce };
    const order: (keyof typeof p)[] =
      style === 'go'
        ? ['username', 'realm', 'nonce', 'uri', 'response', 'qop', 'nc', 'cnonce']
        : ['username', 'realm', 'nonce', 'uri', 'qop', 'response', 'nc', 'cnonce'];
    return `Digest ${order.map((k) => `${k}="${p[k]}"`).join(style === 'rps' ? ',' : ', ')}`;
  }

  frame(body: string, auth: string | null): Buffer {
    const { style = 'go', host, port, path = '/wsman' } = this.options;
    const b = Buffer.from(body, 'utf8');
    const headers = [`POST ${path} HTTP/1.1`, `Host: ${host}:${port}`];
    if (auth) headers.push(`Authorization: ${auth}`);
    if (style === 'go') headers.push('Content-Type: application/soap+xml; charset=utf-8');
    if (style === 'rps') {
      headers.push('Transfer-Encoding: chunked');
      return Buffer.concat([
        Buffer.from(`${headers.join('\r\n')}\r\n\r\n${b.length.toString(16)}\r\n`),
        b,
        Buffer.from('\r\n0\r\n\r\n'),
      ]);
    }
    headers.push(`Content-Length: ${b.length}`);
    return Buffer.concat([Buffer.from(`${headers.join('\r\n')}\r\n\r\n`), b]);
  }

  /** Posts `body`; answers a 401 by authenticating and re-sending once. */
  async post(body: string): Promise<RawResponse & { xml: Xml }> {
    const path = this.options.path ?? '/wsman';
    let response = await exchange(
      this.options,
      this.frame(body, this.challenge ? this.authorization('POST', path) : null),
    );
    if (response.status === 401) {
      this.challenge = parseChallenge(response.headers.get('www-authenticate'));
      this.nc = 0;
      response = await exchange(this.options, this.frame(body, this.authorization('POST', path)));
    }
    const text = response.body.toString('utf8');
    return { ...response, xml: text.startsWith('<?xml') || text.startsWith('<') ? xmlParser.parse(text) : null };
  }
}

export const md5hex = md5;

/** The DER certificate a TLS port presents (no client certificate). */
export function peerCertificate(host: string, port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().raw);
      s.destroy();
    });
    s.on('error', reject);
  });
}
