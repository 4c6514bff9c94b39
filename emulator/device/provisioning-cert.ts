import { createHash, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { effectiveDnsSuffix, type Nvram } from './nvram';
import type { HashAlgorithm } from './root-hashes';
import { versionAtLeast } from './version';

/** Intel's AMT provisioning OID and OU (reference §6.4, spec OOB4). */
export const AMT_PROVISIONING_OID = '2.16.840.1.113741.1.2.3';
export const AMT_PROVISIONING_OU = 'Intel(R) Client Setup Certificate';

export type ChainRejection =
  | 'EMPTY_CHAIN'
  | 'CHAIN_BROKEN'
  | 'ROOT_NOT_SELF_SIGNED'
  | 'ROOT_NOT_TRUSTED'
  | 'NOT_A_PROVISIONING_CERT'
  | 'CN_OUTSIDE_DNS_SUFFIX'
  | 'EXPIRED'
  | 'WEAK_CHAIN';

export type ChainCheck =
  { ok: true; algorithm: HashAlgorithm; rootHash: string; leafCn: string } | { ok: false; reason: ChainRejection };

function subjectField(cert: X509Certificate, field: string): string[] {
  return cert.subject
    .split('\n')
    .filter((l) => l.startsWith(`${field}=`))
    .map((l) => l.slice(field.length + 1));
}

/**
 * "Starting from Intel ME 15.0 firmware for H platform, and Intel ME 16.0 firmware for all
 * platforms, Intel is removing support of SHA1 root certificates and RSA key sizes smaller than
 * 2048 bits for Intel AMT provisioning … none of the certificates in the certificate chain can be
 * SHA1-based, including the root certificate" (AMT SDK, "Root certificate hashes"). The emulator
 * plays the H platform: from 15.0 on.
 */
export function refusesWeakChains(nvram: Nvram): boolean {
  return versionAtLeast(nvram.amtVersion, 15);
}

/** Signature algorithm OIDs that are SHA-1 (RSA, DSA, ECDSA, the OIW alias) or older (MD2, MD5). */
const SHA1_OR_OLDER = new Set([
  '1.2.840.113549.1.1.2',
  '1.2.840.113549.1.1.4',
  '1.2.840.113549.1.1.5',
  '1.3.14.3.2.29',
  '1.2.840.10040.4.3',
  '1.2.840.10045.4.1',
]);

function weakCertificate(cert: X509Certificate): boolean {
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm SEQUENCE { algorithm OID, … }, … }
  const outer = forge.asn1.fromDer(cert.raw.toString('binary')).value as forge.asn1.Asn1[];
  const algorithm = (outer[1]?.value as forge.asn1.Asn1[] | undefined)?.[0]?.value;
  const oid = typeof algorithm === 'string' ? forge.asn1.derToOid(algorithm) : '';
  const bits = cert.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  return SHA1_OR_OLDER.has(oid) || bits < 2048;
}

/**
 * The firmware's checks of a provisioning certificate chain, leaf first (spec OOB4, reference
 * §6.4): an unbroken chain ending in a self-signed root whose thumbprint is an enabled entry of the
 * hash store; a leaf with the AMT provisioning OID in its EKU or the exact OU; a leaf CN inside the
 * device's DNS suffix; from AMT 15 on, no SHA-1 signature and no RSA key under 2048 bits. Used by
 * remote configuration (TLS client certificate) and by host-based ACM (AddNextCertInChain).
 */
export function checkProvisioningChain(chain: X509Certificate[], nvram: Nvram, now: Date): ChainCheck {
  const leaf = chain[0];
  const root = chain[chain.length - 1];
  if (!leaf || !root) return { ok: false, reason: 'EMPTY_CHAIN' };
  for (let i = 0; i + 1 < chain.length; i++) {
    const issuer = chain[i + 1]!;
    if (!chain[i]!.checkIssued(issuer) || !chain[i]!.verify(issuer.publicKey))
      return { ok: false, reason: 'CHAIN_BROKEN' };
  }
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) return { ok: false, reason: 'ROOT_NOT_SELF_SIGNED' };
  if (chain.some((c) => new Date(c.validFrom) > now || new Date(c.validTo) < now))
    return { ok: false, reason: 'EXPIRED' };
  if (refusesWeakChains(nvram) && chain.some(weakCertificate)) return { ok: false, reason: 'WEAK_CHAIN' };
  const trusted = nvram.hashes.find(
    (h) => h.enabled && h.hash === createHash(h.algorithm).update(root.raw).digest('hex'),
  );
  if (!trusted) return { ok: false, reason: 'ROOT_NOT_TRUSTED' };
  const eku = leaf.keyUsage ?? [];
  if (!eku.includes(AMT_PROVISIONING_OID) && !subjectField(leaf, 'OU').includes(AMT_PROVISIONING_OU)) {
    return { ok: false, reason: 'NOT_A_PROVISIONING_CERT' };
  }
  const cn = (subjectField(leaf, 'CN')[0] ?? '').toLowerCase();
  const suffix = effectiveDnsSuffix(nvram).toLowerCase();
  if (!suffix || (cn !== suffix && !cn.endsWith(`.${suffix}`))) return { ok: false, reason: 'CN_OUTSIDE_DNS_SUFFIX' };
  return { ok: true, algorithm: trusted.algorithm, rootHash: trusted.hash, leafCn: cn };
}
