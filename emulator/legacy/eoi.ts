import { createPrivateKey } from 'node:crypto';
import { ha1 } from '../device/nvram';
import { PT, decodeBase64, parseCertificate } from '../classes/common';
import { keyForCert } from '../classes/pki';
import { aclHasRoomFor, isReservedForAdmin, isStrongPassword, isValidUserName } from '../classes/account-rules';
import { setupAndConfigurationService } from '../classes/setup';
import { timeSynchronizationService } from '../classes/general';
import { publicKeyDerOf } from '../keys/pool';
import { WsmanFault } from '../wsman/faults';
import { ACPI_SYSTEM_POWER_STATE, type PowerChange } from '../host/power';
import { MethodInput, type FirmwareContext, type MethodHandler } from '../wsman/registry';
import { child, escapeXml, type XmlElement } from '../wsman/xml';

/**
 * The EOI SOAP interfaces of AMT before Release 6 (reference §6.7): `POST /<Name>Service`, SOAP
 * 1.1, namespace `http://schemas.intel.com/platform/client/<Name>/2004/01`, every response
 * carrying a PT_STATUS `StatusCode` first. The subset is what stage one (OOB8), discovery and
 * power control need; operation and parameter names follow the Intel AMT SDK as amttool uses them.
 * Where the same operation exists in WS-Man (CommitChanges, Unprovision, time sync) the very same
 * firmware handler runs, so both interfaces change NVRAM identically.
 */
export const EOI_SERVICES = [
  'SecurityAdministration',
  'NetworkAdministration',
  'GeneralInfo',
  'RemoteControl',
  'NetworkTime',
] as const;
export type EoiService = (typeof EOI_SERVICES)[number];

export const eoiNamespace = (service: EoiService) => `http://schemas.intel.com/platform/client/${service}/2004/01`;

type Out = [string, string | number | boolean | string[]][];
type EoiResult = { status: number; out?: Out };
type EoiOperation = (ctx: FirmwareContext, input: MethodInput) => EoiResult;

/** Runs a WS-Man method handler for an EOI operation, ReturnValue becoming StatusCode. */
function viaWsman(handler: MethodHandler, outputs: string[] = []): EoiOperation {
  return (ctx, input) => {
    const result = handler(ctx, input, null);
    return { status: result.returnValue, out: outputs.map((n) => [n, result.out?.[n] as number]) };
  };
}

function requireAdminStatus(ctx: FirmwareContext): number | null {
  return ctx.auth.kind === 'admin' ? null : PT.NOT_PERMITTED;
}

const HOST_NAME = /^[A-Za-z0-9-]{1,63}$/;

