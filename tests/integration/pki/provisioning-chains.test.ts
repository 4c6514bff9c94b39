import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { caSchema } from '../../../lib/config/schema';
import { SecretBox } from '../../../lib/crypto/secret-box';
import { CertificateAuthority } from '../../../lib/pki';
import { AMT_PROVISIONING_OID, SERVER_AUTH_OID } from '../../../lib/pki/templates';
import { backends, type TestDatabase } from '../../support/databases';
import { foreignCertificate, pem, pkcs12, rsaKey, tempDir } from '../../unit/pki/fixtures';

/**
 * Issue 12 §2, a mixed fleet: older devices trust a public root whose chain is SHA-1 signed, newer
 * ones only amtflow's own root. amtflow holds both provisioning chains and, at OOB3, picks the one
 * under a root the device listed that its firmware accepts (AMT 15/16 and later refuse SHA-1).
 */
const vendorRootKey = rsaKey(2048);
const leafKey = rsaKey(2048);
const vendorRoot = foreignCertificate({
  subject: [{ shortName: 'CN', value: 'Legacy Vendor Root' }],
  key: vendorRootKey,
  ca: true,
  digest: 'sha1',
});
const vendorLeaf = foreignCertificate({
  subject: [{ shortName: 'CN', value: 'oobsp-legacy.corp.example.test' }],
  key: leafKey,
  issuer: { certificate: vendorRoot, key: vendorRootKey },
  extKeyUsage: [SERVER_AUTH_OID, AMT_PROVISIONING_OID],
  serial: '5151',
  digest: 'sha1',
});
const PASSWORD = 'Legacy-Export-Pa55';
const vendorRootSha256 = createHash('sha256')
  .update(new X509Certificate(pem(vendorRoot)).raw)
  .digest('hex');

const stateDir = tempDir('pki-chains');
const box = new SecretBox(randomBytes(32));
const config = { stateDir, ca: caSchema.parse({ provisioningDomain: 'corp.example.test' }) };
const backend = backends[0]!;

