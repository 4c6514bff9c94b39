import type { WsmanClient } from './client';
import { parseEpr, type WsmanInstance } from './envelope';
import { optionalBoolean, optionalInteger, optionalString, requiredInteger, requiredString } from './properties';

/**
 * Stage-two features (OOB9.2–9.3): web UI, serial-over-LAN / IDE redirection, KVM, user consent,
 * power scheme and Kerberos (protocol reference §4.7, §4.12–§4.16, §4.19).
 */

const ENABLE = 2;
const DISABLE = 3;
/** CIM_KVMRedirectionSAP.EnabledState: enabled, but offline while the redirection listener is off. */
const KVM_ENABLED_OFFLINE = 6;
/** AMT_RedirectionService.EnabledState: 32768 none, +1 IDER, +2 SOL. */
const REDIRECTION_BASE = 32768;

export interface RedirectionState {
  sol: boolean;
  ider: boolean;
  listenerEnabled: boolean | undefined;
}

export interface PowerScheme {
  instanceId: string;
  /** Base64 of the 16 GUID bytes (the package list in protocol reference §4.16). */
  schemeGuid: string | undefined;
  description: string | undefined;
}

export interface KerberosSettings {
  /** The Active Directory domain, upper case. */
  realmName: string;
  /** kvno of the AMT computer account's key. */
  keyVersion: number;
  /** 16-byte key: for RC4-HMAC (encryptionAlgorithm 0) the NT hash of the account password. Write-only. */
  masterKey: Buffer;
  encryptionAlgorithm?: number;
  /** Minutes of clock skew tolerated (≤ 5). */
  maximumClockTolerance?: number;
  enabled?: boolean;
}

export class FeatureOperations {
  constructor(private readonly client: WsmanClient) {}

  /** Whether the web UI is on (AMT_WebUIService.EnabledState 2). */
  async getWebUi(): Promise<boolean> {
    return requiredInteger(await this.client.get('AMT_WebUIService'), 'EnabledState') === ENABLE;
  }

  async setWebUi(enabled: boolean): Promise<void> {
    await this.client.invoke('AMT_WebUIService', 'RequestStateChange', { RequestedState: enabled ? ENABLE : DISABLE });
  }

  async getRedirection(): Promise<RedirectionState & { instance: WsmanInstance }> {
    const instance = await this.client.get('AMT_RedirectionService');
    const bits = requiredInteger(instance, 'EnabledState') - REDIRECTION_BASE;
    return {
      ider: bits >= 0 && (bits & 1) !== 0,
      sol: bits >= 0 && (bits & 2) !== 0,
      listenerEnabled: optionalBoolean(instance, 'ListenerEnabled'),
      instance,
    };
  }

  /** SOL and IDER as configured, then the 16994/16995 listener on when either is on (RPS order). */
  async setRedirection(features: { sol: boolean; ider: boolean }): Promise<void> {
    await this.client.invoke('AMT_RedirectionService', 'RequestStateChange', {
      RequestedState: REDIRECTION_BASE + (features.ider ? 1 : 0) + (features.sol ? 2 : 0),
    });
    const { instance } = await this.getRedirection();
    await this.client.put(instance, { ListenerEnabled: features.sol || features.ider });
  }

  async setKvm(enabled: boolean): Promise<void> {
    await this.client.invoke('CIM_KVMRedirectionSAP', 'RequestStateChange', {
      RequestedState: enabled ? ENABLE : DISABLE,
    });
  }

  /** Whether KVM is on: EnabledState 2, or 6 (enabled but offline while the redirection listener is off). */
  async getKvm(): Promise<boolean> {
    const state = requiredInteger(await this.client.get('CIM_KVMRedirectionSAP'), 'EnabledState');
    return state === ENABLE || state === KVM_ENABLED_OFFLINE;
  }

  /** IPS_OptInService.OptInRequired: 0 none, 1 KVM only, 4294967295 all redirection and boot. */
  async getUserConsent(): Promise<{ optInRequired: number; canModifyOptInPolicy: boolean | undefined }> {
    const instance = await this.client.get('IPS_OptInService');
    return {
      optInRequired: requiredInteger(instance, 'OptInRequired'),
      canModifyOptInPolicy: optionalBoolean(instance, 'CanModifyOptInPolicy'),
    };
  }

  async setUserConsent(optInRequired: number): Promise<void> {
    const instance = await this.client.get('IPS_OptInService');
    await this.client.put(instance, { OptInRequired: optInRequired });
  }

  async listPowerSchemes(): Promise<PowerScheme[]> {
    return (await this.client.enumerate('AMT_SystemPowerScheme')).map((instance) => ({
      instanceId: requiredString(instance, 'InstanceID'),
      schemeGuid: optionalString(instance, 'SchemeGUID'),
      description: optionalString(instance, 'Description'),
    }));
  }

  /** InstanceID of the active scheme: the one CIM_ElementSettingData marks IsCurrent = 1 (§4.16). */
  async currentPowerSchemeId(): Promise<string | undefined> {
    for (const link of await this.client.enumerate('CIM_ElementSettingData')) {
      if (optionalInteger(link, 'IsCurrent') !== 1) continue;
      const scheme = parseEpr(link.properties['SettingData']);
      const id = scheme?.selectors['InstanceID'];
      if (scheme?.resourceUri.endsWith('/AMT_SystemPowerScheme') && typeof id === 'string') return id;
    }
    return undefined;
  }

  /** OOB9.3: makes the scheme current (SetPowerScheme invoked on that instance). */
  async setPowerScheme(instanceId: string): Promise<void> {
    await this.client.invoke('AMT_SystemPowerScheme', 'SetPowerScheme', {}, { selectors: { InstanceID: instanceId } });
  }

  async getKerberos(): Promise<{
    realmName: string | undefined;
    keyVersion: number | undefined;
    enabled: boolean | undefined;
    instance: WsmanInstance;
  }> {
    const instance = await this.client.get('AMT_KerberosSettingData');
    return {
      realmName: optionalString(instance, 'RealmName'),
      keyVersion: optionalInteger(instance, 'KeyVersion'),
      enabled: optionalBoolean(instance, 'KrbEnabled'),
      instance,
    };
  }

  /** OOB9.3: Kerberos with the directory account's key (Put of AMT_KerberosSettingData). */
  async setKerberos(settings: KerberosSettings): Promise<void> {
    if (settings.masterKey.length !== 16) throw new TypeError('the Kerberos master key is 16 bytes');
    const { instance } = await this.getKerberos();
    await this.client.put(instance, {
      RealmName: settings.realmName,
      KeyVersion: settings.keyVersion,
      EncryptionAlgorithm: settings.encryptionAlgorithm ?? 0,
      MasterKey: settings.masterKey.toString('base64'),
      MaximumClockTolerance: settings.maximumClockTolerance,
      KrbEnabled: settings.enabled ?? true,
    });
  }
}
