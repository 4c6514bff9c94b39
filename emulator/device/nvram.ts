import { createHash, randomBytes } from 'node:crypto';
import type { DeviceProfile } from './profile';
import { customHashSlots, factoryRoots, type HashAlgorithm } from './root-hashes';
import { versionAtLeast } from './version';

/**
 * The non-volatile state of one emulated AMT device: everything the firmware keeps across power
 * cycles, as plain JSON so it can be persisted atomically and compared after a restart. Field
 * names follow the WS-Man properties they back where one exists.
 */
export interface Nvram {
  schema: 1;
  uuid: string;
  address: string;
  amtVersion: string;
  build: string;
  sku: string;
  heci: boolean;
  network: {
    dhcpDnsSuffix: string;
    trustedDnsSuffix: string;
    mac: string;
    wireless: boolean;
    /** CIM_WiFiEndpointCapabilities; absent in NVRAM saved before it was modelled (everything supported). */
    wifiCapabilities?: { authenticationMethods: number[]; encryptionMethods: number[] };
  };
  hashes: CertHashEntry[];
  mebx: { password: string; changed: boolean };
  provisioning: {
    /** 0 pre, 1 in, 2 post (AMT_SetupAndConfigurationService.ProvisioningState). */
    state: 0 | 1 | 2;
    /** 1 ACM / enterprise, 4 CCM (ProvisioningMode). */
    mode: 1 | 4;
    /** 0 not provisioned, 1 CCM, 2 ACM (IPS_HostBasedSetupService.CurrentControlMode). */
    controlMode: 0 | 1 | 2;
    remoteConfigEnabled: boolean;
    /** The OTP set in-band (IB2) that the provisioning server must present; null when none. */
    otp: string | null;
    /** The OTP the provisioning server presented during this in-provisioning session. */
    presentedOtp: string | null;
    /** In-provisioning login: HA1 of the admin account with the MEBx password at session start. */
    loginHa1: string | null;
    configurationServerFqdn: string;
    helloTarget: string | null;
    helloEnabled: boolean;
    /** Host-based setup: firmware nonce for AdminSetup and the certificate chain being accumulated. */
    configurationNonce: string;
    certChain: string[];
    certChainStatus: 0 | 1 | 2;
    record: ProvisioningRecord | null;
  };
  /** `$$OsAdmin`: the local system account the OS gets over MEI (reference §1.3). */
  localAccount: { username: string; password: string };
  realm: string;
  admin: { username: string; ha1: string | null; isDefault: boolean };
  users: AclUser[];
  nextUserHandle: number;
  general: {
    hostName: string;
    domainName: string;
    pingResponseEnabled: boolean;
    rmcpPingResponseEnabled: boolean;
    sharedFqdn: boolean;
    amtNetworkEnabled: 0 | 1;
    ddnsUpdateEnabled: boolean;
    idleWakeTimeout: number;
    privacyLevel: number;
    powerSource: number;
    preferredAddressFamily: number;
    webUiEnabled: boolean;
  };
  /** Self-signed identity for the TLS port before a certificate is installed (from the key pool). */
  identity: { keyPem: string; certPem: string };
  keys: StoredKey[];
  certs: StoredCert[];
  /** Handle counter shared by keys and certificates, as firmware handles are unique across both. */
  nextHandle: number;
  tls: {
    remote: TlsSettings;
    local: TlsSettings;
    credentialContext: number | null;
    /** What the TLS port serves: a snapshot of the settings above taken at CommitChanges. */
    applied: (TlsSettings & { certHandle: number | null }) | null;
  };
  redirection: { enabledState: number; listenerEnabled: boolean; accessLog: boolean };
  kvm: {
    enabledState: number;
    is5900PortEnabled: boolean;
    optInPolicy: boolean;
    optInPolicyTimeout: number;
    sessionTimeout: number;
    rfbPassword: string | null;
    defaultScreen: number;
  };
  optIn: { required: number; codeTimeout: number; displayTimeout: number; state: number; code: number | null };
  power: { schemeIndex: number; availableSchemes: number[]; hostPowerState: number };
  wifi: { localProfileSynchronizationEnabled: number; portEnabledState: number; profiles: WifiProfile[] };
  ieee8021x: Ieee8021xSettings;
  ethernet: EthernetSettings[];
  kerberos: KerberosSettings;
  clockOffsetSeconds: number;
}

