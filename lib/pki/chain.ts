import { createPrivateKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { PkiError } from './errors';
import { assertCaKeyBits, keyMatches, MAX_RSA_BITS, rsaBits } from './keys';
import { fromForge, oneLine, type ParsedCertificate } from './x509';

export interface KeyAndCertificates {
  key: KeyObject;
  certificates: ParsedCertificate[];
}

/**
 * Reads a PKCS#12 file (what a purchased provisioning certificate or an exported enterprise CA
 * comes as): exactly one private key and the certificates beside it. Both the legacy (3DES/SHA-1)
 * and the OpenSSL 3 (AES/PBKDF2/SHA-256) encodings are accepted.
 */
export function readPkcs12(bytes: Buffer, password: string, what: string): KeyAndCertificates {
  let pfx: forge.pkcs12.Pkcs12Pfx;
  try {
    pfx = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(bytes.toString('binary')), password);
  } catch (err) {
    const message = (err as Error).message;
    // forge reports a failed MAC (the usual symptom of a wrong password) in its message only.
    if (/password/i.test(message)) {
      throw new PkiError('PKCS12_PASSWORD_INVALID', `${what}: the password does not open this PKCS#12 file`);
    }
    throw new PkiError('PKCS12_INVALID', `${what} is not a readable PKCS#12 file (${message})`);
  }
  const bags = (type: string) => pfx.getBags({ bagType: type })[type] ?? [];
  const keys = [...bags(forge.pki.oids.pkcs8ShroudedKeyBag as string), ...bags(forge.pki.oids.keyBag as string)];
  if (keys.length !== 1 || !keys[0]?.key) {
    throw new PkiError(
      'PKCS12_INVALID',
      `${what} must hold exactly one RSA private key; it holds ${keys.length} readable`,
    );
  }
  const certificates = bags(forge.pki.oids.certBag as string).flatMap((bag) => (bag.cert ? [fromForge(bag.cert)] : []));
  return { key: createPrivateKey(forge.pki.privateKeyToPem(keys[0].key)), certificates };
}

/** The certificate among `certificates` whose public key belongs to `key`. */
export function certificateForKey(key: KeyObject, certificates: ParsedCertificate[], what: string): ParsedCertificate {
  const match = certificates.find((cert) => keyMatches(key, cert.x509.publicKey));
  if (!match) throw new PkiError('KEY_MISMATCH', `${what}: the private key belongs to none of its certificates`);
  return match;
}

function issuedBy(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  return child.x509.checkIssued(parent.x509) && child.x509.verify(parent.x509.publicKey);
}

/**
 * Orders a chain from `leaf` up to a self-signed root, picking each issuer from `pool` by name and
 * signature. A chain that stops short of a root is refused: the firmware matches the root's hash
 * (spec OOB4) and needs every certificate up to it (spec I6).
 */
export function buildChain(leaf: ParsedCertificate, pool: ParsedCertificate[], what: string): ParsedCertificate[] {
  const chain = [leaf];
  for (;;) {
    const current = chain[chain.length - 1] as ParsedCertificate;
    if (issuedBy(current, current)) return chain;
    const issuer = pool.find((candidate) => !chain.includes(candidate) && issuedBy(current, candidate));
    if (!issuer) {
      throw new PkiError(
        'CHAIN_INCOMPLETE',
        `${what}: no certificate for the issuer "${oneLine(current.x509.issuer)}" of ` +
          `"${oneLine(current.x509.subject)}"; include the whole chain up to the root`,
      );
    }
    if (!issuer.x509.ca) {
      throw new PkiError('NOT_A_CA_CERTIFICATE', `${what}: "${oneLine(issuer.x509.subject)}" is not a CA`);
    }
    chain.push(issuer);
  }
}

/**
 * Checks a chain: no member may have expired (firmware and relying parties refuse it), and spec P1
 * refuses CA keys over 2048 bits — every certificate from `fromIndex` on is a CA (1 skips a leaf).
 */
