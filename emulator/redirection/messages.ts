/**
 * The AMT redirection protocol on the firmware side (TCP 16994, TLS 16995; console reference §1–§2):
 * binary messages dispatched on their first byte, each with a fixed length or its own length field.
 * Multi-byte values are little-endian. Names follow amtterm's RedirectionConstants.h.
 */

export const MSG = {
  START_REDIRECTION_SESSION: 0x10,
  START_REDIRECTION_SESSION_REPLY: 0x11,
  END_REDIRECTION_SESSION: 0x12,
  AUTHENTICATE_SESSION: 0x13,
  AUTHENTICATE_SESSION_REPLY: 0x14,
  START_SOL: 0x20,
  START_SOL_REPLY: 0x21,
  END_SOL: 0x22,
  END_SOL_REPLY: 0x23,
  SOL_KEEP_ALIVE_PING: 0x24,
  SOL_KEEP_ALIVE_PONG: 0x25,
  /** Sent by MeshCommander after 0x21; meaning undocumented (console reference §1.5). */
  SOL_MESH_SETTINGS: 0x27,
  SOL_DATA_TO_HOST: 0x28,
  SOL_CONTROLS_FROM_HOST: 0x29,
  SOL_DATA_FROM_HOST: 0x2a,
  SOL_HEARTBEAT: 0x2b,
  START_IDER: 0x40,
  START_IDER_REPLY: 0x41,
  END_IDER: 0x42,
  END_IDER_REPLY: 0x43,
  IDER_KEEP_ALIVE_PING: 0x44,
  IDER_KEEP_ALIVE_PONG: 0x45,
  IDER_RESET_OCCURRED: 0x46,
  IDER_RESET_OCCURRED_RESPONSE: 0x47,
  IDER_FEATURES: 0x48,
  IDER_FEATURES_REPLY: 0x49,
  IDER_HEARTBEAT: 0x4b,
  IDER_COMMAND_WRITTEN: 0x50,
  IDER_COMMAND_END_RESPONSE: 0x51,
  IDER_GET_DATA_FROM_HOST: 0x52,
  IDER_DATA_TO_HOST: 0x54,
} as const;

/** StartRedirectionSessionReply status (the Open AMT console's constants). */
export const START_STATUS = { SUCCESS: 0, BUSY: 2, UNSUPPORTED: 3 } as const;

/** AuthenticateSession types and reply statuses (amtterm auth.c; the Open AMT console). */
export const AUTH_TYPE = { QUERY: 0, PLAIN: 1, KERBEROS: 2, DIGEST_NO_QOP: 3, DIGEST: 4 } as const;
export const AUTH_STATUS = { SUCCESS: 0, FAIL: 1, NOT_SUPPORTED: 2 } as const;

/** Intel's IANA enterprise number, in the session and IDE-R open replies. */
export const INTEL_IANA = 343;

/** The longest authentication payload accepted: a digest answer is a few hundred bytes. */
const MAX_AUTH_DATA = 2048;

/**
 * Length of the complete console message at the start of `buf`: a number, `null` when more bytes
 * are needed to know or to complete it, or `-1` for a type the firmware does not know (or an
 * authentication payload beyond any real one) — the session then ends.
 */
export function consoleMessageLength(buf: Buffer): number | null {
  if (buf.length === 0) return null;
  const fixed: Readonly<Record<number, number>> = {
    [MSG.START_REDIRECTION_SESSION]: 8,
    [MSG.END_REDIRECTION_SESSION]: 4,
    [MSG.START_SOL]: 24,
    [MSG.END_SOL]: 8,
    [MSG.SOL_KEEP_ALIVE_PING]: 8,
    [MSG.SOL_MESH_SETTINGS]: 14,
    [MSG.SOL_HEARTBEAT]: 8,
    [MSG.START_IDER]: 18,
    [MSG.END_IDER]: 8,
    [MSG.IDER_KEEP_ALIVE_PING]: 8,
    [MSG.IDER_KEEP_ALIVE_PONG]: 8,
    [MSG.IDER_RESET_OCCURRED_RESPONSE]: 8,
    [MSG.IDER_HEARTBEAT]: 8,
    [MSG.IDER_COMMAND_END_RESPONSE]: 31,
    [MSG.IDER_GET_DATA_FROM_HOST]: 31,
  };
  const type = buf[0]!;
  const known = fixed[type];
  let length: number;
  if (known !== undefined) length = known;
  else if (type === MSG.AUTHENTICATE_SESSION) {
    if (buf.length < 9) return null;
    const data = buf.readUInt32LE(5);
    if (data > MAX_AUTH_DATA) return -1;
    length = 9 + data;
  } else if (type === MSG.SOL_DATA_TO_HOST) {
    if (buf.length < 10) return null;
    length = 10 + buf.readUInt16LE(8);
  } else if (type === MSG.IDER_FEATURES) {
    // "Get supported" carries no value (Intel's redirection switchbox sample reads 9 bytes).
    if (buf.length < 9) return null;
    length = buf[8] === 1 ? 9 : 13;
  } else if (type === MSG.IDER_DATA_TO_HOST) {
    if (buf.length < 11) return null;
    length = 34 + buf.readUInt16LE(9);
  } else return -1;
  return buf.length >= length ? length : null;
}

/** `type 00 00 00` + a LE32 sequence number: the 8-byte heartbeat / ping / pong / end shapes. */
export function shortMessage(type: number, seq: number): Buffer {
  const msg = Buffer.alloc(8);
  msg[0] = type;
  msg.writeUInt32LE(seq >>> 0, 4);
  return msg;
}

/** Reads length-prefixed strings (1-byte length each) from an authentication payload. */
export function readStrings(data: Buffer, count: number): string[] | null {
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at >= data.length) return null;
    const len = data[at]!;
    if (at + 1 + len > data.length) return null;
    out.push(data.subarray(at + 1, at + 1 + len).toString('latin1'));
    at += 1 + len;
  }
  return out;
}

export function writeStrings(values: readonly string[]): Buffer {
  return Buffer.concat(values.map((v) => Buffer.concat([Buffer.from([v.length]), Buffer.from(v, 'latin1')])));
}

/** AuthenticateSessionReply: `14 status 00 00 type len(LE32) data`. */
export function authReply(status: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head[0] = MSG.AUTHENTICATE_SESSION_REPLY;
  head[1] = status;
  head[4] = type;
  head.writeUInt32LE(data.length, 5);
  return Buffer.concat([head, data]);
}