export interface CertHashEntry {
  id: number;
  algorithm: HashAlgorithm;
  hash: string;
  description: string;
  isDefault: boolean;
  enabled: boolean;
}

export interface AclUser {
  handle: number;
  username: string | null;
  ha1: string | null;
  kerberosSid: string | null;
  accessPermission: number;
  realms: number[];
  enabled: boolean;
}

export interface StoredKey {
  handle: number;
  privateKeyPem: string;
  /** Base64 PKCS#1 RSAPublicKey DER, as AMT_PublicPrivateKeyPair.DERKey. */
  publicKeyDer: string;
}

export interface StoredCert {
  handle: number;
  /** Base64 DER. */
  der: string;
  trustedRoot: boolean;
  readOnly: boolean;
  subject: string;
  issuer: string;
}

export interface TlsSettings {
  enabled: boolean;
  mutualAuthentication: boolean;
  acceptNonSecureConnections: boolean;
  trustedCN: string[];
}

export interface WifiProfile {
  instanceId: string;
  elementName: string;
  ssid: string;
  authenticationMethod: number;
  encryptionMethod: number;
  priority: number;
  bssType: number;
  pskPassPhrase: string | null;
  ieee8021x: Record<string, string> | null;
  clientCertHandle: number | null;
  caCertHandle: number | null;
}

export interface Ieee8021xSettings {
  enabled: number;
  availableInS0: boolean;
  pxeTimeout: number;
  authenticationProtocol: number;
  username: string;
  password: string | null;
  domain: string;
  roamingIdentity: string;
  serverCertificateName: string;
  serverCertificateNameComparison: number;
  serverCertHandle: number | null;
  clientCertHandle: number | null;
}

export interface EthernetSettings {
  instance: number;
  dhcpEnabled: boolean;
  ipSyncEnabled: boolean;
  sharedStaticIp: boolean;
  ipAddress: string;
  subnetMask: string;
  defaultGateway: string;
  primaryDns: string;
  secondaryDns: string;
  mac: string;
  linkIsUp: boolean;
  linkPolicy: number[];
}

export interface KerberosSettings {
  realmName: string;
  krbEnabled: boolean;
  keyVersion: number;
  encryptionAlgorithm: number;
  masterKey: string | null;
  maximumClockTolerance: number;
  configuredEncryptionAlgorithms: number[];
  passphrase: string | null;
  salt: string;
  iterationCount: number;
  credentialCacheEnabled: boolean;
}

export interface ProvisioningRecord {
  hashAlgorithm: HashAlgorithm;
  hash: string;
  serverCertCn: string;
  hostInitiated: boolean;
  createdAt: string;
}

export function ha1(username: string, realm: string, password: string): string {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest('hex');
}

export function newConfigurationNonce(): string {
  return randomBytes(20).toString('base64');
}

/** Power package 5 ("Desktop: ON in S0") and 7 ("always on") are the two a desktop OEM exposes. */
const DESKTOP_SCHEMES = [5, 7];

function macFor(address: string, wireless: boolean): string {
  const octets = address
    .split('.')
    .slice(1)
    .map((o) => Number(o).toString(16).padStart(2, '0'));
  return [wireless ? '00-1b-22' : '00-1b-21', ...octets].join('-');
}

function factoryTls(): TlsSettings {
  return { enabled: false, mutualAuthentication: false, acceptNonSecureConnections: true, trustedCN: [] };
}

