import type { CaConfig } from '../config';
import type { SecretBox } from '../crypto/secret-box';
import { loadOrCreateProvisioning, saveImportedProvisioning, type CaMaterial } from './ca-state';
import { certificateForKey, checkProvisioningChainStrength, readPkcs12 } from './chain';
import { PkiError } from './errors';
import { privateKeyPem } from './keys';
import { normalizeFqdn } from './names';
import { assertInNamespace, checkProvisioningCertificate, type ProvisioningCredential } from './provisioning';
import { parseCertificate, splitPemBundle, type ParsedCertificate, type Thumbprints } from './x509';

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
    return new ProvisioningCertificate(dir, config, box, current);
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

  /** node:tls client options presenting the provisioning chain: `tls.connect({ ...these, host, port })`. */
  tlsOptions(): { cert: string; key: string } {
    const credential = this.credential();
    return { cert: credential.chain.map((cert) => cert.pem).join(''), key: privateKeyPem(credential.key) };
  }

  summary(): ProvisioningSummary {
    return summarize(this.credential());
  }

  /**
   * Imports a provisioning certificate bought from a public CA (or exported from another CA), as
   * PKCS#12 with its key; `extraCertificatesPem` completes the chain when the file lacks
   * certificates up to the root. Checked like the firmware checks it (spec OOB4, P1), then stored
   * sealed in the CA directory in place of the previous one.
   */
  import(pkcs12: Buffer, password: string, extraCertificatesPem = ''): ProvisioningSummary {
    const domain = provisioningNames(this.config)?.domain;
    if (!domain) {
      throw new PkiError(
        'PROVISIONING_DOMAIN_NOT_CONFIGURED',
        'set ca.provisioningDomain before importing a provisioning certificate',
      );
    }
    const what = 'provisioning certificate PKCS#12';
    const { key, certificates } = readPkcs12(pkcs12, password, what);
    const pool = [
      ...certificates,
      ...splitPemBundle(extraCertificatesPem).map((pem) => parseCertificate(pem, 'chain certificate')),
    ];
    const leaf = certificateForKey(key, certificates, what);
    const { chain } = checkProvisioningCertificate(key, leaf, pool, domain, new Date());
    const imported = saveImportedProvisioning(this.dir, chain, key, this.box);
    this.current = imported;
    return summarize(imported);
  }
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
  // An imported certificate that no longer passes (expired, domain changed) must not stop the CA:
  // issuing goes on, and the operator imports a new one. Its error is kept for whoever asks for it.
  try {
    checkProvisioningCertificate(
      credential.key,
      credential.chain[0] as ParsedCertificate,
      credential.chain,
      names.domain,
      now,
    );
    return credential;
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
}
