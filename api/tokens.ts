import { hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The front doors' bearer tokens, derived from the key-encryption key, each under its own HKDF
 * label: whoever holds the KEK can read every secret anyway, so no further secret has to be stored
 * or distributed, and one token never opens another's routes. Agents get the agent token only: it
 * can report an OTP hash, nothing else.
 */
function deriveToken(kek: Buffer, label: string): string {
  return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), label, 24)).toString('base64url');
}

export interface ApiTokens {
  /** Operator routes: import, lifecycle operations, progress, decisions. */
  operator: string;
  /** The in-band agent's report route (IB2–IB4). */
  agent: string;
}

export function apiTokens(kek: Buffer): ApiTokens {
  return {
    operator: deriveToken(kek, 'amtflow operator api token v1'),
    agent: deriveToken(kek, 'amtflow agent report token v1'),
  };
}

/** The codec server's token, for the Web UI and CLI to read encrypted payloads. */
export function codecServerToken(kek: Buffer): string {
  return deriveToken(kek, 'amtflow codec server token v1');
}

/** Constant-time comparison, so a wrong guess reveals nothing about the token. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}
