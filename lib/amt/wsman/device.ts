import { deviceUuidFromSmbios, type DeviceUuid } from '../../device-uuid';
import { AmtProtocolError } from '../errors';
import type { WsmanClient } from './client';
import type { WsmanInstance } from './envelope';
import {
  integerList,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredInteger,
  requiredString,
} from './properties';

/**
 * Discovery, provisioning state, clock, host name, commit/unprovision — the WS-Management calls
 * of stage one and removal (protocol reference §3, §4.1, §4.6, §4.7, §4.21). Power control is in
 * ../power.ts.
 */

export type ProvisioningState = 'pre' | 'in' | 'post';
const PROVISIONING_STATES: readonly ProvisioningState[] = ['pre', 'in', 'post'];

export function provisioningStateOf(value: number, source: string): ProvisioningState {
  const state = PROVISIONING_STATES[value];
  if (!state) throw new AmtProtocolError(`${source}: unknown ProvisioningState ${value}`);
  return state;
}

export interface GeneralSettings {
  digestRealm: string;
  hostName: string;
  domainName: string;
  pingResponseEnabled: boolean | undefined;
  rmcpPingResponseEnabled: boolean | undefined;
  sharedFqdn: boolean | undefined;
  amtNetworkEnabled: number | undefined;
  instance: WsmanInstance;
}

export interface SetupAndConfiguration {
  provisioningState: ProvisioningState;
  /** 1 = admin control mode (enterprise), 4 = client control mode; 2/3 on legacy firmware. */
  provisioningMode: number | undefined;
  passwordModel: number | undefined;
  zeroTouchConfigurationEnabled: boolean | undefined;
  instance: WsmanInstance;
}

export interface HostBasedSetup {
  /** 0 not provisioned, 1 client control mode, 2 admin control mode. */
  currentControlMode: number;
  allowedControlModes: number[];
  certChainStatus: number | undefined;
}

export type HashAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512';

export interface ProvisioningCertificateHash {
  instanceId: string;
  /** From the hash length: type 3 is SHA-384 on modern firmware but SHA-512 on AMT 2.0–5.x. */
  algorithm: HashAlgorithm;
  hashType: number;
  /** Lower-case hex. */
  hash: string;
  isDefault: boolean | undefined;
  enabled: boolean | undefined;
  description: string | undefined;
}

const HASH_BY_LENGTH: Readonly<Record<number, HashAlgorithm>> = {
  16: 'md5',
  20: 'sha1',
  32: 'sha256',
  48: 'sha384',
  64: 'sha512',
};

/** HashData arrives as hex on the fixtures seen, base64 elsewhere; accept both. */
function hashBytes(text: string): Buffer {
  const trimmed = text.trim();
  return /^(?:[0-9a-fA-F]{2})+$/.test(trimmed) && HASH_BY_LENGTH[trimmed.length / 2]
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'base64');
}

/** Seconds since 1970 as AMT counts them (uint32). */
const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

export class DeviceOperations {
  constructor(private readonly client: WsmanClient) {}

  async getGeneralSettings(): Promise<GeneralSettings> {
    const instance = await this.client.get('AMT_GeneralSettings');
    return {
      digestRealm: requiredString(instance, 'DigestRealm'),
      hostName: optionalString(instance, 'HostName') ?? '',
      domainName: optionalString(instance, 'DomainName') ?? '',
      pingResponseEnabled: optionalBoolean(instance, 'PingResponseEnabled'),
      rmcpPingResponseEnabled: optionalBoolean(instance, 'RmcpPingResponseEnabled'),
      sharedFqdn: optionalBoolean(instance, 'SharedFQDN'),
      amtNetworkEnabled: optionalInteger(instance, 'AMTNetworkEnabled'),
      instance,
    };
  }

  /** OOB8.2 (and ping, OOB9.2): reads AMT_GeneralSettings and puts it back with the new values. */
  async setGeneralSettings(changes: {
    hostName?: string;
    domainName?: string;
    pingResponseEnabled?: boolean;
    rmcpPingResponseEnabled?: boolean;
    sharedFqdn?: boolean;
  }): Promise<void> {
    const { instance } = await this.getGeneralSettings();
    await this.client.put(instance, {
      HostName: changes.hostName,
      DomainName: changes.domainName,
      PingResponseEnabled: changes.pingResponseEnabled,
      RmcpPingResponseEnabled: changes.rmcpPingResponseEnabled,
      SharedFQDN: changes.sharedFqdn,
    });
  }

  /** The state to read after an uncertain CommitChanges / Unprovision. */
  async getSetupAndConfiguration(): Promise<SetupAndConfiguration> {
    const instance = await this.client.get('AMT_SetupAndConfigurationService');
    return {
      provisioningState: provisioningStateOf(
        requiredInteger(instance, 'ProvisioningState'),
        'AMT_SetupAndConfigurationService',
      ),
      provisioningMode: optionalInteger(instance, 'ProvisioningMode'),
      passwordModel: optionalInteger(instance, 'PasswordModel'),
      zeroTouchConfigurationEnabled: optionalBoolean(instance, 'ZeroTouchConfigurationEnabled'),
      instance,
    };
  }

