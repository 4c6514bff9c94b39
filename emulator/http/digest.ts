import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * HTTP Digest as AMT does it (reference §1.3): MD5, qop=auth, nonces that stay valid across TCP
 * connections (MeshCentral reconnects and reuses its nonce), and tolerance for the three known
 * client styles of `nc` (RPS and go-wsman 8-hex, MeshCentral unpadded decimal) by hashing the
 * literal strings the client sent.
 */
const NONCE_TTL_MS = 10 * 60 * 1000;
const MAX_NONCES = 64;
const MAX_USES_PER_NONCE = 1024;

export function challenge(realm: string, nonce: string): string {
  // Exactly AMT's spacing: a space after the first comma only.
  return `Digest realm="${realm}", nonce="${nonce}",stale="false",qop="auth"`;
}

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  qop: string | undefined;
  nc: string | undefined;
  cnonce: string | undefined;
}

/** Parses `Authorization: Digest k=v, k="v"…`, quoted or not, any order. Null when not digest. */
export function parseAuthorization(header: string | undefined): DigestCredentials | null {
  if (!header || !/^Digest\s/i.test(header)) return null;
  const params = new Map<string, string>();
  const re = /([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^\s,]*))/g;
  for (let m = re.exec(header.slice(7)); m; m = re.exec(header.slice(7))) {
    params.set(m[1]!.toLowerCase(), m[2] ?? m[3] ?? '');
  }
  const required = ['username', 'realm', 'nonce', 'uri', 'response'] as const;
  if (required.some((k) => !params.has(k))) return null;
  return {
    username: params.get('username')!,
    realm: params.get('realm')!,
    nonce: params.get('nonce')!,
    uri: params.get('uri')!,
    response: params.get('response')!.toLowerCase(),
    qop: params.get('qop'),
    nc: params.get('nc'),
    cnonce: params.get('cnonce'),
  };
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** True when `creds.response` is right for the account whose HA1 is `ha1` (qop=auth required). */
export function verifyResponse(creds: DigestCredentials, method: string, ha1: string): boolean {
  if (creds.qop !== 'auth' || !creds.nc || creds.cnonce === undefined) return false;
  const ha2 = md5(`${method}:${creds.uri}`);
  const expected = md5(`${ha1}:${creds.nonce}:${creds.nc}:${creds.cnonce}:auth:${ha2}`);
  return (
    expected.length === creds.response.length && timingSafeEqual(Buffer.from(expected), Buffer.from(creds.response))
  );
}

interface NonceState {
  issuedAt: number;
  /** `cnonce:nc` pairs already accepted: a replayed request is refused. */
  used: Set<string>;
}

/** The nonces a device has issued. Bounded; cleared by a reboot. */
export class NonceTable {
  private readonly nonces = new Map<string, NonceState>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(): string {
    if (this.nonces.size >= MAX_NONCES) {
      const oldest = this.nonces.keys().next().value as string;
      this.nonces.delete(oldest);
    }
    // 24 random bytes → 32 base64 characters without '=' padding, never ',' (MeshCentral splits on it).
    const nonce = randomBytes(24).toString('base64');
    this.nonces.set(nonce, { issuedAt: this.now(), used: new Set() });
    return nonce;
  }

  /** Accepts one use of `nonce` with this cnonce/nc; false when unknown, expired or replayed. */
  use(nonce: string, cnonce: string, nc: string): boolean {
    const state = this.nonces.get(nonce);
    if (!state) return false;
    if (this.now() - state.issuedAt > NONCE_TTL_MS) {
      this.nonces.delete(nonce);
      return false;
    }
    const key = `${cnonce}:${nc}`;
    if (state.used.has(key)) return false;
    if (state.used.size >= MAX_USES_PER_NONCE) state.used.clear();
    state.used.add(key);
    return true;
  }

  clear(): void {
    this.nonces.clear();
  }
}
