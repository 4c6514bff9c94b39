import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../../lib/crypto/secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips a secret without the plaintext appearing in the sealed form', () => {
    const sealed = box.seal('Sup3r$ecret!', 'credential:a:admin:1');
    expect(sealed).not.toContain('Sup3r');
    expect(Buffer.from(sealed).toString('base64')).not.toContain(Buffer.from('Sup3r$ecret!').toString('base64'));
    expect(box.openText(sealed, 'credential:a:admin:1')).toBe('Sup3r$ecret!');
  });

  it('refuses a ciphertext moved to another record', () => {
    const sealed = box.seal('x', 'credential:a:admin:1');
    expect(() => box.open(sealed, 'credential:b:admin:1')).toThrow(
      expect.objectContaining({ code: 'SECRET_TAMPERED' }),
    );
  });

  it('refuses a tampered ciphertext', () => {
    const sealed = box.seal('hello', 'r');
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[4] as string, 'base64url');
    ct[0] = (ct[0] as number) ^ 1;
    parts[4] = ct.toString('base64url');
    expect(() => box.open(parts.join('.'), 'r')).toThrow(expect.objectContaining({ code: 'SECRET_TAMPERED' }));
  });

  it('opens values sealed under a previous key after rotation, and names an unknown key', () => {
    const oldKey = randomBytes(32);
    const sealed = new SecretBox(oldKey).seal('old', 'r');
    expect(new SecretBox(randomBytes(32), [oldKey]).openText(sealed, 'r')).toBe('old');
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'r')).toThrow(
      expect.objectContaining({ code: 'SECRET_KEY_UNKNOWN' }),
    );
  });

  it('reseals a value under the current key, keeping it bound to its record', () => {
    const oldKey = randomBytes(32);
    const sealed = new SecretBox(oldKey).seal('old', 'r');
    const rotated = new SecretBox(randomBytes(32), [oldKey]);
    const resealed = rotated.reseal(sealed, 'r')!;
    expect(resealed.split('.')[1]).toBe(rotated.currentKeyId);
    expect(rotated.openText(resealed, 'r')).toBe('old');
    expect(rotated.reseal(resealed, 'r')).toBeUndefined();
    expect(() => rotated.reseal(sealed, 'another record')).toThrow(
      expect.objectContaining({ code: 'SECRET_TAMPERED' }),
    );
  });
});
