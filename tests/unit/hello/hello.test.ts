import { createHash, randomUUID } from 'node:crypto';
import net from 'node:net';
import { waitFor } from '../../../scripts/lib/process';
import { MAX_HELLO_BYTES, parseHello } from '../../../lib/hello/parse';
import { pkiHello, send, withListener } from './support';

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

  /** Opens a connection from `localAddress` that sends nothing; resolves once it is accepted. */
  function idle(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
      socket.on('error', reject);
    });
  }

  const closed = (socket: net.Socket) => socket.destroyed || socket.readableEnded;

  it('drops a connection at its deadline even while bytes keep trickling in', async () => {
    await withListener(
      async (port, seen, rejected) => {
        const socket = await idle(port);
        socket.on('error', () => undefined);
        socket.on('close', () => clearInterval(trickle));
        const trickle = setInterval(() => socket.write(Buffer.from([0])), 50);
        await waitFor('the trickling peer to be dropped', async () => rejected.length === 1, 20_000, 20);
        expect(rejected).toEqual(['still open after 500 ms']);
        await waitFor('the socket to close', async () => closed(socket), 5_000, 20);
        expect(seen).toEqual([]);
      },
      { deadlineMs: 500 },
    );
  });

  it('caps connections per source address, and lets other sources in', async () => {
    await withListener(
      async (port, seen, rejected) => {
        const mine = await Promise.all([idle(port), idle(port)]);
        const third = await idle(port);
        third.on('error', () => undefined);
        await waitFor('the third connection to be refused', async () => rejected.length === 1, 5_000, 20);
        expect(rejected).toEqual(['more than 2 connections from this address']);
        await waitFor('the refused socket to close', async () => closed(third), 5_000, 20);
        const uuid = randomUUID();
        await send(port, pkiHello(uuid, [[2, sha256]]), '127.0.0.2');
        await waitFor('a hello from another address', async () => seen.length === 1, 5_000, 20);
        expect(seen[0]?.uuid).toBe(uuid);
        mine.forEach((s) => s.destroy());
      },
      { maxConnectionsPerSource: 2, deadlineMs: 30_000 },
    );
  });

  it('caps connections in total', async () => {
    await withListener(
      async (port, _seen, rejected) => {
        const open = await Promise.all([idle(port, '127.0.0.3'), idle(port, '127.0.0.4')]);
        const extra = await idle(port, '127.0.0.5');
        extra.on('error', () => undefined);
        await waitFor('the connection over the cap to be refused', async () => rejected.length === 1, 5_000, 20);
        expect(rejected).toEqual(['too many connections']);
        open.forEach((s) => s.destroy());
      },
      { maxConnections: 2, deadlineMs: 30_000 },
    );
  });
});
