import { createHash } from 'node:crypto';
import {
  AmtAuthError,
  AmtError,
  checkProvisioningAccepted,
  type AmtCredential,
  type AmtInterface,
  type AmtPorts,
} from '../amt';
import type { DeviceUuid } from '../device-uuid';
import { profileSecretName } from '../store/profile-settings';
import { certificateForFirmware } from './certificates';
import {
  deviceAccepts,
  deviceEndpoint,
  login,
  needsLegacyTls,
  openDevice,
  refuseDuplicateUuid,
  serialiseRef,
  type DeviceAccess,
  type DeviceSession,
} from './device-session';
import { ProvisioningError, SettingNotKeptError } from './errors';
import { expectKept } from './read-back';
import { deviceProfile, profileSecret } from './profile';

/**
 * Connecting for provisioning (spec OOB3–OOB6, IB5) and stage one (OOB8, I6–I7): everything before
 * the firmware leaves in-provisioning. The one-shot steps (admin password, MEBx password, commit)
 * read the firmware's state first and continue from what they find, so a retry after an uncertain
 * outcome is a verification, not a second send (architecture law 4).
 */

/**
 * OOB3/OOB4: the device at the run's address (`fixed`) takes amtflow's provisioning chain (the one
 * under `provisioningRoot`, which OOB3 chose for it; the main one without). Resolves
 * with the fingerprint of the certificate it serves, which the run pins for every later
 * provisioning-TLS call (issue 9); TLS_HANDSHAKE_REJECTED when it refuses the chain.
 */
export async function connectForProvisioning(
  access: DeviceAccess,
  deviceUuid: DeviceUuid,
  protocol: AmtInterface,
  fixed?: AmtPorts,
  provisioningRoot?: string,
): Promise<{ serverCertificateSha256: string }> {
  await refuseDuplicateUuid(access, deviceUuid);
  const endpoint = await deviceEndpoint(access, deviceUuid, fixed);
  const { cert, key } = access.ca.provisioning.tlsOptions(provisioningRoot);
  const legacyProtocols = await needsLegacyTls(access, { deviceUuid, protocol });
  return checkProvisioningAccepted(
    endpoint,
    { mode: 'provisioning', clientCertificateChainPem: cert, clientKeyPem: key, legacyProtocols },
    access.amtTimeouts,
  );
}

/**
 * IB5: the OTP the firmware holds (readable during in-provisioning) is hashed and compared with
 * the hash the agent reported; on a match it is presented back to the firmware, which refuses
 * CommitChanges until the provisioning server has shown it knows the OTP. The OTP itself is never
 * returned or logged; the report is consumed under a key derived from its hash, so a retry finds
 * its own consumption. OTP_NOT_REPORTED or OTP_MISMATCH otherwise.
 */
export async function verifyOneTimePassword(access: DeviceAccess, session: DeviceSession): Promise<void> {
  const report = await access.store.otp.latest(session.deviceUuid);
  const { amt } = await openDevice(access, session);
  const otp = await amt.wsman.device.getProvisioningServerOtp();
  if (!otp) {
    throw new ProvisioningError('OTP_NOT_REPORTED', `the firmware of ${session.deviceUuid} holds no one-time password`);
  }
  const hashOf = (algorithm: string) => createHash(algorithm).update(otp).digest('hex');
  const verdict = await access.store.otp.verifyAndConsume(
    session.deviceUuid,
    hashOf(report?.algorithm ?? 'sha256'),
    `IB5/${session.deviceUuid}/${hashOf('sha256')}`,
  );
  if (!verdict.matched) {
    throw verdict.reason === 'no_report'
      ? new ProvisioningError('OTP_NOT_REPORTED', `no agent reported a one-time password for ${session.deviceUuid}`)
      : new ProvisioningError(
          'OTP_MISMATCH',
          `the firmware's one-time password of ${session.deviceUuid} is not the one reported`,
        );
  }
  await amt.wsman.device.presentProvisioningServerOtp(otp);
}

/** OOB8.3: the certificate (and a key the CA made for EOI firmware) installed, TLS enabled on commit. */
export async function installCertificateAndEnableTls(
  access: DeviceAccess,
  session: DeviceSession,
  serial: string,
): Promise<void> {
  const { record, chainDer } = await certificateForFirmware(access.ca, serial);
  const { setup } = await openDevice(access, session);
  // A CA-made key stays sealed in the CA until commitSetup: a retry of this step needs it again.
  const privateKeyDer = record.keySource === 'amtflow' ? await access.ca.privateKeyForFirmware(serial) : undefined;
  await setup.installTlsCertificate({
    ...(privateKeyDer ? { privateKeyDer } : {}),
    certificateChainDer: chainDer,
    acceptNonSecureConnections: true,
  });
  // Read back: without the credential context and remote TLS on, the commit is refused or leaves a
  // device OOB9 can never reach over its certificate, and no retry of a later step installs it
  // again. Over WS-Management on every version, as stage two reads (EOI has no read of its own).
  const { certificates } = (await openDevice(access, session)).amt.wsman;
  const leaf = chainDer[0];
  // Every copy of the certificate: EOI's SetTLSKeyAndCertificate adds one each time it is sent.
  // Compared as DER, not as base64 text: firmware may wrap or pad the text it answers.
  const copies = new Set(
    (await certificates.listCertificates())
      .filter((c) => leaf !== undefined && Buffer.from(c.x509Certificate, 'base64').equals(leaf))
      .map((c) => c.instanceId),
  );
  const contexts = await certificates.listTlsCredentialContexts();
  expectKept(
    'the TLS certificate (OOB8.3)',
    { certificateInContext: true, remoteEnabled: true },
    {
      certificateInContext: contexts.some((c) => c.certificateInstanceId && copies.has(c.certificateInstanceId)),
      remoteEnabled: await certificates.remoteTlsEnabled(),
    },
  );
}

