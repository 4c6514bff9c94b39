import { AmtAuthError, AmtError, type AmtCredential } from '../lib/amt';
import { profileSecretName } from '../lib/store/profile-settings';
import type { DeviceSession, LifecycleActivities } from './contract';
import type { ActivityDeps } from './deps';
import { certificateForFirmware, issueDeviceCertificate } from './device-certificates';
import { serialiseRef, openDevice } from './device-connection';
import { deviceProfile, profileSecret } from './device-profile';

type StageOneActivities = Pick<
  LifecycleActivities,
  | 'requestWebServerCertificate'
  | 'setAmtClock'
  | 'setHostNameAndDomain'
  | 'installCertificateAndEnableTls'
  | 'setAdminPassword'
  | 'setMebxPassword'
  | 'commitSetup'
>;

/** Whether the device accepts `credential` alone: how a one-shot password step reads the firmware's state. */
async function deviceAccepts(deps: ActivityDeps, session: DeviceSession, credential: AmtCredential) {
  const { amt } = await openDevice(deps, session, [credential]);
  try {
    await amt.login(session.protocol);
    return true;
  } catch (err) {
    if (err instanceof AmtAuthError) return false;
    throw err;
  }
}

/** I2 and OOB8 (stage one, I6–I7): everything before the firmware leaves in-provisioning. */
export function stageOneActivities(deps: ActivityDeps): StageOneActivities {
  return {
    async requestWebServerCertificate({ session, fqdn, idempotencyKey }) {
      const request = {
        requestId: idempotencyKey,
        template: 'amt-web-server' as const,
        deviceUuid: session.deviceUuid,
        fqdn,
      };
      // EOI firmware cannot generate keys: the CA makes one and OOB8.3 installs it with the certificate.
      const amt = session.protocol === 'wsman' ? (await openDevice(deps, session)).amt : undefined;
      return { serial: await issueDeviceCertificate(deps.ca, amt, request) };
    },

    async setAmtClock({ session }) {
      const { setup } = await openDevice(deps, session);
      const { deviceTimeBefore, setTo } = await setup.synchronizeClock();
      return { driftSeconds: Math.round((deviceTimeBefore.getTime() - setTo.getTime()) / 1000) };
    },

    async setHostNameAndDomain({ session, hostName, domain }) {
      const { setup } = await openDevice(deps, session);
      await setup.setHostAndDomainName(hostName, domain);
    },

    async installCertificateAndEnableTls({ session, serial }) {
      const { record, chainDer } = await certificateForFirmware(deps.ca, serial);
      const { setup } = await openDevice(deps, session);
      // A CA-made key stays sealed in the CA until commitSetup: a retry of this step needs it again.
      const privateKeyDer = record.keySource === 'amtflow' ? await deps.ca.privateKeyForFirmware(serial) : undefined;
      await setup.installTlsCertificate({
        ...(privateKeyDer ? { privateKeyDer } : {}),
        certificateChainDer: chainDer,
        acceptNonSecureConnections: true,
      });
    },

    /**
     * OOB8.4, one-shot and write-ahead: the new password is committed as pending before the device
     * sees it. Every attempt first asks the device whether it already takes the pending password
     * (an earlier attempt set it and crashed before promoting); only otherwise is it set — then
     * verified by logging in with it, and promoted.
     */
    async setAdminPassword({ session, idempotencyKey }) {
      const staged = await deps.store.credentials.stagePending(session.deviceUuid, 'amt_admin', idempotencyKey);
      const credential: AmtCredential = {
        username: staged.username ?? 'admin',
        password: await deps.store.credentials.reveal(staged),
        ref: serialiseRef(staged),
      };
      if (!(await deviceAccepts(deps, session, credential))) {
        const { amt, setup } = await openDevice(deps, session);
        // The Digest realm, which the WS-Management call hashes the password with, comes with the login.
        await amt.login(session.protocol);
        await setup.setAdminPassword(credential);
        if (!(await deviceAccepts(deps, session, credential))) {
          throw new AmtAuthError(
            [credential.ref],
            `device ${session.deviceUuid}`,
            'AUTH_FAILED',
            'the new admin password is not accepted',
          );
        }
      }
      await deps.store.credentials.promote(staged);
      return { credentialRef: credential.ref };
    },

    /**
     * OOB8.5 by the profile's policy, write-ahead like the admin password. The firmware offers no
     * read of the MEBx password, but the value is fixed before the first attempt, so sending it
     * again after an uncertain outcome sets the same password. Skipped where it does not apply:
     * firmware whose MEBx password follows the admin password (PasswordModel 0, AMT before 6),
     * and MEBx passwords someone changed before (the hello's admin-credentials-set flag).
     */
    async setMebxPassword({ session, idempotencyKey }) {
      const profile = await deviceProfile(deps, session.deviceUuid);
      const { mebx } = profile.settings;
      if (mebx.policy === 'leave') return { changed: false };
      const contact = await deps.store.contacts.get(session.deviceUuid);
      if (contact?.adminCredentialsSet === true) return { changed: false };
      const { amt, setup } = await openDevice(deps, session);
      if ((await amt.wsman.device.getSetupAndConfiguration()).passwordModel === 0) return { changed: false };
      const value = mebx.policy === 'set' ? await profileSecret(deps, profile, profileSecretName.mebx()) : undefined;
      const staged = await deps.store.credentials.stagePending(session.deviceUuid, 'mebx', idempotencyKey, {
        ...(value !== undefined ? { value } : {}),
      });
      await setup.setMebxPassword(await deps.store.credentials.reveal(staged));
      await deps.store.credentials.promote(staged);
      return { changed: true };
    },

    /**
     * OOB8.6, one-shot: the firmware's state decides. Already post: done. Otherwise CommitChanges
     * once; when its outcome is unknown (a reboot during commit) the state is read again, and an
     * attempt that still finds in-provisioning fails so the next attempt reads before it commits.
     */
    async commitSetup({ session }) {
      const { setup } = await openDevice(deps, session);
      if ((await setup.getProvisioningState()) !== 'post') {
        try {
          await setup.commitChanges();
        } catch (err) {
          if (!(err instanceof AmtError && err.mayHaveTakenEffect)) throw err;
          if ((await (await openDevice(deps, session)).setup.getProvisioningState()) !== 'post') throw err;
        }
      }
      // The firmware holds its TLS key durably now: a key the CA made for it is forgotten (docs/pki.md).
      for (const certificate of await deps.ca.currentCertificates(session.deviceUuid, ['amt-web-server'])) {
        if (certificate.keySource === 'amtflow') await deps.ca.discardPrivateKey(certificate.serial);
      }
    },
  };
}
