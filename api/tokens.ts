import { hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The codec server's machine token, derived from the key-encryption key under its own HKDF label:
 * whoever holds the KEK can read every secret anyway, so no further secret has to be stored or
 * distributed. Operators are principals with tokens of their own (lib/store/principals.ts,
 * api/authorize.ts); each in-band agent has its computer's own credential (api/routes/agent.ts).
 */
function deriveToken(kek: Buffer, label: string): string {
  return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), label, 24)).toString('base64url');
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
