import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { caSchema, type CaConfig } from '../../../lib/config/schema';
import { SecretBox } from '../../../lib/crypto/secret-box';
import {
  loadAdditionalProvisioning,
  loadOrCreateCa,
  loadOrCreateProvisioning,
  resealCaFiles,
  saveAdditionalProvisioning,
  writeCaCopies,
} from '../../../lib/pki/ca-state';
import { createFileOnce, writeFileAtomic } from '../../../lib/pki/files';
import { forgePublicKey } from '../../../lib/pki/keys';
import { buildLeafCertificate } from '../../../lib/pki/templates';
import { parseCertificate, randomSerial } from '../../../lib/pki/x509';
import { foreignCertificate, openssl, pem, pkcs12, rsaKey, tempDir, writeFiles } from './fixtures';

const box = new SecretBox(randomBytes(32));
const caConfig = (extra: Partial<CaConfig> = {}): CaConfig => caSchema.parse({ ...extra });

// An existing enterprise CA exported as PKCS#12 (issuing key + chain). 2048-bit: openssl verifies below.
const rootKey = rsaKey(2048);
const issuingKey = rsaKey(2048);
const root = foreignCertificate({ subject: [{ shortName: 'CN', value: 'Corp Root CA' }], key: rootKey, ca: true });
const issuing = foreignCertificate({
  subject: [{ shortName: 'CN', value: 'Corp Issuing CA' }],
  key: issuingKey,
  issuer: { certificate: root, key: rootKey },
  ca: true,
  serial: '02',
});

function importConfig(file: Buffer, password: string): CaConfig {
  const files = writeFiles({ 'ca.p12': file, password: `${password}\n` });
  return caConfig({ issuingCaPkcs12File: files['ca.p12'], issuingCaPasswordFile: files['password'] });
}

