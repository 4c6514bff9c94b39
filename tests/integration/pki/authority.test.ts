import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { loadConfig } from '../../../lib/config';
import { caSchema } from '../../../lib/config/schema';
import { SecretBox } from '../../../lib/crypto/secret-box';
import { AMT_PROVISIONING_OID, CertificateAuthority, type IssueRequest, type RevocationReason } from '../../../lib/pki';
import { backends, type TestDatabase } from '../../support/databases';
import { openssl, opensslCsr, rsaKey, tempDir, writeFiles } from '../../unit/pki/fixtures';

// One CA for the whole file (three RSA keys): the first backend creates it, the second reopens it.
const stateDir = tempDir('pki');
const box = new SecretBox(randomBytes(32));
const config = { stateDir, ca: caSchema.parse({ provisioningDomain: 'corp.example.test' }) };
// The firmware's key pair (GenerateKeyPair): its CSR is all the CA ever sees of it.
const deviceKey = rsaKey(2048);
const csr = opensslCsr(deviceKey);

const uuid = (n: number) => `6a1d0c2e-5f3b-4c7d-9e8f-${n.toString().padStart(12, '0')}`;
const caFile = (name: string) => path.join(stateDir, 'ca', name);

/** `openssl verify` of a leaf against the CA files, as a relying party would run it. */
function verify(leafPem: string, extra: string[] = []) {
  const files = writeFiles({ 'leaf.pem': leafPem });
  return openssl([
    'verify',
    ...extra,
    '-CAfile',
    caFile('root.pem'),
    '-untrusted',
    caFile('issuing.pem'),
    files['leaf.pem'] as string,
  ]);
}

