import type { ReturnSpace } from '../return-values';

/**
 * The typed catalogue of the CIM classes amtflow uses: which methods exist, their input parameters
 * in MOF order (AMT validates against the class XSD, so order matters — the order is the one of the
 * Intel MOFs as generated into intel/lms `CIM_Framework` and sent by wsman-messages), the value
 * space of their ReturnValue, and the key properties that select one instance of a multi-instance
 * class for Put/Delete.
 */

export interface MethodSpec {
  readonly params: readonly string[];
  readonly returns: ReturnSpace;
}

export interface ClassSpec {
  readonly methods: Readonly<Record<string, MethodSpec>>;
  /** Key properties of multi-instance classes; singletons are addressed without selectors. */
  readonly keys?: readonly string[];
}

const pt = (...params: string[]): MethodSpec => ({ params, returns: 'pt' });
const requestStateChange: MethodSpec = { params: ['RequestedState', 'TimeoutPeriod'], returns: 'state-change' };
const byInstanceId = ['InstanceID'] as const;

export const CATALOGUE = {
  AMT_GeneralSettings: { methods: {} },
  AMT_SetupAndConfigurationService: {
    methods: {
      CommitChanges: pt(),
      Unprovision: pt('ProvisioningMode'),
      PartialUnprovision: pt(),
      SetMEBxPassword: pt('Password'),
    },
  },
  IPS_HostBasedSetupService: { methods: {} },
  AMT_TimeSynchronizationService: {
    methods: { GetLowAccuracyTimeSynch: pt(), SetHighAccuracyTimeSynch: pt('Ta0', 'Tm1', 'Tm2') },
  },
  AMT_AuthorizationService: {
    methods: {
      SetAdminAclEntryEx: pt('Username', 'DigestPassword'),
      AddUserAclEntryEx: pt('DigestUsername', 'DigestPassword', 'KerberosUserSid', 'AccessPermission', 'Realms'),
      EnumerateUserAclEntries: pt('StartIndex'),
      GetUserAclEntryEx: pt('Handle'),
      RemoveUserAclEntry: pt('Handle'),
    },
  },
  AMT_PublicKeyManagementService: {
    methods: {
      AddTrustedRootCertificate: pt('CertificateBlob'),
      AddCertificate: pt('CertificateBlob'),
      AddKey: pt('KeyBlob'),
      GenerateKeyPair: pt('KeyAlgorithm', 'KeyLength'),
      GeneratePKCS10RequestEx: pt('KeyPair', 'SigningAlgorithm', 'NullSignedCertificateRequest'),
    },
  },
  AMT_PublicKeyCertificate: { methods: {}, keys: byInstanceId },
  AMT_PublicPrivateKeyPair: { methods: {}, keys: byInstanceId },
  AMT_TLSCredentialContext: { methods: {}, keys: ['ElementInContext', 'ElementProvidingContext'] },
  AMT_TLSProtocolEndpointCollection: { methods: {} },
  AMT_TLSSettingData: { methods: {}, keys: byInstanceId },
  AMT_WebUIService: { methods: { RequestStateChange: requestStateChange } },
  AMT_RedirectionService: { methods: { RequestStateChange: requestStateChange } },
  CIM_KVMRedirectionSAP: { methods: { RequestStateChange: requestStateChange } },
  IPS_OptInService: { methods: {} },
  AMT_SystemPowerScheme: { methods: { SetPowerScheme: pt() }, keys: byInstanceId },
  AMT_KerberosSettingData: { methods: {} },
  AMT_EthernetPortSettings: { methods: {}, keys: byInstanceId },
  AMT_WiFiPortConfigurationService: {
    methods: {
      AddWiFiSettings: {
        params: [
          'WiFiEndpoint',
          'WiFiEndpointSettingsInput',
          'IEEE8021xSettingsInput',
          'ClientCredential',
          'CACredential',
        ],
        returns: 'cim',
      },
    },
  },
  CIM_WiFiEndpoint: { methods: {} },
  CIM_WiFiEndpointCapabilities: { methods: {}, keys: byInstanceId },
  CIM_WiFiEndpointSettings: { methods: {}, keys: byInstanceId },
  CIM_WiFiPort: { methods: { RequestStateChange: requestStateChange } },
  CIM_IEEE8021xSettings: { methods: {} },
  IPS_IEEE8021xSettings: { methods: { SetCertificates: pt('ServerCertificateIssuer', 'ClientCertificate') } },
  CIM_SoftwareIdentity: { methods: {}, keys: byInstanceId },
  AMT_ProvisioningCertificateHash: { methods: {}, keys: byInstanceId },
  CIM_PowerManagementService: {
    methods: {
      RequestPowerStateChange: {
        params: ['PowerState', 'ManagedElement', 'Time', 'TimeoutPeriod'],
        returns: 'state-change',
      },
    },
  },
  CIM_AssociatedPowerManagementService: { methods: {} },
  CIM_ComputerSystem: { methods: {} },
  /** Links the active AMT_SystemPowerScheme (IsCurrent 1), protocol reference §4.16. */
  CIM_ElementSettingData: { methods: {} },
} as const satisfies Record<string, ClassSpec>;

export type ClassName = keyof typeof CATALOGUE;
export type MethodName<C extends ClassName> = keyof (typeof CATALOGUE)[C]['methods'] & string;

const SCHEMA_PREFIXES: Readonly<Record<string, string>> = {
  AMT_: 'http://intel.com/wbem/wscim/1/amt-schema/1/',
  IPS_: 'http://intel.com/wbem/wscim/1/ips-schema/1/',
  CIM_: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/',
};

/** ResourceURI of a class: schema prefix + class name; also the namespace of its instance elements. */
export function resourceUri(className: ClassName): string {
  return `${SCHEMA_PREFIXES[className.slice(0, 4)] ?? ''}${className}`;
}

export function classSpec(className: ClassName): ClassSpec {
  return CATALOGUE[className];
}

export function isCatalogued(name: string): name is ClassName {
  return Object.hasOwn(CATALOGUE, name);
}

export function methodSpec(className: ClassName, method: string): MethodSpec {
  const spec = (CATALOGUE[className].methods as Readonly<Record<string, MethodSpec>>)[method];
  if (!spec) throw new TypeError(`${className} has no method ${method} in the catalogue`);
  return spec;
}

/**
 * Multi-valued properties and output parameters read by amtflow (plus common CIM arrays), parsed as
 * arrays even when the device returns one element.
 */
export const MULTI_VALUED = new Set([
  'Realms',
  'Handles',
  'LinkPolicy',
  'AllowedControlModes',
  'TrustedCN',
  'SupportedEncryptionAlgorithms',
  'ConfiguredEncryptionAlgorithms',
  'ServicePrincipalName',
  'ServicePrincipalProtocol',
  'DetectionStrings',
  'Selector',
  'AvailableRequestedStates',
  'OperationalStatus',
  'PowerManagementCapabilities',
  'SupportedAuthenticationMethods',
  'SupportedEncryptionMethods',
]);