/** Settings the provisioning flow changes, at their factory values. Shared by power-up and unprovision. */
function factoryConfiguration(address: string, wireless: boolean) {
  return {
    users: [] as AclUser[],
    nextUserHandle: 1,
    general: {
      hostName: '',
      domainName: '',
      pingResponseEnabled: true,
      rmcpPingResponseEnabled: true,
      sharedFqdn: true,
      amtNetworkEnabled: 1 as const,
      ddnsUpdateEnabled: false,
      idleWakeTimeout: 65535,
      privacyLevel: 0,
      powerSource: 0,
      preferredAddressFamily: 0,
      webUiEnabled: true,
    },
    keys: [] as StoredKey[],
    certs: [] as StoredCert[],
    nextHandle: 0,
    tls: { remote: factoryTls(), local: factoryTls(), credentialContext: null, applied: null },
    redirection: { enabledState: 32768, listenerEnabled: false, accessLog: false },
    kvm: {
      enabledState: 3,
      is5900PortEnabled: false,
      optInPolicy: true,
      optInPolicyTimeout: 120,
      sessionTimeout: 10,
      rfbPassword: null,
      defaultScreen: 0,
    },
    optIn: { required: 4294967295, codeTimeout: 120, displayTimeout: 300, state: 0, code: null },
    power: { schemeIndex: 5, availableSchemes: DESKTOP_SCHEMES, hostPowerState: 2 },
    wifi: {
      localProfileSynchronizationEnabled: 0,
      portEnabledState: wireless ? 32769 : 3,
      profiles: [] as WifiProfile[],
    },
    ieee8021x: {
      enabled: 3,
      availableInS0: true,
      pxeTimeout: 120,
      authenticationProtocol: 0,
      username: '',
      password: null,
      domain: '',
      roamingIdentity: '',
      serverCertificateName: '',
      serverCertificateNameComparison: 0,
      serverCertHandle: null,
      clientCertHandle: null,
    },
    ethernet: [
      {
        instance: 0,
        dhcpEnabled: true,
        ipSyncEnabled: true,
        sharedStaticIp: false,
        ipAddress: address,
        subnetMask: '255.0.0.0',
        defaultGateway: '127.0.0.1',
        primaryDns: '127.0.0.1',
        secondaryDns: '',
        mac: macFor(address, false),
        linkIsUp: true,
        linkPolicy: [1, 14],
      },
      {
        instance: 1,
        dhcpEnabled: true,
        ipSyncEnabled: false,
        sharedStaticIp: false,
        ipAddress: '',
        subnetMask: '',
        defaultGateway: '',
        primaryDns: '',
        secondaryDns: '',
        mac: wireless ? macFor(address, true) : '00-00-00-00-00-00',
        linkIsUp: false,
        linkPolicy: [1, 14],
      },
    ] as EthernetSettings[],
    kerberos: {
      realmName: '',
      krbEnabled: false,
      keyVersion: 0,
      encryptionAlgorithm: 0,
      masterKey: null,
      maximumClockTolerance: 5,
      configuredEncryptionAlgorithms: [0],
      passphrase: null,
      salt: '',
      iterationCount: 4096,
      credentialCacheEnabled: false,
    },
  };
}

/** NVRAM of a device as it leaves the factory (or as the profile says it was provisioned). */
export function createNvram(
  profile: DeviceProfile & { uuid: string; address: string },
  identity: { keyPem: string; certPem: string },
): Nvram {
  const modern = versionAtLeast(profile.amtVersion, 11);
  const hashes: CertHashEntry[] = [
    ...factoryRoots(modern).map((r) => ({ ...r, isDefault: true })),
    ...profile.customHashes.slice(0, customHashSlots(versionAtLeast(profile.amtVersion, 7))).map((h) => ({
      algorithm: h.algorithm,
      hash: h.hash.toLowerCase(),
      description: h.description,
      isDefault: false,
    })),
  ].map((h, i) => ({ ...h, id: i, enabled: true }));
  const nvram: Nvram = {
    schema: 1,
    uuid: profile.uuid.toLowerCase(),
    address: profile.address,
    amtVersion: profile.amtVersion,
    build: profile.build,
    sku: profile.sku,
    heci: profile.heci,
    network: {
      dhcpDnsSuffix: profile.dnsSuffix,
      trustedDnsSuffix: profile.trustedDnsSuffix,
      mac: macFor(profile.address, false),
      wireless: profile.wireless,
      wifiCapabilities: {
        authenticationMethods: profile.wifiAuthenticationMethods,
        encryptionMethods: profile.wifiEncryptionMethods,
      },
    },
    hashes,
    mebx: { password: profile.mebxPassword, changed: profile.mebxPassword !== 'admin' },
    provisioning: {
      state: 0,
      mode: 1,
      controlMode: 0,
      remoteConfigEnabled: profile.remoteConfig,
      otp: null,
      presentedOtp: null,
      loginHa1: null,
      configurationServerFqdn: '',
      helloTarget: profile.hello,
      helloEnabled: profile.helloEnabled,
      configurationNonce: newConfigurationNonce(),
      certChain: [],
      certChainStatus: 0,
      record: null,
    },
    localAccount: { username: '$$OsAdmin', password: randomBytes(24).toString('base64url').slice(0, 32) },
    realm: `Digest:${randomBytes(16).toString('hex').toUpperCase()}`,
    admin: { username: 'admin', ha1: null, isDefault: true },
    identity,
    clockOffsetSeconds: profile.clockDriftSeconds,
    ...factoryConfiguration(profile.address, profile.wireless),
  };
  if (profile.state === 'post') {
    completeProvisioning(
      nvram,
      profile.controlMode === 'acm' ? 2 : 1,
      ha1('admin', nvram.realm, profile.adminPassword),
    );
  }
  return nvram;
}

