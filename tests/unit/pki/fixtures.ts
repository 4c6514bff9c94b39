import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { forgePublicKey } from '../../../lib/pki/keys';

/**
 * Test fixtures for lib/pki: keys, "foreign" certificates built with forge alone (standing in for
 * a purchased provisioning certificate or an existing enterprise CA, independent of amtflow's own
 * templates), PKCS#12 files made by the real openssl, and openssl itself.
 */

/** 1024-bit keys where only the structure matters (fast); 2048 where openssl verifies at its default level. */
export function rsaKey(bits = 2048): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `amtflow-${prefix}-`));
}

export interface OpensslResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function openssl(args: string[], input?: string | Buffer): OpensslResult {
  const result = spawnSync('openssl', args, { input });
  return { status: result.status, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Writes `files` into a fresh directory and returns their paths, for openssl command lines. */
export function writeFiles(files: Record<string, string | Buffer>): Record<string, string> {
  const dir = tempDir('files');
  return Object.fromEntries(
    Object.entries(files).map(([name, content]) => {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      return [name, file];
    }),
  );
}

export interface ForeignCertificateSpec {
  subject: Array<{ shortName: string; value: string }>;
  key: KeyObject;
  /** Absent: self-signed. */
  issuer?: { certificate: forge.pki.Certificate; key: KeyObject };
  ca?: boolean;
  /** Extended key usage OIDs; absent: no EKU extension. */
  extKeyUsage?: string[];
  notAfter?: Date;
  serial?: string;
  /** Signature digest; default SHA-256. */
  digest?: 'sha1' | 'sha256';
}

const toForgePrivate = (key: KeyObject) =>
  forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }).toString());

export function foreignCertificate(spec: ForeignCertificateSpec): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.serialNumber = spec.serial ?? '01';
  cert.publicKey = forgePublicKey(spec.key);
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = spec.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  cert.setSubject(spec.subject);
  cert.setIssuer(spec.issuer ? spec.issuer.certificate.subject.attributes : spec.subject);
  const { asn1 } = forge;
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: spec.ca === true },
    spec.ca
      ? { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true }
      : { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    ...(spec.extKeyUsage
      ? [
          {
            id: '2.5.29.37',
            value: asn1.create(
              asn1.Class.UNIVERSAL,
              asn1.Type.SEQUENCE,
              true,
              spec.extKeyUsage.map((oid) =>
                asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()),
              ),
            ),
          },
        ]
      : []),
  ]);
  cert.sign(toForgePrivate(spec.issuer?.key ?? spec.key), forge.md[spec.digest ?? 'sha256'].create());
  return cert;
}

export const pem = (cert: forge.pki.Certificate) => forge.pki.certificateToPem(cert);

/** A PKCS#12 file as `openssl pkcs12 -export` writes it (AES-256, PBKDF2, SHA-256 MAC). */
export function pkcs12(key: KeyObject, certificates: forge.pki.Certificate[], password: string): Buffer {
  const files = writeFiles({
    'key.pem': key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    'certs.pem': certificates.map(pem).join(''),
  });
  const result = spawnSync(
    'openssl',
    [
      'pkcs12',
      '-export',
      '-inkey',
      files['key.pem'] as string,
      '-in',
      files['certs.pem'] as string,
      '-passout',
      'stdin',
    ],
    { input: password },
  );
  if (result.status !== 0) throw new Error(`openssl pkcs12 failed: ${result.stderr.toString()}`);
  return result.stdout;
}

/** A PKCS#10 request made by openssl, asking for a subject and SAN the CA must ignore. */
export function opensslCsr(key: KeyObject, digest = 'sha256'): string {
  const files = writeFiles({ 'key.pem': key.export({ type: 'pkcs8', format: 'pem' }).toString() });
  const result = openssl([
    'req',
    '-new',
    `-${digest}`,
    '-key',
    files['key.pem'] as string,
    '-subj',
    '/CN=evil.attacker.example/OU=Intel(R) Client Setup Certificate/O=Mallory',
    '-addext',
    'subjectAltName=DNS:evil.attacker.example,DNS:*.corp.example.test',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ]);
  if (result.status !== 0) throw new Error(`openssl req failed: ${result.stderr}`);
  return result.stdout;
}
