import { AmtReturnValueError } from './errors';

/**
 * The value spaces of method return codes. AMT-specific methods (and every legacy EOI call) return
 * PT_STATUS codes; CIM `RequestStateChange` / `RequestPowerStateChange` use the CIM job codes; a few
 * CIM-derived methods (AddWiFiSettings) use the generic CIM method codes.
 */
export type ReturnSpace = 'pt' | 'state-change' | 'cim';

/** PT_STATUS names, protocol reference §2.6 (MeshCentral AmtStatusCodes, RPS PTStatus.ts). */
const PT_STATUS: Readonly<Record<number, string>> = {
  0: 'SUCCESS',
  1: 'INTERNAL_ERROR',
  2: 'NOT_READY',
  3: 'INVALID_PT_MODE',
  4: 'INVALID_MESSAGE_LENGTH',
  9: 'INVALID_REGISTRATION_DATA',
  10: 'APPLICATION_DOES_NOT_EXIST',
  11: 'NOT_ENOUGH_STORAGE',
  12: 'INVALID_NAME',
  13: 'BLOCK_DOES_NOT_EXIST',
  14: 'INVALID_BYTE_OFFSET',
  15: 'INVALID_BYTE_COUNT',
  16: 'NOT_PERMITTED',
  17: 'NOT_OWNER',
  18: 'BLOCK_LOCKED_BY_OTHER',
  19: 'BLOCK_NOT_LOCKED',
  20: 'INVALID_GROUP_PERMISSIONS',
  21: 'GROUP_DOES_NOT_EXIST',
  22: 'INVALID_MEMBER_COUNT',
  23: 'MAX_LIMIT_REACHED',
  24: 'INVALID_AUTH_TYPE',
  25: 'AUTHENTICATION_FAILED',
  26: 'INVALID_DHCP_MODE',
  27: 'INVALID_IP_ADDRESS',
  28: 'INVALID_DOMAIN_NAME',
  29: 'UNSUPPORTED_VERSION',
  30: 'REQUEST_UNEXPECTED',
  31: 'INVALID_TABLE_TYPE',
  32: 'INVALID_PROVISIONING_STATE',
  33: 'UNSUPPORTED_OBJECT',
  34: 'INVALID_TIME',
  35: 'INVALID_INDEX',
  36: 'INVALID_PARAMETER',
  37: 'INVALID_NETMASK',
  38: 'FLASH_WRITE_LIMIT_EXCEEDED',
  39: 'INVALID_IMAGE_LENGTH',
  40: 'INVALID_IMAGE_SIGNATURE',
  41: 'PROPOSE_ANOTHER_VERSION',
  42: 'INVALID_PID_FORMAT',
  43: 'INVALID_PPS_FORMAT',
  44: 'BIST_COMMAND_BLOCKED',
  45: 'CONNECTION_FAILED',
  46: 'CONNECTION_TOO_MANY',
  47: 'RNG_GENERATION_IN_PROGRESS',
  48: 'RNG_NOT_READY',
  49: 'CERTIFICATE_NOT_READY',
  1024: 'DISABLED_BY_POLICY',
  2049: 'UNSUPPORTED_OEM_NUMBER',
  2050: 'UNSUPPORTED_BOOT_OPTION',
  2051: 'INVALID_COMMAND',
  2052: 'INVALID_SPECIAL_COMMAND',
  2053: 'INVALID_HANDLE',
  2054: 'INVALID_PASSWORD',
  2055: 'INVALID_REALM',
  2056: 'STORAGE_ACL_ENTRY_IN_USE',
  2057: 'DATA_MISSING',
  2058: 'DUPLICATE',
  2059: 'EVENTLOG_FROZEN',
  2060: 'PKI_MISSING_KEYS',
  2061: 'PKI_GENERATING_KEYS',
  2062: 'INVALID_KEY',
  2063: 'INVALID_CERT',
  2064: 'CERT_KEY_NOT_MATCH',
  2065: 'MAX_KERB_DOMAIN_REACHED',
  2066: 'UNSUPPORTED',
  2067: 'INVALID_PRIORITY',
  2068: 'NOT_FOUND',
  2069: 'INVALID_CREDENTIALS',
  2070: 'INVALID_PASSPHRASE',
  2072: 'NO_ASSOCIATION',
  2075: 'AUDIT_FAIL',
  2076: 'BLOCKING_COMPONENT',
  2081: 'USER_CONSENT_REQUIRED',
  2082: 'OPERATION_IN_PROGRESS',
};

/** Firmware states that clear by themselves: retrying the same call later can succeed. */
const PT_TRANSIENT = new Set([2, 46, 47, 48, 49, 2061, 2082]);

/** CIM_EnabledLogicalElement.RequestStateChange / CIM_PowerManagementService.RequestPowerStateChange. */
const STATE_CHANGE: Readonly<Record<number, string>> = {
  0: 'COMPLETED',
  1: 'NOT_SUPPORTED',
  2: 'UNKNOWN_ERROR',
  3: 'TIMEOUT',
  4: 'FAILED',
  5: 'INVALID_PARAMETER',
  6: 'IN_USE',
  4096: 'JOB_STARTED',
  4097: 'INVALID_STATE_TRANSITION',
  4098: 'TIMEOUT_PARAMETER_NOT_SUPPORTED',
  4099: 'BUSY',
};
const STATE_CHANGE_TRANSIENT = new Set([3, 6, 4099]);

/** Generic CIM extrinsic method codes (AMT_WiFiPortConfigurationService.AddWiFiSettings). */
const CIM_METHOD: Readonly<Record<number, string>> = {
  0: 'COMPLETED',
  1: 'NOT_SUPPORTED',
  2: 'FAILED',
  3: 'INVALID_PARAMETER',
  4: 'INVALID_REFERENCE',
};

const SPACES: Readonly<
  Record<ReturnSpace, { prefix: string; names: Readonly<Record<number, string>>; transient: ReadonlySet<number> }>
> = {
  pt: { prefix: 'PT_STATUS', names: PT_STATUS, transient: PT_TRANSIENT },
  'state-change': { prefix: 'STATE_CHANGE', names: STATE_CHANGE, transient: STATE_CHANGE_TRANSIENT },
  cim: { prefix: 'CIM_METHOD', names: CIM_METHOD, transient: new Set() },
};

/** Stable code for a return value, e.g. `PT_STATUS_INVALID_PT_MODE`, `STATE_CHANGE_BUSY`. */
export function returnValueCode(space: ReturnSpace, value: number): string {
  const { prefix, names } = SPACES[space];
  return `${prefix}_${names[value] ?? 'UNKNOWN'}`;
}

/**
 * Throws the typed error for a non-zero return value. `JOB_STARTED` (4096) counts as success for
 * state changes: the firmware accepted the request and applies it asynchronously.
 */
export function checkReturnValue(space: ReturnSpace, value: number, method: string): void {
  if (value === 0 || (space === 'state-change' && value === 4096)) return;
  throw new AmtReturnValueError(returnValueCode(space, value), value, method, SPACES[space].transient.has(value));
}
