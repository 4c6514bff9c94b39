import { versionAtLeast } from '../device/version';
import { faults } from '../wsman/faults';
import type { WsmanClass } from '../wsman/registry';
import type { Props } from '../wsman/writer';
import { PT, RSC, bool, int, service } from './common';

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const DOMAIN_NAME = /^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export const generalSettings: WsmanClass = {
  name: 'AMT_GeneralSettings',
  keys: ['InstanceID'],
  realm: 13,
  instances({ nvram }) {
    const g = nvram.general;
    const props: Props = {
      AMTNetworkEnabled: g.amtNetworkEnabled,
      DDNSPeriodicUpdateInterval: 1440,
      DDNSTTL: 900,
      DDNSUpdateByDHCPServerEnabled: true,
      DDNSUpdateEnabled: g.ddnsUpdateEnabled,
      DHCPv6ConfigurationTimeout: 0,
      DigestRealm: nvram.realm,
      DomainName: g.domainName,
      ElementName: 'Intel(r) AMT: General Settings',
      HostName: g.hostName,
      HostOSFQDN: '',
      IdleWakeTimeout: g.idleWakeTimeout,
      InstanceID: 'Intel(r) AMT: General Settings',
      NetworkInterfaceEnabled: true,
      PingResponseEnabled: g.pingResponseEnabled,
      PowerSource: g.powerSource,
      PreferredAddressFamily: g.preferredAddressFamily,
      PresenceNotificationInterval: 0,
      PrivacyLevel: g.privacyLevel,
      RmcpPingResponseEnabled: g.rmcpPingResponseEnabled,
      SharedFQDN: g.sharedFqdn,
      WsmanOnlyMode: false,
    };
    if (versionAtLeast(nvram.amtVersion, 11)) props.ThunderboltDockEnabled = 0;
    return [props];
  },
  put({ nvram }, _target, input) {
    const g = nvram.general;
    const hostName = input.text('HostName') ?? g.hostName;
    const domainName = input.text('DomainName') ?? g.domainName;
    if ((hostName && !HOST_NAME.test(hostName)) || (domainName && !DOMAIN_NAME.test(domainName))) {
      throw faults.invalidRepresentation();
    }
    g.hostName = hostName;
    g.domainName = domainName;
    g.pingResponseEnabled = bool(input.text('PingResponseEnabled'), g.pingResponseEnabled);
    g.rmcpPingResponseEnabled = bool(input.text('RmcpPingResponseEnabled'), g.rmcpPingResponseEnabled);
    g.sharedFqdn = bool(input.text('SharedFQDN'), g.sharedFqdn);
    g.amtNetworkEnabled = int(input.text('AMTNetworkEnabled'), g.amtNetworkEnabled, 0, 1) as 0 | 1;
    g.ddnsUpdateEnabled = bool(input.text('DDNSUpdateEnabled'), g.ddnsUpdateEnabled);
    g.idleWakeTimeout = int(input.text('IdleWakeTimeout'), g.idleWakeTimeout, 1, 65535);
    g.privacyLevel = int(input.text('PrivacyLevel'), g.privacyLevel, 0, 3);
    g.preferredAddressFamily = int(input.text('PreferredAddressFamily'), g.preferredAddressFamily, 0, 1);
  },
};

export const webUiService: WsmanClass = {
  name: 'AMT_WebUIService',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  realm: 3,
  instances({ nvram }) {
    const state = nvram.general.webUiEnabled ? 2 : 3;
    return [
      service('AMT_WebUIService', 'Intel(r) AMT Web Browser UI Service', {
        EnabledState: state,
        RequestedState: state,
      }),
    ];
  },
  methods: {
    RequestStateChange({ nvram }, input) {
      const requested = input.int('RequestedState');
      if (requested !== 2 && requested !== 3) return { returnValue: RSC.INVALID_PARAMETER };
      nvram.general.webUiEnabled = requested === 2;
      return { returnValue: RSC.COMPLETED };
    },
  },
};

export const softwareIdentity: WsmanClass = {
  name: 'CIM_SoftwareIdentity',
  keys: ['InstanceID'],
  realm: 13,
  instances({ nvram }) {
    const version = nvram.amtVersion;
    const entries: [string, string][] = [
      ['Flash', version],
      ['Netstack', version],
      ['AMTApps', version],
      ['AMT', version],
      ['Sku', nvram.sku],
      ['VendorID', '8086'],
      ['Build Number', nvram.build],
      ['Recovery Version', version],
      ['Recovery Build Num', nvram.build],
      ['Legacy Mode', 'False'],
      ['AMT FW Core Version', version],
    ];
    return entries.map(([id, v]) => ({ InstanceID: id, IsEntity: true, VersionString: v }));
  },
};

