import type { CaConfig } from '../config';
import type { SecretBox } from '../crypto/secret-box';
import {
  additionalProvisioningStamp,
  loadAdditionalProvisioning,
  loadOrCreateProvisioning,
  saveAdditionalProvisioning,
  saveImportedProvisioning,
  type CaMaterial,
} from './ca-state';
import {
  WEAK_CHAIN_REFUSED_FROM_AMT_MAJOR,
  certificateForKey,
  checkProvisioningChainStrength,
  readPkcs12,
} from './chain';
import { PkiError } from './errors';
import { privateKeyPem } from './keys';
import { normalizeFqdn } from './names';
import {
  assertInNamespace,
  checkProvisioningCertificate,
  rootHashMatches,
  type ProvisioningCredential,
  type RootHashAlgorithm,
} from './provisioning';
import { parseCertificate, splitPemBundle, thumbprints, type ParsedCertificate, type Thumbprints } from './x509';

/** The first firmware release that refuses weak provisioning chains: what a chain every device takes must pass. */
const STRICTEST_FIRMWARE = `${WEAK_CHAIN_REFUSED_FROM_AMT_MAJOR}.0.0`;

export interface ProvisioningSummary {
  source: ProvisioningCredential['source'];
  commonName: string;
  notAfter: Date;
  rootThumbprints: Thumbprints;
  /**
   * What AMT 15/16 and later refuse in this chain (SHA-1 signatures, RSA keys under 2048 bits);
   * empty when every firmware version accepts it. Older devices still provision with it.
   */
  warnings: string[];
}

/**
 * The provisioning certificate amtflow presents to firmware as TLS client (spec OOB3, OOB4, P1):
 * generated under amtflow's root for `ca.provisioningDomain`, or imported (bought from a public CA
 * whose root the firmware trusts). Kept sealed in the CA directory. When there is none — no
 * provisioning domain, or an imported certificate that no longer passes — the reason is kept and
 * thrown to whoever asks for the credential, so issuing certificates goes on meanwhile.
 */
export class ProvisioningCertificate {
  private constructor(
    private readonly dir: string,
    private readonly config: CaConfig,
    private readonly box: SecretBox,
    private current: ProvisioningCredential | PkiError,
    /** Further chains for devices that trust other roots; one that no longer passes keeps its error. */
    private additional: (ProvisioningCredential | PkiError)[],
    /** The files `additional` was read from (`additionalProvisioningStamp`). */
    private additionalStamp: string,
  ) {}

  /** Opens (or generates, under `ca`) the provisioning credential of the CA directory `dir`. */
  static async open(
    dir: string,
    config: CaConfig,
    box: SecretBox,
    ca: CaMaterial,
    now: Date,
  ): Promise<ProvisioningCertificate> {
    const names = provisioningNames(config);
    const current = names
      ? await openCredential(dir, config, box, ca, names, now)
      : new PkiError(
          'PROVISIONING_DOMAIN_NOT_CONFIGURED',
          'set ca.provisioningDomain to the DNS namespace of the AMT devices',
        );
    const stamp = additionalProvisioningStamp(dir);
    const additional = names ? loadAdditional(dir, box, names.domain, now) : [];
    return new ProvisioningCertificate(dir, config, box, current, additional, stamp);
  }

  /**
   * The credential for the TLS-PKI connection to firmware (spec OOB3) and host-based activation:
   * chain leaf → root, private key, root thumbprints. Throws the reason there is none
   * (PROVISIONING_DOMAIN_NOT_CONFIGURED, or the check an imported certificate failed).
   */
  credential(): ProvisioningCredential {
    if (this.current instanceof PkiError) throw this.current;
    return this.current;
  }

  /**
   * Every usable provisioning credential: the main one first, then the additional chains — read
   * again when another process (the front door's `POST /provisioning-chains`) has added one.
   */
  credentials(): ProvisioningCredential[] {
    this.refreshAdditional();
    return [this.current, ...this.additional].filter((c): c is ProvisioningCredential => !(c instanceof PkiError));
  }

  /**
   * node:tls client options presenting a provisioning chain: `tls.connect({ ...these, host, port })`.
   * `rootSha256` picks the chain under that root (the one OOB3 chose for the device); without it,
   * the main one. Throws PROVISIONING_ROOT_UNKNOWN when no usable chain has that root.
   */
  tlsOptions(rootSha256?: string): { cert: string; key: string } {
    const credential = rootSha256 === undefined ? this.credential() : this.forRoot(rootSha256);
    return { cert: credential.chain.map((cert) => cert.pem).join(''), key: privateKeyPem(credential.key) };
  }

