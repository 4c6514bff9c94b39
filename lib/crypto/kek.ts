import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { AmtflowConfig } from '../config';
import { SecretBox, keyId } from './secret-box';

/**
 * The key-encryption keys: a ring, oldest first. The newest seals every new secret; every one of
 * them still opens what it sealed (each sealed value names its key's id), so a key can be added
 * without touching stored data, and `npm run secrets:reseal` moves everything onto the newest.
 *
 * The payload codec key and the codec server's token are derived from the ring's FIRST key, never
 * from the newest: a rotation must not make the histories of running workflows unreadable, nor
 * change the token the Web UI holds (docs/architecture.md, "Secrets").
 */
export interface KeyRing {
  /** Oldest first. */
  keys: Buffer[];
  /** The newest key: seals new secrets. */
  current: Buffer;
  /** The oldest key: the root of the payload codec key and the API tokens. */
  derivationRoot: Buffer;
}

export class KeyRingError extends Error {
  override readonly name = 'KeyRingError';
  constructor(
    readonly code: 'KEY_FILE_EXPOSED' | 'KEY_RING_INVALID' | 'KEY_RING_NOT_A_FILE',
    message: string,
  ) {
    super(message);
  }
}

type KeyConfig = Pick<AmtflowConfig, 'stateDir' | 'secrets'>;

/**
 * Where the key file lives by default: `<stateDir>/keys/kek.key`, a directory of its own — not
 * inside the database directory (`<stateDir>/db`), and never in PostgreSQL. Production
 * deployments pass the keys from a secret manager (AMTFLOW_KEK) or point `secrets.keyFile` at a
 * mounted secret.
 */
export function defaultKeyFile(config: Pick<AmtflowConfig, 'stateDir'>): string {
  return path.join(config.stateDir, 'keys', 'kek.key');
}

/**
 * A ring written out: base64 keys of 32 bytes, oldest first, separated by commas (AMTFLOW_KEK) or
 * line breaks (the key file). `source` names where it came from in errors; no key is ever quoted.
 */
export function parseKeyRing(text: string, source: string): Buffer[] {
  const entries = text
    .split(/[,\r\n]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new KeyRingError('KEY_RING_INVALID', `${source} holds no key`);
  return entries.map((entry, i) => {
    const key = Buffer.from(entry, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(entry)) {
      throw new KeyRingError('KEY_RING_INVALID', `${source}: key ${i + 1} is not 32 base64-encoded bytes`);
    }
    return key;
  });
}

/**
 * The key file and its folder must be the process owner's alone: one a group or other users can
 * read (or write) opens every secret amtflow holds. Refused at start, naming the path and the fix.
 */
function assertPrivate(target: string, what: 'file' | 'folder'): void {
  const stat = statSync(target);
  if (what === 'file' && !stat.isFile()) {
    throw new KeyRingError('KEY_RING_NOT_A_FILE', `key file ${target} is not a regular file`);
  }
  if ((stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
    throw new KeyRingError(
      'KEY_FILE_EXPOSED',
      `key ${what} ${target} has mode ${mode}: others than its owner can reach it; ` +
        `chmod ${what === 'file' ? '600' : '700'} ${target}`,
    );
  }
}

/** Creates the key file with one fresh key (0600, exclusively: two processes starting at once agree on one). */
function createKeyFileOnce(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function ringOf(keys: Buffer[]): KeyRing {
  return { keys, current: keys[keys.length - 1] as Buffer, derivationRoot: keys[0] as Buffer };
}

/**
 * The ring from the configuration (`secrets.key`, from AMTFLOW_KEK) or from the key file, which is
 * created with one key when it does not exist yet. The key file and its folder must not be
 * readable by anyone but their owner (KEY_FILE_EXPOSED).
 */
export function loadKeyRing(config: KeyConfig): KeyRing {
  if (config.secrets.key) return ringOf(parseKeyRing(config.secrets.key, 'secrets.key (AMTFLOW_KEK)'));
  const file = config.secrets.keyFile ?? defaultKeyFile(config);
  createKeyFileOnce(file);
  assertPrivate(path.dirname(file), 'folder');
  assertPrivate(file, 'file');
  return ringOf(parseKeyRing(readFileSync(file, 'utf8'), `key file ${file}`));
}

/** The root of the payload codec key and the API tokens: the ring's first key (see KeyRing). */
export function loadDerivationKey(config: KeyConfig): Buffer {
  return loadKeyRing(config).derivationRoot;
}

/** Seals with the newest key, opens with any key of the ring. */
export function secretBoxFromConfig(config: KeyConfig): SecretBox {
  const { current, keys } = loadKeyRing(config);
  return new SecretBox(current, keys.slice(0, -1));
}

/**
 * Rotation, step one: appends a fresh key to the key file (written whole, then renamed over it),
 * which from the next start seals every new secret. Step two is `npm run secrets:reseal`. A ring
 * given in AMTFLOW_KEK is the secret manager's to extend: refused here.
 */
export function addKeyToKeyFile(config: KeyConfig): { file: string; keyId: string; keys: number } {
  if (config.secrets.key) {
    throw new KeyRingError(
      'KEY_RING_NOT_A_FILE',
      'the keys come from AMTFLOW_KEK: append the new key there (comma-separated, newest last)',
    );
  }
  const file = config.secrets.keyFile ?? defaultKeyFile(config);
  const { keys } = loadKeyRing(config);
  const fresh = randomBytes(32);
  const next = `${file}.next`;
  rmSync(next, { force: true });
  const fd = openSync(next, 'wx', 0o600);
  try {
    writeSync(fd, [...keys, fresh].map((key) => `${key.toString('base64')}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(next, file);
  return { file, keyId: keyId(fresh), keys: keys.length + 1 };
}
