import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { PkiError } from './errors';

/** Spec P1 (and AMT's key store): no RSA key amtflow issues under or hands to firmware is longer. */
export const MAX_RSA_BITS = 2048;
/**
 * The smallest key certified for a device (firmware before AMT 15 may generate 1024-bit keys). The
 * CA's own keys are 2048 bits: `ca.keyBits` refuses anything else (lib/config).
 */
export const MIN_RSA_BITS = 1024;

const generateKeyPairAsync = promisify(generateKeyPair);

/** Spec P1: refuse a CA key size before anything is generated or written. */
export function assertCaKeyBits(bits: number, what: string): void {
  if (bits > MAX_RSA_BITS) {
    throw new PkiError(
      'CA_KEY_TOO_LARGE',
      `${what} is ${bits}-bit RSA; AMT cannot use CA keys over ${MAX_RSA_BITS} bits (spec P1). ` +
        `Use a CA with a ${MAX_RSA_BITS}-bit key (ca.keyBits ${MAX_RSA_BITS}).`,
    );
  }
}

/**
 * RSA key generation through OpenSSL (node:crypto) rather than forge's JavaScript: an order of
 * magnitude faster, and asynchronous, so a worker keeps heartbeating while a key is made.
 */
export async function generateRsaKey(bits: number): Promise<KeyObject> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: bits });
  return privateKey;
}

/** Modulus length of an RSA key; any other key type is refused (AMT keys are RSA). */
export function rsaBits(key: KeyObject, what: string): number {
  const bits = key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength : undefined;
  if (bits === undefined) {
    throw new PkiError('KEY_UNSUPPORTED', `${what} is ${key.asymmetricKeyType ?? 'not a'} key; AMT uses RSA keys only`);
  }
  return bits;
}

/** AMT firmware holds RSA keys of 1024 to 2048 bits; anything outside cannot be installed or used. */
export function checkLeafKeyBits(key: KeyObject, what: string): void {
  const bits = rsaBits(key, what);
  if (bits > MAX_RSA_BITS) {
    throw new PkiError('KEY_TOO_LARGE', `${what} is ${bits}-bit RSA; AMT supports RSA keys up to ${MAX_RSA_BITS} bits`);
  }
  if (bits < MIN_RSA_BITS) {
    throw new PkiError(
      'KEY_UNSUPPORTED',
      `${what} is ${bits}-bit RSA; keys shorter than ${MIN_RSA_BITS} bits are refused`,
    );
  }
}

export function forgePublicKey(key: KeyObject): forge.pki.rsa.PublicKey {
  return forge.pki.publicKeyFromPem(createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString());
}

/** PKCS#8 PEM: the form private keys are sealed in and handed to node:tls. */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** True when the private key belongs to the public key (compared as SPKI DER). */
export function keyMatches(privateKey: KeyObject, publicKey: KeyObject): boolean {
  const spki = (k: KeyObject) =>
    (k.type === 'private' ? createPublicKey(k) : k).export({ type: 'spki', format: 'der' });
  return spki(privateKey).equals(spki(publicKey));
}
