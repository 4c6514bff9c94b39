import { AmtError } from '../errors';
import type { WsmanClient } from './client';
import { embedded, ref, type WsmanInstance } from './envelope';
import {
  integerList,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredString,
  type PutChanges,
} from './properties';

/**
 * Wired and wireless network settings and 802.1X (OOB9.4; protocol reference §4.8, §4.17, §4.18).
 */

export interface EthernetPortSettings {
  instanceId: string;
  /** Instance 0 is wired, 1 wireless. */
  macAddress: string | undefined;
  dhcpEnabled: boolean | undefined;
  ipSyncEnabled: boolean | undefined;
  sharedStaticIp: boolean | undefined;
  ipAddress: string | undefined;
  linkIsUp: boolean | undefined;
  instance: WsmanInstance;
}

/** CIM_WiFiEndpointCapabilities: the AuthenticationMethod and EncryptionMethod values the Wi-Fi module supports. */
export interface WirelessCapabilities {
  authenticationMethods: number[];
  encryptionMethods: number[];
}

export interface WiFiProfileSummary {
  instanceId: string;
  name: string | undefined;
  ssid: string | undefined;
  priority: number | undefined;
  authenticationMethod: number | undefined;
  encryptionMethod: number | undefined;
}

/** IPS_IEEE8021xSettings as read: what a Put of the wired settings left in the firmware. */
export interface Wired8021xSettings {
  /** 2 enabled, 3 disabled, 6 enabled without authentication. */
  enabled: number | undefined;
  authenticationProtocol: number | undefined;
  availableInS0: boolean | undefined;
  pxeTimeout: number | undefined;
  serverCertificateName: string | undefined;
  serverCertificateNameComparison: number | undefined;
  username: string | undefined;
  domain: string | undefined;
  roamingIdentity: string | undefined;
}

/** CIM_IEEE8021xSettings passed inside AddWiFiSettings. */
export interface Ieee8021xProfile {
  name: string;
  /** 0 EAP-TLS, 1 EAP-TTLS/MSCHAPv2, 2 PEAPv0/EAP-MSCHAPv2, … */
  authenticationProtocol: number;
  roamingIdentity?: string;
  serverCertificateName?: string;
  serverCertificateNameComparison?: number;
  username?: string;
  password?: string;
  domain?: string;
}

export interface WiFiProfile {
  /** Profile name; also forms the InstanceID `Intel(r) AMT:WiFi Endpoint Settings <name>`. */
  name: string;
  ssid: string;
  priority: number;
  /** 4 WPA-PSK, 5 WPA-802.1X, 6 WPA2-PSK, 7 WPA2-802.1X, … */
  authenticationMethod: number;
  /** 3 TKIP, 4 CCMP, … */
  encryptionMethod: number;
  pskPassPhrase?: string;
  ieee8021x?: Ieee8021xProfile;
  /** InstanceIDs of AMT_PublicKeyCertificate entries for 802.1X. */
  clientCertificateInstanceId?: string;
  caCertificateInstanceId?: string;
}

/** CIM_WiFiPort.RequestStateChange: enabled in S0 and Sx/AC. */
const WIFI_ENABLED_S0_SX_AC = 32769;

const certificateRef = (instanceId: string | undefined) =>
  instanceId === undefined ? undefined : ref('AMT_PublicKeyCertificate', { InstanceID: instanceId }, 'default');

export class NetworkOperations {
  constructor(private readonly client: WsmanClient) {}

  async listEthernetPorts(): Promise<EthernetPortSettings[]> {
    return (await this.client.enumerate('AMT_EthernetPortSettings')).map((instance) => ({
      instanceId: requiredString(instance, 'InstanceID'),
      macAddress: optionalString(instance, 'MACAddress'),
      dhcpEnabled: optionalBoolean(instance, 'DHCPEnabled'),
      ipSyncEnabled: optionalBoolean(instance, 'IpSyncEnabled'),
      sharedStaticIp: optionalBoolean(instance, 'SharedStaticIp'),
      ipAddress: optionalString(instance, 'IPAddress'),
      linkIsUp: optionalBoolean(instance, 'LinkIsUp'),
      instance,
    }));
  }

  /** Puts one port's settings back with changes (REMOVE drops a property, e.g. the IP fields for DHCP). */
  async updateEthernetPort(port: EthernetPortSettings, changes: PutChanges): Promise<void> {
    await this.client.put(port.instance, changes);
  }

  /** Wireless capability (OOB9.4 "detect"): a CIM_WiFiPort exists. Devices without Wi-Fi fault on the class. */
  async hasWirelessPort(): Promise<boolean> {
    try {
      return (await this.client.enumerate('CIM_WiFiPort')).length > 0;
    } catch (err) {
      if (err instanceof AmtError && err.code === 'WSMAN_DESTINATION_UNREACHABLE') return false;
      throw err;
    }
  }