/**
 * The transition into post-provisioning (Setup, AdminSetup, CommitChanges in remote configuration,
 * or a device started in state post). `adminHa1` null keeps the admin credential already set.
 */
export function completeProvisioning(nvram: Nvram, controlMode: 1 | 2, adminHa1: string | null): void {
  const p = nvram.provisioning;
  p.state = 2;
  p.controlMode = controlMode;
  p.mode = controlMode === 2 ? 1 : 4;
  p.configurationNonce = newConfigurationNonce();
  p.certChain = [];
  p.certChainStatus = 0;
  p.presentedOtp = null;
  if (adminHa1) nvram.admin = { username: 'admin', ha1: adminHa1, isDefault: false };
  // A remote configuration that never set an admin password keeps the login it used (MEBx-derived).
  else if (!nvram.admin.ha1 && p.loginHa1)
    nvram.admin = { username: nvram.admin.username, ha1: p.loginHa1, isDefault: true };
  p.loginHa1 = null;
  // CCM forces user consent for every redirection session (reference §4.2).
  if (controlMode === 1) nvram.optIn.required = 4294967295;
}

/**
 * Full unprovision (reference §4.21): back to factory configuration, keeping what the hardware and
 * MEBx own (UUID, version, hashes, DNS suffixes, realm, MEBx password). `partial` keeps the network
 * identity (host and domain name, IP settings) as PartialUnprovision does.
 */
export function unprovision(nvram: Nvram, partial: boolean): void {
  const keep = { general: nvram.general, ethernet: nvram.ethernet, hostPowerState: nvram.power.hostPowerState };
  Object.assign(nvram, factoryConfiguration(nvram.address, nvram.network.wireless));
  // The host's power state is the host's, not a setting: unprovisioning does not switch it on.
  nvram.power.hostPowerState = keep.hostPowerState;
  if (partial) {
    nvram.general = { ...nvram.general, hostName: keep.general.hostName, domainName: keep.general.domainName };
    nvram.ethernet = keep.ethernet;
  }
  nvram.admin = { username: 'admin', ha1: null, isDefault: true };
  const p = nvram.provisioning;
  p.state = 0;
  p.mode = 1;
  p.controlMode = 0;
  p.otp = null;
  p.presentedOtp = null;
  p.loginHa1 = null;
  p.configurationNonce = newConfigurationNonce();
  p.certChain = [];
  p.certChainStatus = 0;
  p.record = null;
}

/** The DNS suffix the firmware matches provisioning certificates against: MEBx first, then DHCP. */
export function effectiveDnsSuffix(nvram: Nvram): string {
  return nvram.network.trustedDnsSuffix || nvram.network.dhcpDnsSuffix;
}

/** Setup mode: unprovisioned with remote configuration enabled — says hello, accepts TLS-PKI. */
export function inSetupMode(nvram: Nvram): boolean {
  return nvram.provisioning.state === 0 && nvram.provisioning.remoteConfigEnabled;
}
