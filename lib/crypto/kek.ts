import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import path from 'node:path';
import type { AmtflowConfig } from '../config';
import { SecretBox } from './secret-box';

/**
 * Where the key-encryption key file lives by default: `<stateDir>/keys/kek.key`, a directory of its
 * own — not inside the database directory (`<stateDir>/db`), and never in PostgreSQL. Production
 * deployments pass the key from a secret manager (AMTFLOW_KEK) or point `secrets.keyFile` at a
 * mounted secret.
 */
export function defaultKeyFile(config: Pick<AmtflowConfig, 'stateDir'>): string {
  return path.join(config.stateDir, 'keys', 'kek.key');
}

/**
 * The key-encryption key: from the configuration, or from the key file, which is created (0600,
 * exclusively, so two processes starting at once agree on one key) when it does not exist yet.
 */
export function loadKeyEncryptionKey(config: Pick<AmtflowConfig, 'stateDir' | 'secrets'>): Buffer {
  if (config.secrets.key) return Buffer.from(config.secrets.key, 'base64');
  const file = config.secrets.keyFile ?? defaultKeyFile(config);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32).toString('base64'));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`key-encryption key file ${file} does not hold 32 base64-encoded bytes`);
  return key;
}

export function secretBoxFromConfig(config: Pick<AmtflowConfig, 'stateDir' | 'secrets'>): SecretBox {
  return new SecretBox(loadKeyEncryptionKey(config));
}
