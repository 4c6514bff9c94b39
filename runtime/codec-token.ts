import { hkdfSync } from 'node:crypto';

/**
 * The codec server's token, derived from the key-encryption key: whoever may read the KEK may read
 * payloads anyway, and no further secret has to be stored or distributed.
 */
export function codecServerToken(kek: Buffer): string {
  return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'amtflow codec server token v1', 24)).toString(
    'base64url',
  );
}
