import { createHash, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { PkiError } from './errors';

/**
 * One certificate in the three forms the CA needs: PEM (files, database, TLS), node's
 * X509Certificate (signature and issuer checks, key sizes, dates through OpenSSL) and forge's
 * structured view (subject attributes, extensions, and the building of new certificates).
 */
export interface ParsedCertificate {
  pem: string;
  der: Buffer;
  x509: X509Certificate;
  forge: forge.pki.Certificate;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function parseCertificate(input: string | Buffer, what = 'certificate'): ParsedCertificate {
  try {
    const der = typeof input === 'string' ? Buffer.from(forge.pem.decode(input)[0]?.body ?? '', 'binary') : input;
    return fromDer(der);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new PkiError('CERTIFICATE_INVALID', `${what} cannot be read as an X.509 RSA certificate: ${reason}`);
  }
}

export function fromForge(cert: forge.pki.Certificate): ParsedCertificate {
  return fromDer(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary'));
}

function fromDer(der: Buffer): ParsedCertificate {
  const x509 = new X509Certificate(der);
  return {
    pem: x509.toString(),
    der,
    x509,
    forge: forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString('binary'))),
  };
}

/** Every certificate in a PEM bundle, in file order. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(PEM_BLOCK) ?? [];
}

/**
 * RFC 5280 serial: positive, at most 20 octets, unpredictable. 16 random bytes with the top bit
 * cleared (positive) and the next one set (no leading zero octet, so the DER INTEGER is minimal):
 * 126 random bits, well over the 64 the CA/Browser rules ask for.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

const getTbsCertificate = (forge.pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 })
  .getTBSCertificate;

/**
 * Signs with SHA-256/RSA through node:crypto so that CA private keys stay KeyObjects (OpenSSL
 * memory) and never become forge big integers; forge only lays out the to-be-signed bytes.
 */
export function signCertificate(cert: forge.pki.Certificate, key: KeyObject): ParsedCertificate {
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption as string;
  cert.tbsCertificate = getTbsCertificate(cert);
  cert.signature = signDer(forge.asn1.toDer(cert.tbsCertificate).getBytes(), key);
  return fromForge(cert);
}

/** SHA-256/RSA signature over DER given as a forge binary string, returned the same way. */
export function signDer(der: string, key: KeyObject): string {
  return sign('sha256', Buffer.from(der, 'binary'), key).toString('binary');
}

export interface Thumbprints {
  sha1: string;
  sha256: string;
  sha384: string;
}

/** Hex digests of the DER certificate: what AMT keeps in its root-hash store (spec OOB2–OOB4). */
export function thumbprints(der: Buffer): Thumbprints {
  const hex = (algorithm: string) => createHash(algorithm).update(der).digest('hex');
  return { sha1: hex('sha1'), sha256: hex('sha256'), sha384: hex('sha384') };
}

/** The subjectKeyIdentifier as a forge binary string, if the certificate carries one. */
export function subjectKeyIdentifier(cert: forge.pki.Certificate): string | undefined {
  const ext = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null;
  return ext?.subjectKeyIdentifier ? forge.util.hexToBytes(ext.subjectKeyIdentifier) : undefined;
}

/** Extended key usage OIDs of a certificate (empty when it has no EKU extension). */
export function extendedKeyUsages(cert: ParsedCertificate): string[] {
  return cert.x509.keyUsage ?? [];
}

/** RDN values of one attribute type (short name such as CN or OU), in subject order. */
export function subjectValues(cert: ParsedCertificate, shortName: string): string[] {
  return cert.forge.subject.attributes.filter((attr) => attr.shortName === shortName).map((attr) => String(attr.value));
}

/** The certificate's subject Name exactly as encoded, for the issuer field of a CRL it signs. */
export function subjectNameAsn1(cert: ParsedCertificate): forge.asn1.Asn1 {
  const tbs = (forge.asn1.fromDer(cert.der.toString('binary')).value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1;
  const fields = tbs.value as forge.asn1.Asn1[];
  // TBSCertificate: [0] version (explicit, optional), serial, signature, issuer, validity, subject, ...
  const offset = fields[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  return fields[offset + 4] as forge.asn1.Asn1;
}

/** A distinguished name on one line, for messages (OpenSSL prints one attribute per line). */
export function oneLine(name: string): string {
  return name.replace(/\n/g, ', ');
}