const OPERATIONS: Record<EoiService, Record<string, EoiOperation>> = {
  SecurityAdministration: {
    GetCoreVersion: (ctx) => ({ status: PT.SUCCESS, out: [['Version', ctx.nvram.amtVersion]] }),
    GetProvisioningMode: (ctx) => ({ status: PT.SUCCESS, out: [['ProvisioningMode', ctx.nvram.provisioning.mode]] }),
    SetAdminAclEntry(ctx, input) {
      const denied = requireAdminStatus(ctx);
      if (denied !== null) return { status: denied };
      const username = input.text('Username') ?? '';
      const password = input.text('Password') ?? '';
      if (!isValidUserName(username)) return { status: PT.INVALID_NAME };
      if (!isStrongPassword(password)) return { status: PT.INVALID_PASSWORD };
      ctx.nvram.admin = { username, ha1: ha1(username, ctx.nvram.realm, password), isDefault: false };
      // Before Release 6 the network admin and MEBx passwords are one (PasswordModel 0, coupled).
      ctx.nvram.mebx = { password, changed: true };
      return { status: PT.SUCCESS };
    },
    GetAdminAclEntry: (ctx) => ({ status: PT.SUCCESS, out: [['Username', ctx.nvram.admin.username]] }),
    AddUserAclEntry(ctx, input) {
      const entry = input.child('Entry');
      const username = entry.text('Username') ?? '';
      const password = entry.text('Password') ?? '';
      const realms = entry.child('Realms').texts('Realm').map(Number);
      if (
        !isValidUserName(username) ||
        isReservedForAdmin(username, ctx.nvram.amtVersion) ||
        username === ctx.nvram.admin.username
      )
        return { status: PT.INVALID_NAME };
      // EOI carries the password in clear, so this firmware holds Digest users to the strong rule too.
      if (!isStrongPassword(password)) return { status: PT.INVALID_PASSWORD };
      if (realms.length === 0 || realms.some((r) => !Number.isInteger(r) || r < 2 || r > 24))
        return { status: PT.INVALID_REALM };
      if (ctx.nvram.users.some((u) => u.username === username)) return { status: PT.DUPLICATE };
      if (!aclHasRoomFor(ctx.nvram.users, false)) return { status: PT.MAX_LIMIT_REACHED };
      const handle = ctx.nvram.nextUserHandle++;
      ctx.nvram.users.push({
        handle,
        username,
        ha1: ha1(username, ctx.nvram.realm, password),
        kerberosSid: null,
        accessPermission: 2,
        realms,
        enabled: true,
      });
      return { status: PT.SUCCESS, out: [['Handle', handle]] };
    },
    RemoveUserAclEntry(ctx, input) {
      const handle = input.int('Handle');
      const before = ctx.nvram.users.length;
      ctx.nvram.users = ctx.nvram.users.filter((u) => u.handle !== handle);
      return { status: ctx.nvram.users.length < before ? PT.SUCCESS : PT.INVALID_HANDLE };
    },
    EnumerateUserAclEntries(ctx) {
      const handles = ctx.nvram.users.map((u) => String(u.handle));
      return {
        status: PT.SUCCESS,
        out: [
          ['TotalCount', handles.length],
          ['HandleCount', handles.length],
          ['Handles', handles],
        ],
      };
    },
    SetProvisioningServerOTP(ctx, input) {
      const otp = input.text('OTP') ?? '';
      if (ctx.nvram.provisioning.state !== 1) return { status: PT.INVALID_PROVISIONING_STATE };
      if (otp.length < 8 || otp.length > 32) return { status: PT.INVALID_PARAMETER };
      ctx.nvram.provisioning.presentedOtp = otp;
      return { status: PT.SUCCESS };
    },
    SetTLSKeyAndCertificate(ctx, input) {
      const denied = requireAdminStatus(ctx);
      if (denied !== null) return { status: denied };
      const keyDer = decodeBase64(input.text('PrivateKey'));
      const chain = input.child('CertificateChain').texts('Certificate');
      const leafDer = decodeBase64(chain[0]);
      const leaf = parseCertificate(leafDer);
      let keyPem: string;
      try {
        keyPem = createPrivateKey({ key: keyDer ?? Buffer.alloc(0), format: 'der', type: 'pkcs1' })
          .export({ type: 'pkcs1', format: 'pem' })
          .toString();
      } catch {
        return { status: PT.INVALID_KEY };
      }
      if (!leaf) return { status: PT.INVALID_CERT };
      const { nvram } = ctx;
      const keyHandle = nvram.nextHandle++;
      nvram.keys.push({ handle: keyHandle, privateKeyPem: keyPem, publicKeyDer: publicKeyDerOf(keyPem) });
      const certHandle = nvram.nextHandle++;
      const cert = {
        handle: certHandle,
        der: leafDer!.toString('base64'),
        trustedRoot: false,
        readOnly: false,
        subject: leaf.subject.split('\n').join(','),
        issuer: leaf.issuer.split('\n').join(','),
      };
      nvram.certs.push(cert);
      if (!keyForCert(nvram, cert)) {
        nvram.keys = nvram.keys.filter((k) => k.handle !== keyHandle);
        nvram.certs = nvram.certs.filter((c) => c.handle !== certHandle);
        return { status: PT.CERT_KEY_NOT_MATCH };
      }
      nvram.tls.credentialContext = certHandle;
      return { status: PT.SUCCESS };
    },
    SetTlsEnabled(ctx, input) {
      const enabled = input.bool('Enabled');
      if (enabled === undefined) return { status: PT.INVALID_PARAMETER };
      ctx.nvram.tls.remote.enabled = enabled;
      ctx.nvram.tls.local.enabled = enabled;
      return { status: PT.SUCCESS };
    },
    CommitChanges: viaWsman(setupAndConfigurationService.methods!.CommitChanges!),
    Unprovision: viaWsman(setupAndConfigurationService.methods!.Unprovision!),
  },
  NetworkAdministration: {
    GetHostName: (ctx) => ({ status: PT.SUCCESS, out: [['HostName', ctx.nvram.general.hostName]] }),
    SetHostName(ctx, input) {
      const name = input.text('HostName') ?? '';
      if (!HOST_NAME.test(name)) return { status: PT.INVALID_NAME };
      ctx.nvram.general.hostName = name;
      return { status: PT.SUCCESS };
    },
    GetDomainName: (ctx) => ({ status: PT.SUCCESS, out: [['DomainName', ctx.nvram.general.domainName]] }),
    SetDomainName(ctx, input) {
      const name = input.text('DomainName') ?? '';
      if (name.length > 191 || !/^[A-Za-z0-9.-]*$/.test(name)) return { status: PT.INVALID_DOMAIN_NAME };
      ctx.nvram.general.domainName = name;
      return { status: PT.SUCCESS };
    },
    GetPingResponse: (ctx) => ({ status: PT.SUCCESS, out: [['enabled', ctx.nvram.general.pingResponseEnabled]] }),
    SetPingResponse(ctx, input) {
      const enabled = input.bool('enabled');
      if (enabled === undefined) return { status: PT.INVALID_PARAMETER };
      ctx.nvram.general.pingResponseEnabled = enabled;
      return { status: PT.SUCCESS };
    },
  },
  GeneralInfo: {
    GetCoreVersion: (ctx) => ({ status: PT.SUCCESS, out: [['Version', ctx.nvram.amtVersion]] }),
    GetProvisioningState: (ctx) => ({ status: PT.SUCCESS, out: [['ProvisioningState', ctx.nvram.provisioning.state]] }),
    GetProvisioningMode: (ctx) => ({ status: PT.SUCCESS, out: [['ProvisioningMode', ctx.nvram.provisioning.mode]] }),
  },
  NetworkTime: {
    GetLowAccuracyTimeSynch: viaWsman(timeSynchronizationService.methods!.GetLowAccuracyTimeSynch!, ['Ta0']),
    SetHighAccuracyTimeSynch: viaWsman(timeSynchronizationService.methods!.SetHighAccuracyTimeSynch!),
  },
  RemoteControl: {
    GetSystemPowerState: (ctx) => ({
      status: PT.SUCCESS,
      out: [['SystemPowerState', ACPI_SYSTEM_POWER_STATE[ctx.host.state]]],
    }),
    GetRemoteControlCapabilities: () => ({
      status: PT.SUCCESS,
      out: [
        ['IanaOemNumber', 343],
        ['OemDefinedCapabilities', 0x1f],
        ['SpecialCommandsSupported', 0x1f00],
        ['SystemCapabilitiesSupported', 0x0f],
        ['SystemFirmwareCapabilities', 0],
      ],
    }),
    RemoteControl: remoteControl,
  },
};

