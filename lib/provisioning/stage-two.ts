import { X509Certificate } from 'node:crypto';
import {
  ACCESS_PERMISSIONS,
  AmtError,
  AMT_REALMS,
  IEEE8021X_PROTOCOLS,
  IEEE8021X_WIRED_ENABLED,
  OPT_IN_REQUIRED,
  SERVER_CERTIFICATE_NAME_COMPARISON,
  WIRELESS_AUTHENTICATION,
  WIRELESS_ENCRYPTION,
  powerPackageGuid,
  type AmtInterface,
  type AmtSession,
  type HostPowerState,
  type Ieee8021xProfile,
  type WiFiProfile,
  type WirelessCapabilities,
} from '../amt';
import type { AmtKerberosSettings } from '../directory';
import type { CertificateAuthority } from '../pki';
import { profileSecretName, type AmtSettings } from '../store/profile-settings';
import { certificateForFirmware, installedCertificateId, issueDeviceCertificate } from './certificates';
import { ProvisioningError } from './errors';
import { expectKept } from './read-back';

/**
 * Stage two (spec OOB9, I8): a settings profile applied to the firmware over WS-Management, on
 * every AMT version. Each function puts the profile's values whole, so a retry after any failure
 * converges, and then reads the settings back with the firmware's own Get: a write the firmware
 * answered with success but did not keep (a lost NVRAM write) is SETTING_NOT_KEPT, retryable, never
 * a step that succeeds. Secrets are read one at a time, only where the firmware takes them; they are
 * write-only in the firmware, so what stands for them is read back instead (the Kerberos key version,
 * the 802.1X user name).
 */

export interface StageTwoTarget {
  amt: AmtSession;
  settings: AmtSettings;
  /** One sealed secret of the profile, by its `profileSecretName`. */
  secret(name: string): Promise<string>;
}

/** A Windows account of the profile with its SID from the directory (I8); SIDs are not secret. */
export interface ResolvedAccount {
  /** As the profile names it, e.g. `CORP\\AMT Operators`. */
  name: string;
  /** Binary SID, base64: what AMT_AuthorizationService's KerberosUserSid takes. */
  sidBase64: string;
}

/** What an 802.1X client certificate is issued for (I2, template `ieee8021x-client`). */
export interface Ieee8021xEnrolment {
  ca: CertificateAuthority;
  deviceUuid: string;
  fqdn: string;
  /** Idempotency key of the step: each configuration derives its own request id from it. */
  requestId: string;
}

type WirelessSettings = AmtSettings['wireless'][number];
type Ieee8021xSettings =
  NonNullable<AmtSettings['wiredIeee8021x']> | Extract<WirelessSettings, { ieee8021x: unknown }>['ieee8021x'];

/**
 * OOB9.1: the ACL is cleared, then holds exactly the profile's accounts. Everything is resolved
 * before the first change, so an unknown account (PRINCIPAL_NOT_FOUND) changes nothing.
 */
export async function applyAccessControl(
  target: StageTwoTarget,
  accounts: readonly ResolvedAccount[],
): Promise<{ entries: number }> {
  const entries = await Promise.all(
    target.settings.userAccounts.map(async (account) => {
      const grant = {
        accessPermission: ACCESS_PERMISSIONS[account.access],
        realms: account.realms.map((realm) => AMT_REALMS[realm]),
      };
      if (account.type === 'digest') {
        const password = await target.secret(profileSecretName.digestUser(account.username));
        return { ...grant, digest: { username: account.username, password } };
      }
      const resolved = accounts.find((a) => a.name.toLowerCase() === account.account.toLowerCase());
      if (!resolved)
        throw new ProvisioningError('PRINCIPAL_NOT_FOUND', `no SID was resolved for ${account.account} (I8)`);
      return { ...grant, sid: Buffer.from(resolved.sidBase64, 'base64') };
    }),
  );
  const { access } = target.amt.wsman;
  await access.clearUserAcl();
  for (const entry of entries) {
    if ('digest' in entry) await access.addDigestUser({ ...entry, ...entry.digest });
    else await access.addKerberosUser(entry);
  }
  // Exactly the profile's entries: a lost add leaves one missing, a lost removal one too many.
  const aclEntry = (user: string, accessPermission: number | undefined, realms: readonly number[]) =>
    `${user} access ${accessPermission} realms ${[...realms].sort((a, b) => a - b).join(',')}`;
  const written = entries.map((e) =>
    aclEntry(
      'digest' in e ? `digest ${e.digest.username}` : `SID ${e.sid.toString('base64')}`,
      e.accessPermission,
      e.realms,
    ),
  );
  const held = (await access.listUserAclEntries()).map((e) =>
    aclEntry(
      e.digestUsername ? `digest ${e.digestUsername}` : `SID ${e.kerberosUserSid}`,
      e.accessPermission,
      e.realms,
    ),
  );
  expectKept('the user ACL (OOB9.1)', { entries: written.sort() }, { entries: held.sort() });
  return { entries: entries.length };
}

