import type { AclUser } from '../device/nvram';
import { faults } from '../wsman/faults';
import type { FirmwareContext, MethodInput, MethodOutput, WsmanClass } from '../wsman/registry';
import { aclHasRoomFor, isReservedForAdmin, isValidUserName } from './account-rules';
import { PT, bool, decodeBase64, int, requireAdmin, service } from './common';

/** Realm ids an ACL entry may carry (reference §4.5); 3 (PT Administration) is admin-only on AMT. */
const VALID_REALMS = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24]);

/**
 * DigestPassword is Base64 of the raw MD5 HA1 per the SDK, RPS and rpc-go; MeshCentral's legacy
 * provisioning server sends 32 hex characters (reference §4.4) — both accepted.
 */
export function digestPasswordToHa1(value: string | undefined): string | null {
  if (!value) return null;
  if (/^[0-9a-fA-F]{32}$/.test(value)) return value.toLowerCase();
  const raw = decodeBase64(value);
  return raw && raw.length === 16 ? raw.toString('hex') : null;
}

/**
 * Validates Add/UpdateUserAclEntryEx input into an entry (without handle), or a PT_STATUS. The
 * password arrives as a Digest hash, so only its form can be checked; the name gets the SDK's rules.
 */
function parseUserEntry(ctx: FirmwareContext, input: MethodInput): Omit<AclUser, 'handle' | 'enabled'> | number {
  const username = input.text('DigestUsername');
  const password = input.text('DigestPassword');
  const sid = input.text('KerberosUserSid');
  const access = input.int('AccessPermission') ?? 2;
  const realms = input.texts('Realms').map(Number);
  if (access < 0 || access > 2) return PT.INVALID_PARAMETER;
  if (realms.length === 0 || realms.some((r) => !VALID_REALMS.has(r))) return PT.INVALID_REALM;
  if (sid !== undefined && sid !== '') {
    const raw = decodeBase64(sid);
    if (!raw || raw.length < 1 || raw.length > 28 || username) return PT.INVALID_PARAMETER;
    return { username: null, ha1: null, kerberosSid: raw.toString('base64'), accessPermission: access, realms };
  }
  if (!username || !isValidUserName(username) || isReservedForAdmin(username, ctx.nvram.amtVersion)) {
    return PT.INVALID_NAME;
  }
  const ha1 = digestPasswordToHa1(password);
  if (!ha1) return PT.INVALID_PASSWORD;
  return { username, ha1, kerberosSid: null, accessPermission: access, realms };
}

function findUser(ctx: FirmwareContext, input: MethodInput): AclUser | undefined {
  const handle = input.int('Handle');
  return ctx.nvram.users.find((u) => u.handle === handle);
}

function duplicate(ctx: FirmwareContext, entry: Omit<AclUser, 'handle' | 'enabled'>, except?: number): boolean {
  return ctx.nvram.users.some(
    (u) =>
      u.handle !== except &&
      ((entry.username !== null && u.username === entry.username) ||
        (entry.kerberosSid !== null && u.kerberosSid === entry.kerberosSid)),
  );
}

const notFound: MethodOutput = { returnValue: PT.INVALID_HANDLE };

