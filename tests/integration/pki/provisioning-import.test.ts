import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { caSchema } from '../../../lib/config/schema';
import { SecretBox } from '../../../lib/crypto/secret-box';
import { CertificateAuthority } from '../../../lib/pki';
import { AMT_PROVISIONING_OID, SERVER_AUTH_OID } from '../../../lib/pki/templates';
import { backends, type TestDatabase } from '../../support/databases';
import { foreignCertificate, openssl, pem, pkcs12, rsaKey, tempDir, writeFiles } from '../../unit/pki/fixtures';

// A provisioning certificate bought from a public CA: the vendor's root, and a leaf for our namespace.
const vendorRootKey = rsaKey(2048);
const leafKey = rsaKey(2048);
const vendorRoot = foreignCertificate({
  subject: [{ shortName: 'CN', value: 'Vendor Root CA' }],
  key: vendorRootKey,
  ca: true,
});
const purchased = (commonName: string) =>
  foreignCertificate({
    subject: [{ shortName: 'CN', value: commonName }],
    key: leafKey,
    issuer: { certificate: vendorRoot, key: vendorRootKey },
    extKeyUsage: [SERVER_AUTH_OID, AMT_PROVISIONING_OID],
    serial: '4242',
  });
const leaf = purchased('oobsp.corp.example.test');
const PASSWORD = 'Vendor-Export-Pa55';
const bundle = pkcs12(leafKey, [leaf, vendorRoot], PASSWORD);
const vendorRootSha256 = createHash('sha256')
  .update(new X509Certificate(pem(vendorRoot)).raw)
  .digest('hex');

// One CA directory for the file; the import made on the first backend is found again by the second.
const stateDir = tempDir('pki-import');
const box = new SecretBox(randomBytes(32));
const config = (provisioningDomain: string) => ({ stateDir, ca: caSchema.parse({ provisioningDomain }) });

describe.each(backends)('provisioning certificate import on $name', (backend) => {
  let database: TestDatabase;
  let ca: CertificateAuthority;

  beforeAll(async () => {
    database = await backend.open();
    ca = await CertificateAuthority.open({ config: config('corp.example.test'), box, db: database.db });
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });

  it('imports a purchased certificate from PKCS#12 and presents its chain and root thumbprints', () => {
    const summary = ca.provisioning.import(bundle, PASSWORD);
    expect(summary).toMatchObject({ source: 'imported', commonName: 'oobsp.corp.example.test' });
    expect(summary.rootThumbprints.sha256).toBe(vendorRootSha256);
    const credential = ca.provisioning.credential();
    expect(credential.chain.map((c) => c.x509.subject)).toEqual(['CN=oobsp.corp.example.test', 'CN=Vendor Root CA']);

    const files = writeFiles({ 'root.pem': pem(vendorRoot), 'leaf.pem': credential.chain[0]?.pem as string });
    const verified = openssl([
      'verify',
      '-purpose',
      'sslserver',
      '-CAfile',
      files['root.pem'] as string,
      files['leaf.pem'] as string,
    ]);
    expect(verified).toMatchObject({ status: 0, stdout: /: OK/ });
    // Stored sealed in the CA directory: neither the key nor the PKCS#12 password appears there.
    const stored = readFileSync(path.join(stateDir, 'ca', 'provisioning.json'), 'utf8');
    expect(stored).not.toContain('PRIVATE KEY');
    expect(stored).not.toContain(PASSWORD);
  });

  it('finds the imported certificate again after a restart', async () => {
    const reopened = await CertificateAuthority.open({ config: config('corp.example.test'), box, db: database.db });
    expect(reopened.provisioning.summary()).toMatchObject({
      source: 'imported',
      commonName: 'oobsp.corp.example.test',
    });
    expect(reopened.provisioning.credential().rootThumbprints.sha256).toBe(vendorRootSha256);
  });

  it('refuses what the firmware would refuse, and keeps the previous credential', () => {
    const attempts: Array<[Buffer, string, string | undefined, string]> = [
      [bundle, 'wrong password', undefined, 'PKCS12_PASSWORD_INVALID'],
      [pkcs12(leafKey, [leaf], PASSWORD), PASSWORD, undefined, 'CHAIN_INCOMPLETE'],
      [
        pkcs12(leafKey, [purchased('oobsp.evilcorp.example.test'), vendorRoot], PASSWORD),
        PASSWORD,
        undefined,
        'CN_OUTSIDE_NAMESPACE',
      ],
    ];
    for (const [file, password, extra, code] of attempts) {
      expect(() => ca.provisioning.import(file, password, extra)).toThrow(
        expect.objectContaining({ code, message: expect.not.stringContaining(password) }),
      );
    }
    expect(ca.provisioning.summary()).toMatchObject({ source: 'imported', commonName: 'oobsp.corp.example.test' });
    // A file without the root is completed by the chain certificates given beside it.
    const completed = ca.provisioning.import(pkcs12(leafKey, [leaf], PASSWORD), PASSWORD, pem(vendorRoot));
    expect(completed.rootThumbprints.sha256).toBe(vendorRootSha256);
  });

  it('starts, and keeps issuing, when the imported certificate no longer fits the configuration', async () => {
    const moved = await CertificateAuthority.open({ config: config('other.example.test'), box, db: database.db });
    expect(() => moved.provisioning.credential()).toThrow(expect.objectContaining({ code: 'CN_OUTSIDE_NAMESPACE' }));
    const issued = await moved.issue({
      requestId: `${backend.name}:after-move`,
      template: 'ieee8021x-client',
      deviceUuid: '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9',
      fqdn: 'amt1.other.example.test',
      key: { generate: true },
    });
    expect(issued.reused).toBe(false);
  });
});
