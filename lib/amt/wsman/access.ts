import { digestHa1 } from '../digest';
import { AmtLimitError } from '../errors';
import type { AmtCredential } from '../http-client';
import type { WsmanClient } from './client';
import { integerList, optionalInteger, optionalString, requiredInteger } from './properties';

/**
 * The admin account and user ACL entries of AMT_AuthorizationService (protocol reference §4.4,
 * §4.5). Digest passwords travel as Base64 of the raw MD5(user:realm:password), never in clear.
 */

/** AccessPermission of an ACL entry. */
export const ACCESS_PERMISSION = { localOnly: 0, networkOnly: 1, localAndNetwork: 2 } as const;

/** Realm ids for ACL entries (RealmValues in wsman-messages, RealmNames in MeshCentral). */
export const REALMS = {
  redirection: 2,
  ptAdministration: 3,
  hardwareAsset: 4,
  remoteControl: 5,
  storage: 6,
  eventManager: 7,
  storageAdmin: 8,
  agentPresenceLocal: 9,
  agentPresenceRemote: 10,
  circuitBreaker: 11,
  networkTime: 12,
  generalInfo: 13,
  firmwareUpdate: 14,
  eit: 15,
  localUn: 16,
  endpointAccessControl: 17,
  endpointAccessControlAdmin: 18,
  eventLogReader: 19,
  auditLog: 20,
  acl: 21,
  dt: 23,
  localSystem: 24,
} as const;

/**
 * More user ACL entries than any firmware holds (AMT keeps a few dozen). A larger TotalCount is a
 * broken or hostile device — paging through 10⁹ "entries" 50 at a time would never end — and
 * listing stops there with ENUMERATION_LIMIT_EXCEEDED.
 */
export const MAX_USER_ACL_ENTRIES = 256;

/** Refuses an EnumerateUserAclEntries TotalCount beyond MAX_USER_ACL_ENTRIES. */
export function checkUserAclTotal(total: number, target: string): void {
  if (total > MAX_USER_ACL_ENTRIES) {
    throw new AmtLimitError(
      'ENUMERATION_LIMIT_EXCEEDED',
      `${target}: EnumerateUserAclEntries reports ${total} entries, more than the ${MAX_USER_ACL_ENTRIES} any firmware holds`,
    );
  }
}

export interface UserAclEntry {
  handle: number;
  digestUsername: string | undefined;
  /** Base64 of the binary SID, for Kerberos entries. */
  kerberosUserSid: string | undefined;
  accessPermission: number | undefined;
  realms: number[];
}

interface AclGrant {
  accessPermission: number;
  realms: readonly number[];
}

/** Base64(raw MD5(user:realm:password)) — AMT's DigestPassword (SDK, RPS, rpc-go). */
export function digestPassword(username: string, realm: string, password: string): string {
  return digestHa1(username, realm, password).toString('base64');
}

export class AccessControlOperations {
  constructor(private readonly client: WsmanClient) {}

  private realm(realm: string | undefined): string {
    const known = realm ?? this.client.transport.digestRealm;
    if (!known) throw new TypeError('the Digest realm is unknown before the first request; pass it explicitly');
    return known;
  }

  /**
   * OOB8.4, one-shot: sets the admin account's password. On success the session logs in with the
   * new credential from the next request on (the old ones remain as fallback).
   */
  async setAdminPassword(credential: AmtCredential, realm?: string): Promise<void> {
    await this.client.invoke('AMT_AuthorizationService', 'SetAdminAclEntryEx', {
      Username: credential.username,
      DigestPassword: digestPassword(credential.username, this.realm(realm), credential.password),
    });
    this.client.transport.preferCredential(credential);
  }

  /** All user ACL handles, paging EnumerateUserAclEntries by StartIndex (AMT returns ≤ 50 per call). */
  async listUserAclHandles(): Promise<number[]> {
    const handles: number[] = [];
    for (let start = 1; ;) {
      const output = await this.client.invoke('AMT_AuthorizationService', 'EnumerateUserAclEntries', {
        StartIndex: start,
      });
      const total = requiredInteger(output, 'TotalCount');
      checkUserAclTotal(total, this.client.transport.target);
      const page = integerList(output, 'Handles');
      handles.push(...page);
      if (page.length === 0 || handles.length >= total) return handles;
      start += page.length;
    }
  }

  async getUserAclEntry(handle: number): Promise<UserAclEntry> {
    const output = await this.client.invoke('AMT_AuthorizationService', 'GetUserAclEntryEx', { Handle: handle });
    return {
      handle,
      digestUsername: optionalString(output, 'DigestUsername'),
      kerberosUserSid: optionalString(output, 'KerberosUserSid'),
      accessPermission: optionalInteger(output, 'AccessPermission'),
      realms: integerList(output, 'Realms'),
    };
  }

  async listUserAclEntries(): Promise<UserAclEntry[]> {
    const entries: UserAclEntry[] = [];
    for (const handle of await this.listUserAclHandles()) entries.push(await this.getUserAclEntry(handle));
    return entries;
  }

  /** Adds a Digest user; returns its handle. */
  async addDigestUser(user: { username: string; password: string; realm?: string } & AclGrant): Promise<number> {
    const output = await this.client.invoke('AMT_AuthorizationService', 'AddUserAclEntryEx', {
      DigestUsername: user.username,
      DigestPassword: digestPassword(user.username, this.realm(user.realm), user.password),
      AccessPermission: user.accessPermission,
      Realms: user.realms,
    });
    return requiredInteger(output, 'Handle');
  }

  /** Adds a Kerberos (Active Directory) user by binary SID (OOB9.1 with SIDs from the directory). */
  async addKerberosUser(user: { sid: Buffer } & AclGrant): Promise<number> {
    const output = await this.client.invoke('AMT_AuthorizationService', 'AddUserAclEntryEx', {
      KerberosUserSid: user.sid.toString('base64'),
      AccessPermission: user.accessPermission,
      Realms: user.realms,
    });
    return requiredInteger(output, 'Handle');
  }

  async removeUserAclEntry(handle: number): Promise<void> {
    await this.client.invoke('AMT_AuthorizationService', 'RemoveUserAclEntry', { Handle: handle });
  }

  /** OOB9.1 first half: removes every user ACL entry (the admin account is not one). Idempotent. */
  async clearUserAcl(): Promise<number> {
    const handles = await this.listUserAclHandles();
    for (const handle of handles) await this.removeUserAclEntry(handle);
    return handles.length;
  }
}