export const authorizationService: WsmanClass = {
  name: 'AMT_AuthorizationService',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  realm: 21,
  instances() {
    return [service('AMT_AuthorizationService', 'Intel(r) AMT Authorization Service', { AllowHttpQopAuthOnly: 1 })];
  },
  methods: {
    SetAdminAclEntryEx(ctx, input) {
      requireAdmin(ctx);
      const username = input.text('Username');
      const ha1 = digestPasswordToHa1(input.text('DigestPassword'));
      if (!username || !isValidUserName(username)) return { returnValue: PT.INVALID_NAME };
      if (!ha1) return { returnValue: PT.INVALID_PASSWORD };
      if (ctx.nvram.users.some((u) => u.username === username)) return { returnValue: PT.DUPLICATE };
      ctx.nvram.admin = { username, ha1, isDefault: false };
      return { returnValue: PT.SUCCESS };
    },
    GetAdminAclEntry(ctx) {
      return { returnValue: PT.SUCCESS, out: { Username: ctx.nvram.admin.username } };
    },
    GetAdminAclEntryStatus(ctx) {
      return { returnValue: PT.SUCCESS, out: { IsDefault: ctx.nvram.admin.isDefault } };
    },
    GetAdminNetAclEntryStatus(ctx) {
      return { returnValue: PT.SUCCESS, out: { IsDefault: ctx.nvram.admin.isDefault } };
    },
    AddUserAclEntryEx(ctx, input) {
      const entry = parseUserEntry(ctx, input);
      if (typeof entry === 'number') return { returnValue: entry };
      if (duplicate(ctx, entry)) return { returnValue: PT.DUPLICATE };
      if (!aclHasRoomFor(ctx.nvram.users, entry.kerberosSid !== null)) return { returnValue: PT.MAX_LIMIT_REACHED };
      const handle = ctx.nvram.nextUserHandle++;
      ctx.nvram.users.push({ ...entry, handle, enabled: true });
      return { returnValue: PT.SUCCESS, out: { Handle: handle } };
    },
    EnumerateUserAclEntries(ctx, input) {
      const start = input.int('StartIndex') ?? 1;
      if (start < 1) return { returnValue: PT.INVALID_INDEX };
      const handles = ctx.nvram.users.map((u) => u.handle);
      const page = handles.slice(start - 1, start - 1 + 50);
      return { returnValue: PT.SUCCESS, out: { TotalCount: handles.length, HandlesCount: page.length, Handles: page } };
    },
    GetUserAclEntryEx(ctx, input) {
      const u = findUser(ctx, input);
      if (!u) return notFound;
      return {
        returnValue: PT.SUCCESS,
        out: {
          DigestUsername: u.username ?? undefined,
          KerberosUserSid: u.kerberosSid ?? undefined,
          AccessPermission: u.accessPermission,
          Realms: u.realms,
        },
      };
    },
    UpdateUserAclEntryEx(ctx, input) {
      const u = findUser(ctx, input);
      if (!u) return notFound;
      const entry = parseUserEntry(ctx, input);
      if (typeof entry === 'number') return { returnValue: entry };
      if (duplicate(ctx, entry, u.handle)) return { returnValue: PT.DUPLICATE };
      if (!aclHasRoomFor(ctx.nvram.users, entry.kerberosSid !== null, u.handle)) {
        return { returnValue: PT.MAX_LIMIT_REACHED };
      }
      Object.assign(u, entry);
      return { returnValue: PT.SUCCESS };
    },
    RemoveUserAclEntry(ctx, input) {
      const u = findUser(ctx, input);
      if (!u) return notFound;
      ctx.nvram.users = ctx.nvram.users.filter((x) => x !== u);
      return { returnValue: PT.SUCCESS };
    },
    SetAclEnabledState(ctx, input) {
      const u = findUser(ctx, input);
      const enabled = input.bool('Enabled');
      if (!u) return notFound;
      if (enabled === undefined) return { returnValue: PT.INVALID_PARAMETER };
      u.enabled = enabled;
      return { returnValue: PT.SUCCESS };
    },
    GetAclEnabledState(ctx, input) {
      const u = findUser(ctx, input);
      if (!u) return notFound;
      return { returnValue: PT.SUCCESS, out: { Enabled: u.enabled } };
    },
  },
};

const KRB_ID = 'Intel (r) AMT: Kerberos Settings';

export const kerberosSettingData: WsmanClass = {
  name: 'AMT_KerberosSettingData',
  keys: ['InstanceID'],
  realm: 3,
  writeOnly: ['MasterKey', 'Passphrase'],
  instances({ nvram }) {
    const k = nvram.kerberos;
    return [
      {
        ConfiguredEncryptionAlgorithms: k.configuredEncryptionAlgorithms,
        ElementName: 'Intel (r) AMT: Kerberos Settings',
        EncryptionAlgorithm: k.encryptionAlgorithm,
        InstanceID: KRB_ID,
        IterationCount: k.iterationCount,
        KeyVersion: k.keyVersion,
        KrbEnabled: k.krbEnabled,
        MaximumClockTolerance: k.maximumClockTolerance,
        RealmName: k.realmName,
        Salt: k.salt || undefined,
        SupportedEncryptionAlgorithms: [0, 1, 2],
      },
    ];
  },
  put({ nvram }, _target, input) {
    const k = nvram.kerberos;
    const enabled = bool(input.text('KrbEnabled'), k.krbEnabled);
    const realm = input.text('RealmName') ?? k.realmName;
    const masterKey = input.text('MasterKey');
    const passphrase = input.text('Passphrase');
    if (masterKey !== undefined && decodeBase64(masterKey)?.length !== 16) throw faults.invalidRepresentation();
    // Kerberos cannot be enabled without a realm and a key (RC4 master key or AES passphrase).
    if (enabled && (!realm || (!(masterKey ?? k.masterKey) && !(passphrase ?? k.passphrase)))) {
      throw faults.invalidRepresentation('MissingValues');
    }
    k.krbEnabled = enabled;
    k.realmName = realm;
    k.keyVersion = int(input.text('KeyVersion'), k.keyVersion);
    k.encryptionAlgorithm = int(input.text('EncryptionAlgorithm'), k.encryptionAlgorithm, 0, 2);
    k.maximumClockTolerance = int(input.text('MaximumClockTolerance'), k.maximumClockTolerance, 1, 5);
    k.iterationCount = int(input.text('IterationCount'), k.iterationCount, 1);
    k.salt = input.text('Salt') ?? k.salt;
    const configured = input.texts('ConfiguredEncryptionAlgorithms');
    if (configured.length > 0) k.configuredEncryptionAlgorithms = configured.map((c) => int(c, 0, 0, 2));
    if (masterKey !== undefined) k.masterKey = masterKey;
    if (passphrase !== undefined) k.passphrase = passphrase;
  },
  methods: {
    GetCredentialCacheState({ nvram }) {
      return { returnValue: PT.SUCCESS, out: { Enabled: nvram.kerberos.credentialCacheEnabled } };
    },
    SetCredentialCacheState({ nvram }, input) {
      const enable = input.bool('Enable');
      if (enable === undefined) return { returnValue: PT.INVALID_PARAMETER };
      nvram.kerberos.credentialCacheEnabled = enable;
      return { returnValue: PT.SUCCESS };
    },
  },
};
