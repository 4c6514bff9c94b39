import { AmtError, AmtProtocolError } from '../errors';
import type { AmtCredential } from '../http-client';
import { listOf, pathOf, textOf, type XmlObject } from '../xml';
import { checkUserAclTotal } from '../wsman/access';
import { el, type EoiClient, type EoiElement } from './client';

/**
 * The EOI operations stage one, removal and power control need on AMT before 6.0. Operation and
 * parameter names follow the Intel AMT SDK's EOI interfaces as used by public clients (amttool,
 * amtc); docs/amt-client.md lists each request exactly, for the emulator to implement.
 */

/** EOI realm names (SDK `UserAclRealmType`) by the realm ids WS-Management uses. */
export const EOI_REALM_NAMES: Readonly<Record<number, string>> = {
  2: 'RedirectionRealm',
  3: 'PTAdministrationRealm',
  4: 'HardwareAssetRealm',
  5: 'RemoteControlRealm',
  6: 'StorageRealm',
  7: 'EventManagerRealm',
  8: 'StorageAdminRealm',
  9: 'AgentPresenceLocalRealm',
  10: 'AgentPresenceRemoteRealm',
  11: 'CircuitBreakerRealm',
  12: 'NetworkTimeRealm',
  13: 'GeneralInfoRealm',
  14: 'FirmwareUpdateRealm',
  15: 'EITRealm',
  16: 'LocalUN',
  17: 'EndpointAccessControlRealm',
  18: 'EndpointAccessControlAdminRealm',
  19: 'EventLogReaderRealm',
  20: 'AuditLogRealm',
  21: 'ACLRealm',
};

/** RemoteControl Command values (amttool): 16 reset, 17 power up, 18 power down, 19 power cycle. */
export const REMOTE_CONTROL_COMMANDS = { reset: 16, on: 17, off: 18, cycle: 19 } as const;
/** Intel's IANA enterprise number, sent with RemoteControl commands. */
const INTEL_IANA = 343;

const PROVISIONING_STATE_NAMES: Readonly<Record<string, 'pre' | 'in' | 'post'>> = {
  '0': 'pre',
  '1': 'in',
  '2': 'post',
  ProvisioningStatePre: 'pre',
  ProvisioningStateIn: 'in',
  ProvisioningStatePost: 'post',
};

function output(result: XmlObject, name: string, context: string): string {
  const value = textOf(result[name]);
  if (value === undefined) throw new AmtProtocolError(`${context}: no ${name} in the response`);
  return value.trim();
}

function integerOutput(result: XmlObject, name: string, context: string): number {
  const text = output(result, name, context);
  if (!/^\d+$/.test(text)) throw new AmtProtocolError(`${context}: ${name} is not a number`);
  return Number(text);
}

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

export class EoiOperations {
  constructor(private readonly client: EoiClient) {}

  /**
   * The firmware version, e.g. `5.2.1`. GeneralInfo.GetCoreVersion per the protocol reference;
   * amttool asks SecurityAdministration.GetCoreVersion, so a firmware refusing the first gets the second.
   */
  async getCoreVersion(): Promise<string> {
    try {
      return output(await this.client.call('GeneralInfo', 'GetCoreVersion'), 'Version', 'GetCoreVersion');
    } catch (err) {
      if (!(err instanceof AmtError) || err.outcome !== 'rejected') throw err;
      return output(await this.client.call('SecurityAdministration', 'GetCoreVersion'), 'Version', 'GetCoreVersion');
    }
  }

  /** The state to read after an uncertain CommitChanges / Unprovision. */
  async getProvisioningState(): Promise<'pre' | 'in' | 'post'> {
    const result = await this.client.call('GeneralInfo', 'GetProvisioningState');
    const value = output(result, 'ProvisioningState', 'GetProvisioningState');
    const state = PROVISIONING_STATE_NAMES[value];
    if (!state) throw new AmtProtocolError(`GetProvisioningState: unknown state ${value}`);
    return state;
  }

  async getClock(): Promise<Date> {
    const result = await this.client.call('NetworkTime', 'GetLowAccuracyTimeSynch');
    return new Date(integerOutput(result, 'Ta0', 'GetLowAccuracyTimeSynch') * 1000);
  }

  /** OOB8.1 — the same two calls the WS-Management AMT_TimeSynchronizationService inherited. */
  async synchronizeClock(now: () => Date = () => new Date()): Promise<{ deviceTimeBefore: Date; setTo: Date }> {
    const deviceTimeBefore = await this.getClock();
    const setTo = now();
    await this.client.call('NetworkTime', 'SetHighAccuracyTimeSynch', [
      el('Ta0', seconds(deviceTimeBefore)),
      el('Tm1', seconds(setTo)),
      el('Tm2', seconds(setTo)),
    ]);
    return { deviceTimeBefore, setTo };
  }