  /**
   * What the Wi-Fi module supports (CIM_WiFiEndpointCapabilities, DMTF Wireless LAN profile);
   * undefined when the firmware does not offer the class, so nothing is known in advance.
   */
  async wirelessCapabilities(): Promise<WirelessCapabilities | undefined> {
    let instances: WsmanInstance[];
    try {
      instances = await this.client.enumerate('CIM_WiFiEndpointCapabilities');
    } catch (err) {
      if (err instanceof AmtError && err.code === 'WSMAN_DESTINATION_UNREACHABLE') return undefined;
      throw err;
    }
    const [instance] = instances;
    if (!instance) return undefined;
    return {
      authenticationMethods: integerList(instance, 'SupportedAuthenticationMethods'),
      encryptionMethods: integerList(instance, 'SupportedEncryptionMethods'),
    };
  }

  /** Whether CIM_WiFiPort is enabled in S0 and Sx/AC, as enableWirelessPort leaves it. */
  async wirelessPortEnabled(): Promise<boolean> {
    const [port] = await this.client.enumerate('CIM_WiFiPort');
    return port !== undefined && optionalInteger(port, 'EnabledState') === WIFI_ENABLED_S0_SX_AC;
  }

  async enableWirelessPort(): Promise<void> {
    await this.client.invoke('CIM_WiFiPort', 'RequestStateChange', { RequestedState: WIFI_ENABLED_S0_SX_AC });
  }

  async listWiFiProfiles(): Promise<WiFiProfileSummary[]> {
    return (await this.client.enumerate('CIM_WiFiEndpointSettings')).map((instance) => ({
      instanceId: requiredString(instance, 'InstanceID'),
      name: optionalString(instance, 'ElementName'),
      ssid: optionalString(instance, 'SSID'),
      priority: optionalInteger(instance, 'Priority'),
      authenticationMethod: optionalInteger(instance, 'AuthenticationMethod'),
      encryptionMethod: optionalInteger(instance, 'EncryptionMethod'),
    }));
  }

  async deleteWiFiProfile(instanceId: string): Promise<void> {
    await this.client.delete('CIM_WiFiEndpointSettings', { InstanceID: instanceId });
  }

  /** AddWiFiSettings with the embedded settings in the element order RPS sends to real AMT. */
  async addWiFiProfile(profile: WiFiProfile): Promise<void> {
    const ieee = profile.ieee8021x;
    await this.client.invoke('AMT_WiFiPortConfigurationService', 'AddWiFiSettings', {
      WiFiEndpoint: ref('CIM_WiFiEndpoint', { Name: 'WiFi Endpoint 0' }),
      WiFiEndpointSettingsInput: embedded('CIM_WiFiEndpointSettings', {
        ElementName: profile.name,
        InstanceID: `Intel(r) AMT:WiFi Endpoint Settings ${profile.name}`,
        AuthenticationMethod: profile.authenticationMethod,
        EncryptionMethod: profile.encryptionMethod,
        SSID: profile.ssid,
        Priority: profile.priority,
        PSKPassPhrase: profile.pskPassPhrase,
      }),
      IEEE8021xSettingsInput: ieee
        ? embedded('CIM_IEEE8021xSettings', {
            ElementName: ieee.name,
            InstanceID: `Intel(r) AMT: 8021X Settings ${ieee.name}`,
            AuthenticationProtocol: ieee.authenticationProtocol,
            RoamingIdentity: ieee.roamingIdentity,
            ServerCertificateName: ieee.serverCertificateName,
            ServerCertificateNameComparison: ieee.serverCertificateNameComparison,
            Username: ieee.username,
            Password: ieee.password,
            Domain: ieee.domain,
          })
        : undefined,
      ClientCredential: certificateRef(profile.clientCertificateInstanceId),
      CACredential: certificateRef(profile.caCertificateInstanceId),
    });
  }

  /** The wired 802.1X settings (IPS_IEEE8021xSettings), as read. */
  async getWired8021x(): Promise<WsmanInstance> {
    return this.client.get('IPS_IEEE8021xSettings');
  }

  /** The wired 802.1X settings that can be read (the EAP password is write-only). */
  async readWired8021x(): Promise<Wired8021xSettings> {
    const instance = await this.getWired8021x();
    return {
      enabled: optionalInteger(instance, 'Enabled'),
      authenticationProtocol: optionalInteger(instance, 'AuthenticationProtocol'),
      availableInS0: optionalBoolean(instance, 'AvailableInS0'),
      pxeTimeout: optionalInteger(instance, 'PxeTimeout'),
      serverCertificateName: optionalString(instance, 'ServerCertificateName'),
      serverCertificateNameComparison: optionalInteger(instance, 'ServerCertificateNameComparison'),
      username: optionalString(instance, 'Username'),
      domain: optionalString(instance, 'Domain'),
      roamingIdentity: optionalString(instance, 'RoamingIdentity'),
    };
  }

  /** Puts the wired 802.1X settings back with changes (Enabled 2/3/6, AuthenticationProtocol, …). */
  async updateWired8021x(changes: PutChanges): Promise<void> {
    await this.client.put(await this.getWired8021x(), changes);
  }

  /** Associates the RADIUS server's issuer and the client certificate with wired 802.1X. */
  async setWired8021xCertificates(serverIssuerInstanceId: string, clientInstanceId: string): Promise<void> {
    await this.client.invoke('IPS_IEEE8021xSettings', 'SetCertificates', {
      ServerCertificateIssuer: certificateRef(serverIssuerInstanceId),
      ClientCertificate: certificateRef(clientInstanceId),
    });
  }
}
