/**
 * MD4 (RFC 1320), needed for one thing: the NT hash, which is the RC4-HMAC Kerberos key AMT takes
 * as its `MasterKey`. OpenSSL 3 moved MD4 to the legacy provider, so node:crypto refuses it on
 * Node 20; this small implementation avoids depending on how OpenSSL was built.
 */

const ROUND_ORDER: ReadonlyArray<readonly number[]> = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15],
  [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15],
];
const ROUND_SHIFTS: ReadonlyArray<readonly number[]> = [
  [3, 7, 11, 19],
  [3, 5, 9, 13],
  [3, 9, 11, 15],
];
const ROUND_CONSTANTS = [0, 0x5a827999, 0x6ed9eba1];
const ROUND_FUNCTIONS: ReadonlyArray<(x: number, y: number, z: number) => number> = [
  (x, y, z) => (x & y) | (~x & z),
  (x, y, z) => (x & y) | (x & z) | (y & z),
  (x, y, z) => x ^ y ^ z,
];

const rotl = (v: number, s: number): number => ((v << s) | (v >>> (32 - s))) >>> 0;

export function md4(data: Buffer): Buffer {
  // Pad to 56 mod 64 bytes with 0x80 then zeros, then append the bit length as 64-bit little-endian.
  const length = Math.ceil((data.length + 9) / 64) * 64;
  const message = Buffer.alloc(length);
  data.copy(message);
  message[data.length] = 0x80;
  const bits = data.length * 8;
  message.writeUInt32LE(bits >>> 0, length - 8);
  message.writeUInt32LE(Math.floor(bits / 0x100000000), length - 4);

  const state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const words = new Array<number>(16);
  for (let offset = 0; offset < length; offset += 64) {
    for (let i = 0; i < 16; i++) words[i] = message.readUInt32LE(offset + i * 4);
    const r = [...state];
    for (let round = 0; round < 3; round++) {
      const f = ROUND_FUNCTIONS[round]!;
      for (let step = 0; step < 16; step++) {
        // The register being updated cycles a, d, c, b; the other three follow it in a-b-c-d order.
        const t = (4 - (step % 4)) % 4;
        const sum = r[t]! + f(r[(t + 1) % 4]!, r[(t + 2) % 4]!, r[(t + 3) % 4]!);
        r[t] = rotl(
          (sum + words[ROUND_ORDER[round]![step]!]! + ROUND_CONSTANTS[round]!) >>> 0,
          ROUND_SHIFTS[round]![step % 4]!,
        );
      }
    }
    for (let i = 0; i < 4; i++) state[i] = (state[i]! + r[i]!) >>> 0;
  }
  const digest = Buffer.alloc(16);
  state.forEach((word, i) => digest.writeUInt32LE(word, i * 4));
  return digest;
}
