import { X509Certificate } from 'node:crypto';
import { AmtProtocolError, nullSignedCertificateRequest, type AmtKeyPair, type AmtSession } from '../amt';
import { PkiError, type CertificateAuthority, type CertificateRecord, type DeviceTemplate } from '../pki';

/**
 * Certificates between amtflow's CA and a device's firmware (spec I2, I6): enrolment of a key pair
 * the firmware generates (PKCS#10 signed by the firmware, the private key never leaves it), and the
 * chain the firmware installs.
 */

export interface DeviceCertificateRequest {
  /** Idempotency key: a retry with the same id gets the same certificate (architecture law 5). */
  requestId: string;
  template: DeviceTemplate;
  deviceUuid: string;
  fqdn: string;
}

const publicKeyOf = (certificateBase64: string): string =>
  new X509Certificate(Buffer.from(certificateBase64, 'base64')).publicKey
    .export({ type: 'pkcs1', format: 'der' })
    .toString('base64');

/**
 * A key pair for a new certificate. One that no installed certificate uses is what an earlier
 * attempt generated and never got to use: it is taken again rather than filling the key store.
 */
async function unusedKeyPair(amt: AmtSession): Promise<AmtKeyPair> {
  const { certificates } = amt.wsman;
  const used = new Set((await certificates.listCertificates()).map((c) => publicKeyOf(c.x509Certificate)));
  const unused = (await certificates.listKeyPairs()).find((pair) => !used.has(pair.derKey));
  if (unused) return unused;
  const instanceId = await certificates.generateKeyPair();
  const generated = (await certificates.listKeyPairs()).find((pair) => pair.instanceId === instanceId);
  if (!generated) throw new AmtProtocolError(`${amt.target}: the generated key pair ${instanceId} is not listed`);
  return generated;
}

/**
 * I2, idempotent by request id; resolves with the serial. With a WS-Management session the
 * firmware makes the key and signs the PKCS#10 request; without one (EOI firmware, which cannot
 * generate keys) the CA makes the key and keeps it sealed until it is installed.
 */
export async function issueDeviceCertificate(
  ca: CertificateAuthority,
  amt: AmtSession | undefined,
  request: DeviceCertificateRequest,
): Promise<string> {
  const earlier = (await ca.currentCertificates(request.deviceUuid, [request.template])).find(
    (c) => c.requestId === request.requestId,
  );
  if (earlier) return earlier.serial;
  if (!amt) return (await ca.issue({ ...request, key: { generate: true } })).serial;
  const keyPair = await unusedKeyPair(amt);
  const csr = await amt.wsman.certificates.generatePkcs10Request(
    keyPair.instanceId,
    nullSignedCertificateRequest(Buffer.from(keyPair.derKey, 'base64'), request.fqdn),
  );
  return (await ca.issue({ ...request, key: { csr } })).serial;
}

export interface CertificateForFirmware {
  record: CertificateRecord;
  /** The certificate first, then the CA chain up to the root (I6). */
  chainDer: Buffer[];
}

/** An issued certificate of amtflow's CA with its chain, as the firmware installs it; CERTIFICATE_NOT_FOUND otherwise. */
export async function certificateForFirmware(
  ca: CertificateAuthority,
  serial: string,
): Promise<CertificateForFirmware> {
  const record = await ca.certificate(serial);
  if (!record || record.status !== 'issued') {
    throw new PkiError('CERTIFICATE_NOT_FOUND', `certificate ${serial} is not an issued certificate of amtflow's CA`);
  }
  return { record, chainDer: [record.certificatePem, ...ca.chainPem].map((pem) => new X509Certificate(pem).raw) };
}

/** The firmware's InstanceID of a certificate, adding it (its key pair is in the firmware) when absent. */
export async function installedCertificateId(
  amt: AmtSession,
  certificateDer: Buffer,
  trustedRoot = false,
): Promise<string> {
  const { certificates } = amt.wsman;
  const base64 = certificateDer.toString('base64');
  const present = (await certificates.listCertificates()).find((c) => c.x509Certificate === base64);
  if (present) return present.instanceId;
  return trustedRoot
    ? certificates.addTrustedRootCertificate(certificateDer)
    : certificates.addCertificate(certificateDer);
}
