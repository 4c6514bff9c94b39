import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { seededRandom } from '../../../emulator/fleet/faults';
import { HelloFormatError, MAX_HELLO_BYTES, parseHello, type Hello } from '../../../lib/hello/parse';
import { waitFor } from '../../../scripts/lib/process';
import { pkiHello, send, withListener } from './support';

/**
 * Hostile peers on the hello port (issue 16 §2): 100,000 random and mutated hellos through the
 * parser, then floods, slow and oversized senders through the listener. The seed is fixed and
 * printed (AMTFLOW_FUZZ_SEED replays another).
 */
const SEED = Number(process.env.AMTFLOW_FUZZ_SEED ?? 16);
const HELLOS = 100_000;

const HASH_LENGTHS: Array<[number, number]> = [
  [1, 20],
  [2, 32],
  [3, 48],
  [3, 64],
];
const TYPE_CODE = { sha1: 1, sha256: 2, sha384: 3, sha512: 3 } as const;

/** The bytes a device would send for `hello`: what a parsed hello must come from, byte for byte. */
function encode(hello: Hello): Buffer {
  if (hello.version === 3) {
    const hashes = hello.rootHashes.map((h): [number, Buffer] => [TYPE_CODE[h.algorithm], Buffer.from(h.hex, 'hex')]);
    return pkiHello(hello.uuid, hashes, hello.adminCredentialsSet ? 1 : 0, hello.retryCount);
  }
  const pki = pkiHello(hello.uuid, [], hello.adminCredentialsSet ? 1 : 0, hello.retryCount);
  pki.writeUInt16LE(2, 2);
  return Buffer.concat([pki.subarray(0, 24), Buffer.from(hello.pid ?? '', 'latin1')]);
}

