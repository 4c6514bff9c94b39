import { createPublicKey } from 'node:crypto';
import type { DeviceUuid } from '../device-uuid';
import type { EoiOperations } from './eoi/operations';
import type { AmtCredential } from './http-client';
import type { AccessControlOperations } from './wsman/access';
import type { CertificateOperations } from './wsman/certificates';
import type { DeviceOperations, ProvisioningState } from './wsman/device';

/**
 * One interface for the steps every lifecycle flow runs on any firmware — stage one (OOB8),
 * removal (DEP1) and discovery (OPS1) — over EOI SOAP on AMT before 6.0 and
 * WS-Management from 6.0 on, so activities do not branch on the interface.
 *
 * One-shot steps (setAdminPassword, setMebxPassword, commitChanges, unprovision) must not be
 * resent after an error whose outcome is `unknown`: read getProvisioningState() (or try the
 * pending credential) first. Everything else here is idempotent.
 */

export type AmtInterface = 'wsman' | 'eoi';

export interface TlsCertificateInput {
  /**
   * RSA private key, PKCS#1 DER. Omitted when the firmware generated the key pair itself
   * (GenerateKeyPair + GeneratePKCS10RequestEx, WS-Management only): it already holds the key.
   */
  privateKeyDer?: Buffer;
  /** DER certificates, the device's own first, up to the root (added to the trust store on WS-Management). */
  certificateChainDer: readonly Buffer[];
  /** Keep serving 16992 next to 16993 (discovery uses 16992, spec P5). */
  acceptNonSecureConnections: boolean;
}

export interface ManagementControllerSetup {
  readonly interface: AmtInterface;
  getCoreVersion(): Promise<string>;
  getProvisioningState(): Promise<ProvisioningState>;
  /** The platform UUID the firmware holds (issue 9: a run checks whom it reached). */
  getPlatformUuid(): Promise<DeviceUuid>;
  /** OOB8.1 */
  synchronizeClock(now?: () => Date): Promise<{ deviceTimeBefore: Date; setTo: Date }>;
  /** OOB8.2 */
  setHostAndDomainName(hostName: string, domainName: string): Promise<void>;
  /** OOB8.3 — takes effect on commitChanges(). Idempotent: what is already installed is reused. */
  installTlsCertificate(input: TlsCertificateInput): Promise<void>;
  /** OOB8.4, one-shot. */
  setAdminPassword(credential: AmtCredential): Promise<void>;
  /** OOB8.5, one-shot. */
  setMebxPassword(password: string): Promise<void>;
  /** OOB8.6, one-shot. */
  commitChanges(): Promise<void>;
  /** DEP1: `partial` keeps identification, `full` returns to factory state. One-shot. */
  unprovision(kind: 'full' | 'partial'): Promise<void>;
}

/** AMT before 6.0 speaks EOI (protocol reference §6.7); 6.0 and later WS-Management only. */
export function detectInterface(version: string): AmtInterface {
  const major = Number.parseInt(version, 10);
  if (!Number.isInteger(major)) throw new TypeError(`not an AMT version: ${version}`);
  return major < 6 ? 'eoi' : 'wsman';
}

export interface WsmanParts {
  device: DeviceOperations;
  access: AccessControlOperations;
  certificates: CertificateOperations;
}

export class WsmanSetup implements ManagementControllerSetup {
  readonly interface = 'wsman';

  constructor(private readonly wsman: WsmanParts) {}

  getCoreVersion(): Promise<string> {
    return this.wsman.device.getAmtVersion();
  }

  getPlatformUuid(): Promise<DeviceUuid> {
    return this.wsman.device.getUuid();
  }

  async getProvisioningState(): Promise<ProvisioningState> {
    return (await this.wsman.device.getSetupAndConfiguration()).provisioningState;
  }

  synchronizeClock(now?: () => Date): Promise<{ deviceTimeBefore: Date; setTo: Date }> {
    return this.wsman.device.synchronizeClock(now);
  }

  setHostAndDomainName(hostName: string, domainName: string): Promise<void> {
    return this.wsman.device.setGeneralSettings({ hostName, domainName });
  }

