import { hkdfSync } from 'node:crypto';

/**
 * The API's bearer tokens, derived from the key-encryption key like the codec server's
 * (runtime/codec-token.ts), each under its own HKDF label: whoever holds the KEK can read every
 * secret anyway, so no further secret has to be stored or distributed, and one token never
 * opens the other's routes. Agents get the agent token only: it can report an OTP hash, nothing else.
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
