import { createHash, randomUUID } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startHelloListener } from '../../../lib/hello/listener';
import { waitFor } from '../../../scripts/lib/process';
import { MAX_HELLO_BYTES, parseHello, type Hello } from '../../../lib/hello/parse';

/** Builds a PKI hello the way the reference (§6.3) lays it out. */
function pkiHello(uuid: string, hashes: Array<[number, Buffer]>, flag = 0, retries = 0): Buffer {
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

const sha256 = createHash('sha256').update('root').digest();
const sha1 = createHash('sha1').update('root').digest();
const sha384 = createHash('sha384').update('root').digest();

describe('hello parser', () => {
  it('reads the UUID (SMBIOS byte order), flags and every root hash', () => {
    const uuid = '12345678-9abc-def0-1122-334455667788';
    const hello = parseHello(
      pkiHello(
        uuid,
        [
          [2, sha256],
          [1, sha1],
          [3, sha384],
        ],
        1,
        4,
      ),
    );
    expect(hello).toEqual({
      version: 3,
      adminCredentialsSet: true,
      retryCount: 4,
      uuid,
      rootHashes: [
        { algorithm: 'sha256', hex: sha256.toString('hex') },
        { algorithm: 'sha1', hex: sha1.toString('hex') },
        { algorithm: 'sha384', hex: sha384.toString('hex') },
      ],
    });
  });

  it.each([
    ['a truncated header', (b: Buffer) => b.subarray(0, 20), /shorter than its 24-byte header/],
    ['a cut-off hash', (b: Buffer) => b.subarray(0, b.length - 5), /cut off/],
    ['trailing bytes', (b: Buffer) => Buffer.concat([b, Buffer.from([0])]), /unexpected bytes/],
    ['a bad credentials flag', (b: Buffer) => (b.writeUInt16LE(7, 0), b), /credentials flag 7/],
    ['an unknown version', (b: Buffer) => (b.writeUInt16LE(9, 2), b), /version 9/],
    ['a hash count over 23', (b: Buffer) => (b.writeUInt8(200, 24), b), /at most 23/],
    ['a hash type with the wrong length', (b: Buffer) => (b.writeUInt8(1, 25), b), /type 1 with length 32/],
    ['an oversized message', () => Buffer.alloc(MAX_HELLO_BYTES + 1), /exceeds/],
  ])('rejects %s with HELLO_MALFORMED', (_name, mutate, message) => {
    const bytes = mutate(Buffer.from(pkiHello(randomUUID(), [[2, sha256]])));
    expect(() => parseHello(bytes)).toThrow(
      expect.objectContaining({ code: 'HELLO_MALFORMED', message: expect.stringMatching(message) }),
    );
  });

  it('parses a PSK hello with its PID', () => {
    const bytes = Buffer.concat([pkiHello(randomUUID(), []).subarray(0, 24), Buffer.from('ABCD1234')]);
    bytes.writeUInt16LE(2, 2);
    expect(parseHello(bytes)).toMatchObject({ version: 2, pid: 'ABCD1234', rootHashes: [] });
  });
});

describe('hello listener', () => {
  async function withListener(run: (port: number, seen: Hello[], rejected: string[]) => Promise<void>) {
    const seen: Hello[] = [];
    const rejected: string[] = [];
    const server = await startHelloListener({
      host: '127.0.0.1',
      port: 0,
      idleTimeoutMs: 2_000,
      onHello: async (hello) => {
        seen.push(hello);
      },
      onRejected: (_remote, reason) => {
        rejected.push(reason);
      },
    });
    const port = (server.address() as AddressInfo).port;
    try {
      await run(port, seen, rejected);
    } finally {
      server.close();
    }
  }

  function send(port: number, bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
  }

  it('hands each well-formed hello to the handler and drops malformed or oversized ones', async () => {
    await withListener(async (port, seen, rejected) => {
      const uuid = randomUUID();
      await send(port, pkiHello(uuid, [[2, sha256]]));
      await waitFor('the hello to arrive', async () => seen.length === 1, 5_000, 10);
      expect(seen[0]?.uuid).toBe(uuid);

      await send(port, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
      await send(port, Buffer.alloc(MAX_HELLO_BYTES + 100, 1));
      await waitFor('both bad messages to be dropped', async () => rejected.length === 2, 5_000, 10);
      expect(seen).toHaveLength(1);
    });
  });
});