  async installTlsCertificate(input: TlsCertificateInput): Promise<void> {
    const { certificates } = this.wsman;
    const [leaf] = input.certificateChainDer;
    if (!leaf) throw new TypeError('the certificate chain is empty');
    if (input.privateKeyDer) {
      const publicKey = createPublicKey({ key: input.privateKeyDer, format: 'der', type: 'pkcs1' })
        .export({ format: 'der', type: 'pkcs1' })
        .toString('base64');
      if (!(await certificates.listKeyPairs()).some((pair) => pair.derKey === publicKey)) {
        await certificates.addKey(input.privateKeyDer);
      }
    }
    const leafBase64 = leaf.toString('base64');
    const installed = await certificates.listCertificates();
    const certificateId =
      installed.find((c) => c.x509Certificate === leafBase64)?.instanceId ?? (await certificates.addCertificate(leaf));
    // I6 "with its chain up to the root": the root goes into the trust store; intermediates are not
    // roots and AMT's trust store takes roots only.
    const root = input.certificateChainDer.length > 1 ? input.certificateChainDer.at(-1) : undefined;
    if (root && !installed.some((c) => c.x509Certificate === root.toString('base64'))) {
      await certificates.addTrustedRootCertificate(root);
    }
    await certificates.setTlsCertificate(certificateId);
    await certificates.configureTls({
      remote: {
        enabled: true,
        mutualAuthentication: false,
        acceptNonSecureConnections: input.acceptNonSecureConnections,
      },
      local: { enabled: true },
    });
  }

  setAdminPassword(credential: AmtCredential): Promise<void> {
    return this.wsman.access.setAdminPassword(credential);
  }

  setMebxPassword(password: string): Promise<void> {
    return this.wsman.device.setMebxPassword(password);
  }

  commitChanges(): Promise<void> {
    return this.wsman.device.commitChanges();
  }

  unprovision(kind: 'full' | 'partial'): Promise<void> {
    return kind === 'full' ? this.wsman.device.unprovision() : this.wsman.device.partialUnprovision();
  }
}

/**
 * EOI for AMT 3.x–5.x. EOI has no MEBx password and no partial unprovision operation in the
 * sources found; AMT_SetupAndConfigurationService, which has both, is served over WS-Management
 * from AMT 3.0 on (SDK class reference), so those two go through WS-Management on the same login.
 */
export class EoiSetup implements ManagementControllerSetup {
  readonly interface = 'eoi';

  constructor(
    private readonly eoi: EoiOperations,
    private readonly device: DeviceOperations,
  ) {}

  getCoreVersion(): Promise<string> {
    return this.eoi.getCoreVersion();
  }

  getProvisioningState(): Promise<ProvisioningState> {
    return this.eoi.getProvisioningState();
  }

  /** EOI has no UUID read of its own here; the firmware's WS-Management side answers it, as for the MEBx password. */
  getPlatformUuid(): Promise<DeviceUuid> {
    return this.device.getUuid();
  }

  synchronizeClock(now?: () => Date): Promise<{ deviceTimeBefore: Date; setTo: Date }> {
    return this.eoi.synchronizeClock(now);
  }

  async setHostAndDomainName(hostName: string, domainName: string): Promise<void> {
    await this.eoi.setHostName(hostName);
    await this.eoi.setDomainName(domainName);
  }

  async installTlsCertificate(input: TlsCertificateInput): Promise<void> {
    if (input.certificateChainDer.length === 0) throw new TypeError('the certificate chain is empty');
    // EOI has no key generation: SetTLSKeyAndCertificate always takes the key with the certificate.
    if (!input.privateKeyDer) throw new TypeError('EOI firmware needs the private key with the certificate');
    await this.eoi.setTlsKeyAndCertificate(input.privateKeyDer, input.certificateChainDer);
    await this.eoi.setTlsEnabled(true);
  }

  setAdminPassword(credential: AmtCredential): Promise<void> {
    return this.eoi.setAdminAclEntry(credential);
  }

  setMebxPassword(password: string): Promise<void> {
    return this.device.setMebxPassword(password);
  }

  commitChanges(): Promise<void> {
    return this.eoi.commitChanges();
  }

  unprovision(kind: 'full' | 'partial'): Promise<void> {
    return kind === 'full' ? this.eoi.unprovision() : this.device.partialUnprovision();
  }
}