  /** The usable credential whose root has SHA-256 thumbprint `rootSha256` (hex, any case). */
  forRoot(rootSha256: string): ProvisioningCredential {
    const wanted = rootSha256.toLowerCase();
    const found = this.credentials().find((c) => c.rootThumbprints.sha256 === wanted);
    if (!found) {
      throw new PkiError(
        'PROVISIONING_ROOT_UNKNOWN',
        `no usable provisioning certificate under the root with SHA-256 thumbprint ${wanted}; ` +
          'it was removed, replaced or no longer passes its checks',
      );
    }
    return found;
  }

  /**
   * OOB3 with several chains: the credential whose root the device listed (`reported`, from its
   * hello; undefined when it sent none) and whose chain firmware `amtVersion` accepts; `who` names
   * the device in errors. Throws
   * ROOT_HASH_MISMATCH when no chain's root was listed, WEAK_PROVISIONING_CHAIN when every listed
   * one is too weak for that firmware (AMT 15/16 and later: no SHA-1, no RSA under 2048 bits).
   */
  choose(
    reported: ReadonlyArray<{ algorithm: RootHashAlgorithm; hash: string }> | undefined,
    amtVersion: string | undefined,
    who: string,
  ): ProvisioningCredential {
    const usable = this.credentials();
    if (usable.length === 0) this.credential();
    const trusted = reported ? usable.filter((c) => rootHashMatches(c.rootThumbprints, reported)) : usable;
    if (trusted.length === 0) {
      throw new PkiError(
        'ROOT_HASH_MISMATCH',
        `none of the ${reported?.length ?? 0} root hashes in the last hello of ${who} (algorithms: ` +
          `${[...new Set(reported?.map((h) => h.algorithm))].join(', ') || 'none'}) is the root of a provisioning ` +
          `certificate amtflow holds (${usable.map((c) => c.commonName).join(', ')}); add one of those roots to the ` +
          'firmware or add a provisioning certificate under a root the firmware trusts (spec OOB3)',
      );
    }
    let refusal: unknown;
    for (const candidate of trusted) {
      try {
        checkProvisioningChainStrength(
          candidate.chain,
          amtVersion,
          `provisioning certificate ${candidate.commonName} for ${who}`,
        );
        return candidate;
      } catch (err) {
        refusal ??= err;
      }
    }
    throw refusal;
  }

  summary(): ProvisioningSummary {
    return summarize(this.credential());
  }

  /** The main chain and every additional one that passes its checks. */
  summaries(): ProvisioningSummary[] {
    return this.credentials().map(summarize);
  }

  /**
   * Imports a provisioning certificate bought from a public CA (or exported from another CA), as
   * PKCS#12 with its key; `extraCertificatesPem` completes the chain when the file lacks
   * certificates up to the root. Checked like the firmware checks it (spec OOB4, P1), then stored
   * sealed in the CA directory in place of the previous one.
   */
  import(pkcs12: Buffer, password: string, extraCertificatesPem = ''): ProvisioningSummary {
    const { key, chain } = this.readPkcs12(pkcs12, password, extraCertificatesPem);
    const imported = saveImportedProvisioning(this.dir, chain, key, this.box);
    this.current = imported;
    return summarize(imported);
  }

  /**
   * Adds a provisioning chain for the devices whose firmware trusts another root (a mixed fleet:
   * older devices under one public root, newer ones under another), checked like `import`. It
   * replaces a chain under the same root; the main chain is left as it is. `requireStrong` refuses
   * (WEAK_PROVISIONING_CHAIN, nothing stored) a chain AMT 15/16 and later refuse; without it such a
   * chain is kept, with its warnings, for the older devices — unless it would replace a chain under
   * the same root that those firmware versions accept (PROVISIONING_CHAIN_DOWNGRADE, nothing
   * stored): the newer devices trusting that root would lose the only chain they take.
   */
  addChain(
    pkcs12: Buffer,
    password: string,
    extraCertificatesPem = '',
    options: { requireStrong?: boolean } = {},
  ): ProvisioningSummary {
    const { key, chain } = this.readPkcs12(pkcs12, password, extraCertificatesPem);
    if (options.requireStrong) {
      checkProvisioningChainStrength(chain, STRICTEST_FIRMWARE, 'provisioning certificate to add');
    }
    // Compared with what is on disk now: another process may have added a chain under this root.
    this.refreshAdditional();
    const root = thumbprints((chain[chain.length - 1] as ParsedCertificate).der).sha256;
    const replaced = this.additional.find(
      (c): c is ProvisioningCredential => !(c instanceof PkiError) && c.rootThumbprints.sha256 === root,
    );
    if (replaced && isStrong(replaced.chain) && !isStrong(chain)) {
      throw new PkiError(
        'PROVISIONING_CHAIN_DOWNGRADE',
        `the provisioning chain ${replaced.commonName} under the root with SHA-256 thumbprint ${root} is accepted by ` +
          `AMT ${WEAK_CHAIN_REFUSED_FROM_AMT_MAJOR}/16 and later; this one is not (${checkProvisioningChainStrength(chain, undefined, 'chain').join('; ')}), ` +
          'and replacing it would leave those devices without a chain they take: add a chain with SHA-256 signatures ' +
          'and RSA keys of 2048 bits, or keep the current one',
      );
    }
    const added = saveAdditionalProvisioning(this.dir, chain, key, this.box);
    this.additional = [
      ...this.additional.filter((c) => c instanceof PkiError || c.rootThumbprints.sha256 !== root),
      added,
    ];
    // What this process wrote is what it holds: no need to read it back at the next `credentials()`.
    this.additionalStamp = additionalProvisioningStamp(this.dir);
    return summarize(added);
  }

