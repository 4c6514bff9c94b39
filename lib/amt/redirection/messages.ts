/**
 * The AMT redirection protocol from the console's side (console reference §1–§2; amtterm
 * `RedirectionConstants.h`, MeshCommander `amt-redir-ws` and `amt-ider-ws`): binary messages
 * dispatched on their first byte, little-endian, each type with a fixed length or its own length
 * field. Ports 16994 (plain) and 16995 (TLS).
 */

export const AMT_REDIRECTION_PORT = 16994;
export const AMT_REDIRECTION_TLS_PORT = 16995;

export const REDIRECTION = {
  START_SESSION: 0x10,
  START_SESSION_REPLY: 0x11,
  END_SESSION: 0x12,
  AUTHENTICATE: 0x13,
  AUTHENTICATE_REPLY: 0x14,
  START_SOL: 0x20,
  START_SOL_REPLY: 0x21,
  END_SOL: 0x22,
  END_SOL_REPLY: 0x23,
  SOL_PING: 0x24,
  SOL_PONG: 0x25,
  SOL_DATA_TO_HOST: 0x28,
  SOL_CONTROLS_FROM_HOST: 0x29,
  SOL_DATA_FROM_HOST: 0x2a,
  SOL_HEARTBEAT: 0x2b,
  START_IDER: 0x40,
  START_IDER_REPLY: 0x41,
  END_IDER: 0x42,
  END_IDER_REPLY: 0x43,
  IDER_PING: 0x44,
  IDER_PONG: 0x45,
  IDER_RESET_OCCURRED: 0x46,
  IDER_RESET_RESPONSE: 0x47,
  IDER_FEATURES: 0x48,
  IDER_FEATURES_REPLY: 0x49,
  IDER_ERROR_OCCURRED: 0x4a,
  IDER_HEARTBEAT: 0x4b,
  IDER_COMMAND_WRITTEN: 0x50,
  IDER_COMMAND_END: 0x51,
  IDER_DATA_TO_HOST: 0x54,
} as const;

/** Session types of StartRedirectionSession. */
export const SESSION_TYPE = { sol: 'SOL ', ider: 'IDER' } as const;
export type SessionKind = keyof typeof SESSION_TYPE;

/** StartRedirectionSessionReply status (the Open AMT console's names). */
export const START_STATUS = { SUCCESS: 0, UNKNOWN: 1, BUSY: 2, UNSUPPORTED: 3, ERROR: 0xff } as const;

/** Authentication types and statuses (amtterm `auth.c`; the Open AMT console). */
export const AUTH = {
  QUERY: 0,
  PLAIN: 1,
  KERBEROS: 2,
  DIGEST_NO_QOP: 3,
  DIGEST: 4,
  SUCCESS: 0,
  FAIL: 1,
  NOT_SUPPORTED: 2,
} as const;

/** The longest authentication reply read: realm, nonce and qop fit in a few hundred bytes. */
const MAX_AUTH_REPLY = 2048;

const FIXED: Readonly<Record<number, number>> = {
  [REDIRECTION.START_SOL_REPLY]: 23,
  [REDIRECTION.END_SOL_REPLY]: 8,
  [REDIRECTION.SOL_PING]: 8,
  [REDIRECTION.SOL_PONG]: 8,
  [REDIRECTION.SOL_CONTROLS_FROM_HOST]: 10,
  [REDIRECTION.SOL_HEARTBEAT]: 8,
  [REDIRECTION.END_IDER_REPLY]: 8,
  [REDIRECTION.IDER_PING]: 8,
  [REDIRECTION.IDER_PONG]: 8,
  [REDIRECTION.IDER_RESET_OCCURRED]: 9,
  [REDIRECTION.IDER_FEATURES_REPLY]: 13,
  [REDIRECTION.IDER_ERROR_OCCURRED]: 11,
  [REDIRECTION.IDER_HEARTBEAT]: 8,
  [REDIRECTION.IDER_COMMAND_WRITTEN]: 28,
};

/**
 * Length of the complete firmware message at the start of `buf`: a number, `null` when more bytes
 * are needed, or -1 for a type (or a size) no firmware sends — the caller ends the session.
 */
export function firmwareMessageLength(buf: Buffer): number | null {
  if (buf.length === 0) return null;
  const type = buf[0]!;
  let length = FIXED[type];
  if (length === undefined) {
    const header = { [REDIRECTION.START_SESSION_REPLY]: 13, [REDIRECTION.START_IDER_REPLY]: 30 }[type];
    if (header !== undefined) {
      if (buf.length < header) return null;
      length = header + buf[header - 1]!;
    } else if (type === REDIRECTION.AUTHENTICATE_REPLY) {
      if (buf.length < 9) return null;
      const data = buf.readUInt32LE(5);
      if (data > MAX_AUTH_REPLY) return -1;
      length = 9 + data;
    } else if (type === REDIRECTION.SOL_DATA_FROM_HOST) {
      if (buf.length < 10) return null;
      length = 10 + buf.readUInt16LE(8);
    } else return -1;
  }
  return buf.length >= length ? length : null;
}

/** `type 00 00 00 seq(LE32)` with `extra` zero bytes after it (8-byte messages when extra = 0). */
export function headed(type: number, seq: number, size = 8): Buffer {
  const message = Buffer.alloc(size);
  message[0] = type;
  message.writeUInt32LE(seq >>> 0, 4);
  return message;
}

/** Strings of the authentication payload: each one byte of length then the bytes. */
export function lengthPrefixed(values: readonly string[]): Buffer {
  return Buffer.concat(
    values.map((value) => {
      const bytes = Buffer.from(value, 'latin1');
      if (bytes.length > 255) throw new RangeError('a redirection authentication field is at most 255 bytes');
      return Buffer.concat([Buffer.from([bytes.length]), bytes]);
    }),
  );
}

export function readLengthPrefixed(data: Buffer, count: number): string[] | null {
  const values: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = data[at];
    if (length === undefined || at + 1 + length > data.length) return null;
    values.push(data.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  return values;
}
