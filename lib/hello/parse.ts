/**
 * The hello message an AMT device in setup mode sends to its provisioning server on TCP 9971
 * (spec OOB1/OOB2; layout in the protocol reference §6.3), parsed with every length checked: the
 * bytes come from the network, unauthenticated.
 */
import { deviceUuidFromSmbios, type DeviceUuid } from '../device-uuid';

export type HashAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export interface RootHash {
  algorithm: HashAlgorithm;
  /** Lower-case hex thumbprint. */
  hex: string;
}

export interface Hello {
  /** 3 = PKI (root-certificate hashes), 2 = PSK (PID; removed in AMT 11). */
  version: 2 | 3;
  /** The firmware reports that its admin/network password was changed from the default. */
  adminCredentialsSet: boolean;
  /** How many hellos this device already sent in the current cycle. */
  retryCount: number;
  uuid: DeviceUuid;
  rootHashes: RootHash[];
  /** PSK only: the 8-character PID. */
  pid?: string;
}

export class HelloFormatError extends Error {
  override readonly name = 'HelloFormatError';
  readonly code = 'HELLO_MALFORMED';
}

/** Largest hello a device can send: 25 header bytes + 23 hashes of at most 2 + 64 bytes. */
export const MAX_HELLO_BYTES = 25 + 23 * 66;
const MAX_HASHES = 23;

// Hash type codes in the hello; type 3 is SHA-384 on modern firmware and SHA-512 on AMT 2–5.
const HASH_TYPES: Record<number, Array<{ algorithm: HashAlgorithm; length: number }>> = {
  1: [{ algorithm: 'sha1', length: 20 }],
  2: [{ algorithm: 'sha256', length: 32 }],
  3: [
    { algorithm: 'sha384', length: 48 },
    { algorithm: 'sha512', length: 64 },
  ],
};

/** SMBIOS stores the first three UUID groups little-endian (lib/device-uuid.ts). */
export const uuidFromSmbios = deviceUuidFromSmbios;

export function parseHello(data: Buffer): Hello {
  if (data.length > MAX_HELLO_BYTES)
    throw new HelloFormatError(`hello of ${data.length} bytes exceeds ${MAX_HELLO_BYTES}`);
  if (data.length < 24) throw new HelloFormatError(`hello of ${data.length} bytes is shorter than its 24-byte header`);
  const flag = data.readUInt16LE(0);
  if (flag > 1) throw new HelloFormatError(`credentials flag ${flag} is neither 0 nor 1`);
  const version = data.readUInt16LE(2);
  const base = {
    adminCredentialsSet: flag === 1,
    retryCount: data.readUInt32LE(4),
    uuid: uuidFromSmbios(data.subarray(8, 24)),
  };

  if (version === 2) {
    if (data.length !== 32) throw new HelloFormatError(`a PSK hello is 32 bytes, not ${data.length}`);
    const pid = data.subarray(24, 32).toString('latin1');
    if (!/^[\x21-\x7e]{8}$/.test(pid)) throw new HelloFormatError('PID is not 8 printable ASCII characters');
    return { ...base, version: 2, rootHashes: [], pid };
  }
  if (version !== 3) throw new HelloFormatError(`hello version ${version} is not supported (2 = PSK, 3 = PKI)`);
  if (data.length < 25) throw new HelloFormatError('a PKI hello lacks its hash count');
  const count = data.readUInt8(24);
  if (count > MAX_HASHES)
    throw new HelloFormatError(`hello lists ${count} root hashes; firmware sends at most ${MAX_HASHES}`);
  const rootHashes: RootHash[] = [];
  let offset = 25;
  for (let i = 0; i < count; i++) {
    if (offset + 2 > data.length) throw new HelloFormatError(`hash ${i + 1} of ${count} is cut off`);
    const type = data.readUInt8(offset);
    const length = data.readUInt8(offset + 1);
    const match = HASH_TYPES[type]?.find((t) => t.length === length);
    if (!match)
      throw new HelloFormatError(`hash ${i + 1} has type ${type} with length ${length}, which no firmware sends`);
    if (offset + 2 + length > data.length) throw new HelloFormatError(`hash ${i + 1} of ${count} is cut off`);
    rootHashes.push({
      algorithm: match.algorithm,
      hex: data.subarray(offset + 2, offset + 2 + length).toString('hex'),
    });
    offset += 2 + length;
  }
  if (offset !== data.length)
    throw new HelloFormatError(`${data.length - offset} unexpected bytes after the last hash`);
  return { ...base, version: 3, rootHashes };
}