describe.each(backends)('built-in CA on $name', (backend) => {
  let database: TestDatabase;
  let ca: CertificateAuthority;
  const id = (name: string) => `${backend.name}:${name}`;
  const webServer = (name: string, device: string, fqdn: string): IssueRequest => ({
    requestId: id(name),
    template: 'amt-web-server',
    deviceUuid: device,
    fqdn,
    key: { csr },
  });
  const countIssued = async (requestId: string) =>
    (await database.db.selectFrom('certificates').select('serial').where('request_id', '=', requestId).execute())
      .length;

  beforeAll(async () => {
    database = await backend.open();
    ca = await CertificateAuthority.open({ config, box, db: database.db });
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });

  it('issues an AMT web-server certificate from the device CSR that openssl verifies as an SSL server', async () => {
    const issued = await ca.issue(webServer('web-1', uuid(1), 'AMT1.corp.example.test'));
    expect(issued).toMatchObject({ dnsName: 'amt1.corp.example.test', keyReference: null, reused: false });
    const cert = new X509Certificate(issued.certificatePem);
    // The template decides: the CSR asked for another CN, OU, SANs and CA:TRUE.
    expect(cert.subject).toBe('O=amtflow\nCN=amt1.corp.example.test');
    expect(cert.subjectAltName).toBe('DNS:amt1.corp.example.test');
    expect(cert.ca).toBe(false);
    expect(cert.checkPrivateKey(deviceKey)).toBe(true);
    expect(issued.chainPem).toEqual([readFileSync(caFile('issuing.pem'), 'utf8'), ca.rootCertificatePem]);

    expect(verify(issued.certificatePem, ['-purpose', 'sslserver'])).toMatchObject({ status: 0, stdout: /: OK/ });
    expect(verify(issued.certificatePem, ['-purpose', 'sslclient']).status).not.toBe(0);
    // The CRL published at start (no entries yet on a fresh database) is valid for -crl_check.
    expect(verify(issued.certificatePem, ['-crl_check', '-CRLfile', caFile('crl.pem')])).toMatchObject({ status: 0 });
    expect(await ca.certificate(issued.serial)).toMatchObject({
      requestId: id('web-1'),
      template: 'amt-web-server',
      deviceUuid: uuid(1),
      subject: 'O=amtflow\nCN=amt1.corp.example.test',
      keySource: 'device',
      status: 'issued',
      revocationReason: null,
      issuedAt: expect.any(Date),
    });
    await expect(ca.privateKeyForFirmware(issued.serial)).rejects.toMatchObject({ code: 'PRIVATE_KEY_NOT_AVAILABLE' });
  });

  it('issues an 802.1X client certificate on a key amtflow generates, handed out by reference only', async () => {
    const request: IssueRequest = {
      requestId: id('dot1x-1'),
      template: 'ieee8021x-client',
      deviceUuid: uuid(2),
      fqdn: 'amt2.corp.example.test',
      key: { generate: true },
    };
    const issued = await ca.issue(request);
    expect(issued.keyReference).toBe(issued.serial);
    expect(JSON.stringify(issued)).not.toContain('PRIVATE KEY');
    expect(verify(issued.certificatePem, ['-purpose', 'sslclient'])).toMatchObject({ status: 0, stdout: /: OK/ });
    expect(verify(issued.certificatePem, ['-purpose', 'sslserver']).status).not.toBe(0);

    // AddKey takes PKCS#1 DER; the key belongs to the certificate.
    const der = await ca.privateKeyForFirmware(issued.keyReference as string);
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
    expect(new X509Certificate(issued.certificatePem).checkPrivateKey(key)).toBe(true);
    const stored = await database.db
      .selectFrom('certificate_private_keys')
      .select('sealed_key')
      .where('serial', '=', issued.serial)
      .executeTakeFirstOrThrow();
    expect(stored.sealed_key).not.toContain(der.toString('base64').slice(0, 40));

    // A retried activity gets the same certificate and the same key.
    expect(await ca.issue(request)).toMatchObject({ serial: issued.serial, keyReference: issued.serial, reused: true });
    await ca.discardPrivateKey(issued.serial);
    await expect(ca.privateKeyForFirmware(issued.serial)).rejects.toMatchObject({ code: 'PRIVATE_KEY_NOT_AVAILABLE' });
  });

  it('issues one certificate per request id, also to concurrent duplicates', async () => {
    const request = webServer('dup', uuid(3), 'amt3.corp.example.test');
    const results = await Promise.all(Array.from({ length: 6 }, () => ca.issue(request)));
    expect(new Set(results.map((r) => r.serial)).size).toBe(1);
    expect(results.filter((r) => !r.reused)).toHaveLength(1);
    expect(await countIssued(id('dup'))).toBe(1);
    expect(await ca.issue(request)).toMatchObject({ serial: results[0]?.serial, reused: true });

    // Concurrent duplicates on the generated-key path: one certificate, one stored key.
    const generated: IssueRequest = { ...request, requestId: id('dup-generated'), key: { generate: true } };
    const [a, b] = await Promise.all([ca.issue(generated), ca.issue(generated)]);
    expect(a?.serial).toBe(b?.serial);
    expect(await countIssued(id('dup-generated'))).toBe(1);
    const keys = await database.db
      .selectFrom('certificate_private_keys')
      .select('serial')
      .where('serial', '=', a?.serial as string)
      .execute();
    expect(keys).toHaveLength(1);

    // The same id for another request is a caller bug, not a retry.
    await expect(ca.issue({ ...request, fqdn: 'amt4.corp.example.test' })).rejects.toMatchObject({
      code: 'REQUEST_ID_REUSED',
    });
    expect(await countIssued(id('dup'))).toBe(1);
  });

  it('refuses invalid requests with typed errors and records nothing', async () => {
    const base = webServer('bad', uuid(9), 'amt9.corp.example.test');
    await expect(ca.issue({ ...base, fqdn: 'x)(cn=*' })).rejects.toMatchObject({ code: 'INVALID_FQDN' });
    await expect(ca.issue({ ...base, fqdn: 'a,ou=evil.corp.example.test' })).rejects.toMatchObject({
      code: 'INVALID_FQDN',
    });
    await expect(ca.issue({ ...base, deviceUuid: 'nope' })).rejects.toMatchObject({ code: 'INVALID_DEVICE_UUID' });
    await expect(ca.issue({ ...base, requestId: '' })).rejects.toMatchObject({ code: 'INVALID_REQUEST_ID' });
    await expect(ca.issue({ ...base, template: 'amt-provisioning' as never })).rejects.toMatchObject({
      code: 'INVALID_TEMPLATE',
    });
    await expect(ca.issue({ ...base, key: { csr: 'not a request' } })).rejects.toMatchObject({ code: 'CSR_INVALID' });
    expect(await countIssued(id('bad'))).toBe(0);
  });

  it('revokes with a reason and publishes a CRL that lists the serial (openssl crl, openssl verify -crl_check)', async () => {
    const kept = await ca.issue(webServer('crl-kept', uuid(4), 'amt4.corp.example.test'));
    const gone = await ca.issue(webServer('crl-gone', uuid(4), 'amt4.corp.example.test'));
    const quiet = await ca.issue(webServer('crl-unspecified', uuid(4), 'amt4.corp.example.test'));
    const before = await ca.crl();

    const revoked = await ca.revoke(gone.serial, 'superseded');
    expect(revoked).toMatchObject({ status: 'revoked', revocationReason: 'superseded', revokedAt: expect.any(Date) });
    await ca.revoke(quiet.serial.toUpperCase().replace(/(..)(?!$)/g, '$1:'), 'unspecified');
    const crl = await ca.crl();
    expect(crl.crlNumber).toBeGreaterThan(before.crlNumber);
    expect(readFileSync(caFile('crl.der')).equals(crl.der)).toBe(true);
    expect(readFileSync(caFile('crl.pem'), 'utf8')).toBe(crl.pem);

    const chain = writeFiles({ 'chain.pem': readFileSync(caFile('issuing.pem'), 'utf8') + ca.rootCertificatePem });
    const text = openssl(['crl', '-in', caFile('crl.pem'), '-CAfile', chain['chain.pem'] as string, '-noout', '-text']);
    expect(text.stderr).toContain('verify OK');
    const entries = text.stdout.split('Serial Number: ').slice(1);
    const entry = (serial: string) => entries.find((e) => e.startsWith(serial.toUpperCase()));
    expect(entry(gone.serial)).toMatch(/CRL Reason Code:\s+Superseded/);
    // RFC 5280: "unspecified" is written as no reason code at all.
    expect(entry(quiet.serial)).toBeDefined();
    expect(entry(quiet.serial)).not.toContain('Reason Code');
    expect(entry(kept.serial)).toBeUndefined();
    expect(text.stdout).toMatch(new RegExp(`X509v3 CRL Number:\\s+${crl.crlNumber}\\b`));

    const withCrl = ['-crl_check', '-CRLfile', caFile('crl.pem')];
    const refused = verify(gone.certificatePem, withCrl);
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('certificate revoked');
    expect(verify(kept.certificatePem, withCrl)).toMatchObject({ status: 0, stdout: /: OK/ });

    // A retry keeps the first reason and time; unknown serials and reasons are typed errors.
    const again = await ca.revoke(gone.serial, 'keyCompromise');
    expect(again).toMatchObject({ revocationReason: 'superseded', revokedAt: revoked.revokedAt });
    await expect(ca.revoke('0badc0de', 'superseded')).rejects.toMatchObject({ code: 'CERTIFICATE_NOT_FOUND' });
    await expect(ca.revoke(kept.serial, 'certificateHold' as RevocationReason)).rejects.toMatchObject({
      code: 'INVALID_REVOCATION_REASON',
    });
    expect(await ca.certificate(kept.serial)).toMatchObject({ status: 'issued' });
  });

  it("finds a device's current certificates and revokes them by template (spec I1, UPD3, DEP2)", async () => {
    const device = uuid(5);
    const web = await ca.issue(webServer('dev-web', device, 'amt5.corp.example.test'));
    const dot1x = await ca.issue({
      ...webServer('dev-dot1x', device, 'amt5.corp.example.test'),
      template: 'ieee8021x-client',
    });
    const serials = async () => (await ca.currentCertificates(device.toUpperCase())).map((c) => c.serial).sort();
    expect(await serials()).toEqual([web.serial, dot1x.serial].sort());

    // UPD3: an update revokes the 802.1X client certificates, not the web-server certificate.
    const updated = await ca.revokeDeviceCertificates(device, 'superseded', ['ieee8021x-client']);
    expect(updated.map((c) => c.serial)).toEqual([dot1x.serial]);
    expect(await serials()).toEqual([web.serial]);
    // DEP2: removal revokes everything; a retry finds nothing left to revoke.
    const removed = await ca.revokeDeviceCertificates(device, 'cessationOfOperation');
    expect(removed.map((c) => c.serial)).toEqual([web.serial]);
    expect(await ca.revokeDeviceCertificates(device, 'cessationOfOperation')).toEqual([]);
    expect(await serials()).toEqual([]);

    const text = openssl(['crl', '-in', caFile('crl.pem'), '-noout', '-text']).stdout;
    expect(text).toContain(web.serial.toUpperCase());
    expect(text).toContain(dot1x.serial.toUpperCase());
    expect(text).toContain('Cessation Of Operation');
  });

  it('presents a provisioning certificate with the AMT OID, a CN in the namespace and a chain that verifies', async () => {
    const credential = ca.provisioning.credential();
    const [leaf, ...above] = credential.chain;
    expect(credential).toMatchObject({ source: 'generated', commonName: 'provisionserver.corp.example.test' });
    expect(leaf?.x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', AMT_PROVISIONING_OID]);
    expect(above.map((c) => c.pem)).toEqual(ca.chainPem);

    const files = writeFiles({ 'leaf.pem': leaf?.pem as string });
    expect(
      openssl(['x509', '-in', files['leaf.pem'] as string, '-noout', '-ext', 'extendedKeyUsage']).stdout,
    ).toContain(AMT_PROVISIONING_OID);
    expect(verify(leaf?.pem as string, ['-purpose', 'sslserver'])).toMatchObject({ status: 0, stdout: /: OK/ });
    // The thumbprints operators enter into firmware are the root's, as openssl computes them.
    for (const algorithm of ['sha1', 'sha256', 'sha384'] as const) {
      const printed = openssl(['x509', '-in', caFile('root.pem'), '-noout', '-fingerprint', `-${algorithm}`]).stdout;
      expect(printed.split('=')[1]?.trim().replace(/:/g, '').toLowerCase()).toBe(credential.rootThumbprints[algorithm]);
    }
    expect(ca.provisioning.summary()).toMatchObject({ rootThumbprints: credential.rootThumbprints });
  });

  it('hands node:tls a working client credential: the firmware (TLS server) receives the full chain', async () => {
    // Stand-in for the firmware: a TLS server asking for a client certificate.
    const serverCert = await ca.issue(webServer('tls-server', uuid(6), 'amt6.corp.example.test'));
    const server = tls.createServer({
      key: deviceKey.export({ type: 'pkcs8', format: 'pem' }),
      cert: serverCert.certificatePem,
      requestCert: true,
      // AMT accepts a server-authentication EKU on the client side; OpenSSL's default purpose check would not.
      rejectUnauthorized: false,
    });
    const presented = new Promise<string[]>((resolve) =>
      server.once('secureConnection', (socket) => {
        const chain: string[] = [];
        for (
          let c = socket.getPeerCertificate(true);
          c?.raw && !chain.includes(c.fingerprint256);
          c = c.issuerCertificate
        ) {
          chain.push(c.fingerprint256);
        }
        resolve(chain);
        socket.end();
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const client = tls.connect({
        host: '127.0.0.1',
        port,
        rejectUnauthorized: false,
        ...ca.provisioning.tlsOptions(),
      });
      client.on('error', () => undefined);
      const fingerprints = await presented;
      client.destroy();
      expect(fingerprints).toEqual(ca.provisioning.credential().chain.map((c) => c.x509.fingerprint256));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('keeps its root, provisioning credential and records across a restart', async () => {
    const state = readFileSync(caFile('ca.json'), 'utf8');
    const before = ca.provisioning.credential();
    const earlier = await ca.issue(webServer('web-1', uuid(1), 'amt1.corp.example.test'));
    const reopened = await CertificateAuthority.open({ config, box, db: database.db });
    expect(reopened.rootCertificatePem).toBe(ca.rootCertificatePem);
    expect(readFileSync(caFile('ca.json'), 'utf8')).toBe(state);
    expect(reopened.provisioning.credential().rootThumbprints).toEqual(before.rootThumbprints);
    expect(reopened.provisioning.credential().chain[0]?.pem).toBe(before.chain[0]?.pem);
    expect(await reopened.issue(webServer('web-1', uuid(1), 'amt1.corp.example.test'))).toMatchObject({
      serial: earlier.serial,
      reused: true,
    });
  });

  it('refuses a CA key over 2048 bits at start with CA_KEY_TOO_LARGE and creates nothing (spec P1)', async () => {
    const cwd = tempDir('pki-big');
    const bigConfig = loadConfig({ cwd, env: { AMTFLOW_STATE_DIR: 'state', AMTFLOW_CA_KEY_BITS: '4096' } });
    const crlsBefore = await database.db.selectFrom('certificate_revocation_lists').selectAll().execute();
    await expect(CertificateAuthority.open({ config: bigConfig, box, db: database.db })).rejects.toMatchObject({
      code: 'CA_KEY_TOO_LARGE',
      message: expect.stringContaining('ca.keyBits is 4096-bit'),
    });
    expect(existsSync(path.join(cwd, 'state'))).toBe(false);
    expect(await database.db.selectFrom('certificate_revocation_lists').selectAll().execute()).toEqual(crlsBefore);
  });
});
