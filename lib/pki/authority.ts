import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type forge from 'node-forge';
import type { AmtflowConfig, CaConfig } from '../config';
import type { SecretBox } from '../crypto/secret-box';
import {
  certificateKeyAssociatedData,
  certificatesRepository,
  type CertificateRecord,
  type CertificatesRepository,
  type StoredCrl,
} from '../store/certificates';
import type { Schema } from '../store/schema';
import { caDirectory, loadOrCreateCa, writeCaCopies, type CaMaterial } from './ca-state';
import { assertRevocationReason, buildCrl, crlToPem, type RevocationReason } from './crl';
import { verifyCsr } from './csr';
import { PkiError } from './errors';
import { readIfExists, writeFileAtomic } from './files';
import { forgePublicKey, generateRsaKey, privateKeyPem } from './keys';
import { normalizeDeviceUuid, normalizeFqdn } from './names';
import { ProvisioningCertificate } from './provisioning-credential';
import { buildLeafCertificate, DEVICE_TEMPLATES, type DeviceTemplate } from './templates';
import { randomSerial, thumbprints, type ParsedCertificate } from './x509';

export interface CertificateAuthorityOptions {
  config: Pick<AmtflowConfig, 'stateDir' | 'ca'>;
  /** Seals the CA keys in the CA directory and generated device keys in the database. */
  box: SecretBox;
  db: Kysely<Schema>;
}

/**
 * Where the certificate's key comes from. `csr`: the firmware generated it (GenerateKeyPair +
 * GeneratePKCS10RequestEx) and only its public key is used — the preferred path, the private key
 * never leaves the firmware. `generate`: amtflow makes the key for firmware that cannot; it is
 * kept sealed in the database and handed out by reference (`keyReference`), never in a result.
 */
export type KeyRequest = { csr: string | Buffer } | { generate: true };

export interface IssueRequest {
  /** Idempotency key, e.g. derived from workflow id + step (architecture law 5). */
  requestId: string;
  template: DeviceTemplate;
  deviceUuid: string;
  /** Device FQDN: the subject CN and the only SAN dNSName (spec I2). */
  fqdn: string;
  key: KeyRequest;
}

export interface IssuedCertificate {
  serial: string;
  template: DeviceTemplate;
  deviceUuid: string;
  dnsName: string;
  certificatePem: string;
  /** The CA certificates above it, issuing CA first, root last (spec I6: install the chain to the root). */
  chainPem: string[];
  notAfter: Date;
  /** With a generated key: the reference to pass to `privateKeyForFirmware`; null when the device holds its key. */
  keyReference: string | null;
  /** True when this request id was issued before and that same certificate is returned. */
  reused: boolean;
}

export interface CurrentCrl extends StoredCrl {
  pem: string;
}

/** A CRL is valid a week and re-signed once half of that has passed (or at once on a revocation). */
const CRL_VALIDITY_MS = 7 * 86_400_000;
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** Serials as stored: lower-case hex; OpenSSL's `4A:1B:…` form is accepted too. */
function normalizeSerial(serial: string): string {
  return serial.replace(/[:\s]/g, '').toLowerCase();
}

/**
 * amtflow's built-in enterprise CA (spec P1, I1, I2, I6, UPD3, DEP2): a root and an issuing CA
 * whose keys live sealed in the CA directory, the certificate templates, the issuance record in the
 * site database and the CRL; `provisioning` is the credential presented to firmware (OOB3/OOB4,
 * lib/pki/provisioning-credential.ts).
 * Nothing here logs; errors are `PkiError`s with stable codes and no secrets.
 */
export class CertificateAuthority {
  private readonly repository: CertificatesRepository;
  private readonly issuerSha256: string;

  private constructor(
    /** The CA directory: `ca.json`, `provisioning.json`, and `root.pem`, `issuing.pem`, `crl.pem`, `crl.der`. */
    readonly dir: string,
    private readonly config: CaConfig,
    private readonly box: SecretBox,
    db: Kysely<Schema>,
    private readonly ca: CaMaterial,
    /** The provisioning certificate presented to firmware (spec OOB3, OOB4). */
    readonly provisioning: ProvisioningCertificate,
  ) {
    this.repository = certificatesRepository(db);
    this.issuerSha256 = thumbprints(ca.issuer.certificate.der).sha256;
  }

  /**
   * Opens the CA in `ca.dir` (default `<stateDir>/ca`), creating it on first use. Configuration
   * errors — spec P1's key size above all — are thrown before anything is generated or written.
   */
  static async open(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    const config = options.config.ca;
    const dir = caDirectory(options.config);
    const now = new Date();
    const ca = await loadOrCreateCa(dir, config, options.box, now);
    writeCaCopies(dir, ca.chain);
    const provisioning = await ProvisioningCertificate.open(dir, config, options.box, ca, now);
    const authority = new CertificateAuthority(dir, config, options.box, options.db, ca, provisioning);
    const crl = await authority.crl();
    if (readIfExists(authority.crlFile('pem')) === undefined) authority.writeCrlFiles(crl);
    return authority;
  }

