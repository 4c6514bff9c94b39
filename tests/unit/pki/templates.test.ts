import { createPublicKey } from 'node:crypto';
import type forge from 'node-forge';
import { forgePublicKey } from '../../../lib/pki/keys';
import {
  AMT_PROVISIONING_OID,
  buildCaCertificate,
  buildLeafCertificate,
  CLIENT_AUTH_OID,
  SERVER_AUTH_OID,
  type Signer,
  type TemplateName,
} from '../../../lib/pki/templates';
import { randomSerial, subjectKeyIdentifier } from '../../../lib/pki/x509';
import { rsaKey } from './fixtures';

// Structure only: 1024-bit keys keep the file fast (openssl verification is in the integration tests).
const caKey = rsaKey(1024);
const leafKey = rsaKey(1024);
const now = new Date();
const issuer: Signer = {
  certificate: buildCaCertificate({
    serial: randomSerial(),
    commonName: 'Test Root CA',
    organization: 'amtflow',
    publicKey: forgePublicKey(caKey),
    validityDays: 3650,
    selfKey: caKey,
    now,
  }),
  key: caKey,
};

function leaf(template: TemplateName, extra: { crlUrl?: string; issuer?: Signer } = {}) {
  return buildLeafCertificate({
    template,
    serial: randomSerial(),
    hostName: 'amt1.corp.example.test',
    organization: 'amtflow',
    publicKey: forgePublicKey(leafKey),
    issuer: extra.issuer ?? issuer,
    crlUrl: extra.crlUrl,
    now,
  });
}

const keyUsage = (cert: forge.pki.Certificate) => cert.getExtension('keyUsage') as Record<string, boolean>;

describe('certificate templates', () => {
  it.each([
    ['amt-web-server', [SERVER_AUTH_OID]],
    ['ieee8021x-client', [CLIENT_AUTH_OID]],
    ['amt-provisioning', [SERVER_AUTH_OID, AMT_PROVISIONING_OID]],
  ] as const)('%s: EKU %j, host name in CN and as the only SAN, an end-entity signed by the CA', (template, ekus) => {
    const cert = leaf(template);
    expect(cert.x509.keyUsage).toEqual(ekus);
    expect(cert.x509.subject).toBe('O=amtflow\nCN=amt1.corp.example.test');
    expect(cert.x509.subjectAltName).toBe('DNS:amt1.corp.example.test');
    expect(cert.x509.ca).toBe(false);
    expect(keyUsage(cert.forge)).toMatchObject({ critical: true, digitalSignature: true, keyEncipherment: true });
    expect(keyUsage(cert.forge).keyCertSign).toBeFalsy();
    expect(cert.x509.verify(issuer.certificate.x509.publicKey)).toBe(true);
    expect(cert.x509.checkIssued(issuer.certificate.x509)).toBe(true);
    expect(cert.x509.publicKey.export({ type: 'spki', format: 'pem' })).toBe(
      createPublicKey(leafKey).export({ type: 'spki', format: 'pem' }),
    );
  });

  it('only the provisioning template carries the AMT provisioning OID', () => {
    expect(leaf('amt-web-server').x509.keyUsage).not.toContain(AMT_PROVISIONING_OID);
    expect(leaf('ieee8021x-client').x509.keyUsage).not.toContain(AMT_PROVISIONING_OID);
  });

  it('links each certificate to its issuer key and names the CRL when configured', () => {
    const cert = leaf('amt-web-server', { crlUrl: 'http://amtflow.corp.example.test/ca/crl' });
    const aki = cert.forge.getExtension('authorityKeyIdentifier') as { value: string };
    expect(aki.value).toContain(subjectKeyIdentifier(issuer.certificate.forge) as string);
    expect(cert.forge.getExtension('cRLDistributionPoints')).not.toBeNull();
    expect(cert.der.toString('latin1')).toContain('http://amtflow.corp.example.test/ca/crl');
    expect(leaf('amt-web-server').forge.getExtension('cRLDistributionPoints')).toBeNull();
  });

  it('makes CA certificates that may sign certificates and CRLs, the issuing CA limited to end entities', () => {
    const issuing = buildCaCertificate({
      serial: randomSerial(),
      commonName: 'Test Issuing CA',
      organization: 'amtflow',
      publicKey: forgePublicKey(leafKey),
      validityDays: 30,
      pathLen: 0,
      issuer,
      now,
    });
    expect(issuing.x509.ca).toBe(true);
    expect(issuing.forge.getExtension('basicConstraints')).toMatchObject({
      critical: true,
      cA: true,
      pathLenConstraint: 0,
    });
    expect(keyUsage(issuing.forge)).toMatchObject({ keyCertSign: true, cRLSign: true });
    expect(issuer.certificate.forge.getExtension('basicConstraints')).not.toHaveProperty('pathLenConstraint');
    // A certificate never outlives its issuer: the 365-day template is cut at the issuing CA's end.
    const cert = leaf('amt-web-server', { issuer: { certificate: issuing, key: leafKey } });
    expect(cert.forge.validity.notAfter.getTime()).toBe(issuing.forge.validity.notAfter.getTime());
  });

  it('draws positive, 126-bit random serials', () => {
    const serials = Array.from({ length: 200 }, randomSerial);
    for (const serial of serials) expect(serial).toMatch(/^[4-7][0-9a-f]{31}$/);
    expect(new Set(serials).size).toBe(serials.length);
  });
});