/**
 * OOB9.2: ping, web UI, SOL/IDER with their listener, and on AMT 6.0+ KVM and user consent. KVM and
 * user consent do not exist on EOI-era firmware (AMT 3.2.1–5.x) and are left out there — not an error.
 */
export async function applyFeatures(target: StageTwoTarget, iface: AmtInterface): Promise<void> {
  const { settings } = target;
  const { device, features } = target.amt.wsman;
  await device.setGeneralSettings({ pingResponseEnabled: settings.ping });
  await features.setWebUi(settings.webUi);
  const redirection = { sol: settings.serialOverLan, ider: settings.ideRedirection };
  await features.setRedirection(redirection);
  const written: Record<string, unknown> = {
    ping: settings.ping,
    webUi: settings.webUi,
    ...redirection,
    listener: redirection.sol || redirection.ider,
  };
  if (iface !== 'eoi') {
    await features.setKvm(settings.kvm);
    written.kvm = settings.kvm;
    // Client control mode forces consent; the firmware says when the policy may not be changed.
    if ((await features.getUserConsent()).canModifyOptInPolicy !== false) {
      await features.setUserConsent(OPT_IN_REQUIRED[settings.userConsent]);
      written.userConsent = OPT_IN_REQUIRED[settings.userConsent];
    }
  }
  const held = await features.getRedirection();
  expectKept('the features (OOB9.2)', written, {
    ping: (await device.getGeneralSettings()).pingResponseEnabled,
    webUi: await features.getWebUi(),
    sol: held.sol,
    ider: held.ider,
    listener: held.listenerEnabled,
    ...(iface !== 'eoi' ? { kvm: await features.getKvm() } : {}),
    ...('userConsent' in written ? { userConsent: (await features.getUserConsent()).optInRequired } : {}),
  });
}

/** OOB9.3: the profile's power package, unless the firmware already uses it. */
export async function applyPowerPackage(
  amt: AmtSession,
  powerPackage: AmtSettings['powerPackage'],
): Promise<{ changed: boolean }> {
  const { features } = amt.wsman;
  const guid = powerPackageGuid(powerPackage);
  const schemes = await features.listPowerSchemes();
  const wanted = schemes.find((scheme) => scheme.schemeGuid === guid);
  if (!wanted) {
    throw new ProvisioningError(
      'POWER_PACKAGE_UNAVAILABLE',
      `the firmware does not offer ${powerPackage}; it offers: ${schemes.map((s) => s.description ?? s.instanceId).join(', ')}`,
    );
  }
  if ((await features.currentPowerSchemeId()) === wanted.instanceId) return { changed: false };
  await features.setPowerScheme(wanted.instanceId);
  expectKept(
    'the power package (OOB9.3)',
    { scheme: wanted.instanceId },
    { scheme: await features.currentPowerSchemeId() },
  );
  return { changed: true };
}

/**
 * OOB9.3: Kerberos on, with the AMT account's realm, key and key version. The key is write-only;
 * the key version read back stands for it — the directory raises it with every password change,
 * so a firmware still holding an older key reports an older version.
 */
export async function applyKerberos(amt: AmtSession, kerberos: AmtKerberosSettings): Promise<void> {
  const { features } = amt.wsman;
  await features.setKerberos({
    realmName: kerberos.realmName,
    keyVersion: kerberos.keyVersion,
    masterKey: Buffer.from(kerberos.masterKey, 'base64'),
  });
  const held = await features.getKerberos();
  expectKept(
    'Kerberos (OOB9.3)',
    { enabled: true, realmName: kerberos.realmName, keyVersion: kerberos.keyVersion },
    { enabled: held.enabled, realmName: held.realmName, keyVersion: held.keyVersion },
  );
}

/**
 * The certificates one 802.1X configuration needs in firmware: the RADIUS server's root as a
 * trusted root (I6, SP2) and, for certificate protocols, a client certificate from the CA for a key
 * the firmware made (I2, idempotent by request id).
 */
