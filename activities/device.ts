import { amtKerberosSettings } from '../lib/directory';
import {
  applyAccessControl,
  applyFeatures,
  applyKerberos,
  applyNetworkAuthentication,
  applyPowerPackage,
  commitSetup,
  connectForProvisioning,
  deviceProfile,
  installCertificateAndEnableTls,
  issueDeviceCertificate,
  login,
  openDevice,
  profileSecret,
  setAdminPassword,
  setMebxPassword,
  revokeSupersededWebServerCertificates,
  switchWebServerCertificate,
  unprovisionDevice,
  verifyIdentity,
  verifyOneTimePassword,
  wiredIeee8021xWarning,
  type DeviceSession,
  type StageTwoTarget,
} from '../lib/provisioning';
import type { LifecycleActivities } from './contract';
import type { ActivityDeps } from './deps';
import { permanentFailure } from './failures';

type DeviceActivities = Pick<
  LifecycleActivities,
  | 'connectForProvisioning'
  | 'loginWithDigest'
  | 'verifyOneTimePassword'
  | 'requestWebServerCertificate'
  | 'setAmtClock'
  | 'setHostNameAndDomain'
  | 'installCertificateAndEnableTls'
  | 'setAdminPassword'
  | 'setMebxPassword'
  | 'commitSetup'
  | 'configureAccessControl'
  | 'configureFeatures'
  | 'enableKerberos'
  | 'setPowerPolicy'
  | 'configureNetworkAuthentication'
  | 'checkWiredIeee8021xUpdate'
  | 'unprovisionDevice'
  | 'switchWebServerCertificate'
  | 'revokeSupersededCertificates'
>;

/**
 * OOB3–OOB9, IB5, DEP1: everything that talks to the AMT firmware, each activity one call into
 * lib/provisioning with the session the workflow passes (how the device is reached: the endpoint
 * its hello left, TLS by phase, Digest candidates in OOB6 order).
 */
export function deviceActivities(deps: ActivityDeps): DeviceActivities {
  /** Stage two's view of the device: its session and the settings profile of its collection. */
  async function stageTwo(session: DeviceSession): Promise<StageTwoTarget> {
    const profile = await deviceProfile(deps.store, session.deviceUuid);
    const { amt } = await openDevice(deps, session);
    return { amt, settings: profile.settings, secret: (name) => profileSecret(deps.store, profile, name) };
  }

  return {
    connectForProvisioning: ({ deviceUuid, protocol, endpoint, provisioningRoot }) =>
      connectForProvisioning(deps, deviceUuid, protocol, endpoint, provisioningRoot),

    /**
     * OOB5/OOB6 (UPD1, DEP1.0): Digest with the stored and configured credentials in order, the
     * winner by reference; then the platform UUID the firmware reports must be the run's device
     * (DEVICE_IDENTITY_MISMATCH otherwise, before anything is sent).
     */
    async loginWithDigest({ session }) {
      const { amt, setup } = await openDevice(deps, session);
      const credentialRef = await login(amt, session.protocol);
      await verifyIdentity(setup, session);
      return { credentialRef, provisioningState: await setup.getProvisioningState() };
    },

    verifyOneTimePassword: ({ session }) => verifyOneTimePassword(deps, session),

    /** I2: EOI firmware cannot generate keys: the CA makes one and OOB8.3 installs it with the certificate. */
    async requestWebServerCertificate({ session, fqdn, idempotencyKey }) {
      const amt = session.protocol === 'wsman' ? (await openDevice(deps, session)).amt : undefined;
      const request = { requestId: idempotencyKey, template: 'amt-web-server' as const, fqdn };
      return { serial: await issueDeviceCertificate(deps.ca, amt, { ...request, deviceUuid: session.deviceUuid }) };
    },

    async setAmtClock({ session }) {
      const { deviceTimeBefore, setTo } = await (await openDevice(deps, session)).setup.synchronizeClock();
      return { driftSeconds: Math.round((deviceTimeBefore.getTime() - setTo.getTime()) / 1000) };
    },

    async setHostNameAndDomain({ session, hostName, domain }) {
      await (await openDevice(deps, session)).setup.setHostAndDomainName(hostName, domain);
    },

    installCertificateAndEnableTls: ({ session, serial }) => installCertificateAndEnableTls(deps, session, serial),
    setAdminPassword: ({ session, idempotencyKey }) => setAdminPassword(deps, session, idempotencyKey),
    setMebxPassword: ({ session, idempotencyKey }) => setMebxPassword(deps, session, idempotencyKey),
    commitSetup: ({ session }) => commitSetup(deps, session),

    configureAccessControl: async ({ session, accounts }) => applyAccessControl(await stageTwo(session), accounts),
    configureFeatures: async ({ session }) => applyFeatures(await stageTwo(session), session.protocol),

    /** OOB9.3: Kerberos with the key of the AMT account's current password and its key version. */
    async enableKerberos({ session }) {
      const { fqdn } = await deps.store.devices.require(session.deviceUuid);
      const current = await deps.store.credentials.current(session.deviceUuid, 'directory_account');
      if (!current) {
        throw permanentFailure(
          'DIRECTORY_ACCOUNT_PASSWORD_MISSING',
          `${fqdn} has no current directory account password: publish the AMT account first (I3)`,
        );
      }
      const account = await deps.withDirectory((directory) => directory.findAmtAccount(fqdn));
      if (!account) throw permanentFailure('ACCOUNT_NOT_FOUND', `${fqdn} has no AMT account in the directory (I3)`);
      const kerberos = amtKerberosSettings(
        account,
        await deps.store.credentials.reveal(current),
        account.keyVersionNumber,
      );
      await applyKerberos((await openDevice(deps, session)).amt, kerberos);
    },

    async setPowerPolicy({ session }) {
      const { amt, settings } = await stageTwo(session);
      return applyPowerPackage(amt, settings.powerPackage);
    },

    async configureNetworkAuthentication({ session, update, skipWired, idempotencyKey }) {
      const { fqdn } = await deps.store.devices.require(session.deviceUuid);
      const enrolment = { ca: deps.ca, deviceUuid: session.deviceUuid, fqdn, requestId: idempotencyKey };
      return applyNetworkAuthentication(await stageTwo(session), enrolment, { update, skipWired: skipWired === true });
    },

    async checkWiredIeee8021xUpdate({ session }) {
      const { settings } = await deviceProfile(deps.store, session.deviceUuid);
      // Without wired 802.1X settings there is nothing to warn about: the device is not asked.
      if (!settings.wiredIeee8021x) return { hostState: 'not read' };
      const { amt } = await openDevice(deps, session);
      const { state } = await amt.power(session.protocol).getStatus();
      return { hostState: state, ...wiredIeee8021xWarning(settings, state) };
    },

    unprovisionDevice: ({ session, mode }) => unprovisionDevice(deps, session, mode),

    switchWebServerCertificate: ({ session, serial }) => switchWebServerCertificate(deps, session, serial),
    revokeSupersededCertificates: async ({ deviceUuid, keepSerial }) => ({
      revoked: await revokeSupersededWebServerCertificates(deps, deviceUuid, keepSerial),
    }),
  };
}
