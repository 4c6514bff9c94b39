import net from 'node:net';
import { MAX_HELLO_BYTES, parseHello, type Hello } from './parse';

export interface HelloListenerOptions {
  host: string;
  port: number;
  /** Called once per well-formed hello. Errors it throws are reported, never crash the listener. */
  onHello(hello: Hello, remoteAddress: string): Promise<void>;
  /** Called for every hello that was dropped, with the reason (for the log and metrics). */
  onRejected(remoteAddress: string, reason: string): void;
  /** A device connects, sends, and closes; a peer that idles longer is dropped. */
  idleTimeoutMs?: number;
}

/**
 * TCP listener for hellos (spec P5: port 9971, firmware → amtflow). The device closes the
 * connection after sending, so the message is parsed on end; anything larger than the largest
 * possible hello is cut off at once.
 */
export async function startHelloListener(options: HelloListenerOptions): Promise<net.Server> {
  const server = net.createServer((socket) => {
    const remote = socket.remoteAddress ?? 'unknown';
    const chunks: Buffer[] = [];
    let size = 0;
    let dropped = false;
    const drop = (reason: string) => {
      if (dropped) return;
      dropped = true;
      options.onRejected(remote, reason);
      socket.destroy();
    };
    socket.setTimeout(options.idleTimeoutMs ?? 10_000, () => drop('idle connection'));
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_HELLO_BYTES) return drop(`more than ${MAX_HELLO_BYTES} bytes`);
      chunks.push(chunk);
    });
    socket.on('error', (err) => drop(`socket error: ${err.message}`));
    socket.on('end', () => {
      if (dropped) return;
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
