import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { KeyPool } from '../../../../emulator/keys/pool';

/** One small persisted pool shared by every emulator test run (keys are generated once per machine). */
export function testKeyPool(): Promise<KeyPool> {
  return KeyPool.open({ dir: path.join(os.tmpdir(), 'amtflow-emulator-test-keys'), size: 6 });
}

export interface TestCert {
  pem: string;
  der: Buffer;
  keyPem: string;
  cert: forge.pki.Certificate;
}

interface CertOptions {
  cn: string;
  keyPem: string;
  issuer?: TestCert;
  ca?: boolean;
  ou?: string;
  /** Extended key usage OIDs. */
  eku?: string[];
  notAfter?: Date;
  /** Signature digest; default SHA-256. */
  digest?: 'sha1' | 'sha256';
}

export const AMT_OID = '2.16.840.1.113741.1.2.3';
export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export function makeCert(o: CertOptions): TestCert {
  const key = forge.pki.privateKeyFromPem(o.keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = o.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const subject = [
    { name: 'commonName', value: o.cn },
    ...(o.ou ? [{ name: 'organizationalUnitName', value: o.ou }] : []),
  ];
  cert.setSubject(subject);
  cert.setIssuer(o.issuer ? o.issuer.cert.subject.attributes : subject);
  const extensions: object[] = [{ name: 'basicConstraints', cA: o.ca ?? false }];
  if (o.ca) extensions.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true });
  else extensions.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true });
  // forge names the OIDs it knows (serverAuth…) and takes unknown ones (the AMT OID) as dotted strings.
  const oids = forge.pki.oids as Record<string, string>;
  if (o.eku)
    extensions.push({ name: 'extKeyUsage', ...Object.fromEntries(o.eku.map((oid) => [oids[oid] ?? oid, true])) });
  cert.setExtensions(extensions);
  const signer = o.issuer ? forge.pki.privateKeyFromPem(o.issuer.keyPem) : key;
  cert.sign(signer, forge.md[o.digest ?? 'sha256'].create());
  const pem = forge.pki.certificateToPem(cert);
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return { pem, der, keyPem: o.keyPem, cert };
}

export const sha256 = (der: Buffer) => createHash('sha256').update(der).digest('hex');

/** A provisioning chain leaf → intermediate → root, as an OOBSP would present it. */
export function provisioningChain(
  pool: KeyPool,
  leaf: { cn: string; ou?: string; eku?: string[] },
): { root: TestCert; intermediate: TestCert; leaf: TestCert; chainPem: string } {
  const keys = [pool.draw(), pool.draw(), pool.draw()];
  const root = makeCert({ cn: 'Test Provisioning Root', keyPem: keys[0]!.privateKeyPem, ca: true });
  const intermediate = makeCert({ cn: 'Test Provisioning CA', keyPem: keys[1]!.privateKeyPem, ca: true, issuer: root });
  const l = makeCert({
    cn: leaf.cn,
    ou: leaf.ou,
    eku: leaf.eku ?? [SERVER_AUTH, AMT_OID],
    keyPem: keys[2]!.privateKeyPem,
    issuer: intermediate,
  });
  return { root, intermediate, leaf: l, chainPem: l.pem + intermediate.pem + root.pem };
}
