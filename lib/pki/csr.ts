import { createHash, createPublicKey } from 'node:crypto';
import forge from 'node-forge';
import { PkiError } from './errors';
import { checkLeafKeyBits } from './keys';

/** What the CA takes from a PKCS#10 request: the public key, and nothing else. */
export interface VerifiedCsr {
  publicKey: forge.pki.PublicKey;
  /** SHA-256 of the SubjectPublicKeyInfo: identifies the key in the idempotency fingerprint. */
  keyId: string;
}

/**
 * Signature algorithms accepted as proof of possession. AMT's GeneratePKCS10RequestEx signs with
 * SHA-1 (SigningAlgorithm 0, older firmware) or SHA-256 (1); MD5 is refused.
 */
const SIGNATURE_ALGORITHMS = new Set(
  ['sha1WithRSAEncryption', 'sha256WithRSAEncryption', 'sha384WithRSAEncryption', 'sha512WithRSAEncryption'].map(
    (name) => forge.pki.oids[name],
  ),
);

function decode(input: string | Buffer): Buffer {
  if (Buffer.isBuffer(input)) return input;
  const text = input.trim();
  if (text.startsWith('-----BEGIN')) {
    let blocks: forge.pem.ObjectPEM[];
    try {
      blocks = forge.pem.decode(text);
    } catch {
      throw new PkiError('CSR_INVALID', 'the request is not well-formed PEM');
    }
    const block = blocks.find((b) => /CERTIFICATE REQUEST$/.test(b.type));
    if (!block) throw new PkiError('CSR_INVALID', 'the PEM text holds no CERTIFICATE REQUEST block');
    return Buffer.from(block.body, 'binary');
  }
  // AMT returns the signed request as base64 DER (SignedCertificateRequest).
  if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) throw new PkiError('CSR_INVALID', 'the request is neither PEM nor base64 DER');
  return Buffer.from(text, 'base64');
}

/**
 * Parses a PKCS#10 request (PEM, base64 DER as AMT returns it, or DER bytes) and verifies its
 * signature with the key it carries, which proves the requester holds the private key. The
 * requested subject, SANs and extensions are deliberately ignored: the template decides them.
 */
export function verifyCsr(input: string | Buffer): VerifiedCsr {
  const der = decode(input);
  let request: forge.asn1.Asn1;
  let spki: Buffer;
  try {
    request = forge.asn1.fromDer(der.toString('binary'));
    // CertificationRequest → CertificationRequestInfo → [version, subject, subjectPKInfo, attributes]
    const info = (request.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1;
    spki = Buffer.from(forge.asn1.toDer((info.value as forge.asn1.Asn1[])[2] as forge.asn1.Asn1).getBytes(), 'binary');
  } catch (err) {
    throw new PkiError('CSR_INVALID', `the request is not a PKCS#10 structure (${(err as Error).message})`);
  }
  // The key type and size are checked with OpenSSL before forge, which reads RSA keys only.
  const key = (() => {
    try {
      return createPublicKey({ key: spki, format: 'der', type: 'spki' });
    } catch {
      throw new PkiError('CSR_INVALID', 'the request carries an unreadable public key');
    }
  })();
  checkLeafKeyBits(key, 'the requested key');

  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromAsn1(request, true);
  } catch (err) {
    throw new PkiError('CSR_INVALID', `the request cannot be read (${(err as Error).message})`);
  }
  if (!SIGNATURE_ALGORITHMS.has(csr.signatureOid ?? '')) {
    throw new PkiError('CSR_INVALID', `the request is signed with ${csr.signatureOid}; use SHA-1 or SHA-2 with RSA`);
  }
  let valid: boolean;
  try {
    valid = csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new PkiError('CSR_SIGNATURE_INVALID', 'the request signature does not verify with the key it carries');
  }
  return { publicKey: csr.publicKey as forge.pki.PublicKey, keyId: createHash('sha256').update(spki).digest('hex') };
}
