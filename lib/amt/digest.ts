import { createHash, randomBytes } from 'node:crypto';

/**
 * HTTP Digest (RFC 2617, MD5, qop=auth) the way AMT speaks it (protocol reference §1.3): the
 * challenge has realm, nonce, stale and qop, no algorithm and no opaque; the client answers with
 * every value quoted and an 8-hex-digit nonce count, like RPS and go-wsman do.
 */

export interface DigestChallenge {
  realm: string;
  nonce: string;
  /** `auth` when the server offers it; undefined for an RFC 2069 challenge without qop. */
  qop: 'auth' | undefined;
  opaque: string | undefined;
  stale: boolean;
}

/** Splits `k=v, k2="v, 2"` into pairs; quoted values may contain commas and backslash escapes. */
function parseParams(input: string): Map<string, string> {
  const params = new Map<string, string>();
  let i = 0;
  while (i < input.length) {
    while (i < input.length && /[\s,]/.test(input.charAt(i))) i++;
    const eq = input.indexOf('=', i);
    if (eq < 0) break;
    const key = input.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (input.charAt(i) === ' ') i++;
    let value = '';
    if (input.charAt(i) === '"') {
      i++;
      while (i < input.length && input.charAt(i) !== '"') {
        if (input.charAt(i) === '\\' && i + 1 < input.length) i++;
        value += input.charAt(i);
        i++;
      }
      i++;
    } else {
      const end = input.indexOf(',', i);
      value = input.slice(i, end < 0 ? input.length : end).trim();
      i = end < 0 ? input.length : end;
    }
    if (key) params.set(key, value);
  }
  return params;
}

/**
 * Reads the Digest challenge out of the `WWW-Authenticate` header values (one per header line, as
 * a server may also offer Negotiate). Undefined when there is no usable MD5 Digest challenge.
 */
export function parseDigestChallenge(headerValues: readonly string[]): DigestChallenge | undefined {
  for (const value of headerValues) {
    const match = /^\s*Digest\s+(.*)$/is.exec(value);
    if (!match?.[1]) continue;
    const params = parseParams(match[1]);
    const realm = params.get('realm');
    const nonce = params.get('nonce');
    const algorithm = params.get('algorithm');
    if (realm === undefined || !nonce) continue;
    if (algorithm !== undefined && algorithm.toUpperCase() !== 'MD5') continue;
    const qopOptions = params.get('qop');
    const offersAuth = qopOptions?.split(',').some((q) => q.trim().toLowerCase() === 'auth') ?? false;
    if (qopOptions !== undefined && !offersAuth) continue; // auth-int only: not supported
    return {
      realm,
      nonce,
      qop: offersAuth ? 'auth' : undefined,
      opaque: params.get('opaque'),
      stale: params.get('stale')?.toLowerCase() === 'true',
    };
  }
  return undefined;
}

const md5 = (value: string | Buffer): Buffer => createHash('md5').update(value).digest();

/** Raw MD5(username:realm:password) — HA1 of Digest, and (Base64) AMT's DigestPassword parameter. */
export function digestHa1(username: string, realm: string, password: string): Buffer {
  return md5(`${username}:${realm}:${password}`);
}

export interface DigestInput {
  username: string;
  password: string;
  realm: string;
  method: string;
  uri: string;
  nonce: string;
  /** The nonce count exactly as it goes on the wire (`00000001`, or `1` for MeshCentral-style clients). */
  nc: string;
  cnonce: string;
  qop: 'auth' | undefined;
}

/** The `response` value: MD5(HA1:nonce:nc:cnonce:qop:HA2), or MD5(HA1:nonce:HA2) without qop. */
export function digestResponse(input: DigestInput): string {
  const ha1 = digestHa1(input.username, input.realm, input.password).toString('hex');
  const ha2 = md5(`${input.method}:${input.uri}`).toString('hex');
  const tail = input.qop ? `${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}` : `${input.nonce}:${ha2}`;
  return md5(`${ha1}:${tail}`).toString('hex');
}

const quote = (value: string): string => `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/**
 * Digest state for one server: the current challenge and its nonce count. The nonce is reused with
 * an incrementing nc until the server sends a new challenge (stale or otherwise).
 */
export class DigestSession {
  private nonceCount = 0;
  private readonly cnonce = randomBytes(16).toString('hex');

  constructor(readonly challenge: DigestChallenge) {}

  /** The `Authorization` header for one request; each call consumes one nonce count. */
  authorization(username: string, password: string, method: string, uri: string): string {
    const { realm, nonce, qop, opaque } = this.challenge;
    this.nonceCount++;
    const nc = this.nonceCount.toString(16).padStart(8, '0');
    const response = digestResponse({ username, password, realm, method, uri, nonce, nc, cnonce: this.cnonce, qop });
    const parts = [
      `username=${quote(username)}`,
      `realm=${quote(realm)}`,
      `nonce=${quote(nonce)}`,
      `uri=${quote(uri)}`,
      `response=${quote(response)}`,
    ];
    if (opaque !== undefined) parts.push(`opaque=${quote(opaque)}`);
    if (qop) parts.push(`qop="${qop}"`, `nc="${nc}"`, `cnonce=${quote(this.cnonce)}`);
    return `Digest ${parts.join(', ')}`;
  }
}
