import type { Nvram, WifiProfile } from '../device/nvram';
import { faults } from '../wsman/faults';
import { resourceUriOf } from '../wsman/namespaces';
import type { MethodInput, WsmanClass } from '../wsman/registry';
import { epr } from '../wsman/writer';
import { PT, RSC, bool, handleOf, int, service } from './common';

const MAX_PROFILES = 8;
const PSK_METHODS = [4, 6];
const DOT1X_METHODS = [5, 7];
const AUTH_METHODS = [2, 3, 4, 5, 6, 7, 32768, 32769];
const ENCRYPTION_METHODS = [2, 3, 4, 5];
const wifiOnly = (nvram: Nvram) => nvram.network.wireless;
/** The hardware's methods; NVRAM from before they were modelled supports every one AMT knows. */
const capabilities = (nvram: Nvram) =>
  nvram.network.wifiCapabilities ?? { authenticationMethods: AUTH_METHODS, encryptionMethods: ENCRYPTION_METHODS };

/** The 802.1X fields an embedded CIM_IEEE8021xSettings / IPS_IEEE8021xSettings may carry. */
const DOT1X_FIELDS = [
  'AuthenticationProtocol',
  'Domain',
  'Password',
  'RoamingIdentity',
  'ServerCertificateName',
  'ServerCertificateNameComparison',
  'Username',
] as const;

/**
 * 802.1X identities and passwords are 7-bit ASCII strings in firmware (printable 32–126) [inferred:
 * the SDK types every AMT credential string as 7-bit ASCII; non-ASCII characters are reported to
 * break AMT authentication], no longer than the SDK's AMT_8021XProfile declares: Username and
 * Domain MaxLen=128, Password MaxLen=32. The strong-password rule is not applied: the password is
 * the RADIUS account's, not an AMT account's.
 */
const DOT1X_MAX_LENGTH: Readonly<Record<string, number>> = { Username: 128, Domain: 128, Password: 32 };
const isValidDot1x = (field: string, value: string) =>
  [...value].every((ch) => ch >= ' ' && ch <= '~') && value.length <= (DOT1X_MAX_LENGTH[field] ?? Infinity);

function readDot1x(input: MethodInput): Record<string, string> | null {
  if (!input.element) return null;
  const out: Record<string, string> = {};
  for (const f of DOT1X_FIELDS) {
    const v = input.text(f);
    if (v !== undefined) out[f] = v;
  }
  return out;
}

function parseProfile(nvram: Nvram, input: MethodInput): WifiProfile | number {
  const s = input.child('WiFiEndpointSettingsInput');
  const name = s.text('ElementName') ?? '';
  const ssid = s.text('SSID') ?? '';
  const auth = s.int('AuthenticationMethod') ?? 0;
  const enc = s.int('EncryptionMethod') ?? 0;
  const priority = s.int('Priority') ?? 0;
  const psk = s.text('PSKPassPhrase') ?? null;
  // ElementName: 1–32 ASCII letters and digits, the rule Intel's RPS checks before it sends a profile
  // to AMT; that firmware answers another name with INVALID_PARAMETER is [inferred].
  if (!/^[A-Za-z0-9]{1,32}$/.test(name) || ssid.length < 1 || ssid.length > 32) return PT.INVALID_PARAMETER;
  if (!AUTH_METHODS.includes(auth) || !ENCRYPTION_METHODS.includes(enc) || priority < 0 || priority > 255) {
    return PT.INVALID_PARAMETER;
  }
  // A method the Wi-Fi module lacks (e.g. TKIP on a module that dropped it) is refused like any
  // invalid value [inferred: the SDK documents no dedicated return value for it].
  const supported = capabilities(nvram);
  if (!supported.authenticationMethods.includes(auth) || !supported.encryptionMethods.includes(enc)) {
    return PT.INVALID_PARAMETER;
  }
  if (PSK_METHODS.includes(auth) && (!psk || psk.length < 8 || psk.length > 63)) return PT.INVALID_PARAMETER;
  const dot1x = readDot1x(input.child('IEEE8021xSettingsInput'));
  const clientCert = handleOf(input.epr('ClientCredential'), 'cert');
  const caCert = handleOf(input.epr('CACredential'), 'cert');
  if (DOT1X_METHODS.includes(auth)) {
    if (!dot1x || !Object.entries(dot1x).every(([field, value]) => isValidDot1x(field, value))) {
      return PT.INVALID_PARAMETER;
    }
    if (caCert === null || !nvram.certs.some((c) => c.handle === caCert)) return PT.INVALID_PARAMETER;
    if (clientCert !== null && !nvram.certs.some((c) => c.handle === clientCert)) return PT.INVALID_PARAMETER;
  }
  return {
    instanceId: `Intel(r) AMT:WiFi Endpoint Settings ${name}`,
    elementName: name,
    ssid,
    authenticationMethod: auth,
    encryptionMethod: enc,
    priority,
    bssType: s.int('BSSType') ?? 3,
    pskPassPhrase: PSK_METHODS.includes(auth) ? psk : null,
    ieee8021x: DOT1X_METHODS.includes(auth) ? dot1x : null,
    clientCertHandle: DOT1X_METHODS.includes(auth) ? clientCert : null,
    caCertHandle: DOT1X_METHODS.includes(auth) ? caCert : null,
  };
}