async function ieee8021xCertificates(
  amt: AmtSession,
  settings: Ieee8021xSettings,
  enrolment: Ieee8021xEnrolment,
  requestId: string,
): Promise<{ rootId: string | undefined; clientId: string | undefined }> {
  const rootId = settings.radiusRootCertificate
    ? await installedCertificateId(amt, new X509Certificate(settings.radiusRootCertificate).raw, true)
    : undefined;
  if (IEEE8021X_PROTOCOLS[settings.protocol].credential !== 'certificate') return { rootId, clientId: undefined };
  const serial = await issueDeviceCertificate(enrolment.ca, amt, {
    requestId,
    template: 'ieee8021x-client',
    deviceUuid: enrolment.deviceUuid,
    fqdn: enrolment.fqdn,
  });
  const [clientDer] = (await certificateForFirmware(enrolment.ca, serial)).chainDer;
  return { rootId, clientId: clientDer && (await installedCertificateId(amt, clientDer)) };
}

/** The 802.1X fields AMT takes; a password protocol's EAP password comes from the profile's secrets. */
async function ieee8021xProfile(
  target: StageTwoTarget,
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
          password: await target.secret(secretName),
          ...(settings.domain ? { domain: settings.domain } : {}),
          ...(settings.roamingIdentity ? { roamingIdentity: settings.roamingIdentity } : {}),
        }
      : {}),
  };
}

async function wifiProfile(
  target: StageTwoTarget,
  wireless: WirelessSettings,
  enrolment: Ieee8021xEnrolment,
): Promise<WiFiProfile> {
  const common = {
    name: wireless.name,
    ssid: wireless.ssid,
    priority: wireless.priority,
    authenticationMethod: WIRELESS_AUTHENTICATION[wireless.authentication].id,
    encryptionMethod: WIRELESS_ENCRYPTION[wireless.encryption],
  };
  if (!('ieee8021x' in wireless)) {
    return { ...common, pskPassPhrase: await target.secret(profileSecretName.wirelessPassphrase(wireless.name)) };
  }
  const { rootId, clientId } = await ieee8021xCertificates(
    target.amt,
    wireless.ieee8021x,
    enrolment,
    `${enrolment.requestId}/wireless/${wireless.name}`,
  );
  return {
    ...common,
    ieee8021x: await ieee8021xProfile(
      target,
      wireless.name,
      wireless.ieee8021x,
      profileSecretName.wirelessIeee8021x(wireless.name),
    ),
    ...(clientId ? { clientCertificateInstanceId: clientId } : {}),
    ...(rootId ? { caCertificateInstanceId: rootId } : {}),
  };
}

/**
 * OOB9.4 "detect the wireless capability": every profile's authentication and encryption method is
 * one the Wi-Fi module lists in CIM_WiFiEndpointCapabilities (e.g. TKIP, which newer modules
 * dropped). Firmware without the class is not checked: it answers for itself at AddWiFiSettings.
 */
function assertWirelessSupported(
  wireless: AmtSettings['wireless'],
  capabilities: WirelessCapabilities | undefined,
): void {
  if (!capabilities) return;
  for (const profile of wireless) {
    const authentication = WIRELESS_AUTHENTICATION[profile.authentication].id;
    const encryption = WIRELESS_ENCRYPTION[profile.encryption];
    const missing = [
      ...(capabilities.authenticationMethods.includes(authentication)
        ? []
        : [`authentication ${profile.authentication} (${authentication})`]),
      ...(capabilities.encryptionMethods.includes(encryption)
        ? []
        : [`encryption ${profile.encryption} (${encryption})`]),
    ];
    if (missing.length > 0) {
      throw new ProvisioningError(
        'WIRELESS_PROFILE_UNSUPPORTED',
        `wireless profile ${profile.name} needs ${missing.join(' and ')}, which the device's Wi-Fi module does not ` +
          `support (it lists authentication ${capabilities.authenticationMethods.join(', ') || 'none'}, encryption ` +
          `${capabilities.encryptionMethods.join(', ') || 'none'}); no wireless profile was changed`,
      );
    }
  }
}

/**
 * UPD4: re-applying 802.1X wired settings while the host's operating system is not running is the
 * risky case — with the OS down only AMT holds the port, and settings the network does not accept
 * drop the device off it until someone fixes the settings at the machine. The warning to show the
 * operator then; none when the profile has no wired 802.1X settings or the OS runs.
 */
