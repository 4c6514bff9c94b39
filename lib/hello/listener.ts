import net from 'node:net';
import { MAX_HELLO_BYTES, parseHello, type Hello } from './parse';

export interface HelloListenerOptions {
  host: string;
  port: number;
  /** Called once per well-formed hello. Errors it throws are reported, never crash the listener. */
  onHello(hello: Hello, remoteAddress: string): Promise<void>;
  /** Called for every hello that was dropped, with the reason (for the log and metrics). */
  onRejected(remoteAddress: string, reason: string): void;
  /**
   * A device connects, sends one small message and closes. A connection still open this long after
   * it was accepted is dropped, however many bytes trickle in meanwhile. Default 10 s.
   */
  deadlineMs?: number;
  /** Connections open at once, from everyone; the next ones are closed at once. Default 256. */
  maxConnections?: number;
  /** Connections open at once from one address. Default 8. */
  maxConnectionsPerSource?: number;
}

export const HELLO_LISTENER_DEFAULTS = { deadlineMs: 10_000, maxConnections: 256, maxConnectionsPerSource: 8 };

/**
 * TCP listener for hellos (spec P5: port 9971, firmware → amtflow). The device closes the
 * connection after sending, so the message is parsed on end. Every peer is hostile until proven
 * otherwise: anything larger than the largest possible hello is cut off at once, each connection
 * lives at most `deadlineMs` from accept (a peer sending one byte a second cannot keep it), and the
 * connections open at once are capped in total and per source address.
 */
export async function startHelloListener(options: HelloListenerOptions): Promise<net.Server> {
  const limits = { ...HELLO_LISTENER_DEFAULTS, ...definedOnly(options) };
  const perSource = new Map<string, number>();
  const server = net.createServer((socket) => {
    const remote = socket.remoteAddress ?? 'unknown';
    const fromHere = perSource.get(remote) ?? 0;
    if (fromHere >= limits.maxConnectionsPerSource) {
      options.onRejected(remote, `more than ${limits.maxConnectionsPerSource} connections from this address`);
      socket.destroy();
      return;
    }
    perSource.set(remote, fromHere + 1);
    const chunks: Buffer[] = [];
    let size = 0;
    let dropped = false;
    const drop = (reason: string) => {
      if (dropped) return;
      dropped = true;
      options.onRejected(remote, reason);
      socket.destroy();
    };
    const deadline = setTimeout(() => drop(`still open after ${limits.deadlineMs} ms`), limits.deadlineMs);
    socket.once('close', () => {
      clearTimeout(deadline);
      const left = (perSource.get(remote) ?? 1) - 1;
      if (left > 0) perSource.set(remote, left);
      else perSource.delete(remote);
    });
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_HELLO_BYTES) return drop(`more than ${MAX_HELLO_BYTES} bytes`);
      chunks.push(chunk);
    });
    socket.on('error', (err) => drop(`socket error: ${err.message}`));
    socket.on('end', () => {
      if (dropped) return;
      clearTimeout(deadline);
      socket.end();
      let hello: Hello;
      try {
        hello = parseHello(Buffer.concat(chunks));
      } catch (err) {
        return drop((err as Error).message);
      }
      options
        .onHello(hello, remote)
        .catch((err: unknown) => options.onRejected(remote, `handler failed: ${(err as Error).message}`));
    });
  });
  // Node closes connections beyond this at accept, before any of the handler above runs.
  server.maxConnections = limits.maxConnections;
  server.on('drop', (info) => options.onRejected(info?.remoteAddress ?? 'unknown', 'too many connections'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}

function definedOnly(options: HelloListenerOptions): Partial<typeof HELLO_LISTENER_DEFAULTS> {
  const { deadlineMs, maxConnections, maxConnectionsPerSource } = options;
  return Object.fromEntries(
    Object.entries({ deadlineMs, maxConnections, maxConnectionsPerSource }).filter(([, v]) => v !== undefined),
  );
}
