import { X509Certificate } from 'node:crypto';
import {
  ACCESS_PERMISSIONS,
  AMT_REALMS,
  IEEE8021X_PROTOCOLS,
  IEEE8021X_WIRED_ENABLED,
  OPT_IN_REQUIRED,
  SERVER_CERTIFICATE_NAME_COMPARISON,
  WIRELESS_AUTHENTICATION,
  WIRELESS_ENCRYPTION,
  powerPackageGuid,
  type AmtSession,
  type Ieee8021xProfile,
  type WiFiProfile,
} from '../lib/amt';
import { amtKerberosSettings, type AmtAccount } from '../lib/directory';
import { profileSecretName, type AmtSettings } from '../lib/store/profile-settings';
import type { DeviceSession, LifecycleActivities } from './contract';
import type { ActivityDeps } from './deps';
import { certificateForFirmware, installedCertificateId, issueDeviceCertificate } from './device-certificates';
import { openDevice } from './device-connection';
import { deviceProfile, profileSecret, type DeviceProfile } from './device-profile';
import { permanentFailure } from './failures';

type StageTwoActivities = Pick<
  LifecycleActivities,
  | 'configureAccessControl'
  | 'configureFeatures'
  | 'enableKerberos'
  | 'setPowerPolicy'
  | 'configureNetworkAuthentication'
>;

type WirelessSettings = AmtSettings['wireless'][number];
type Ieee8021xSettings =
  NonNullable<AmtSettings['wiredIeee8021x']> | Extract<WirelessSettings, { ieee8021x: unknown }>['ieee8021x'];

/** What a stage-two step works with: the device session and the profile of its collection. */
interface StageTwo {
  deps: ActivityDeps;
  session: DeviceSession;
  amt: AmtSession;
  profile: DeviceProfile;
}

async function openStageTwo(deps: ActivityDeps, session: DeviceSession): Promise<StageTwo> {
  const profile = await deviceProfile(deps, session.deviceUuid);
  return { deps, session, profile, amt: (await openDevice(deps, session)).amt };
}

/**
 * The certificates one 802.1X configuration needs in firmware: the RADIUS server's root as a
 * trusted root (I6, SP2) and, for certificate protocols, a client certificate from the CA for a key
 * the firmware made (I2, template `ieee8021x-client`, idempotent by request id).
 */
async function ieee8021xCertificates(step: StageTwo, settings: Ieee8021xSettings, requestId: string) {
  const { amt, deps, session } = step;
  const rootId = settings.radiusRootCertificate
    ? await installedCertificateId(amt, new X509Certificate(settings.radiusRootCertificate).raw, true)
    : undefined;
  if (IEEE8021X_PROTOCOLS[settings.protocol].credential !== 'certificate') return { rootId, clientId: undefined };
  const { fqdn } = await deps.store.devices.require(session.deviceUuid);
  const serial = await issueDeviceCertificate(deps.ca, amt, {
    requestId,
    template: 'ieee8021x-client',
    deviceUuid: session.deviceUuid,
    fqdn,
  });
  const [clientDer] = (await certificateForFirmware(deps.ca, serial)).chainDer;
  return { rootId, clientId: clientDer && (await installedCertificateId(amt, clientDer)) };
}

/** The 802.1X fields AMT takes; a password protocol's EAP password comes from the profile's secrets. */
async function ieee8021xProfile(
  step: StageTwo,
  name: string,
  settings: Ieee8021xSettings,
  secretName: string,
): Promise<Ieee8021xProfile> {
  return {
    name,
    authenticationProtocol: IEEE8021X_PROTOCOLS[settings.protocol].id,
    ...(settings.serverCertificateName
      ? {
          serverCertificateName: settings.serverCertificateName,
          serverCertificateNameComparison: SERVER_CERTIFICATE_NAME_COMPARISON[settings.serverCertificateNameComparison],
        }
      : {}),
    ...('username' in settings
      ? {
          username: settings.username,
          password: await profileSecret(step.deps, step.profile, secretName),
          ...(settings.domain ? { domain: settings.domain } : {}),
          ...(settings.roamingIdentity ? { roamingIdentity: settings.roamingIdentity } : {}),
        }
      : {}),
  };
}