export function wiredIeee8021xWarning(settings: AmtSettings, hostState: HostPowerState): { warning?: string } {
  if (!settings.wiredIeee8021x || hostState === 'on') return {};
  return {
    warning:
      `the host is ${hostState === 'unknown' ? 'in an unknown power state' : hostState}, so its operating system is not ` +
      `running: if the new 802.1X wired settings (${settings.wiredIeee8021x.protocol}) are incompatible with the ` +
      'network, the device loses its wired connection and can no longer be managed out of band. Confirm to apply ' +
      'them anyway, or skip them and keep the settings the device has',
  };
}

/**
 * OOB9.4: wireless profiles replaced where the firmware has wireless (left alone on update,
 * UPD4); the 802.1X wired settings re-applied unless `skipWired` (an operator's choice at UPD4).
 * Resolves with the number of wireless profiles stored.
 */
export async function applyNetworkAuthentication(
  target: StageTwoTarget,
  enrolment: Ieee8021xEnrolment,
  options: { update: boolean; skipWired?: boolean },
): Promise<{ profiles: number }> {
  const { settings } = target;
  const { network } = target.amt.wsman;
  let profiles = 0;
  if (!options.update && (await network.hasWirelessPort())) {
    // Checked, then built, before any deletion: a profile the module cannot hold or a missing secret
    // leaves the existing profiles in place instead of a device with no Wi-Fi after every retry.
    assertWirelessSupported(settings.wireless, await network.wirelessCapabilities());
    const wanted = [];
    for (const wireless of settings.wireless) wanted.push(await wifiProfile(target, wireless, enrolment));
    for (const existing of await network.listWiFiProfiles()) await network.deleteWiFiProfile(existing.instanceId);
    for (const profile of wanted) await network.addWiFiProfile(profile);
    if (wanted.length > 0) await network.enableWirelessPort();
    const summary = (p: { name: string | undefined; ssid: string | undefined; priority: number | undefined }) =>
      `${p.name} ${p.ssid} ${p.priority}`;
    expectKept(
      'the wireless profiles (OOB9.4)',
      { profiles: wanted.map(summary).sort(), ...(wanted.length > 0 ? { portEnabled: true } : {}) },
      {
        profiles: (await network.listWiFiProfiles()).map(summary).sort(),
        ...(wanted.length > 0 ? { portEnabled: await network.wirelessPortEnabled() } : {}),
      },
    );
    profiles = wanted.length;
  }
  const wired = options.skipWired ? null : settings.wiredIeee8021x;
  if (wired) {
    const { password, ...fields } = await ieee8021xProfile(target, 'wired', wired, profileSecretName.wiredIeee8021x());
    const written = {
      enabled: IEEE8021X_WIRED_ENABLED.enabled,
      authenticationProtocol: fields.authenticationProtocol,
      availableInS0: wired.availableInS0,
      pxeTimeout: wired.pxeTimeoutSeconds,
      serverCertificateName: fields.serverCertificateName,
      serverCertificateNameComparison: fields.serverCertificateNameComparison,
      username: fields.username,
      domain: fields.domain,
      roamingIdentity: fields.roamingIdentity,
    };
    await network.updateWired8021x({
      Enabled: written.enabled,
      AuthenticationProtocol: written.authenticationProtocol,
      AvailableInS0: written.availableInS0,
      PxeTimeout: written.pxeTimeout,
      ServerCertificateName: written.serverCertificateName,
      ServerCertificateNameComparison: written.serverCertificateNameComparison,
      Username: written.username,
      Password: password,
      Domain: written.domain,
      RoamingIdentity: written.roamingIdentity,
    });
    // A field the profile leaves out is left as the firmware had it (undefined in a Put), so only
    // the fields written are compared; the password is write-only.
    let held;
    try {
      // Over a new connection: a port the network shut answers a new connect with nothing
      // (not-delivered), where the kept connection would only fall silent (outcome unknown).
      await target.amt.dropConnection();
      held = await network.readWired8021x();
    } catch (err) {
      // With the host's OS down only AMT holds the port (UPD4): settings the network refuses shut it
      // at once. A device that took the Put and cannot be reached right after has changed them — the
      // risk the operator accepted; an unchanged (lost) write leaves it reachable as before.
      if (err instanceof AmtError && err.outcome === 'not-delivered') return { profiles };
      throw err;
    }
    expectKept(
      'the 802.1X wired settings (OOB9.4)',
      Object.fromEntries(Object.entries(written).filter(([, value]) => value !== undefined)),
      held,
    );
    const { rootId, clientId } = await ieee8021xCertificates(
      target.amt,
      wired,
      enrolment,
      `${enrolment.requestId}/wired`,
    );
    if (rootId && clientId) await network.setWired8021xCertificates(rootId, clientId);
  }
  return { profiles };
}