/** RemoteControl Command values (amttool): 16 reset, 17 power up, 18 power down, 19 power cycle. */
const REMOTE_CONTROL: ReadonlyMap<number, PowerChange> = new Map<number, PowerChange>([
  [16, 'reset'],
  [17, 'on'],
  [18, 'off'],
  [19, 'cycle'],
]);
/** SpecialCommand (amttool): 0 none, 1 PXE, 2 hard disk, 3 hard disk safe mode, 4 diagnostics, 5 CD; 0xC1 BIOS setup (OEM). */
const SPECIAL_COMMANDS = new Set([0, 1, 2, 3, 4, 5, 0xc1]);

/**
 * RemoteControl(Command, IanaOemNumber, [SpecialCommand], [OEMparameters]) with the same host
 * rules as WS-Man's RequestPowerStateChange. A change the host state (or an open redirection
 * session) does not allow answers PT_STATUS_INVALID_PARAMETER [inferred: the SDK names no code].
 */
function remoteControl(ctx: FirmwareContext, input: MethodInput): EoiResult {
  const command = input.int('Command');
  const oem = input.int('IanaOemNumber');
  const special = input.int('SpecialCommand');
  if (oem !== 343 && oem !== 4542) return { status: PT.UNSUPPORTED_OEM_NUMBER };
  const change = command === undefined ? undefined : REMOTE_CONTROL.get(command);
  if (!change) return { status: PT.INVALID_COMMAND };
  if (special !== undefined && !SPECIAL_COMMANDS.has(special)) return { status: PT.INVALID_SPECIAL_COMMAND };
  const status = ctx.host.request(change, { source: 'eoi', request: `RemoteControl(${command})` }, (refusal) =>
    refusal === null ? PT.SUCCESS : refusal.kind === 'fault' ? refusal.returnValue : PT.INVALID_PARAMETER,
  );
  return { status };
}