function generator(random: () => number) {
  const int = (n: number) => Math.floor(random() * n);
  /** Four random bytes per draw: the fuzzing makes some hundred megabytes of them. */
  const bytes = (n: number) => {
    const out = Buffer.alloc(n + 3);
    for (let at = 0; at < n; at += 4) out.writeUInt32LE(Math.floor(random() * 2 ** 32), at);
    return out.subarray(0, n);
  };
  /** Content the parser only copies (hash values, the bulk of a large message): one byte repeated. */
  const filler = (n: number) => Buffer.alloc(n, int(256));
  const uuid = () => {
    const hex = bytes(16).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
  const valid = (): Buffer => {
    if (int(10) === 0) {
      const psk = pkiHello(uuid(), [], int(2), int(5));
      psk.writeUInt16LE(2, 2);
      return Buffer.concat([psk.subarray(0, 24), Buffer.from(Array.from({ length: 8 }, () => 0x21 + int(94)))]);
    }
    const hashes = Array.from({ length: int(24) }, (): [number, Buffer] => {
      const [type, length] = HASH_LENGTHS[int(HASH_LENGTHS.length)]!;
      return [type, filler(length)];
    });
    return pkiHello(uuid(), hashes, int(2), int(1000));
  };
  /** A valid hello with a few bytes flipped, cut, repeated, or its count and lengths bent. */
  const mutated = (): Buffer => {
    let data = valid();
    for (let n = 1 + int(3); n > 0; n--) {
      const at = int(Math.max(1, data.length));
      switch (int(6)) {
        case 0:
          data[at] = int(256);
          break;
        case 1:
          data = data.subarray(0, at);
          break;
        case 2:
          data = Buffer.concat([data, bytes(1 + int(64))]);
          break;
        case 3:
          if (data.length > 24) data[24] = int(256);
          break;
        case 4:
          data = Buffer.concat([data.subarray(0, at), data.subarray(at - int(Math.min(at, 40)))]);
          break;
        default:
          if (data.length >= 2) data.writeUInt16LE(int(6), Math.min(at, data.length - 2) & ~1);
      }
    }
    return data;
  };
  return {
    valid,
    mutated,
    pick: (): Buffer =>
      [
        valid,
        mutated,
        mutated,
        mutated,
        () => bytes(int(80)),
        () => Buffer.concat([bytes(32), filler(int(MAX_HELLO_BYTES))]),
      ][int(6)]!(),
  };
}

describe(`hello fuzzing (seed ${SEED})`, () => {
  it(`parses ${HELLOS.toLocaleString('en')} random and mutated hellos into exactly what they encode, or a typed refusal`, () => {
    process.stdout.write(`hello fuzz seed ${SEED} (replay: AMTFLOW_FUZZ_SEED=${SEED})\n`);
    const make = generator(seededRandom(SEED));
    const outcomes = { accepted: 0, refused: 0 };
    const unexpected: string[] = [];
    for (let i = 0; i < HELLOS; i++) {
      const data = make.pick();
      let hello: Hello;
      try {
        hello = parseHello(data);
      } catch (err) {
        outcomes.refused += 1;
        if (!(err instanceof HelloFormatError) || err.code !== 'HELLO_MALFORMED' || err.message.length > 200)
          unexpected.push(`#${i} ${data.toString('hex').slice(0, 80)}: ${String(err)}`);
        continue;
      }
      outcomes.accepted += 1;
      // Accepted only when the bytes are exactly a hello: nothing skipped, nothing made up.
      if (!encode(hello).equals(data))
        unexpected.push(`#${i} ${data.toString('hex')} accepted as ${JSON.stringify(hello)}`);
      if (unexpected.length > 10) break;
    }
    expect(unexpected).toEqual([]);
    // Both sides were exercised: mutations that stay hellos, and refusals.
    expect(outcomes.accepted).toBeGreaterThan(HELLOS / 10);
    expect(outcomes.refused).toBeGreaterThan(HELLOS / 2);
  });
});

describe(`hello listener under a flood (seed ${SEED})`, () => {
  /** Connects from `localAddress` and sends `bytes` one at a time, until the listener drops it. */
  function slowSender(port: number, bytes: Buffer, localAddress: string): Promise<void> {
    return new Promise((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
        let at = 0;
        const drip = setInterval(() => {
          if (at < bytes.length) socket.write(bytes.subarray(at, ++at));
        }, 100);
        socket.on('close', () => clearInterval(drip));
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
  }

  it('keeps answering through floods, slow and oversized senders, holds nothing after, and takes a genuine hello once', async () => {
    const make = generator(seededRandom(SEED + 1));
    await withListener(
      async (port, seen, rejected, server) => {
        const slow = Array.from({ length: 16 }, (_, i) => slowSender(port, make.valid(), `127.0.2.${i + 1}`));
        // 2,000 connections from 40 addresses, 200 at a time: garbage, mutated hellos, oversized messages.
        for (let batch = 0; batch < 10; batch++) {
          await Promise.all(
            Array.from({ length: 200 }, (_, i) => {
              const oversized = i % 10 === 0 ? Buffer.alloc(MAX_HELLO_BYTES * 4, 0x41) : make.pick();
              return send(port, oversized, `127.0.1.${1 + ((batch * 200 + i) % 40)}`);
            }),
          );
        }
        const genuine = randomUUID();
        await send(port, pkiHello(genuine, [[2, Buffer.alloc(32, 7)]]), '127.0.3.1');
        await waitFor('the genuine hello', async () => seen.some((h) => h.uuid === genuine), 10_000, 20);
        await Promise.all(slow);

        expect(seen.filter((h) => h.uuid === genuine)).toHaveLength(1);
        expect(rejected.filter((r) => r.startsWith('still open after'))).toHaveLength(16);
        expect(rejected.some((r) => r === `more than ${MAX_HELLO_BYTES} bytes`)).toBe(true);
        // Every connection was closed and forgotten: nothing the flood sent is held.
        await waitFor(
          'every connection to be closed',
          () => new Promise<boolean>((resolve) => server.getConnections((_err, n) => resolve(n === 0))),
          10_000,
          20,
        );
      },
      { deadlineMs: 1_000 },
    );
  });

  /** Opens a connection from `localAddress` that sends nothing, once the listener's side is accepted or refused. */
  function hold(port: number, localAddress: string): Promise<net.Socket> {
    return new Promise((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
      socket.on('error', () => undefined);
    });
  }
  const connections = (server: net.Server) =>
    new Promise<number>((resolve) => server.getConnections((_err, n) => resolve(n)));

  /**
   * Memory bounded (issue 16 §2), by the listener's own bounds rather than by a heap reading: the
   * connections it holds never exceed its cap however many arrive at once; a sender of far more
   * than a hello is cut off after MAX_HELLO_BYTES (its write fails: the rest was never read into
   * memory); and after the flood its per-address counts are back at zero — every flood address can
   * hold exactly its share again, and the total cap still admits exactly its number.
   */
  it('holds bounded state: connections capped, oversized senders cut off, per-address counts back at zero after', async () => {
    const make = generator(seededRandom(SEED + 2));
    const CAP = 32;
    const PER_SOURCE = 8;
    const address = (i: number) => `127.0.4.${1 + (i % 40)}`;
    await withListener(
      async (port, _seen, rejected, server) => {
        let most = 0;
        server.on('connection', () => {
          server.getConnections((_err, n) => (most = Math.max(most, n)));
        });
        // 80 peers that connect and say nothing (2 from each of 40 addresses) and, meanwhile, 400
        // senders from the same addresses: far more than the cap at once.
        const silent = Promise.all(Array.from({ length: 80 }, (_, i) => hold(port, address(i))));
        await Promise.all(Array.from({ length: 400 }, (_, i) => send(port, make.pick(), address(i))));
        (await silent).forEach((socket) => socket.destroy());
        expect(rejected).toContain('too many connections');
        expect(most).toBeGreaterThan(0);
        expect(most).toBeLessThanOrEqual(CAP);

        // Senders of 32 MiB each: the listener stops reading at MAX_HELLO_BYTES and resets them.
        const cutBefore = rejected.filter((r) => r === `more than ${MAX_HELLO_BYTES} bytes`).length;
        const outcomes = [];
        for (let i = 0; i < 4; i++) {
          outcomes.push(
            await new Promise<string>((resolve) => {
              const socket = net.connect({ port, host: '127.0.0.1', localAddress: address(i) }, () =>
                socket.end(Buffer.alloc(32 * 1024 * 1024, 0x41), () => resolve('all written')),
              );
              socket.on('error', (err: NodeJS.ErrnoException) => resolve(`cut off: ${err.code}`));
            }),
          );
        }
        expect(outcomes.every((o) => o.startsWith('cut off'))).toBe(true);
        expect(rejected.filter((r) => r === `more than ${MAX_HELLO_BYTES} bytes`).length - cutBefore).toBe(4);

        await waitFor('every flood connection to be closed', async () => (await connections(server)) === 0, 10_000, 20);
        // Baseline again: a flood address holds exactly its share — one more is refused as over it…
        const before = rejected.length;
        const held: net.Socket[] = [];
        const holdShare = async (i: number) => {
          for (let n = 0; n < PER_SOURCE; n++) held.push(await hold(port, address(i)));
        };
        await holdShare(0);
        await waitFor('a full share', async () => (await connections(server)) === PER_SOURCE, 10_000, 20);
        expect(rejected.length).toBe(before);
        held.push(await hold(port, address(0)));
        await waitFor('the connection over its share', async () => rejected.length === before + 1, 10_000, 20);
        expect(rejected.at(-1)).toBe(`more than ${PER_SOURCE} connections from this address`);
        // …and the total cap admits exactly CAP connections, no slot lost to the flood.
        for (let i = 1; i < CAP / PER_SOURCE; i++) await holdShare(i);
        await waitFor('the cap to be full', async () => (await connections(server)) === CAP, 10_000, 20);
        expect(rejected.length).toBe(before + 1);
        held.push(await hold(port, '127.0.5.1'));
        await waitFor('the connection over the cap', async () => rejected.length === before + 2, 10_000, 20);
        expect(rejected.at(-1)).toBe('too many connections');
        held.forEach((socket) => socket.destroy());
        await waitFor('the held connections to close', async () => (await connections(server)) === 0, 10_000, 20);
      },
      { maxConnections: CAP, maxConnectionsPerSource: PER_SOURCE, deadlineMs: 30_000 },
    );
  }, 60_000);
});
