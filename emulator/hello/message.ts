import { HASH_LENGTH, HASH_TYPE, type HashAlgorithm } from '../device/root-hashes';

/**
 * The provisioning hello (reference §6.3), little-endian:
 *   0 uint16 admin credentials changed (0 default, 1 changed)
 *   2 uint16 interface version (3 = PKI)
 *   4 uint32 retry count
 *   8 16 bytes system UUID in SMBIOS order (first three groups little-endian)
 *  24 uint8  number of root hashes N (at most 23)
 *  25 N × { uint8 hash type (1 SHA-1, 2 SHA-256, 3 SHA-384), uint8 length, bytes }
 */
export const HELLO_PKI_VERSION = 3;
export const MAX_HELLO_HASHES = 23;

export interface Hello {
  credentialsChanged: boolean;
  version: number;
  retryCount: number;
  uuid: string;
  hashes: { algorithm: HashAlgorithm; hash: string }[];
}

const ALGORITHM_OF: Record<number, HashAlgorithm> = { 1: 'sha1', 2: 'sha256', 3: 'sha384' };

function uuidToSmbios(uuid: string): Buffer {
  const b = Buffer.from(uuid.replace(/-/g, ''), 'hex');
  return Buffer.concat([
    b.subarray(0, 4).reverse(),
    b.subarray(4, 6).reverse(),
    b.subarray(6, 8).reverse(),
    b.subarray(8),
  ]);
}

function smbiosToUuid(b: Buffer): string {
  const hex = Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8, 16),
  ]).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function encodeHello(hello: Hello): Buffer {
  const hashes = hello.hashes.slice(0, MAX_HELLO_HASHES);
  const head = Buffer.alloc(25);
  head.writeUInt16LE(hello.credentialsChanged ? 1 : 0, 0);
  head.writeUInt16LE(hello.version, 2);
  head.writeUInt32LE(hello.retryCount >>> 0, 4);
  uuidToSmbios(hello.uuid).copy(head, 8);
  head.writeUInt8(hashes.length, 24);
  const entries = hashes.map((h) => {
    const data = Buffer.from(h.hash, 'hex');
    return Buffer.concat([Buffer.from([HASH_TYPE[h.algorithm], data.length]), data]);
  });
  return Buffer.concat([head, ...entries]);
}

/** Strict decoder (used by tests and the docs' example listener): null when malformed. */
export function decodeHello(buf: Buffer): Hello | null {
  if (buf.length < 25) return null;
  const count = buf.readUInt8(24);
  const hashes: Hello['hashes'] = [];
  let pos = 25;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > buf.length) return null;
    const algorithm = ALGORITHM_OF[buf.readUInt8(pos)];
    const len = buf.readUInt8(pos + 1);
    if (!algorithm || len !== HASH_LENGTH[algorithm] || pos + 2 + len > buf.length) return null;
    hashes.push({ algorithm, hash: buf.subarray(pos + 2, pos + 2 + len).toString('hex') });
    pos += 2 + len;
  }
  if (pos !== buf.length) return null;
  return {
    credentialsChanged: buf.readUInt16LE(0) === 1,
    version: buf.readUInt16LE(2),
    retryCount: buf.readUInt32LE(4),
    uuid: smbiosToUuid(buf.subarray(8, 24)),
    hashes,
  };
}