export const wifiPortConfigurationService: WsmanClass = {
  name: 'AMT_WiFiPortConfigurationService',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  realm: 3,
  instances({ nvram }) {
    if (!wifiOnly(nvram)) return [];
    return [
      service('AMT_WiFiPortConfigurationService', 'Intel(r) AMT WiFi Port Configuration Service', {
        EnabledState: 5,
        LastConnectedSsidUnderMeControl: '',
        NoHostCsmeSoftwarePolicy: 0,
        UEFIWiFiProfileShareEnabled: false,
        localProfileSynchronizationEnabled: nvram.wifi.localProfileSynchronizationEnabled,
      }),
    ];
  },
  put({ nvram }, _target, input) {
    const sync = int(
      input.text('localProfileSynchronizationEnabled'),
      nvram.wifi.localProfileSynchronizationEnabled,
      0,
      3,
    );
    if (sync === 2) throw faults.invalidRepresentation();
    nvram.wifi.localProfileSynchronizationEnabled = sync;
  },
  methods: {
    AddWiFiSettings({ nvram }, input) {
      const profile = parseProfile(nvram, input);
      if (typeof profile === 'number') return { returnValue: profile };
      if (nvram.wifi.profiles.some((p) => p.elementName === profile.elementName || p.priority === profile.priority)) {
        return { returnValue: PT.DUPLICATE };
      }
      if (nvram.wifi.profiles.length >= MAX_PROFILES) return { returnValue: PT.MAX_LIMIT_REACHED };
      nvram.wifi.profiles.push(profile);
      return {
        returnValue: PT.SUCCESS,
        out: {
          WiFiEndpointSettings: epr(resourceUriOf('CIM_WiFiEndpointSettings'), { InstanceID: profile.instanceId }),
        },
      };
    },
    DeleteAllITProfiles({ nvram }) {
      nvram.wifi.profiles = [];
      return { returnValue: PT.SUCCESS };
    },
    DeleteAllUserProfiles() {
      // User profiles are the OS's; the emulator keeps none.
      return { returnValue: PT.SUCCESS };
    },
  },
};

/**
 * The Wi-Fi module's supported methods (DMTF CIM_WiFiEndpointCapabilities, Wireless LAN profile),
 * read by a configuration tool before it replaces profiles.
 */
export const wifiEndpointCapabilities: WsmanClass = {
  name: 'CIM_WiFiEndpointCapabilities',
  keys: ['InstanceID'],
  realm: 3,
  instances({ nvram }) {
    if (!wifiOnly(nvram)) return [];
    const supported = capabilities(nvram);
    return [
      {
        ElementName: 'Intel(r) AMT WiFi Endpoint Capabilities',
        InstanceID: 'Intel(r) AMT:WiFi Endpoint Capabilities 0',
        SupportedAuthenticationMethods: supported.authenticationMethods,
        SupportedEncryptionMethods: supported.encryptionMethods,
      },
    ];
  },
};

export const wifiEndpointSettings: WsmanClass = {
  name: 'CIM_WiFiEndpointSettings',
  keys: ['InstanceID'],
  realm: 3,
  instances({ nvram }) {
    return nvram.wifi.profiles.map((p) => ({
      AuthenticationMethod: p.authenticationMethod,
      BSSType: p.bssType,
      ElementName: p.elementName,
      EncryptionMethod: p.encryptionMethod,
      InstanceID: p.instanceId,
      Priority: p.priority,
      SSID: p.ssid,
    }));
  },
  delete({ nvram }, target) {
    nvram.wifi.profiles = nvram.wifi.profiles.filter((p) => p.instanceId !== target.InstanceID);
  },
};