  private refreshAdditional(): void {
    const domain = provisioningNames(this.config)?.domain;
    const stamp = additionalProvisioningStamp(this.dir);
    if (!domain || stamp === this.additionalStamp) return;
    this.additional = loadAdditional(this.dir, this.box, domain, new Date());
    this.additionalStamp = stamp;
  }

  /** A provisioning certificate with its key from PKCS#12, checked like the firmware checks it (OOB4, P1). */
  private readPkcs12(
    pkcs12: Buffer,
    password: string,
    extraCertificatesPem: string,
  ): { key: ProvisioningCredential['key']; chain: ParsedCertificate[] } {
    const domain = provisioningNames(this.config)?.domain;
    if (!domain) {
      throw new PkiError(
        'PROVISIONING_DOMAIN_NOT_CONFIGURED',
        'set ca.provisioningDomain before importing a provisioning certificate',
      );
    }
    return readProvisioningPkcs12(pkcs12, password, extraCertificatesPem, domain);
  }
}

function readProvisioningPkcs12(
  pkcs12: Buffer,
  password: string,
  extraCertificatesPem: string,
  domain: string,
): { key: ProvisioningCredential['key']; chain: ParsedCertificate[] } {
  const what = 'provisioning certificate PKCS#12';
  const { key, certificates } = readPkcs12(pkcs12, password, what);
  const pool = [
    ...certificates,
    ...splitPemBundle(extraCertificatesPem).map((pem) => parseCertificate(pem, 'chain certificate')),
  ];
  const leaf = certificateForKey(key, certificates, what);
  const { chain } = checkProvisioningCertificate(key, leaf, pool, domain, new Date());
  return { key, chain };
}

/** Whether every firmware version, AMT 15/16 and later included, accepts `chain`. */
function isStrong(chain: readonly ParsedCertificate[]): boolean {
  return checkProvisioningChainStrength(chain, undefined, 'chain').length === 0;
}

function summarize(credential: ProvisioningCredential): ProvisioningSummary {
  return {
    source: credential.source,
    commonName: credential.commonName,
    notAfter: new Date((credential.chain[0] as ParsedCertificate).x509.validTo),
    rootThumbprints: credential.rootThumbprints,
    warnings: checkProvisioningChainStrength(credential.chain, undefined, 'provisioning certificate'),
  };
}

/** The configured namespace and generated CN, checked at start (undefined: no provisioning domain). */
function provisioningNames(config: CaConfig): { domain: string; commonName: string } | undefined {
  if (!config.provisioningDomain) return undefined;
  const domain = normalizeFqdn(config.provisioningDomain, 'ca.provisioningDomain');
  const commonName = normalizeFqdn(
    config.provisioningCommonName ?? `provisionserver.${domain}`,
    'ca.provisioningCommonName',
  );
  assertInNamespace(commonName, domain);
  return { domain, commonName };
}

async function openCredential(
  dir: string,
  config: CaConfig,
  box: SecretBox,
  ca: CaMaterial,
  names: { domain: string; commonName: string },
  now: Date,
): Promise<ProvisioningCredential | PkiError> {
  const credential = await loadOrCreateProvisioning({
    dir,
    box,
    ca,
    commonName: names.commonName,
    organization: config.organization,
    keyBits: config.keyBits,
    now,
  });
  if (credential.source === 'generated') return credential;
  return recheck(credential, names.domain, now);
}

/**
 * An imported certificate that no longer passes (expired, domain changed) must not stop the CA:
 * issuing goes on, and the operator imports a new one. Its error is kept for whoever asks for it.
 */
function loadAdditional(dir: string, box: SecretBox, domain: string, now: Date): (ProvisioningCredential | PkiError)[] {
  return loadAdditionalProvisioning(dir, box).map(({ credential }) => recheck(credential, domain, now));
}

function recheck(credential: ProvisioningCredential, domain: string, now: Date): ProvisioningCredential | PkiError {
  try {
    checkProvisioningCertificate(
      credential.key,
      credential.chain[0] as ParsedCertificate,
      credential.chain,
      domain,
      now,
    );
    return credential;
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
}