async function wifiProfile(step: StageTwo, wireless: WirelessSettings, idempotencyKey: string): Promise<WiFiProfile> {
  const common = {
    name: wireless.name,
    ssid: wireless.ssid,
    priority: wireless.priority,
    authenticationMethod: WIRELESS_AUTHENTICATION[wireless.authentication].id,
    encryptionMethod: WIRELESS_ENCRYPTION[wireless.encryption],
  };
  if (!('ieee8021x' in wireless)) {
    return {
      ...common,
      pskPassPhrase: await profileSecret(step.deps, step.profile, profileSecretName.wirelessPassphrase(wireless.name)),
    };
  }
  const { rootId, clientId } = await ieee8021xCertificates(
    step,
    wireless.ieee8021x,
    `${idempotencyKey}/wireless/${wireless.name}`,
  );
  return {
    ...common,
    ieee8021x: await ieee8021xProfile(
      step,
      wireless.name,
      wireless.ieee8021x,
      profileSecretName.wirelessIeee8021x(wireless.name),
    ),
    ...(clientId ? { clientCertificateInstanceId: clientId } : {}),
    ...(rootId ? { caCertificateInstanceId: rootId } : {}),
  };
}

async function amtAccount(deps: ActivityDeps, fqdn: string): Promise<AmtAccount | undefined> {
  const directory = await deps.openDirectory();
  try {
    return await directory.findAmtAccount(fqdn);
  } finally {
    await directory.close();
  }
}

/**
 * OOB9 (stage two, I8) over WS-Management on every AMT version. Each step puts the profile's
 * values whole, so a retry after any failure converges. KVM and user consent exist from AMT 6.0
 * only and are left out on EOI-era firmware (AMT 3.2.1–5.x) — not an error.
 */
