/**
 * Firmware vocabularies, defined once: the names amtflow's settings profiles use (the console's
 * words) and the values the firmware takes for them. Settings profiles validate against the keys
 * (lib/store/profile-settings.ts); stage two sends the values (lib/provisioning/stage-two.ts).
 * Source: ../shared/reference/amt-protocol.md §4.5, §4.15–§4.18 (AMT SDK class reference).
 */

/** User ACL realms: AMT_AuthorizationService `Realms` (§4.5; RealmValues in wsman-messages). */
export const AMT_REALMS = {
  Redirection: 2,
  PTAdministration: 3,
  HardwareAsset: 4,
  RemoteControl: 5,
  Storage: 6,
  EventManager: 7,
  StorageAdmin: 8,
  AgentPresenceLocal: 9,
  AgentPresenceRemote: 10,
  CircuitBreaker: 11,
  NetworkTime: 12,
  GeneralInfo: 13,
  FirmwareUpdate: 14,
  EIT: 15,
  LocalUN: 16,
  EndpointAccessControl: 17,
  EACAdmin: 18,
  EventLogReader: 19,
  AuditLog: 20,
  UserAccessControl: 21,
  DT: 23,
  LocalSystem: 24,
} as const;
export type AmtRealm = keyof typeof AMT_REALMS;

/** `AccessPermission` of a user ACL entry (§4.5). */
export const ACCESS_PERMISSIONS = { local: 0, network: 1, local_and_network: 2 } as const;
export type AccessPermission = keyof typeof ACCESS_PERMISSIONS;

/** IPS_OptInService.OptInRequired by the profile's user-consent setting (§4.15). */
export const OPT_IN_REQUIRED = { none: 0, kvm: 1, all: 4294967295 } as const;
export type UserConsent = keyof typeof OPT_IN_REQUIRED;

/**
 * "Management is enabled in the following power state" (spec OOB9.3): Intel's power packages by
 * index (§4.16). The default, desktop_s0_s3_s45, is "whenever the machine has power".
 */
export const POWER_PACKAGES = {
  mobile_s0: 0,
  mobile_s0_s3ac: 1,
  mobile_s0_s3ac_s45ac: 2,
  mobile_s0_mewake_s3ac: 3,
  mobile_s0_mewake_s3ac_s45ac: 4,
  desktop_s0: 5,
  desktop_s0_s3: 6,
  desktop_s0_s3_s45: 7,
  desktop_s0_mewake_s3: 8,
  desktop_s0_mewake_s3_s45: 9,
  desktop_s0_s3_s45_off_after_power_loss: 10,
  desktop_s0_mewake_s3_s45_off_after_power_loss: 11,
} as const;
export type PowerPackage = keyof typeof POWER_PACKAGES;

/** AMT_SystemPowerScheme.SchemeGUID (base64) of each power package, by package index (§4.16). */
const POWER_PACKAGE_GUIDS: readonly string[] = [
  'djmXEQtWUEOIcJgS85G1YA==',
  'JtMcdocIx0u7Xzh0QxWl/w==',
  'Uw4I22wP2Uiy0olY0/EVbg==',
  'BV3Vtkykh02lqLR8FN7aXw==',
  'MIAN7gnAeEOvKHhootu+Og==',
  'lE+DEvsQT9yWjh4jKwyQZQ==',
  'oYYAq5p/TEKm5rskOildng==',
  'coarrJa0SOKbnpt9+Rx/1A==',
  'ezLNTWu+Q4mmKk172NvQJg==',
  'cyJzRiPcQy+pihPTeYLYVQ==',
  'xRmkum5vjU2yJ1F/fkWV2w==',
  '1gvj7QTFLEa3ctGAGO4vxA==',
];

/** The SchemeGUID the firmware lists for a power package. */
export function powerPackageGuid(powerPackage: PowerPackage): string {
  return POWER_PACKAGE_GUIDS[POWER_PACKAGES[powerPackage]] as string;
}

/** CIM_WiFiEndpointSettings.AuthenticationMethod for the methods ConfigMgr SP2 offers (§4.17). */
export const WIRELESS_AUTHENTICATION = {
  wpa_psk: { id: 4, credential: 'passphrase' },
  wpa_ieee8021x: { id: 5, credential: 'ieee8021x' },
  wpa2_psk: { id: 6, credential: 'passphrase' },
  wpa2_ieee8021x: { id: 7, credential: 'ieee8021x' },
} as const;
/** CIM_WiFiEndpointSettings.EncryptionMethod (§4.17). */
export const WIRELESS_ENCRYPTION = { tkip: 3, ccmp: 4 } as const;

/** 802.1X protocols (IPS_IEEE8021xSettings.AuthenticationProtocol, §4.18) and what they authenticate with. */
export const IEEE8021X_PROTOCOLS = {
  eap_tls: { id: 0, credential: 'certificate' },
  eap_ttls_mschapv2: { id: 1, credential: 'password' },
  peapv0_eap_mschapv2: { id: 2, credential: 'password' },
  eap_fast_mschapv2: { id: 4, credential: 'password' },
  eap_fast_tls: { id: 10, credential: 'certificate' },
} as const;
export type Ieee8021xProtocol = keyof typeof IEEE8021X_PROTOCOLS;

/** CIM_IEEE8021xSettings.ServerCertificateNameComparison (§4.18): 2 full name, 3 domain suffix. */
export const SERVER_CERTIFICATE_NAME_COMPARISON = { full_name: 2, domain_suffix: 3 } as const;

/** IPS_IEEE8021xSettings.Enabled (§4.18): 2 enabled, 3 disabled. */
export const IEEE8021X_WIRED_ENABLED = { enabled: 2, disabled: 3 } as const;
