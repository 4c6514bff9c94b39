import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Raised when a sealed value cannot be opened: wrong key, wrong record, or tampering. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
  constructor(
    readonly code: 'SECRET_KEY_UNKNOWN' | 'SECRET_TAMPERED' | 'SECRET_MALFORMED',
    message: string,
  ) {
    super(message);
  }
}

const FORMAT = 'v1';

/** Short, stable identifier of a key (never the key itself), stored beside each ciphertext. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * AES-256-GCM for secrets at rest (credentials, CA private keys). Each sealed value names the key
 * it was sealed with, so keys can rotate: new values use the current key, old values still open
 * with the previous keys. The associated data binds a ciphertext to the record it belongs to
 * (e.g. `credential:<device>:<kind>:<version>`): a ciphertext copied into another row fails to open.
 */
export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  constructor(current: Buffer, previous: Buffer[] = []) {
    for (const key of [current, ...previous]) {
      if (key.length !== 32) throw new SecretBoxError('SECRET_MALFORMED', 'a key-encryption key must be 32 bytes');
      this.keys.set(keyId(key), key);
    }
    this.currentKeyId = keyId(current);
  }

  seal(plaintext: string | Buffer, associatedData: string): string {
    const key = this.keys.get(this.currentKeyId) as Buffer;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const parts = [FORMAT, this.currentKeyId, iv, cipher.getAuthTag(), ciphertext];
    return parts.map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  open(sealed: string, associatedData: string): Buffer {
    const [format, kid, iv, tag, ciphertext] = sealed.split('.');
    if (format !== FORMAT || !kid || !iv || !tag || ciphertext === undefined) {
      throw new SecretBoxError('SECRET_MALFORMED', 'sealed value is not in the v1 format');
    }
    const key = this.keys.get(kid);
    if (!key) throw new SecretBoxError('SECRET_KEY_UNKNOWN', `sealed with key ${kid}, which is not configured`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
    } catch {
      throw new SecretBoxError('SECRET_TAMPERED', 'sealed value does not authenticate for this record');
    }
  }

  openText(sealed: string, associatedData: string): string {
    return this.open(sealed, associatedData).toString('utf8');
  }

  /**
   * The same secret sealed under the current key, or undefined when it already is. Opening checks
   * the record binding, so a value moved to another row fails here too (SECRET_TAMPERED).
   */
  reseal(sealed: string, associatedData: string): string | undefined {
    if (sealed.split('.')[1] === this.currentKeyId) return undefined;
    return this.seal(this.open(sealed, associatedData), associatedData);
  }
}
