import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** Throwaway certificates for TLS tests: a CA, certificates it issues, and self-signed ones. */

export interface TestIdentity {
  certPem: string;
  keyPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

function keyPair(): { key: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  return { key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e), keyPem: privateKey };
}

function build(subjectCn: string, issuer: TestIdentity | undefined, extensions: object[]): TestIdentity {
  const { key, publicKey, keyPem } = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: subjectCn }]);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : [{ name: 'commonName', value: subjectCn }]);
  cert.setExtensions(extensions);
  cert.sign(issuer ? issuer.key : key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem, cert, key };
}

export function makeCa(commonName: string): TestIdentity {
  return build(commonName, undefined, [
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true },
  ]);
}

export function issueServer(ca: TestIdentity, dnsName: string): TestIdentity {
  return build(dnsName, ca, [
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: dnsName }] },
  ]);
}

/** A provisioning certificate: server-auth EKU plus Intel's AMT provisioning OID (spec vocabulary). */
export function issueProvisioning(ca: TestIdentity, commonName: string): TestIdentity {
  return build(commonName, ca, [
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true, '2.16.840.1.113741.1.2.3': true },
  ]);
}

/** Like AMT's pre-provisioning certificate: self-signed, nothing to verify it against. */
export function selfSigned(commonName: string): TestIdentity {
  return build(commonName, undefined, [{ name: 'basicConstraints', cA: false }]);
}

export function fingerprint256(identity: TestIdentity): string {
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(identity.cert)).getBytes();
  return forge.md.sha256.create().update(der).digest().toHex();
}