  /** The trust anchor operators enter into firmware and relying parties (PEM). */
  get rootCertificatePem(): string {
    return (this.ca.chain[this.ca.chain.length - 1] as ParsedCertificate).pem;
  }

  /** The CA chain above issued certificates: issuing CA first, root last (PEM). */
  get chainPem(): string[] {
    return this.ca.chain.map((cert) => cert.pem);
  }

  /**
   * Issues a device certificate, once per request id: asking again with the same id — a retried
   * activity, or a concurrent duplicate — returns the certificate recorded the first time
   * (`reused: true`), never a second one. The same id with a different request (template, device,
   * name or key) is REQUEST_ID_REUSED. The subject and SAN come from the template and `fqdn` only.
   */
  async issue(request: IssueRequest): Promise<IssuedCertificate> {
    if (!REQUEST_ID.test(request.requestId)) {
      throw new PkiError(
        'INVALID_REQUEST_ID',
        'the request id must be 1 to 200 printable ASCII characters without spaces',
      );
    }
    if (!DEVICE_TEMPLATES.includes(request.template)) {
      throw new PkiError(
        'INVALID_TEMPLATE',
        `template ${JSON.stringify(request.template)} is not one of ${DEVICE_TEMPLATES.join(', ')}`,
      );
    }
    const deviceUuid = normalizeDeviceUuid(request.deviceUuid);
    const dnsName = normalizeFqdn(request.fqdn, 'device FQDN');
    const csr = 'csr' in request.key ? verifyCsr(request.key.csr) : undefined;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([request.template, deviceUuid, dnsName, csr?.keyId ?? 'generated']))
      .digest('hex');

    const earlier = await this.repository.byRequestId(request.requestId);
    if (earlier) return this.reissued(earlier, fingerprint);

