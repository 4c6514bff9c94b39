import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startHelloListener, type HelloListenerOptions } from '../../../lib/hello/listener';
import type { Hello } from '../../../lib/hello/parse';

/** Builds a PKI hello the way the reference (§6.3) lays it out. */
export function pkiHello(uuid: string, hashes: Array<[number, Buffer]>, flag = 0, retries = 0): Buffer {
  const hex = uuid.replace(/-/g, '');
  const raw = Buffer.from(hex, 'hex');
  const smbios = Buffer.concat([
    Buffer.from(raw.subarray(0, 4)).reverse(),
    Buffer.from(raw.subarray(4, 6)).reverse(),
    Buffer.from(raw.subarray(6, 8)).reverse(),
    raw.subarray(8),
  ]);
  const header = Buffer.alloc(8);
  header.writeUInt16LE(flag, 0);
  header.writeUInt16LE(3, 2);
  header.writeUInt32LE(retries, 4);
  const list = hashes.map(([type, h]) => Buffer.concat([Buffer.from([type, h.length]), h]));
  return Buffer.concat([header, smbios, Buffer.from([hashes.length]), ...list]);
}

/** Runs `run` against a listener on an ephemeral port, with what it accepted and what it dropped. */
export async function withListener(
  run: (port: number, seen: Hello[], rejected: string[], server: net.Server) => Promise<void>,
  limits: Partial<Pick<HelloListenerOptions, 'deadlineMs' | 'maxConnections' | 'maxConnectionsPerSource'>> = {},
) {
  const seen: Hello[] = [];
  const rejected: string[] = [];
  const server = await startHelloListener({
    host: '127.0.0.1',
    port: 0,
    deadlineMs: 2_000,
    ...limits,
    onHello: async (hello) => {
      seen.push(hello);
    },
    onRejected: (_remote, reason) => {
      rejected.push(reason);
    },
  });
  const port = (server.address() as AddressInfo).port;
  try {
    await run(port, seen, rejected, server);
  } finally {
    server.close();
  }
}

/** Connects from `localAddress`, sends `bytes` and closes; resolves when the connection is gone. */
export function send(port: number, bytes: Buffer, localAddress = '127.0.0.1'): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => socket.end(bytes));
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
}