export const wifiPort: WsmanClass = {
  name: 'CIM_WiFiPort',
  keys: ['CreationClassName', 'DeviceID', 'SystemCreationClassName', 'SystemName'],
  realm: 3,
  instances({ nvram }) {
    if (!wifiOnly(nvram)) return [];
    return [
      {
        CreationClassName: 'CIM_WiFiPort',
        DeviceID: 'WiFi Port 0',
        ElementName: 'WiFi Port 0',
        EnabledState: nvram.wifi.portEnabledState,
        LinkTechnology: 11,
        PermanentAddress: nvram.ethernet[1]!.mac.replace(/-/g, ''),
        PortType: 0,
        RequestedState: nvram.wifi.portEnabledState,
        SystemCreationClassName: 'CIM_ComputerSystem',
        SystemName: 'ManagedSystem',
      },
    ];
  },
  methods: {
    RequestStateChange({ nvram }, input) {
      const requested = input.int('RequestedState');
      if (requested !== 3 && requested !== 32768 && requested !== 32769) return { returnValue: RSC.INVALID_PARAMETER };
      nvram.wifi.portEnabledState = requested;
      return { returnValue: RSC.COMPLETED };
    },
  },
};

const DOT1X_ID = 'Intel(r) AMT: 8021X Settings';

export const ieee8021xSettings: WsmanClass = {
  name: 'IPS_IEEE8021xSettings',
  keys: ['InstanceID'],
  realm: 3,
  writeOnly: ['Password', 'PSK'],
  instances({ nvram }) {
    const d = nvram.ieee8021x;
    return [
      {
        AuthenticationProtocol: d.authenticationProtocol,
        AvailableInS0: d.availableInS0,
        Domain: d.domain || undefined,
        ElementName: 'Intel(r) AMT 802.1x Settings',
        Enabled: d.enabled,
        InstanceID: DOT1X_ID,
        PxeTimeout: d.pxeTimeout,
        RoamingIdentity: d.roamingIdentity || undefined,
        ServerCertificateName: d.serverCertificateName || undefined,
        ServerCertificateNameComparison: d.serverCertificateName ? d.serverCertificateNameComparison : undefined,
        Username: d.username || undefined,
      },
    ];
  },
  put({ nvram }, _target, input) {
    const d = nvram.ieee8021x;
    for (const field of DOT1X_FIELDS) {
      const value = input.text(field);
      if (value !== undefined && !isValidDot1x(field, value)) throw faults.invalidRepresentation('InvalidValues');
    }
    const enabled = int(input.text('Enabled'), d.enabled);
    if (![2, 3, 6].includes(enabled)) throw faults.invalidRepresentation();
    d.enabled = enabled;
    d.availableInS0 = bool(input.text('AvailableInS0'), d.availableInS0);
    d.pxeTimeout = int(input.text('PxeTimeout'), d.pxeTimeout, 0, 86400);
    d.authenticationProtocol = int(input.text('AuthenticationProtocol'), d.authenticationProtocol, 0, 10);
    d.username = input.text('Username') ?? d.username;
    d.domain = input.text('Domain') ?? d.domain;
    d.roamingIdentity = input.text('RoamingIdentity') ?? d.roamingIdentity;
    d.serverCertificateName = input.text('ServerCertificateName') ?? d.serverCertificateName;
    d.serverCertificateNameComparison = int(
      input.text('ServerCertificateNameComparison'),
      d.serverCertificateNameComparison,
      0,
      3,
    );
    const password = input.text('Password');
    if (password !== undefined) d.password = password;
  },
  methods: {
    SetCertificates({ nvram }, input) {
      const server = handleOf(input.epr('ServerCertificateIssuer'), 'cert');
      const client = handleOf(input.epr('ClientCertificate'), 'cert');
      const known = (h: number | null) => h === null || nvram.certs.some((c) => c.handle === h);
      if (!known(server) || !known(client)) return { returnValue: PT.INVALID_HANDLE };
      nvram.ieee8021x.serverCertHandle = server;
      nvram.ieee8021x.clientCertHandle = client;
      return { returnValue: PT.SUCCESS };
    },
  },
};

export const wifiEndpoint: WsmanClass = {
  name: 'CIM_WiFiEndpoint',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  realm: 3,
  instances({ nvram }) {
    if (!wifiOnly(nvram)) return [];
    return [
      {
        CreationClassName: 'CIM_WiFiEndpoint',
        ElementName: 'WiFi Endpoint 0',
        EnabledState: 2,
        Name: 'WiFi Endpoint 0',
        SystemCreationClassName: 'CIM_ComputerSystem',
        SystemName: 'ManagedSystem',
      },
    ];
  },
};