export function checkChain(chain: ParsedCertificate[], fromIndex: number, now: Date, what: string): void {
  chain.forEach((cert, index) => {
    const subject = oneLine(cert.x509.subject);
    if (new Date(cert.x509.validTo) <= now) {
      throw new PkiError('CERTIFICATE_EXPIRED', `${what}: "${subject}" expired on ${cert.x509.validTo}`);
    }
    if (index >= fromIndex) {
      assertCaKeyBits(rsaBits(cert.x509.publicKey, `${what}: "${subject}"`), `${what}: the key of CA "${subject}"`);
    }
  });
}

/**
 * Signature algorithms that make a provisioning chain "SHA-1 based" or worse, by OID: RSA with
 * MD2, MD5, SHA-1 (and its old OIW alias), DSA and ECDSA with SHA-1.
 */
const WEAK_SIGNATURES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.2': 'MD2',
  '1.2.840.113549.1.1.4': 'MD5',
  '1.2.840.113549.1.1.5': 'SHA-1',
  '1.3.14.3.2.29': 'SHA-1',
  '1.2.840.10040.4.3': 'SHA-1',
  '1.2.840.10045.4.1': 'SHA-1',
};

/**
 * From ME 15.0 on H-platform chipsets and ME 16.0 on every platform, AMT refuses a provisioning
 * chain in which any certificate, the root included, is signed with SHA-1, or holds an RSA key
 * under 2048 bits (AMT SDK "Root certificate hashes"; Intel support article 000090051). amtflow
 * cannot tell an H platform from its AMT version, so every AMT 15 counts as refusing.
 */
export const WEAK_CHAIN_REFUSED_FROM_AMT_MAJOR = 15;

/** One reason firmware from AMT 15/16 on refuses a chain: the certificate and what is weak about it. */
export interface ChainWeakness {
  subject: string;
  problem: string;
}

/** What in `chain` (leaf first) AMT 15/16 and later refuse: SHA-1 (or weaker) signatures, RSA keys under 2048 bits. */
export function provisioningChainWeaknesses(chain: readonly ParsedCertificate[]): ChainWeakness[] {
  return chain.flatMap((cert) => {
    const subject = oneLine(cert.x509.subject);
    const weakSignature = WEAK_SIGNATURES[cert.forge.signatureOid ?? ''];
    const bits = rsaBits(cert.x509.publicKey, `"${subject}"`);
    return [
      ...(weakSignature ? [{ subject, problem: `signed with ${weakSignature}` }] : []),
      ...(bits < MAX_RSA_BITS ? [{ subject, problem: `${bits}-bit RSA key, under ${MAX_RSA_BITS}` }] : []),
    ];
  });
}

/** The major AMT version of `x.y.z`, or undefined when it is unknown or unreadable. */
function amtMajor(amtVersion: string | undefined): number | undefined {
  const major = /^(\d{1,3})\./.exec(amtVersion ?? '')?.[1];
  return major === undefined ? undefined : Number(major);
}

/**
 * Checks a provisioning chain against what firmware `amtVersion` accepts. For AMT 15 and later a
 * weak chain is refused with WEAK_PROVISIONING_CHAIN naming every weak certificate; for older
 * firmware, and when the version is not known yet (import, before any device was seen), the same
 * findings come back as warnings: the chain works there, but not on newer devices.
 */
export function checkProvisioningChainStrength(
  chain: readonly ParsedCertificate[],
  amtVersion: string | undefined,
  what: string,
): string[] {
  const findings = provisioningChainWeaknesses(chain).map((w) => `"${w.subject}": ${w.problem}`);
  if (findings.length === 0) return [];
  const major = amtMajor(amtVersion);
  if (major !== undefined && major >= WEAK_CHAIN_REFUSED_FROM_AMT_MAJOR) {
    throw new PkiError(
      'WEAK_PROVISIONING_CHAIN',
      `${what}: AMT ${amtVersion} refuses provisioning chains with SHA-1 signatures or RSA keys under ` +
        `${MAX_RSA_BITS} bits (AMT ${WEAK_CHAIN_REFUSED_FROM_AMT_MAJOR}/16 and later): ${findings.join('; ')}`,
    );
  }
  return findings.map(
    (finding) => `${what}: ${finding}; AMT ${WEAK_CHAIN_REFUSED_FROM_AMT_MAJOR}/16 and later refuse this chain`,
  );
}