describe('CA directory', () => {
  it('refuses ca.keyBits over 2048 with CA_KEY_TOO_LARGE before creating anything (spec P1)', async () => {
    const dir = path.join(tempDir('ca'), 'ca');
    await expect(loadOrCreateCa(dir, caConfig({ keyBits: 4096 }), box, new Date())).rejects.toMatchObject({
      code: 'CA_KEY_TOO_LARGE',
      message: expect.stringContaining('ca.keyBits is 4096-bit'),
    });
    expect(existsSync(dir)).toBe(false);
  });

  it('imports an existing issuing CA from PKCS#12, issues under it, and reuses it after a restart', async () => {
    const dir = path.join(tempDir('ca'), 'ca');
    const config = importConfig(pkcs12(issuingKey, [issuing, root], 'p12-pass'), 'p12-pass');
    const ca = await loadOrCreateCa(dir, config, box, new Date());
    expect(ca.created).toBe(true);
    expect(ca.chain.map((c) => c.x509.subject)).toEqual(['CN=Corp Issuing CA', 'CN=Corp Root CA']);
    writeCaCopies(dir, ca.chain);

    const leafKey = rsaKey(2048);
    const leaf = buildLeafCertificate({
      template: 'amt-web-server',
      serial: randomSerial(),
      hostName: 'amt1.corp.example.test',
      organization: 'amtflow',
      publicKey: forgePublicKey(leafKey),
      issuer: ca.issuer,
      now: new Date(),
    });
    const files = writeFiles({ 'leaf.pem': leaf.pem });
    const verify = openssl([
      'verify',
      '-purpose',
      'sslserver',
      '-CAfile',
      path.join(dir, 'root.pem'),
      '-untrusted',
      path.join(dir, 'issuing.pem'),
      files['leaf.pem'] as string,
    ]);
    expect(verify).toMatchObject({ status: 0, stdout: expect.stringContaining(': OK') });

    // The PKCS#12 is not read again: the CA directory is the state.
    const again = await loadOrCreateCa(dir, caConfig({ issuingCaPkcs12File: '/nonexistent.p12' }), box, new Date());
    expect(again.created).toBe(false);
    expect(again.chain.map((c) => c.pem)).toEqual(ca.chain.map((c) => c.pem));
    // The sealed key opens only with the key-encryption key it was sealed under.
    await expect(loadOrCreateCa(dir, caConfig(), new SecretBox(randomBytes(32)), new Date())).rejects.toMatchObject({
      code: 'CA_STATE_INVALID',
    });
    const state = readFileSync(path.join(dir, 'ca.json'), 'utf8');
    expect(state).not.toContain('PRIVATE KEY');
    expect(statSync(path.join(dir, 'ca.json')).mode & 0o777).toBe(0o600);
  });

  it('refuses an imported CA key over 2048 bits with CA_KEY_TOO_LARGE and creates nothing (spec P1)', async () => {
    const bigKey = rsaKey(2056);
    const bigIssuing = foreignCertificate({
      subject: [{ shortName: 'CN', value: 'Big Issuing CA' }],
      key: bigKey,
      issuer: { certificate: root, key: rootKey },
      ca: true,
      serial: '03',
    });
    const dir = path.join(tempDir('ca'), 'ca');
    const config = importConfig(pkcs12(bigKey, [bigIssuing, root], 'pw'), 'pw');
    await expect(loadOrCreateCa(dir, config, box, new Date())).rejects.toMatchObject({
      code: 'CA_KEY_TOO_LARGE',
      message: expect.stringContaining('2056-bit'),
    });
    expect(existsSync(dir)).toBe(false);
  });

  it.each([
    [
      'a wrong password',
      () => importConfig(pkcs12(issuingKey, [issuing, root], 'right'), 'wrong'),
      'PKCS12_PASSWORD_INVALID',
    ],
    ['a chain without its root', () => importConfig(pkcs12(issuingKey, [issuing], 'pw'), 'pw'), 'CHAIN_INCOMPLETE'],
    [
      'an end-entity certificate',
      () => {
        const key = rsaKey(1024);
        const leaf = foreignCertificate({
          subject: [{ shortName: 'CN', value: 'x.example.test' }],
          key,
          issuer: { certificate: root, key: rootKey },
        });
        return importConfig(pkcs12(key, [leaf, root], 'pw'), 'pw');
      },
      'NOT_A_CA_CERTIFICATE',
    ],
  ])('refuses to import %s, creating nothing', async (_what, config, code) => {
    const dir = path.join(tempDir('ca'), 'ca');
    await expect(loadOrCreateCa(dir, config(), box, new Date())).rejects.toMatchObject({ code });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('CA files', () => {
  it('creates a file once: a second creator finds it and changes nothing', () => {
    const file = path.join(tempDir('files'), 'sub', 'state.json');
    expect(createFileOnce(file, 'first')).toBe(true);
    expect(createFileOnce(file, 'second')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(readdirSync(path.dirname(file))).toEqual(['state.json']);
  });

  it('replaces a file whole, leaving no temporary file, with the requested mode', () => {
    const file = path.join(tempDir('files'), 'crl.pem');
    writeFileSync(file, 'old');
    writeFileAtomic(file, 'new', 0o644);
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(path.dirname(file))).toEqual(['crl.pem']);
  });
});

describe('key rotation in the CA directory', () => {
  it('reseals the issuing, root, provisioning and added chains’ keys under the newest key, which alone then opens them', async () => {
    const dir = path.join(tempDir('ca'), 'ca');
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const oldBox = new SecretBox(oldKey);
    const config = caConfig();
    const ca = await loadOrCreateCa(dir, config, oldBox, new Date());
    const options = {
      dir,
      ca,
      commonName: 'provisionserver.corp.example.test',
      organization: 'amtflow',
      keyBits: 2048,
      now: new Date(),
    };
    const provisioning = await loadOrCreateProvisioning({ ...options, box: oldBox });
    // Two chains added for devices that trust other roots (provisioning-chains/*.json).
    const addedKeys = ['Older Fleet Root', 'Newer Fleet Root'].map((rootName) => {
      const fleetRootKey = rsaKey(2048);
      const leafKey = rsaKey(2048);
      const fleetRoot = foreignCertificate({
        subject: [{ shortName: 'CN', value: rootName }],
        key: fleetRootKey,
        ca: true,
      });
      const leaf = foreignCertificate({
        subject: [{ shortName: 'CN', value: 'provisionserver.corp.example.test' }],
        key: leafKey,
        issuer: { certificate: fleetRoot, key: fleetRootKey },
        extKeyUsage: ['1.3.6.1.5.5.7.3.1', '2.16.840.1.113741.1.2.3'],
      });
      saveAdditionalProvisioning(
        dir,
        [leaf, fleetRoot].map((c) => parseCertificate(pem(c))),
        leafKey,
        oldBox,
      );
      return leafKey.export({ type: 'pkcs8', format: 'pem' });
    });

    const rotated = new SecretBox(newKey, [oldKey]);
    expect(resealCaFiles(dir, rotated)).toBe(5);
    expect(resealCaFiles(dir, rotated)).toBe(0);

    const newOnly = new SecretBox(newKey);
    const reopened = await loadOrCreateCa(dir, config, newOnly, new Date());
    expect(reopened.chain.map((c) => c.pem)).toEqual(ca.chain.map((c) => c.pem));
    const again = await loadOrCreateProvisioning({ ...options, ca: reopened, box: newOnly });
    expect(again.chain[0]?.pem).toBe(provisioning.chain[0]?.pem);
    expect(again.key.export({ type: 'pkcs8', format: 'pem' })).toEqual(
      provisioning.key.export({ type: 'pkcs8', format: 'pem' }),
    );
    const added = loadAdditionalProvisioning(dir, newOnly);
    expect(added.map((a) => a.credential.key.export({ type: 'pkcs8', format: 'pem' })).sort()).toEqual(
      [...addedKeys].sort(),
    );
  });
});
