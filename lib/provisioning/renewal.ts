import { X509Certificate } from 'node:crypto';
import { AmtError, presentedCertificate, sha256Fingerprint } from '../amt';
import type { DeviceUuid } from '../device-uuid';
import { certificateForFirmware } from './certificates';
import { deviceEndpoint, needsLegacyTls, openDevice, type DeviceAccess, type DeviceSession } from './device-session';
import { ProvisioningError } from './errors';
import { installCertificateAndEnableTls } from './stage-one';

/**
 * Certificate renewal of a provisioned device (issue 11 §4): the new AMT web-server certificate
 * (spec I2, requested like provisioning's) installed with its chain (I6) and made the one the TLS
 * server presents (OOB8.3's AMT_TLSCredentialContext), applied with CommitChanges, then the old one
 * revoked (I1) by the caller once this resolved. Verify-first like stage one: every attempt first
 * looks at the certificate the device serves, so a retry after an uncertain commit is a check.
 */

/**
 * SHA-256 of the certificate the device's TLS port (16993) presents, lower-case hex; at the run's
 * address when the session carries one.
 */
export async function servedCertificateSha256(
  access: Pick<DeviceAccess, 'store' | 'amtTimeouts'>,
  session: Pick<DeviceSession, 'deviceUuid' | 'protocol' | 'endpoint'>,
): Promise<string> {
  const endpoint = await deviceEndpoint(access, session.deviceUuid, session.endpoint);
  const served = await presentedCertificate(
    { host: endpoint.host, port: endpoint.tlsPort },
    { legacyProtocols: await needsLegacyTls(access, session), connectMs: access.amtTimeouts.connectMs },
  );
  return sha256Fingerprint(served);
}

/**
 * Makes certificate `serial` (issued by amtflow's CA for this device) the one AMT's TLS server
 * presents. Resolves with `switched: false` when the device already serves it (an earlier attempt
 * got that far). Otherwise installs key (EOI firmware: the CA-made one), certificate and root, sets
 * the TLS credential context, commits, and checks the device now serves it; a CA-made key is then
 * forgotten, as after OOB8.6. CERTIFICATE_NOT_FOUND for a serial that is not an issued certificate;
 * TLS_CERTIFICATE_NOT_SERVED when the device committed but still serves another certificate.
 */
export async function switchWebServerCertificate(
  access: DeviceAccess,
  session: DeviceSession,
  serial: string,
): Promise<{ switched: boolean }> {
  const { record } = await certificateForFirmware(access.ca, serial);
  if (record.deviceUuid !== session.deviceUuid || record.template !== 'amt-web-server') {
    throw new ProvisioningError(
      'CERTIFICATE_NOT_FOR_DEVICE',
      `certificate ${serial} is not an AMT web-server certificate of ${session.deviceUuid}`,
    );
  }
  const wanted = sha256Fingerprint(new X509Certificate(record.certificatePem));
  if ((await servedCertificateSha256(access, session)) === wanted) return { switched: false };

  await installCertificateAndEnableTls(access, session, serial);
  const { setup } = await openDevice(access, session);
  try {
    await setup.commitChanges();
  } catch (err) {
    // A commit whose answer was lost is judged by what the device serves now.
    if (!(err instanceof AmtError && err.mayHaveTakenEffect)) throw err;
  }
  if ((await servedCertificateSha256(access, session)) !== wanted) {
    throw new ProvisioningError(
      'TLS_CERTIFICATE_NOT_SERVED',
      `${session.deviceUuid} does not serve certificate ${serial} after CommitChanges`,
    );
  }
  if (record.keySource === 'amtflow') await access.ca.discardPrivateKey(serial);
  return { switched: true };
}

/**
 * I1 after a renewal: every other current AMT web-server certificate of the device is revoked as
 * superseded (idempotent in the CA: a retry revokes nothing new). Resolves with the revoked serials.
 */
export async function revokeSupersededWebServerCertificates(
  access: Pick<DeviceAccess, 'ca'>,
  deviceUuid: DeviceUuid,
  keepSerial: string,
): Promise<string[]> {
  const revoked: string[] = [];
  for (const certificate of await access.ca.currentCertificates(deviceUuid, ['amt-web-server'])) {
    if (certificate.serial === keepSerial) continue;
    await access.ca.revoke(certificate.serial, 'superseded');
    revoked.push(certificate.serial);
  }
  return revoked;
}