  async getHostName(): Promise<string> {
    return output(await this.client.call('NetworkAdministration', 'GetHostName'), 'HostName', 'GetHostName');
  }

  async getDomainName(): Promise<string> {
    return output(await this.client.call('NetworkAdministration', 'GetDomainName'), 'DomainName', 'GetDomainName');
  }

  async setHostName(hostName: string): Promise<void> {
    await this.client.call('NetworkAdministration', 'SetHostName', [el('HostName', hostName)]);
  }

  async setDomainName(domainName: string): Promise<void> {
    await this.client.call('NetworkAdministration', 'SetDomainName', [el('DomainName', domainName)]);
  }

  /**
   * OOB8.4, one-shot: the admin account's password. EOI takes it in clear (inside the TLS session
   * of remote configuration). Afterwards the session logs in with it first.
   */
  async setAdminAclEntry(credential: AmtCredential): Promise<void> {
    await this.client.call('SecurityAdministration', 'SetAdminAclEntry', [
      el('Username', credential.username),
      el('Password', credential.password),
    ]);
    this.client.transport.preferCredential(credential);
  }

  /** Adds a Digest user with realms given by WS-Management realm id; returns its handle. */
  async addUserAclEntry(user: { username: string; password: string; realms: readonly number[] }): Promise<number> {
    const realms: EoiElement[] = user.realms.map((id) => {
      const name = EOI_REALM_NAMES[id];
      if (!name) throw new TypeError(`realm ${id} has no EOI name`);
      return el('Realm', name);
    });
    const result = await this.client.call('SecurityAdministration', 'AddUserAclEntry', [
      el('Entry', [el('Username', user.username), el('Password', user.password), el('Realms', realms)]),
    ]);
    return integerOutput(result, 'Handle', 'AddUserAclEntry');
  }

  async listUserAclHandles(): Promise<number[]> {
    const handles: number[] = [];
    for (let start = 1; ;) {
      const result = await this.client.call('SecurityAdministration', 'EnumerateUserAclEntries', [
        el('StartIndex', start),
      ]);
      const page = listOf(pathOf(result, 'Handles', 'Handle')).map((h) => {
        const text = textOf(h)?.trim() ?? '';
        if (!/^\d+$/.test(text)) throw new AmtProtocolError('EnumerateUserAclEntries: handle is not a number');
        return Number(text);
      });
      const total = integerOutput(result, 'TotalCount', 'EnumerateUserAclEntries');
      checkUserAclTotal(total, this.client.transport.target);
      handles.push(...page);
      if (page.length === 0 || handles.length >= total) return handles;
      start += page.length;
    }
  }

  async removeUserAclEntry(handle: number): Promise<void> {
    await this.client.call('SecurityAdministration', 'RemoveUserAclEntry', [el('Handle', handle)]);
  }

  /**
   * OOB8.3: installs the TLS key (base64 PKCS#1 DER) and the certificate chain (base64 DER, leaf
   * first). TLS is switched on with setTlsEnabled and takes effect on CommitChanges.
   */
  async setTlsKeyAndCertificate(privateKeyDer: Buffer, certificateChainDer: readonly Buffer[]): Promise<void> {
    await this.client.call('SecurityAdministration', 'SetTLSKeyAndCertificate', [
      el('PrivateKey', privateKeyDer.toString('base64')),
      el(
        'CertificateChain',
        certificateChainDer.map((der) => el('Certificate', der.toString('base64'))),
      ),
    ]);
  }

  async setTlsEnabled(enabled: boolean): Promise<void> {
    await this.client.call('SecurityAdministration', 'SetTlsEnabled', [el('Enabled', enabled)]);
  }

  /** One-shot (OOB8.6): in-provisioning → post-provisioning. */
  async commitChanges(): Promise<void> {
    await this.client.call('SecurityAdministration', 'CommitChanges');
  }

  /** One-shot, full removal; ProvisioningMode 1 = enterprise. */
  async unprovision(provisioningMode = 1): Promise<void> {
    await this.client.call('SecurityAdministration', 'Unprovision', [el('ProvisioningMode', provisioningMode)]);
  }

  /** ACPI system power state (low nibble: 0 S0 … 5 S5, 7 off). */
  async getSystemPowerState(): Promise<number> {
    const result = await this.client.call('RemoteControl', 'GetSystemPowerState');
    return integerOutput(result, 'SystemPowerState', 'GetSystemPowerState') & 0x0f;
  }

  async remoteControl(action: keyof typeof REMOTE_CONTROL_COMMANDS): Promise<void> {
    await this.client.call('RemoteControl', 'RemoteControl', [
      el('Command', REMOTE_CONTROL_COMMANDS[action]),
      el('IanaOemNumber', INTEL_IANA),
    ]);
  }
}
