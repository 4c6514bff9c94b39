import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A tiny AMT-shaped HTTP(S) server on 127.0.0.1 for wire tests: HTTP Digest the way AMT does it
 * (challenge `Digest realm=…, nonce=…,stale="false",qop="auth"`, 401 with Connection: close and the
 * HTML logon page), chunked 200s with AMT's headers, and canned bodies from a per-test handler.
 * The Digest check is written independently of lib/amt: it recomputes the response from the literal
 * nc/cnonce/qop strings of the Authorization header, as the protocol reference tells an emulator to.
 */

export interface FakeRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Authorization parameters when the request carried Digest credentials. */
  auth: Record<string, string> | undefined;
  /** The TLS client certificate's CN, when one was presented. */
  clientCertCn: string | undefined;
}

export interface FakeReply {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Misbehave: close the connection instead of answering, or after half a body; or never answer. */
  fault?: 'reset-before-response' | 'reset-mid-body' | 'hang';
}

export type FakeHandler = (request: FakeRequest) => FakeReply | Promise<FakeReply>;

export interface FakeAmtOptions {
  handler: FakeHandler;
  /** username → password; omit to serve without authentication. */
  users?: Record<string, string>;
  realm?: string;
  tls?: https.ServerOptions;
  server?: string;
}

export interface FakeAmt {
  port: number;
  /** Requests that reached the handler (authenticated ones). */
  handled: FakeRequest[];
  /** Every request received, 401s included. */
  received: FakeRequest[];
  /** Connections accepted (TCP, or TLS once the handshake completed). */
  readonly connections: number;
  /** Closes every open connection, as a device does when it drops its idle ones. */
  dropConnections(): void;
  /** The next request with an old nonce gets 401 stale="true". */
  expireNonces(): void;
  /** The next request with an old nonce gets a plain 401 stale="false" (the nonce is simply unknown). */
  forgetNonces(): void;
  /** Changes (or adds) an account, as SetAdminAclEntryEx does on the device. */
  setPassword(username: string, password: string): void;
  close(): Promise<void>;
}

export const AMT_REALM = 'Digest:F3EB554784E729164447A89F60B641C5';
export const AMT_SERVER = 'Intel(R) Active Management Technology 15.0.23.1706';
const LOGON_FAILED =
  '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"><html><head><title>Intel&reg; Active Management Technology</title></head><body>Log on failed. Incorrect user name or password, or user account temporarily locked.</body></html>';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

function parseAuthorization(header: string | undefined): Record<string, string> | undefined {
  const match = /^Digest\s+(.*)$/is.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const params: Record<string, string> = {};
  for (const m of match[1].matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(m[1] ?? '').toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return params;
}

export async function startFakeAmt(options: FakeAmtOptions): Promise<FakeAmt> {
  const realm = options.realm ?? AMT_REALM;
  const users = options.users ? { ...options.users } : undefined;
  const valid = new Map<string, number>(); // nonce → highest nc seen
  const expired = new Set<string>();
  const handled: FakeRequest[] = [];
  const received: FakeRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;

  const newNonce = (): string => {
    const nonce = randomBytes(24).toString('base64').replace(/[+/=]/g, 'A');
    valid.set(nonce, 0);
    return nonce;
  };

  const unauthorized = (res: ServerResponse, stale: boolean): void => {
    res.writeHead(401, {
      'WWW-Authenticate': `Digest realm="${realm}", nonce="${newNonce()}",stale="${stale}",qop="auth"`,
      'Content-Type': 'text/html',
      Server: options.server ?? AMT_SERVER,
      'Content-Length': String(Buffer.byteLength(LOGON_FAILED)),
      Connection: 'close',
    });
    res.end(LOGON_FAILED);
  };

  /** 'ok', or why not: the client must be challenged again. */
  const verify = (auth: Record<string, string> | undefined, method: string): 'ok' | 'stale' | 'refused' => {
    if (!auth) return 'refused';
    const { username = '', nonce = '', nc = '', cnonce = '', qop = '', uri = '', response = '' } = auth;
    if (expired.has(nonce)) return 'stale';
    const lastNc = valid.get(nonce);
    const password = users?.[username];
    if (lastNc === undefined || password === undefined || auth['realm'] !== realm) return 'refused';
    const count = Number.parseInt(nc, /^[0-9a-f]{8}$/i.test(nc) ? 16 : 10);
    if (!(count > lastNc)) return 'refused';
    const ha1 = md5(`${username}:${realm}:${password}`);
    const ha2 = md5(`${method}:${uri}`);
    if (md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) !== response) return 'refused';
    valid.set(nonce, count);
    return 'ok';
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const tlsSocket = req.socket as Socket & { getPeerCertificate?: () => { subject?: { CN?: string } } };
      const request: FakeRequest = {
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        auth: parseAuthorization(req.headers.authorization),
        clientCertCn: tlsSocket.getPeerCertificate?.()?.subject?.CN,
      };
      received.push(request);
      if (users) {
        const verdict = verify(request.auth, req.method ?? '');
        if (verdict !== 'ok') {
          unauthorized(res, verdict === 'stale');
          return;
        }
      }
      handled.push(request);
      void Promise.resolve(options.handler(request)).then((reply) => respond(res, reply));
    });
  };

  const respond = (res: ServerResponse, reply: FakeReply): void => {
    if (reply.fault === 'hang') return;
    if (reply.fault === 'reset-before-response') {
      res.socket?.destroy();
      return;
    }
    const status = reply.status ?? 200;
    res.writeHead(status, {
      Server: options.server ?? AMT_SERVER,
      'X-Frame-Options': 'DENY',
      'Content-Type': 'application/soap+xml; charset=UTF-8',
      ...(status === 400 ? { Connection: 'close' } : {}),
      ...reply.headers,
    });
    const body = reply.body ?? '';
    if (reply.fault === 'reset-mid-body') {
      res.write(body.slice(0, Math.floor(body.length / 2)));
      res.socket?.destroy();
      return;
    }
    res.end(body); // no Content-Length: chunked, like AMT's 200s and 400s
  };

  const server = options.tls ? https.createServer(options.tls, listener) : http.createServer(listener);
  server.on('connection', (socket: Socket) => {
    if (!options.tls) connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    handled,
    received,
    get connections() {
      return connections;
    },
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    expireNonces: () => {
      for (const nonce of valid.keys()) expired.add(nonce);
      valid.clear();
    },
    forgetNonces: () => valid.clear(),
    setPassword: (username, password) => {
      if (users) users[username] = password;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
