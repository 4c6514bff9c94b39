import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codecServerToken } from '../../../api/tokens';
import { ConfigError, loadConfig } from '../../../lib/config';
import {
  addKeyToKeyFile,
  loadDerivationKey,
  loadKeyRing,
  secretBoxFromConfig,
  type KeyRingError,
} from '../../../lib/crypto/kek';
import { keyId } from '../../../lib/crypto/secret-box';
import { deriveCodecKey } from '../../../runtime/payload-codec';

const stateDir = () => mkdtempSync(path.join(os.tmpdir(), 'amtflow-kek-'));
const keyFile = (dir: string) => path.join(dir, 'keys', 'kek.key');

function ringError(fn: () => unknown): KeyRingError {
  try {
    fn();
  } catch (err) {
    expect(err).toMatchObject({ name: 'KeyRingError' });
    return err as KeyRingError;
  }
  throw new Error('expected a KeyRingError');
}

describe('key-encryption key ring', () => {
  it('is created once with one key, mode 0600 in a 0700 folder outside the database directory, then reused', () => {
    const dir = stateDir();
    const first = loadKeyRing({ stateDir: dir, secrets: {} });
    const second = loadKeyRing({ stateDir: dir, secrets: {} });
    expect(first.keys).toHaveLength(1);
    expect(second.current.equals(first.current)).toBe(true);
    expect(first.derivationRoot.equals(first.current)).toBe(true);
    expect(statSync(keyFile(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(keyFile(dir))).mode & 0o777).toBe(0o700);
    expect(readFileSync(keyFile(dir), 'utf8').trim()).toBe(first.current.toString('base64'));
  });

  it('comes from the configuration when given there: oldest first, the newest seals', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const ring = loadKeyRing({
      stateDir: '/nonexistent',
      secrets: { key: `${a.toString('base64')},${b.toString('base64')}` },
    });
    expect(ring.derivationRoot.equals(a)).toBe(true);
    expect(ring.current.equals(b)).toBe(true);
  });

  it('rotates: a new key seals new secrets, old ones still open, codec key and codec server token stay', () => {
    const dir = stateDir();
    const config = { stateDir: dir, secrets: {} };
    const before = secretBoxFromConfig(config);
    const sealedBefore = before.seal('old secret', 'credential:x:amt_admin:1');
    const rootBefore = loadDerivationKey(config);

    const added = addKeyToKeyFile(config);
    expect(added).toMatchObject({ file: keyFile(dir), keys: 2 });
    expect(statSync(keyFile(dir)).mode & 0o777).toBe(0o600);

    const after = secretBoxFromConfig(config);
    expect(after.currentKeyId).toBe(added.keyId);
    expect(after.currentKeyId).not.toBe(before.currentKeyId);
    expect(after.seal('new secret', 'r').split('.')[1]).toBe(added.keyId);
    expect(after.openText(sealedBefore, 'credential:x:amt_admin:1')).toBe('old secret');
    expect(after.reseal(sealedBefore, 'credential:x:amt_admin:1')!.split('.')[1]).toBe(added.keyId);

    const rootAfter = loadDerivationKey(config);
    expect(keyId(rootAfter)).toBe(keyId(rootBefore));
    expect(deriveCodecKey(rootAfter).equals(deriveCodecKey(rootBefore))).toBe(true);
    expect(codecServerToken(rootAfter)).toBe(codecServerToken(rootBefore));
  });

  it('refuses to start when the key file or its folder is readable by others', () => {
    const dir = stateDir();
    loadKeyRing({ stateDir: dir, secrets: {} });
    chmodSync(keyFile(dir), 0o644);
    expect(ringError(() => loadKeyRing({ stateDir: dir, secrets: {} }))).toMatchObject({
      code: 'KEY_FILE_EXPOSED',
      message: expect.stringContaining(`key file ${keyFile(dir)} has mode 644`),
    });
    chmodSync(keyFile(dir), 0o600);
    chmodSync(path.dirname(keyFile(dir)), 0o755);
    expect(ringError(() => secretBoxFromConfig({ stateDir: dir, secrets: {} }))).toMatchObject({
      code: 'KEY_FILE_EXPOSED',
      message: expect.stringContaining(`chmod 700 ${path.dirname(keyFile(dir))}`),
    });
  });

  it('refuses a damaged ring without quoting it', () => {
    const dir = stateDir();
    loadKeyRing({ stateDir: dir, secrets: {} });
    writeFileSync(keyFile(dir), 'bm90LWEta2V5\n');
    const err = ringError(() => loadKeyRing({ stateDir: dir, secrets: {} }));
    expect(err).toMatchObject({ code: 'KEY_RING_INVALID', message: expect.stringContaining('key 1 is not 32') });
    expect(err.message).not.toContain('bm90LWEta2V5');
  });
});

describe('configuration and the key', () => {
  const saved = process.env.AMTFLOW_KEK;
  afterEach(() => {
    if (saved === undefined) delete process.env.AMTFLOW_KEK;
    else process.env.AMTFLOW_KEK = saved;
  });

  it('keeps AMTFLOW_KEK from child processes, and still reads it on every load', () => {
    const key = randomBytes(32).toString('base64');
    process.env.AMTFLOW_KEK = key;
    const cwd = stateDir();
    expect(loadConfig({ cwd }).secrets.key).toBe(key);
    expect(process.env.AMTFLOW_KEK).toBeUndefined();
    const childEnv = execFileSync(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.env))'], {
      encoding: 'utf8',
    });
    expect(childEnv).not.toContain(key);
    expect(loadConfig({ cwd }).secrets.key).toBe(key);
  });

  it.each([
    ['text that is not JSON', 'password=hunter2-Secret'],
    ['JSON cut off in a value', '{"secrets": {"key": "hunter2-Secret'],
    ['a stray character after a value', '{"secrets": {"key": "hunter2-Secret"}x}'],
  ])('reports %s without echoing the file', (_what, text) => {
    const cwd = stateDir();
    writeFileSync(path.join(cwd, 'amtflow.config.json'), text);
    let error: unknown;
    try {
      loadConfig({ cwd, env: {} });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/amtflow\.config\.json: is not valid JSON/);
    expect((error as ConfigError).message).not.toContain('hunter2');
  });
});
