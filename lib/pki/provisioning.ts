import type { KeyObject } from 'node:crypto';
import { buildChain, checkChain, checkProvisioningChainStrength } from './chain';
import { PkiError } from './errors';
import { checkLeafKeyBits } from './keys';
import { isInNamespace, normalizeFqdn } from './names';
import { AMT_PROVISIONING_OID, AMT_PROVISIONING_OU, SERVER_AUTH_OID } from './templates';
import { extendedKeyUsages, subjectValues, type ParsedCertificate, type Thumbprints } from './x509';

/**
 * The credential amtflow presents to firmware as TLS client during TLS-PKI provisioning (spec OOB3),
 * and whose key signs the host-based activation nonces. Held in memory by the process that opened
 * the CA; never part of a workflow's input or output.
 */
export interface ProvisioningCredential {
  source: 'generated' | 'imported';
  commonName: string;
  /** Leaf first, root last: the order of the TLS Certificate message and of AddNextCertInChain. */
  chain: ParsedCertificate[];
  key: KeyObject;
  /** Digests of the root certificate, to compare with the hashes the firmware reports (spec OOB2–OOB4). */
  rootThumbprints: Thumbprints;
}

/**
 * What the firmware checks on the provisioning certificate (spec OOB4, protocol reference §6.4):
 * server authentication plus the AMT provisioning OID or the `Intel(R) Client Setup Certificate`
 * OU; a CN inside the DNS namespace; a complete chain to a root; and, spec P1, no CA key over
 * 2048 bits. The leaf key is AMT-sized too. Returns the chain ordered leaf → root. Which firmware
 * will see the chain is not known here: what AMT 15/16 and later refuse (SHA-1, RSA under 2048
 * bits) comes back as warnings; `checkProvisioningChainStrength` with a device's version refuses it.
 */
export function checkProvisioningCertificate(
  key: KeyObject,
  leaf: ParsedCertificate,
  pool: ParsedCertificate[],
  domain: string,
  now: Date,
): { commonName: string; chain: ParsedCertificate[]; warnings: string[] } {
  const what = 'provisioning certificate';
  checkLeafKeyBits(key, `the ${what} key`);
  const usages = extendedKeyUsages(leaf);
  const hasOid = usages.includes(AMT_PROVISIONING_OID);
  const hasOu = subjectValues(leaf, 'OU').includes(AMT_PROVISIONING_OU);
  // No EKU extension at all means "any purpose", which includes server authentication.
  const serverAuth = usages.length === 0 || usages.includes(SERVER_AUTH_OID);
  if (!serverAuth || !(hasOid || hasOu)) {
    throw new PkiError(
      'NOT_A_PROVISIONING_CERTIFICATE',
      `the ${what} needs server authentication and the AMT provisioning OID ${AMT_PROVISIONING_OID} ` +
        `in its extended key usage (or the subject OU "${AMT_PROVISIONING_OU}")`,
    );
  }
  const names = subjectValues(leaf, 'CN');
  if (names.length !== 1) throw new PkiError('INVALID_FQDN', `the ${what} must have exactly one subject CN`);
  const commonName = normalizeFqdn(names[0] as string, `the ${what} CN`);
  assertInNamespace(commonName, domain);
  const chain = buildChain(leaf, pool, what);
  checkChain(chain, 1, now, what);
  return { commonName, chain, warnings: checkProvisioningChainStrength(chain, undefined, what) };
}

export function assertInNamespace(commonName: string, domain: string): void {
  if (!isInNamespace(commonName, domain)) {
    throw new PkiError(
      'CN_OUTSIDE_NAMESPACE',
      `provisioning certificate CN ${commonName} is outside the namespace ${domain} (ca.provisioningDomain); ` +
        'the firmware only accepts a CN inside its own DNS suffix',
    );
  }
}

export type RootHashAlgorithm = keyof Thumbprints;

/**
 * True when one of the root-certificate hashes the firmware reported (hello message, spec OOB2/OOB3,
 * or AMT_ProvisioningCertificateHash) is the provisioning chain's root. Hashes are hex, any case.
 */
export function rootHashMatches(
  rootThumbprints: Thumbprints,
  hashes: ReadonlyArray<{ algorithm: RootHashAlgorithm; hash: string }>,
): boolean {
  return hashes.some(({ algorithm, hash }) => rootThumbprints[algorithm] === hash.toLowerCase());
}