/**
 * OOB8.4, one-shot and write-ahead: the new password is committed as pending before the device
 * sees it. Every attempt first asks the device whether it already takes the pending password (an
 * earlier attempt set it and crashed before promoting); only otherwise is it set — then verified
 * by logging in with it, and promoted. Resolves with the new credential's reference.
 */
export async function setAdminPassword(
  access: DeviceAccess,
  session: DeviceSession,
  idempotencyKey: string,
): Promise<{ credentialRef: string }> {
  const { credentials } = access.store;
  const staged = await credentials.stagePending(session.deviceUuid, 'amt_admin', idempotencyKey);
  const credential: AmtCredential = {
    username: staged.username ?? 'admin',
    password: await credentials.reveal(staged),
    ref: serialiseRef(staged),
  };
  if (!(await deviceAccepts(access, session, credential))) {
    const { amt, setup } = await openDevice(access, session);
    // The Digest realm, which the WS-Management call hashes the password with, comes with the login.
    await login(amt, session.protocol);
    await setup.setAdminPassword(credential);
    if (!(await deviceAccepts(access, session, credential))) {
      throw new AmtAuthError(
        [credential.ref],
        `device ${session.deviceUuid}`,
        'AUTH_FAILED',
        'the new admin password is not accepted',
      );
    }
  }
  await credentials.promote(staged);
  return { credentialRef: credential.ref };
}

/**
 * OOB8.5 by the profile's policy, write-ahead like the admin password. The firmware offers no read
 * of the MEBx password, but the value is fixed before the first attempt, so sending it again after
 * an uncertain outcome sets the same password. Left alone where it does not apply: firmware whose
 * MEBx password follows the admin password (PasswordModel 0, AMT before 6), and MEBx passwords
 * someone changed before (the hello's admin-credentials-set flag).
 */
export async function setMebxPassword(
  access: DeviceAccess,
  session: DeviceSession,
  idempotencyKey: string,
): Promise<{ changed: boolean }> {
  const { store } = access;
  const profile = await deviceProfile(store, session.deviceUuid);
  const { mebx } = profile.settings;
  if (mebx.policy === 'leave') return { changed: false };
  if ((await store.contacts.get(session.deviceUuid))?.adminCredentialsSet === true) return { changed: false };
  const { amt, setup } = await openDevice(access, session);
  if ((await amt.wsman.device.getSetupAndConfiguration()).passwordModel === 0) return { changed: false };
  const value = mebx.policy === 'set' ? await profileSecret(store, profile, profileSecretName.mebx()) : undefined;
  const staged = await store.credentials.stagePending(session.deviceUuid, 'mebx', idempotencyKey, {
    ...(value !== undefined ? { value } : {}),
  });
  await setup.setMebxPassword(await store.credentials.reveal(staged));
  await store.credentials.promote(staged);
  return { changed: true };
}

/**
 * OOB8.6, one-shot: the firmware's state decides. Already post: done. Otherwise CommitChanges once;
 * when its outcome is unknown (a reboot during commit) the state is read again, and an attempt that
 * still finds in-provisioning fails so the next attempt reads before it commits. Then a TLS key the
 * CA made for the firmware is forgotten: the firmware holds it durably now (docs/pki.md).
 */
export async function commitSetup(access: DeviceAccess, session: DeviceSession): Promise<void> {
  const { setup } = await openDevice(access, session);
  if ((await setup.getProvisioningState()) !== 'post') {
    let uncertain: AmtError | undefined;
    try {
      await setup.commitChanges();
    } catch (err) {
      if (!(err instanceof AmtError && err.mayHaveTakenEffect)) throw err;
      uncertain = err;
    }
    // Read back even after a success: a commit the firmware answered but did not keep (a lost
    // NVRAM write) would otherwise leave the run going on with a device still in provisioning.
    const state = await (await openDevice(access, session)).setup.getProvisioningState();
    if (state !== 'post') {
      throw (
        uncertain ?? new SettingNotKeptError('the commit (OOB8.6)', [`provisioning state is ${state}, written post`])
      );
    }
  }
  for (const certificate of await access.ca.currentCertificates(session.deviceUuid, ['amt-web-server'])) {
    if (certificate.keySource === 'amtflow') await access.ca.discardPrivateKey(certificate.serial);
  }
}