describe('several provisioning chains (issue 12 §2)', () => {
  let database: TestDatabase;
  let ca: CertificateAuthority;
  let ownRootSha256: string;

  beforeAll(async () => {
    database = await backend.open();
    ca = await CertificateAuthority.open({ config, box, db: database.db });
    ownRootSha256 = ca.provisioning.credential().rootThumbprints.sha256;
    const added = ca.provisioning.addChain(pkcs12(leafKey, [vendorLeaf, vendorRoot], PASSWORD), PASSWORD);
    expect(added).toMatchObject({ source: 'imported', commonName: 'oobsp-legacy.corp.example.test' });
    // The import warns that the newest firmware will refuse it, and still keeps it for the others.
    expect(added.warnings.join('\n')).toMatch(/AMT 15\/16 and later refuse this chain/);
  });
  afterAll(async () => {
    await database?.close();
  });

  const listed = (...roots: string[]) => roots.map((hash) => ({ algorithm: 'sha256' as const, hash }));

  it('keeps the main chain and adds the other one beside it, sealed', () => {
    expect(ca.provisioning.summary().source).toBe('generated');
    expect(ca.provisioning.summaries().map((s) => s.rootThumbprints.sha256)).toEqual([ownRootSha256, vendorRootSha256]);
    const files = readdirSync(path.join(stateDir, 'ca', 'provisioning-chains'));
    expect(files).toEqual([`${vendorRootSha256}.json`]);
    const stored = readFileSync(path.join(stateDir, 'ca', 'provisioning-chains', files[0]!), 'utf8');
    expect(stored).not.toContain('PRIVATE KEY');
    expect(stored).not.toContain(PASSWORD);
  });

  it('picks the chain under the root the device listed', () => {
    const old = ca.provisioning.choose(listed(vendorRootSha256), '11.8.50', 'amt-old.corp.example.test');
    expect(old.rootThumbprints.sha256).toBe(vendorRootSha256);
    const current = ca.provisioning.choose(listed(ownRootSha256), '16.1.25', 'amt-new.corp.example.test');
    expect(current.rootThumbprints.sha256).toBe(ownRootSha256);
    // The TLS client of OOB4 presents the chosen chain.
    const presented = ca.provisioning
      .tlsOptions(vendorRootSha256)
      .cert.match(/-----BEGIN[^]+?-----END CERTIFICATE-----/g);
    expect(presented?.map((cert) => new X509Certificate(cert).subject)).toEqual([
      'CN=oobsp-legacy.corp.example.test',
      'CN=Legacy Vendor Root',
    ]);
  });

  it('skips a listed chain the firmware refuses when another listed one passes', () => {
    const both = listed(vendorRootSha256, ownRootSha256);
    expect(ca.provisioning.choose(both, '16.1.25', 'amt-both.corp.example.test').rootThumbprints.sha256).toBe(
      ownRootSha256,
    );
  });

  it('refuses with WEAK_PROVISIONING_CHAIN when the only listed chain is too weak for the firmware', () => {
    expect(() => ca.provisioning.choose(listed(vendorRootSha256), '16.1.25', 'amt-weak.corp.example.test')).toThrow(
      expect.objectContaining({
        code: 'WEAK_PROVISIONING_CHAIN',
        retryable: false,
        message: expect.stringContaining('amt-weak.corp.example.test'),
      }),
    );
  });

  it('refuses with ROOT_HASH_MISMATCH naming every chain when no listed root is held', () => {
    expect(() => ca.provisioning.choose(listed('ab'.repeat(32)), '11.8.50', 'amt-x.corp.example.test')).toThrow(
      expect.objectContaining({
        code: 'ROOT_HASH_MISMATCH',
        message: expect.stringMatching(
          /amt-x\.corp\.example\.test.*provisionserver\.corp\.example\.test, oobsp-legacy/,
        ),
      }),
    );
  });

  it('a chain another process adds (the front door) is used here without a restart', async () => {
    const frontDoor = await CertificateAuthority.open({ config, box, db: database.db });
    const otherRootKey = rsaKey(2048);
    const otherRoot = foreignCertificate({
      subject: [{ shortName: 'CN', value: 'Other Vendor Root' }],
      key: otherRootKey,
      ca: true,
    });
    const otherLeaf = foreignCertificate({
      subject: [{ shortName: 'CN', value: 'oobsp-other.corp.example.test' }],
      key: leafKey,
      issuer: { certificate: otherRoot, key: otherRootKey },
      extKeyUsage: [SERVER_AUTH_OID, AMT_PROVISIONING_OID],
      serial: '5252',
    });
    const added = frontDoor.provisioning.addChain(pkcs12(leafKey, [otherLeaf, otherRoot], PASSWORD), PASSWORD);
    const otherRootSha256 = added.rootThumbprints.sha256;
    // The worker's CA, opened before the chain existed, picks it at its next OOB3.
    expect(ca.provisioning.choose(listed(otherRootSha256), '16.1.25', 'amt-other.corp.example.test').commonName).toBe(
      'oobsp-other.corp.example.test',
    );
    expect(ca.provisioning.summaries()).toHaveLength(3);

    // A weaker chain under that root (a SHA-1 leaf) would leave AMT 15/16 and later without a chain
    // they take: refused even for older firmware only, from either process, and nothing replaced.
    const weakLeaf = foreignCertificate({
      subject: [{ shortName: 'CN', value: 'oobsp-other-sha1.corp.example.test' }],
      key: leafKey,
      issuer: { certificate: otherRoot, key: otherRootKey },
      extKeyUsage: [SERVER_AUTH_OID, AMT_PROVISIONING_OID],
      serial: '5353',
      digest: 'sha1',
    });
    for (const side of [frontDoor, ca]) {
      expect(() => side.provisioning.addChain(pkcs12(leafKey, [weakLeaf, otherRoot], PASSWORD), PASSWORD)).toThrow(
        expect.objectContaining({
          code: 'PROVISIONING_CHAIN_DOWNGRADE',
          message: expect.stringContaining(otherRootSha256),
        }),
      );
    }
    for (const side of [frontDoor, ca]) {
      expect(
        side.provisioning.choose(listed(otherRootSha256), '16.1.25', 'amt-other.corp.example.test').commonName,
      ).toBe('oobsp-other.corp.example.test');
    }
  });

  it('finds both chains again after a restart', async () => {
    const reopened = await CertificateAuthority.open({ config, box, db: database.db });
    expect(reopened.provisioning.forRoot(vendorRootSha256).commonName).toBe('oobsp-legacy.corp.example.test');
    expect(() => reopened.provisioning.forRoot('cd'.repeat(32))).toThrow(
      expect.objectContaining({ code: 'PROVISIONING_ROOT_UNKNOWN' }),
    );
  });
});
