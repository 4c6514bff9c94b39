import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Nvram } from '../device/nvram';
import { checkMutualClient, peerChain, tlsModeFor } from '../device/tls';
import { EmulatorError } from '../errors';
import type { Host } from '../host/host';
import { RedirectionSession } from './session';

export const AMT_REDIRECTION_PORT = 16994;
export const AMT_REDIRECTION_TLS_PORT = 16995;
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** A session with no traffic either way for this long is dead (consoles and the firmware both heartbeat). */
const IDLE_TIMEOUT_MS = 120_000;

export interface RedirectionServiceOptions {
  address: string;
  nvram: () => Nvram;
  host: Host;
  log: Logger;
}

/**
 * The redirection listener of one device: 16994 (plain) and 16995 (TLS) on the device's address.
 * AMT_RedirectionService.ListenerEnabled false means the firmware does not serve the ports; the
 * emulator keeps them bound (their numbers stay stable for tests) and resets each connection at
 * once, which a console sees as the connection failing before any answer. The plain port is
 * refused once TLS is configured without AcceptNonSecureConnections, the TLS port is served only
 * with TLS configured (the certificate and mutual-authentication rules of 16993), and nothing is
 * served while the ME is without power.
 */
export class RedirectionService {
  port = 0;
  tlsPort = 0;
  private readonly servers: net.Server[] = [];
  private readonly sessions = new Set<RedirectionSession>();

  constructor(private readonly options: RedirectionServiceOptions) {
    options.host.on('state', () => {
      if (!options.host.meAwake()) this.dropSessions();
    });
  }

  /** Binds both ports: the AMT ones, or OS-chosen ones when the device uses ephemeral ports. */
  async listen(ephemeral: boolean): Promise<void> {
    const plain = net.createServer((socket) => this.accept(socket, false));
    const secure = net.createServer((socket) => this.accept(socket, true));
    this.servers.push(plain, secure);
    this.port = await listenOn(plain, this.options.address, ephemeral ? 0 : AMT_REDIRECTION_PORT);
    this.tlsPort = await listenOn(secure, this.options.address, ephemeral ? 0 : AMT_REDIRECTION_TLS_PORT);
  }

  /** Ends every open session (power cycle of the ME, device stop). */
  dropSessions(): void {
    for (const s of this.sessions) s.drop();
  }

  async close(): Promise<void> {
    const closing = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    this.dropSessions();
    await Promise.all(closing);
  }

  private accept(raw: net.Socket, secure: boolean): void {
    raw.on('error', () => raw.destroy());
    const nvram = this.options.nvram();
    if (!this.options.host.meAwake()) return void raw.destroy();
    const applied = nvram.tls.applied;
    const plainRefused = applied?.enabled === true && !applied.acceptNonSecureConnections;
    if (!nvram.redirection.listenerEnabled || (!secure && plainRefused)) return void raw.resetAndDestroy();
    if (!secure) return this.open(raw);
    const mode = tlsModeFor(nvram);
    if (mode.kind !== 'configured') return void raw.resetAndDestroy();
    const socket = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: mode.context,
      requestCert: mode.mutual,
      rejectUnauthorized: false,
    });
    socket.on('error', () => socket.destroy());
    raw.setTimeout(HANDSHAKE_TIMEOUT_MS, () => raw.destroy());
    socket.once('secure', () => {
      raw.setTimeout(0);
      if (mode.mutual && !checkMutualClient(peerChain(socket), this.options.nvram())) return void socket.destroy();
      this.open(socket);
    });
  }

  private open(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    const session = new RedirectionSession(socket, this.options.nvram, this.options.host, this.options.log);
    this.sessions.add(session);
    socket.on('close', () => this.sessions.delete(session));
  }
}

async function listenOn(server: net.Server, host: string, port: number): Promise<number> {
  server.listen({ host, port, backlog: 16 });
  try {
    await once(server, 'listening');
  } catch (err) {
    throw new EmulatorError('ADDRESS_IN_USE', `${host}:${port} is not available for redirection`, { cause: err });
  }
  return (server.address() as net.AddressInfo).port;
}
