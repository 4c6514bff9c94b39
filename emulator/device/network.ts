import type { X509Certificate } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { EmulatorError } from '../errors';
import { RequestParser, type HttpRequest } from '../http/parser';
import { serveLegacyTls } from './legacy-tls';
import { peerChain } from './tls';

/**
 * The network side of one emulated device: its listening ports, the connections they accepted
 * (all dropped by a power cycle and at stop), the server side of a TLS handshake, and the request
 * loop of one HTTP connection. What a request means is the firmware's business (device.ts); this
 * file only moves bytes. Further listeners (e.g. redirection on 16994/16995) join with `listen`.
 */

const IDLE_TIMEOUT_MS = 60_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** A connection the HTTP layer serves: a TCP socket, a TLS socket, or a legacy TLS stream. */
export type DeviceStream = Duplex & { setTimeout(ms: number, onTimeout?: () => void): unknown };

/** What the firmware does with a request: answer (and maybe close), or drop the connection unanswered. */
export type Reply = { bytes: Buffer; close: boolean } | { drop: true };

export class DeviceNetwork {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private refusingUntil = 0;

  /** `awake`: whether the ME runs at all (it does not in host power states outside its power package). */
  constructor(
    private readonly address: string,
    private readonly awake: () => boolean,
  ) {}

  /**
   * Listens on `port` of the device's address (0: an ephemeral port) and resolves with the port
   * bound. Connections arriving while the device is up go to `onConnection`; during a power cycle,
   * or while the ME sleeps, they are closed at once, as the firmware's ports are down.
   */
  async listen(port: number, onConnection: (socket: net.Socket) => void): Promise<number> {
    const server = net.createServer((socket) => {
      if (this.track(socket)) onConnection(socket);
    });
    this.servers.push(server);
    return listenOn(server, this.address, port);
  }

  /** Power cycle: every open connection is dropped and new ones are refused for `ms`. */
  powerCycle(ms: number): void {
    this.refusingUntil = Date.now() + ms;
    for (const socket of this.sockets) socket.destroy();
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    const closing = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closing);
  }

  private track(socket: net.Socket): boolean {
    socket.on('error', () => socket.destroy());
    if (Date.now() < this.refusingUntil || !this.awake()) {
      socket.destroy();
      return false;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    return true;
  }
}

export interface TlsServerOptions {
  context: tls.SecureContext;
  /** The same identity as PEM, for the legacy engine. */
  keyPem: string;
  certPem: string;
  requestCert: boolean;
  /** False: firmware without RFC 5746, served by the legacy engine (legacy-tls.ts). */
  secureRenegotiation: boolean;
}

/**
 * The server side of a TLS handshake on an accepted connection, by Node's TLS or, for firmware
 * without RFC 5746, by the legacy engine. The client's certificate is requested but never checked
 * here: the firmware decides in `onSecure`, from the chain presented, whether to go on. A handshake
 * not done in time is dropped.
 */
export function acceptTls(
  raw: net.Socket,
  options: TlsServerOptions,
  onSecure: (socket: DeviceStream, chain: X509Certificate[]) => void,
): void {
  raw.setTimeout(HANDSHAKE_TIMEOUT_MS, () => raw.destroy());
  const secured = (socket: DeviceStream, chain: X509Certificate[]) => {
    raw.setTimeout(0);
    onSecure(socket, chain);
  };
  if (!options.secureRenegotiation) {
    serveLegacyTls(raw, {
      keyPem: options.keyPem,
      certPem: options.certPem,
      requestCert: options.requestCert,
      onSecure: secured,
    });
    return;
  }
  const socket = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: options.context,
    requestCert: options.requestCert,
    rejectUnauthorized: false,
  });
  socket.on('error', () => socket.destroy());
  socket.once('secure', () => secured(socket, peerChain(socket)));
}

export interface HttpConnectionOptions {
  /** The firmware's answer to one request; requests on a connection are answered in order. */
  handle(request: HttpRequest): Promise<Reply>;
  /** Whether to close the connection once the reply is written, whatever the reply says. */
  closeAfterReply?: () => boolean;
  /** The bytes of the plain error page for a request that could not be parsed. */
  badRequest(status: number): Buffer;
  log: Logger;
  uuid: string;
}

/**
 * Reads HTTP requests off `socket` and writes each reply before reading the next (AMT answers one
 * request at a time per connection). An idle connection is closed after a minute.
 */
export function serveHttp(socket: DeviceStream, options: HttpConnectionOptions): void {
  const parser = new RequestParser();
  let busy = false;
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
  const pump = async () => {
    if (busy) return;
    busy = true;
    socket.pause();
    try {
      while (!socket.destroyed) {
        const parsed = parser.next();
        if (parsed.kind === 'incomplete') break;
        if (parsed.kind === 'error') {
          socket.end(options.badRequest(parsed.status));
          break;
        }
        const reply = await options.handle(parsed.request);
        if (socket.destroyed) break;
        if ('drop' in reply) {
          socket.destroy();
          break;
        }
        socket.write(reply.bytes);
        if (
          reply.close ||
          parsed.request.headers.get('connection')?.toLowerCase() === 'close' ||
          options.closeAfterReply?.()
        ) {
          socket.end();
          break;
        }
      }
    } catch (err) {
      options.log.error({ uuid: options.uuid, err }, 'request handling failed');
      socket.destroy();
    } finally {
      busy = false;
      if (!socket.destroyed) socket.resume();
    }
  };
  socket.on('data', (chunk: Buffer) => {
    parser.push(chunk);
    void pump();
  });
}

function listenOn(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL'
          ? new EmulatorError('ADDRESS_IN_USE', `${host}:${port} is not available (${err.code})`, { cause: err })
          : err,
      ),
    );
    server.listen({ host, port, backlog: 64 }, () => resolve((server.address() as net.AddressInfo).port));
  });
}