export class EoiFault extends Error {}

const PREFIX: Record<EoiService, string> = {
  SecurityAdministration: 'sai',
  NetworkAdministration: 'nai',
  GeneralInfo: 'gi',
  RemoteControl: 'rci',
  NetworkTime: 'nti',
};

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';

function envelope11(body: string, extraNs = ''): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP11}" ` +
    `xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
    `xmlns:xsd="http://www.w3.org/2001/XMLSchema"${extraNs}><SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`
  );
}

export function eoiFaultEnvelope(faultcode: 'Client' | 'Server', message: string): string {
  return envelope11(
    `<SOAP-ENV:Fault><faultcode>SOAP-ENV:${faultcode}</faultcode><faultstring>${escapeXml(message)}</faultstring></SOAP-ENV:Fault>`,
  );
}

/** The operation name of an EOI request body (for fault matching), or null when not EOI. */
export function eoiOperation(root: XmlElement): string | null {
  if (root.name !== 'Envelope') return null;
  return child(root, 'Body')?.children[0]?.name ?? null;
}

/** The status-only answer an EOI operation gives when the firmware is busy. */
export function eoiBusy(service: EoiService, operation: string): string {
  const p = PREFIX[service];
  return envelope11(
    `<${p}:${operation}Response><${p}:StatusCode>${PT.NOT_READY}</${p}:StatusCode></${p}:${operation}Response>`,
    ` xmlns:${p}="${eoiNamespace(service)}"`,
  );
}

/** Handles one authenticated EOI request. Throws EoiFault for requests the service cannot parse. */
export function handleEoi(service: EoiService, root: XmlElement, ctx: FirmwareContext): string {
  const operation = eoiOperation(root);
  const body = child(root, 'Body')?.children[0];
  const handler = operation ? OPERATIONS[service][operation] : undefined;
  if (!body || !handler) throw new EoiFault(`Unknown operation ${operation ?? '(none)'}`);
  let result: EoiResult;
  try {
    result = handler(ctx, new MethodInput(body));
  } catch (err) {
    if (err instanceof WsmanFault)
      result = { status: err.subcode === 'e:AccessDenied' ? PT.NOT_PERMITTED : PT.INVALID_PARAMETER };
    else throw err;
  }
  const p = PREFIX[service];
  const out = (result.out ?? [])
    .map(([name, value]) =>
      Array.isArray(value)
        ? `<${p}:${name}>${value.map((v) => `<${p}:Handle>${escapeXml(v)}</${p}:Handle>`).join('')}</${p}:${name}>`
        : `<${p}:${name}>${escapeXml(String(value))}</${p}:${name}>`,
    )
    .join('');
  return envelope11(
    `<${p}:${operation}Response><${p}:StatusCode>${result.status}</${p}:StatusCode>${out}</${p}:${operation}Response>`,
    ` xmlns:${p}="${eoiNamespace(service)}"`,
  );
}