    const { publicKey, privateKey } = csr ? { publicKey: csr.publicKey, privateKey: undefined } : await this.newKey();
    const certificate = buildLeafCertificate({
      template: request.template,
      serial: randomSerial(),
      hostName: dnsName,
      organization: this.config.organization,
      publicKey,
      issuer: this.ca.issuer,
      crlUrl: this.config.crlUrl,
      now: new Date(),
    });
    const serial = certificate.forge.serialNumber;
    const { record, created } = await this.repository.recordIssue(
      {
        serial,
        requestId: request.requestId,
        requestFingerprint: fingerprint,
        template: request.template,
        deviceUuid,
        dnsName,
        subject: certificate.x509.subject,
        issuerSha256: this.issuerSha256,
        keySource: privateKey ? 'amtflow' : 'device',
        certificatePem: certificate.pem,
        notBefore: certificate.forge.validity.notBefore,
        notAfter: certificate.forge.validity.notAfter,
      },
      privateKey && this.box.seal(privateKeyPem(privateKey), certificateKeyAssociatedData(serial)),
    );
    // Lost a race with a concurrent duplicate: this certificate was never recorded nor handed out.
    return created ? this.toIssued(record, false) : this.reissued(record, fingerprint);
  }

  private async newKey(): Promise<{ publicKey: forge.pki.PublicKey; privateKey: KeyObject }> {
    const privateKey = await generateRsaKey(this.config.keyBits);
    return { publicKey: forgePublicKey(privateKey), privateKey };
  }

  private reissued(record: CertificateRecord, fingerprint: string): IssuedCertificate {
    if (record.requestFingerprint !== fingerprint) {
      throw new PkiError(
        'REQUEST_ID_REUSED',
        `request id ${record.requestId} was used for another request (certificate ${record.serial}); ` +
          'a retry must repeat the same template, device, FQDN and key — use a new request id for a new request',
      );
    }
    return this.toIssued(record, true);
  }

  private toIssued(record: CertificateRecord, reused: boolean): IssuedCertificate {
    if (record.issuerSha256 !== this.issuerSha256) {
      // The CA directory was replaced since: this CA cannot vouch for the chain of that certificate.
      throw new PkiError(
        'CA_STATE_INVALID',
        `request id ${record.requestId} was issued by a previous CA (certificate ${record.serial}); ` +
          'revoke it and issue again under a new request id',
      );
    }
    return {
      serial: record.serial,
      template: record.template,
      deviceUuid: record.deviceUuid,
      dnsName: record.dnsName,
      certificatePem: record.certificatePem,
      chainPem: this.chainPem,
      notAfter: record.notAfter,
      keyReference: record.keySource === 'amtflow' ? record.serial : null,
      reused,
    };
  }

  /**
   * The private key amtflow generated for a certificate, as PKCS#1 DER — the form of
   * AMT_PublicKeyManagementService.AddKey. For the activity that installs it, in memory only.
   */
  async privateKeyForFirmware(keyReference: string): Promise<Buffer> {
    const serial = normalizeSerial(keyReference);
    const sealed = await this.repository.sealedKey(serial);
    if (!sealed) {
      throw new PkiError(
        'PRIVATE_KEY_NOT_AVAILABLE',
        `amtflow holds no private key for certificate ${serial}: the device generated it, or it was discarded after install`,
      );
    }
    return createPrivateKey(this.box.open(sealed, certificateKeyAssociatedData(serial))).export({
      type: 'pkcs1',
      format: 'der',
    });
  }

  /** Forgets a generated key once the firmware holds it (idempotent). */
  async discardPrivateKey(keyReference: string): Promise<void> {
    await this.repository.deleteKeys([normalizeSerial(keyReference)]);
  }

  async certificate(serial: string): Promise<CertificateRecord | undefined> {
    return this.repository.bySerial(normalizeSerial(serial));
  }

  /** The certificate issued under `requestId`, if any: how a run finds what it issued itself (issue 9). */
  async certificateForRequest(requestId: string): Promise<CertificateRecord | undefined> {
    return this.repository.byRequestId(requestId);
  }

  /**
   * Serials (lower-case hex) of every certificate this CA revoked: a device presenting one of them
   * is refused even though its certificate chains to amtflow's CA (issue 9).
   */
  async revokedSerials(): Promise<string[]> {
    return (await this.repository.revokedBy(this.issuerSha256)).map((revoked) => revoked.serial);
  }

  /** Spec I1: the device's certificates that are not revoked (all templates, or the ones named). */
  async currentCertificates(deviceUuid: string, templates?: readonly DeviceTemplate[]): Promise<CertificateRecord[]> {
    return this.repository.currentForDevice(normalizeDeviceUuid(deviceUuid), templates);
  }

  /**
   * Revokes one certificate and publishes a new CRL. Revoking a revoked certificate keeps its first
   * reason and time, and still republishes — so a retry after a crash between the two heals the CRL.
   */
  async revoke(serial: string, reason: RevocationReason): Promise<CertificateRecord> {
    assertRevocationReason(reason);
    const record = await this.repository.markRevoked(normalizeSerial(serial), reason, new Date());
    if (!record) {
      throw new PkiError('CERTIFICATE_NOT_FOUND', `no certificate with serial ${serial} was issued by amtflow`);
    }
    await this.repository.deleteKeys([record.serial]);
    await this.publishCrl();
    return record;
  }

  /**
   * Revokes every current certificate of a device — spec I1 (before re-issuing), DEP2 (all of
   * them, `superseded` as Configuration Manager does), UPD3 (802.1X client certificates only) —
   * and republishes the CRL. Returns what it revoked now (empty on a retry).
   */
  async revokeDeviceCertificates(
    deviceUuid: string,
    reason: RevocationReason,
    templates: readonly DeviceTemplate[] = DEVICE_TEMPLATES,
  ): Promise<CertificateRecord[]> {
    assertRevocationReason(reason);
    const revoked = await this.repository.markDeviceRevoked(
      normalizeDeviceUuid(deviceUuid),
      templates,
      reason,
      new Date(),
    );
    await this.repository.deleteKeys(revoked.map((record) => record.serial));
    await this.publishCrl();
    return revoked;
  }

  /** The current CRL (DER and PEM), for the API to serve; re-signed when half its validity has passed. */
  async crl(): Promise<CurrentCrl> {
    const stored = await this.repository.currentCrl(this.issuerSha256);
    const fresh = stored && Date.now() < (stored.thisUpdate.getTime() + stored.nextUpdate.getTime()) / 2;
    const crl = fresh ? stored : await this.publishCrl();
    return { ...crl, pem: crlToPem(crl.der) };
  }

  private crlFile(kind: 'pem' | 'der'): string {
    return path.join(this.dir, `crl.${kind}`);
  }

  private writeCrlFiles(crl: StoredCrl): void {
    writeFileAtomic(this.crlFile('der'), crl.der, 0o644);
    writeFileAtomic(this.crlFile('pem'), crlToPem(crl.der), 0o644);
  }

  /** Signs a CRL of every revoked certificate of this issuing CA, stores it, and writes the files. */
  private async publishCrl(): Promise<StoredCrl> {
    return this.repository.replaceCrl(this.issuerSha256, async (crlNumber, revoked) => {
      const thisUpdate = new Date();
      const nextUpdate = new Date(thisUpdate.getTime() + CRL_VALIDITY_MS);
      const der = buildCrl({ issuer: this.ca.issuer, entries: revoked, crlNumber, thisUpdate, nextUpdate });
      const crl = { crlNumber, thisUpdate, nextUpdate, der };
      // Inside the CRL lock, so files are replaced in the same order as the database row.
      this.writeCrlFiles(crl);
      return crl;
    });
  }
}
