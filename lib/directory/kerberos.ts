import { md4 } from './md4';

/**
 * What AMT needs to accept Kerberos tickets issued for its AMT account (reference §4.19,
 * `AMT_KerberosSettingData`): the realm, the key version number the KDC stamps on tickets, and the
 * account's key — as the RC4-HMAC key itself (`MasterKey`, the NT hash of the password) and, for AMT
 * Release 8 and later, as the inputs from which the firmware derives the AES keys (`Passphrase`,
 * `Salt`, `IterationCount`).
 */

export type KerberosEncryptionType = 'rc4-hmac' | 'aes128-cts-hmac-sha1-96' | 'aes256-cts-hmac-sha1-96';

export const ALL_ENCRYPTION_TYPES: readonly KerberosEncryptionType[] = [
  'rc4-hmac',
  'aes128-cts-hmac-sha1-96',
  'aes256-cts-hmac-sha1-96',
];

/** Bits of msDS-SupportedEncryptionTypes (MS-KILE 2.2.7). */
const DIRECTORY_BITS: Record<KerberosEncryptionType, number> = {
  'rc4-hmac': 0x4,
  'aes128-cts-hmac-sha1-96': 0x8,
  'aes256-cts-hmac-sha1-96': 0x10,
};

/** Values of AMT_KerberosSettingData.ConfiguredEncryptionAlgorithms. */
const AMT_ALGORITHMS: Record<KerberosEncryptionType, number> = {
  'rc4-hmac': 0,
  'aes128-cts-hmac-sha1-96': 1,
  'aes256-cts-hmac-sha1-96': 2,
};

export function supportedEncryptionTypesValue(types: readonly KerberosEncryptionType[]): number {
  return types.reduce((bits, type) => bits | DIRECTORY_BITS[type], 0);
}

export function encryptionTypesFromValue(value: number): KerberosEncryptionType[] {
  return ALL_ENCRYPTION_TYPES.filter((type) => (value & DIRECTORY_BITS[type]) !== 0);
}

/** The NT hash, MD4 over the UTF-16LE password: Active Directory's RC4-HMAC key for the account. */
export function ntHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/**
 * Active Directory's salt for a computer account's AES keys: the realm, then `host`, then the
 * account name without `$` and the DNS domain, both lower-cased (MS-KILE 3.1.1.2).
 */
export function computerAccountSalt(realm: string, samAccountName: string, dnsDomain: string): string {
  return `${realm.toUpperCase()}host${samAccountName.replace(/\$$/, '').toLowerCase()}.${dnsDomain.toLowerCase()}`;
}

/** RFC 3962's default PBKDF2 iteration count, which Active Directory uses for every account. */
export const AES_ITERATION_COUNT = 4096;

export interface AmtKerberosAccount {
  samAccountName: string;
  /** DNS name of the account's domain. */
  domain: string;
  realm: string;
  encryptionTypes: readonly KerberosEncryptionType[];
}

/** The values of AMT_KerberosSettingData for one password of the AMT account. Contains secrets. */
export interface AmtKerberosSettings {
  realmName: string;
  keyVersion: number;
  /** 0 = RC4-HMAC: the legacy single-key mode every AMT release supports. */
  encryptionAlgorithm: 0;
  /** RC4-HMAC key (NT hash), base64. */
  masterKey: string;
  passphrase: string;
  salt: string;
  iterationCount: number;
  configuredEncryptionAlgorithms: number[];
}

export function amtKerberosSettings(
  account: AmtKerberosAccount,
  password: string,
  keyVersionNumber: number,
): AmtKerberosSettings {
  return {
    realmName: account.realm.toUpperCase(),
    keyVersion: keyVersionNumber,
    encryptionAlgorithm: 0,
    masterKey: ntHash(password).toString('base64'),
    passphrase: password,
    salt: computerAccountSalt(account.realm, account.samAccountName, account.domain),
    iterationCount: AES_ITERATION_COUNT,
    configuredEncryptionAlgorithms: account.encryptionTypes.map((type) => AMT_ALGORITHMS[type]),
  };
}