export function stageTwoActivities(deps: ActivityDeps): StageTwoActivities {
  return {
    /** OOB9.1: the ACL is cleared, then holds exactly the profile's accounts. */
    async configureAccessControl({ session, accounts }) {
      const step = await openStageTwo(deps, session);
      // Everything is resolved before the first change, so an unknown account changes nothing.
      const entries = await Promise.all(
        step.profile.settings.userAccounts.map(async (account) => {
          const grant = {
            accessPermission: ACCESS_PERMISSIONS[account.access],
            realms: account.realms.map((realm) => AMT_REALMS[realm]),
          };
          if (account.type === 'digest') {
            const password = await profileSecret(deps, step.profile, profileSecretName.digestUser(account.username));
            return { ...grant, digest: { username: account.username, password } };
          }
          const resolved = accounts.find((a) => a.name.toLowerCase() === account.account.toLowerCase());
          if (!resolved) {
            throw permanentFailure('PRINCIPAL_NOT_FOUND', `no SID was resolved for ${account.account} (I8)`);
          }
          return { ...grant, sid: Buffer.from(resolved.sidBase64, 'base64') };
        }),
      );
      const { access } = step.amt.wsman;
      await access.clearUserAcl();
      for (const entry of entries) {
        if ('digest' in entry) await access.addDigestUser({ ...entry, ...entry.digest });
        else await access.addKerberosUser(entry);
      }
      return { entries: entries.length };
    },

    /** OOB9.2: ping, web UI, SOL/IDER with their listener, and on AMT 6.0+ KVM and user consent. */
    async configureFeatures({ session }) {
      const { amt, profile } = await openStageTwo(deps, session);
      const { settings } = profile;
      const { device, features } = amt.wsman;
      await device.setGeneralSettings({ pingResponseEnabled: settings.ping });
      await features.setWebUi(settings.webUi);
      await features.setRedirection({ sol: settings.serialOverLan, ider: settings.ideRedirection });
      if (session.protocol === 'eoi') return;
      await features.setKvm(settings.kvm);
      // Client control mode forces consent; the firmware says when the policy may not be changed.
      if ((await features.getUserConsent()).canModifyOptInPolicy !== false) {
        await features.setUserConsent(OPT_IN_REQUIRED[settings.userConsent]);
      }
    },

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
      const account = await amtAccount(deps, fqdn);
      if (!account) throw permanentFailure('ACCOUNT_NOT_FOUND', `${fqdn} has no AMT account in the directory (I3)`);
      const kerberos = amtKerberosSettings(
        account,
        await deps.store.credentials.reveal(current),
        account.keyVersionNumber,
      );
      const { amt } = await openDevice(deps, session);
      await amt.wsman.features.setKerberos({
        realmName: kerberos.realmName,
        keyVersion: kerberos.keyVersion,
        masterKey: Buffer.from(kerberos.masterKey, 'base64'),
      });
    },

    /** OOB9.3: the profile's power package, unless the firmware already uses it. */
    async setPowerPolicy({ session }) {
      const { amt, profile } = await openStageTwo(deps, session);
      const { features } = amt.wsman;
      const guid = powerPackageGuid(profile.settings.powerPackage);
      const schemes = await features.listPowerSchemes();
      const wanted = schemes.find((scheme) => scheme.schemeGuid === guid);
      if (!wanted) {
        throw permanentFailure(
          'POWER_PACKAGE_UNAVAILABLE',
          `the firmware does not offer ${profile.settings.powerPackage}; it offers: ${schemes
            .map((s) => s.description ?? s.instanceId)
            .join(', ')}`,
        );
      }
      if ((await features.currentPowerSchemeId()) === wanted.instanceId) return { changed: false };
      await features.setPowerScheme(wanted.instanceId);
      return { changed: true };
    },

    /**
     * OOB9.4: wireless profiles replaced (left alone on update, UPD4) where the firmware has
     * wireless; the 802.1X wired settings re-applied. Returns the number of wireless profiles stored.
     */
    async configureNetworkAuthentication({ session, update, idempotencyKey }) {
      const step = await openStageTwo(deps, session);
      const { settings } = step.profile;
      const { network } = step.amt.wsman;
      let profiles = 0;
      if (!update && (await network.hasWirelessPort())) {
        // Built before any deletion, so a missing secret leaves the existing profiles in place.
        const wanted = [];
        for (const wireless of settings.wireless) wanted.push(await wifiProfile(step, wireless, idempotencyKey));
        for (const existing of await network.listWiFiProfiles()) await network.deleteWiFiProfile(existing.instanceId);
        for (const profile of wanted) await network.addWiFiProfile(profile);
        if (wanted.length > 0) await network.enableWirelessPort();
        profiles = wanted.length;
      }
      const wired = settings.wiredIeee8021x;
      if (wired) {
        const fields = await ieee8021xProfile(step, 'wired', wired, profileSecretName.wiredIeee8021x());
        await network.updateWired8021x({
          Enabled: IEEE8021X_WIRED_ENABLED.enabled,
          AuthenticationProtocol: fields.authenticationProtocol,
          AvailableInS0: wired.availableInS0,
          PxeTimeout: wired.pxeTimeoutSeconds,
          ServerCertificateName: fields.serverCertificateName,
          ServerCertificateNameComparison: fields.serverCertificateNameComparison,
          Username: fields.username,
          Password: fields.password,
          Domain: fields.domain,
          RoamingIdentity: fields.roamingIdentity,
        });
        const { rootId, clientId } = await ieee8021xCertificates(step, wired, `${idempotencyKey}/wired`);
        if (rootId && clientId) await network.setWired8021xCertificates(rootId, clientId);
      }
      return { profiles };
    },
  };
}
