import { createHash } from 'node:crypto';
import {
  amtKerberosSettings,
  computerAccountSalt,
  encryptionTypesFromValue,
  ntHash,
  supportedEncryptionTypesValue,
} from '../../../lib/directory/kerberos';
import { md4 } from '../../../lib/directory/md4';

describe('MD4 (RFC 1320 test suite)', () => {
  it.each([
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ])('md4(%j)', (input, digest) => {
    expect(md4(Buffer.from(input, 'ascii')).toString('hex')).toBe(digest);
  });

  it('pads correctly around the 56-byte boundary', () => {
    // Lengths 55, 56 and 64 need one, two and two blocks; compare with OpenSSL where it still has MD4.
    const available = (() => {
      try {
        createHash('md4');
        return true;
      } catch {
        return false;
      }
    })();
    for (const length of [55, 56, 63, 64, 65, 119, 120]) {
      const data = Buffer.alloc(length, 0x61 + (length % 26));
      const digest = md4(data);
      expect(digest).toHaveLength(16);
      if (available) expect(digest.toString('hex')).toBe(createHash('md4').update(data).digest('hex'));
    }
  });
});

describe('AMT Kerberos key material', () => {
  it('NT hash is MD4 over UTF-16LE (well-known vector)', () => {
    expect(ntHash('password').toString('hex')).toBe('8846f7eaee8fb117ad06bdd830b7586c');
    expect(ntHash('').toString('hex')).toBe('31d6cfe0d16ae931b73c59d7e0c089c0');
  });

  it('salts a computer account like Active Directory', () => {
    expect(computerAccountSalt('corp.example.test', 'AMT-0A1B2C3D4E5$', 'CORP.Example.test')).toBe(
      'CORP.EXAMPLE.TESThostamt-0a1b2c3d4e5.corp.example.test',
    );
  });

  it('maps encryption types to msDS-SupportedEncryptionTypes and back', () => {
    expect(supportedEncryptionTypesValue(['rc4-hmac'])).toBe(4);
    expect(supportedEncryptionTypesValue(['rc4-hmac', 'aes128-cts-hmac-sha1-96', 'aes256-cts-hmac-sha1-96'])).toBe(28);
    expect(encryptionTypesFromValue(0x18)).toEqual(['aes128-cts-hmac-sha1-96', 'aes256-cts-hmac-sha1-96']);
  });

  it('fills AMT_KerberosSettingData', () => {
    const settings = amtKerberosSettings(
      {
        samAccountName: 'AMT-0A1B2C3D4E5$',
        domain: 'corp.example.test',
        realm: 'CORP.EXAMPLE.TEST',
        encryptionTypes: ['rc4-hmac', 'aes256-cts-hmac-sha1-96'],
      },
      'password',
      3,
    );
    expect(settings).toEqual({
      realmName: 'CORP.EXAMPLE.TEST',
      keyVersion: 3,
      encryptionAlgorithm: 0,
      masterKey: Buffer.from('8846f7eaee8fb117ad06bdd830b7586c', 'hex').toString('base64'),
      passphrase: 'password',
      salt: 'CORP.EXAMPLE.TESThostamt-0a1b2c3d4e5.corp.example.test',
      iterationCount: 4096,
      configuredEncryptionAlgorithms: [0, 2],
    });
  });
});