export const timeSynchronizationService: WsmanClass = {
  name: 'AMT_TimeSynchronizationService',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  realm: 12,
  instances() {
    return [
      service('AMT_TimeSynchronizationService', 'Intel(r) AMT Time Synchronization Service', {
        EnabledState: 5,
        LocalTimeSyncEnabled: 0,
        TimeSource: 0,
      }),
    ];
  },
  methods: {
    GetLowAccuracyTimeSynch(ctx) {
      return { returnValue: PT.SUCCESS, out: { Ta0: Math.floor(ctx.now().getTime() / 1000) } };
    },
    SetHighAccuracyTimeSynch(ctx, input) {
      const ta0 = input.int('Ta0');
      const tm1 = input.int('Tm1');
      const tm2 = input.int('Tm2');
      if (ta0 === undefined || tm1 === undefined || tm2 === undefined) return { returnValue: PT.INVALID_PARAMETER };
      // AMT refuses times before 2004 (PT_STATUS_INVALID_TIME).
      if (tm1 < 1072915200 || tm2 < 1072915200) return { returnValue: PT.INVALID_TIME };
      // The console's clock at receipt (Tm2) becomes AMT's clock: store it as an offset from host time.
      ctx.nvram.clockOffsetSeconds =
        tm2 - Math.floor((ctx.now().getTime() - ctx.nvram.clockOffsetSeconds * 1000) / 1000);
      return { returnValue: PT.SUCCESS };
    },
  },
};

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const ethernetInstanceId = (n: number) => `Intel(r) AMT Ethernet Port Settings ${n}`;

export const ethernetPortSettings: WsmanClass = {
  name: 'AMT_EthernetPortSettings',
  keys: ['InstanceID'],
  realm: 3,
  instances({ nvram }) {
    const modern = versionAtLeast(nvram.amtVersion, 15);
    return nvram.ethernet
      .filter((e) => e.instance === 0 || nvram.network.wireless)
      .map((e) => {
        const props: Props = {
          DHCPEnabled: e.dhcpEnabled,
          DefaultGateway: e.defaultGateway || undefined,
          ElementName: 'Intel(r) AMT Ethernet Port Settings',
          IPAddress: e.ipAddress || undefined,
          InstanceID: ethernetInstanceId(e.instance),
          IpSyncEnabled: e.instance === 0 ? e.ipSyncEnabled : undefined,
          LinkIsUp: e.linkIsUp,
          LinkPolicy: e.linkPolicy,
          MACAddress: e.mac,
          PrimaryDNS: e.primaryDns || undefined,
          SecondaryDNS: e.secondaryDns || undefined,
          SharedDynamicIP: e.instance === 0 ? true : undefined,
          SharedMAC: true,
          SharedStaticIp: e.instance === 0 ? e.sharedStaticIp : undefined,
          SubnetMask: e.subnetMask || undefined,
        };
        if (modern) props.PhysicalConnectionType = e.instance === 0 ? 0 : 3;
        if (e.instance === 1) {
          props.LinkControl = 2;
          props.LinkPreference = 2;
          props.WLANLinkProtectionLevel = 1;
        }
        return props;
      });
  },
  put({ nvram }, target, input) {
    const e = nvram.ethernet.find((x) => ethernetInstanceId(x.instance) === target.InstanceID)!;
    const dhcp = bool(input.text('DHCPEnabled'), e.dhcpEnabled);
    const ipSync = bool(input.text('IpSyncEnabled'), e.ipSyncEnabled);
    const fields = ['IPAddress', 'SubnetMask', 'DefaultGateway', 'PrimaryDNS', 'SecondaryDNS'] as const;
    const values = Object.fromEntries(fields.map((f) => [f, input.text(f) ?? ''])) as Record<
      (typeof fields)[number],
      string
    >;
    if (fields.some((f) => values[f] !== '' && !IPV4.test(values[f]))) throw faults.invalidRepresentation();
    // Static without IP sync needs an address and mask (reference §4.8 RPS rules); the wireless
    // port is DHCP only.
    if (!dhcp && (e.instance === 1 || (!ipSync && (!values.IPAddress || !values.SubnetMask)))) {
      throw faults.invalidRepresentation('MissingValues');
    }
    e.dhcpEnabled = dhcp;
    e.ipSyncEnabled = ipSync;
    e.sharedStaticIp = bool(input.text('SharedStaticIp'), e.sharedStaticIp);
    if (!dhcp && !ipSync) {
      e.ipAddress = values.IPAddress;
      e.subnetMask = values.SubnetMask;
      e.defaultGateway = values.DefaultGateway;
      e.primaryDns = values.PrimaryDNS;
      e.secondaryDns = values.SecondaryDNS;
    }
    const policies = input.texts('LinkPolicy');
    if (policies.length > 0) e.linkPolicy = policies.map((p) => int(p, 0, 0, 255));
  },
};