  /**
   * IB5: the one-time password the in-band agent stored in the firmware (ProvisioningServerOTP,
   * readable during in-provisioning), raw bytes; undefined when the firmware holds none.
   */
  async getProvisioningServerOtp(): Promise<Buffer | undefined> {
    const otp = optionalString(await this.client.get('AMT_SetupAndConfigurationService'), 'ProvisioningServerOTP');
    return otp ? Buffer.from(otp, 'base64') : undefined;
  }

  /**
   * IB5: presents the one-time password back to the firmware (a Put of ProvisioningServerOTP), which
   * refuses CommitChanges until the provisioning server has shown it knows the OTP. Idempotent.
   */
  async presentProvisioningServerOtp(otp: Buffer): Promise<void> {
    const instance = await this.client.get('AMT_SetupAndConfigurationService');
    await this.client.put(instance, { ProvisioningServerOTP: otp.toString('base64') });
  }

  async getHostBasedSetup(): Promise<HostBasedSetup> {
    const instance = await this.client.get('IPS_HostBasedSetupService');
    return {
      currentControlMode: requiredInteger(instance, 'CurrentControlMode'),
      allowedControlModes: integerList(instance, 'AllowedControlModes'),
      certChainStatus: optionalInteger(instance, 'CertChainStatus'),
    };
  }

  /** The AMT firmware version (`CIM_SoftwareIdentity` with InstanceID `AMT`), e.g. `11.8.50`. */
  async getAmtVersion(): Promise<string> {
    const identities = await this.client.enumerate('CIM_SoftwareIdentity');
    const amt = identities.find((i) => optionalString(i, 'InstanceID') === 'AMT');
    const version = amt && optionalString(amt, 'VersionString');
    if (!version) throw new AmtProtocolError('CIM_SoftwareIdentity has no AMT VersionString');
    return version;
  }

  /** Root-certificate hashes in firmware, to check the provisioning chain's root against (OOB3/OOB4). */
  async listProvisioningCertificateHashes(): Promise<ProvisioningCertificateHash[]> {
    const instances = await this.client.enumerate('AMT_ProvisioningCertificateHash');
    return instances.map((instance) => {
      const bytes = hashBytes(requiredString(instance, 'HashData'));
      const algorithm = HASH_BY_LENGTH[bytes.length];
      if (!algorithm) throw new AmtProtocolError(`AMT_ProvisioningCertificateHash of ${bytes.length} bytes`);
      return {
        instanceId: requiredString(instance, 'InstanceID'),
        algorithm,
        hashType: requiredInteger(instance, 'HashType'),
        hash: bytes.toString('hex'),
        isDefault: optionalBoolean(instance, 'IsDefault'),
        enabled: optionalBoolean(instance, 'Enabled'),
        description: optionalString(instance, 'Description'),
      };
    });
  }

  /** The device clock (GetLowAccuracyTimeSynch Ta0). */
  async getClock(): Promise<Date> {
    const output = await this.client.invoke('AMT_TimeSynchronizationService', 'GetLowAccuracyTimeSynch');
    return new Date(requiredInteger(output, 'Ta0') * 1000);
  }

  /** OOB8.1: sets the device clock to `now` (Tm1 = Tm2 = now, as RPS and MeshCentral do). */
  async synchronizeClock(now: () => Date = () => new Date()): Promise<{ deviceTimeBefore: Date; setTo: Date }> {
    const deviceTimeBefore = await this.getClock();
    const setTo = now();
    const seconds = epochSeconds(setTo);
    await this.client.invoke('AMT_TimeSynchronizationService', 'SetHighAccuracyTimeSynch', {
      Ta0: epochSeconds(deviceTimeBefore),
      Tm1: seconds,
      Tm2: seconds,
    });
    return { deviceTimeBefore, setTo };
  }

  /** One-shot: after an `unknown` outcome read getSetupAndConfiguration() before resending. */
  async commitChanges(): Promise<void> {
    await this.client.invoke('AMT_SetupAndConfigurationService', 'CommitChanges');
  }

  /**
   * The platform UUID the firmware holds (AMT_SetupAndConfigurationService.GetUuid, 16 bytes in
   * SMBIOS order, base64): what a run checks the device it reached against (issue 9).
   */
  async getUuid(): Promise<DeviceUuid> {
    const output = await this.client.invoke('AMT_SetupAndConfigurationService', 'GetUuid');
    const bytes = Buffer.from(requiredString(output, 'UUID'), 'base64');
    if (bytes.length !== 16) {
      throw new AmtProtocolError(`AMT_SetupAndConfigurationService.GetUuid returned ${bytes.length} bytes, not 16`);
    }
    return deviceUuidFromSmbios(bytes);
  }

  /** One-shot, full removal (DEP1 b); mode 1 = admin control mode, as every modern client sends. */
  async unprovision(provisioningMode = 1): Promise<void> {
    await this.client.invoke('AMT_SetupAndConfigurationService', 'Unprovision', { ProvisioningMode: provisioningMode });
  }

  /** One-shot, removal keeping identification (DEP1 a). */
  async partialUnprovision(): Promise<void> {
    await this.client.invoke('AMT_SetupAndConfigurationService', 'PartialUnprovision');
  }

  /** One-shot (OOB8.5). The password must meet the MEBx strength rules (8–32 chars, mixed classes). */
  async setMebxPassword(password: string): Promise<void> {
    await this.client.invoke('AMT_SetupAndConfigurationService', 'SetMEBxPassword', { Password: password });
  }
}
