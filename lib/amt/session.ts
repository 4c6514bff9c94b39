import { EoiClient } from './eoi/client';
import { EoiOperations } from './eoi/operations';
import { AmtHttpClient, type AmtCredential } from './http-client';
import { detectInterface, EoiSetup, WsmanSetup, type AmtInterface, type ManagementControllerSetup } from './setup';
import { parseDigestChallenge } from './digest';
import {
  headerValues,
  postOnce,
  validateEndpoint,
  type AmtEndpoint,
  type AmtTimeouts,
  type AmtTlsOptions,
} from './transport';
import { AccessControlOperations } from './wsman/access';
import { CertificateOperations } from './wsman/certificates';
import { WsmanClient } from './wsman/client';
import { resourceUri } from './wsman/catalogue';
import { DeviceOperations } from './wsman/device';
import { ACTIONS, envelopeXml } from './wsman/envelope';
import { FeatureOperations } from './wsman/features';
import { NetworkOperations } from './wsman/network';
import { EoiPowerControl, WsmanPowerControl, type PowerControl } from './power';

/**
 * The facade activities use: one session per device and step, no network I/O until the first call.
 */

export interface AmtSessionOptions {
  host: string;
  /** Default 16993 with TLS, 16992 without. */
  port?: number;
  tls?: AmtTlsOptions;
  /** Tried in order on the first 401 (spec OOB6); the winner's `ref` is `session.credentialRef`. */
  credentials: readonly AmtCredential[];
  /** Applied to every request separately. */
  timeouts: AmtTimeouts;
}

export interface WsmanOperations {
  client: WsmanClient;
  device: DeviceOperations;
  access: AccessControlOperations;
  certificates: CertificateOperations;
  features: FeatureOperations;
  network: NetworkOperations;
}

export interface AmtSession {
  readonly target: string;
  /** The `ref` of the credential the device accepted; undefined before the first authenticated call. */
  readonly credentialRef: string | undefined;
  /** Firmware version from the `Server` header of the last response, when the device sends one. */
  readonly serverVersion: string | undefined;
  readonly wsman: WsmanOperations;
  readonly eoi: EoiOperations;
  /** Stage one and removal over the interface of the firmware version. */
  setup(iface: AmtInterface): ManagementControllerSetup;
  /** The next request goes over a new connection (`AmtHttpClient.dropConnection`). */
  dropConnection(): Promise<void>;
  /** Host power control (OPS2) over the interface of the firmware version. */
  power(iface: AmtInterface): PowerControl;
  /**
   * OOB5–OOB6: one authenticated read (AMT_GeneralSettings, or GetCoreVersion on EOI) that runs the
   * credential fallback; resolves with the ref that worked, rejects with AUTH_FAILED naming the refs tried.
   */
  login(iface?: AmtInterface): Promise<{ credentialRef: string | undefined }>;
}

/** `Intel(R) Active Management Technology 15.0.23.1706` → `15.0.23.1706`. */
export function versionFromServerHeader(header: string | undefined): string | undefined {
  return /Active Management Technology\s+(\d+(?:\.\d+)*)/i.exec(header ?? '')?.[1];
}

export function openAmtSession(options: AmtSessionOptions): AmtSession {
  const endpoint: AmtEndpoint = {
    host: options.host,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  };
  validateEndpoint(endpoint);
  const http = new AmtHttpClient(endpoint, options.timeouts, options.credentials);
  const client = new WsmanClient(http);
  const wsman: WsmanOperations = {
    client,
    device: new DeviceOperations(client),
    access: new AccessControlOperations(client),
    certificates: new CertificateOperations(client),
    features: new FeatureOperations(client),
    network: new NetworkOperations(client),
  };
  const eoi = new EoiOperations(new EoiClient(http));
  return {
    target: http.target,
    get credentialRef() {
      return http.credentialRef;
    },
    get serverVersion() {
      return versionFromServerHeader(http.serverHeader);
    },
    wsman,
    eoi,
    setup: (iface) => (iface === 'eoi' ? new EoiSetup(eoi, wsman.device) : new WsmanSetup(wsman)),
    dropConnection: () => http.dropConnection(),
    power: (iface) => (iface === 'eoi' ? new EoiPowerControl(eoi) : new WsmanPowerControl(client)),
    async login(iface = 'wsman') {
      if (iface === 'eoi') await eoi.getCoreVersion();
      else await wsman.client.get('AMT_GeneralSettings');
      return { credentialRef: http.credentialRef };
    },
  };
}

export interface ProbeResult {
  /** HTTP status of an unauthenticated WS-Management Get (401 on any provisioned or locked device). */
  status: number;
  /** From the `Server` header; present on real AMT. */
  version: string | undefined;
  /** From the Digest challenge: AMT_GeneralSettings.DigestRealm. */
  digestRealm: string | undefined;
  /** The interface the version calls for, when the version is known. */
  interface: AmtInterface | undefined;
}

/**
 * Discovery (OPS1): one unauthenticated request that reveals whether an AMT answers on the port,
 * and usually its version and realm. Connection errors reject with the typed errors of the transport.
 */
export async function probeAmt(endpoint: AmtEndpoint, timeouts: AmtTimeouts): Promise<ProbeResult> {
  validateEndpoint(endpoint);
  const body = envelopeXml({
    action: ACTIONS.get,
    resourceUri: resourceUri('AMT_GeneralSettings'),
    messageId: 'uuid:00000000-0000-4000-8000-000000000000',
    body: '',
    operationTimeout: 'PT60S',
  });
  const response = await postOnce(endpoint, timeouts, {
    path: '/wsman',
    headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' },
    body,
  });
  const server = response.headers['server'];
  const version = versionFromServerHeader(typeof server === 'string' ? server : undefined);
  return {
    status: response.status,
    version,
    digestRealm: parseDigestChallenge(headerValues(response, 'www-authenticate'))?.realm,
    interface: version ? detectInterface(version) : undefined,
  };
}
