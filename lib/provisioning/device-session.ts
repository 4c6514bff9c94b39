import {
  AmtAuthError,
  openAmtSession,
  type AmtCredential,
  type AmtInterface,
  type AmtPorts,
  type AmtSession,
  type AmtTimeouts,
  type AmtTlsOptions,
  type ManagementControllerSetup,
} from '../amt';
import type { DeviceUuid } from '../device-uuid';
import type { CertificateAuthority } from '../pki';
import type { CandidateRef, ProvisioningAccount, Store } from '../store';
import { ProvisioningError } from './errors';

/**
 * How a provisioning step reaches a device from the site database's records: the endpoint its
 * hello (or agent, or operator) left, TLS by the session's phase, Digest candidates in OOB6 order.
 * Credential references travel in workflow history as strings — `amt_admin:3` for a stored version
 * of this device, `account:factory` for a configured provisioning account — never as passwords; a
 * session's ref is matched against the candidates' serialised refs, so it never needs parsing back.
 */

/**
 * A step's view of its device. `tls`: `provisioning` presents the provisioning certificate chain as
 * TLS client (remote configuration, OOB3/OOB4); `managed` verifies the device's issued certificate
 * against amtflow's CA and its FQDN (after stage one).
 */
export interface DeviceSession {
  deviceUuid: DeviceUuid;
  tls: 'provisioning' | 'managed';
  protocol: AmtInterface;
  /** The credential that logged in last; tried first by the next step (OOB6 order otherwise). */
  credentialRef?: string;
}

/** What reaching a device needs: the records, the CA's credentials, the configured accounts. */
export interface DeviceAccess {
  store: Store;
  ca: CertificateAuthority;
  /** OOB6: Digest accounts tried after the device's own credentials, passwords already read. */
  provisioningAccounts: readonly ProvisioningAccount[];
  amtTimeouts: AmtTimeouts;
}

const ACCOUNT_PREFIX = 'account:';

export function serialiseRef(ref: CandidateRef): string {
  return 'account' in ref ? `${ACCOUNT_PREFIX}${ref.account}` : `${ref.kind}:${ref.version}`;
}

/** Where the device was last heard from; DEVICE_NOT_REACHABLE_ADDRESS when it never was. */
export async function deviceEndpoint(access: Pick<DeviceAccess, 'store'>, deviceUuid: DeviceUuid): Promise<AmtPorts> {
  const contact = await access.store.contacts.get(deviceUuid);
  if (!contact) {
    throw new ProvisioningError(
      'DEVICE_NOT_REACHABLE_ADDRESS',
      `no address is known for ${deviceUuid}: no hello, agent report or operator entry yet`,
    );
  }
  return { host: contact.host, httpPort: contact.httpPort, tlsPort: contact.tlsPort };
}

/** AMT before 12 offers only TLS 1.0/1.1 and the old RSA suites; the version the probe stored decides. */
export async function needsLegacyTls(
  access: Pick<DeviceAccess, 'store'>,
  session: Pick<DeviceSession, 'deviceUuid' | 'protocol'>,
): Promise<boolean> {
  if (session.protocol === 'eoi') return true;
  const version = (await access.store.devices.require(session.deviceUuid)).amtVersion;
  return version !== null && Number.parseInt(version, 10) < 12;
}

/**
 * `provisioning`: our provisioning chain as client certificate (OOB3); `managed`: the device must
 * present the certificate amtflow's CA issued for its FQDN.
 */
export async function tlsOptions(
  access: Pick<DeviceAccess, 'store' | 'ca'>,
  session: Pick<DeviceSession, 'deviceUuid' | 'protocol' | 'tls'>,
): Promise<AmtTlsOptions> {
  const legacyProtocols = await needsLegacyTls(access, session);
  if (session.tls === 'provisioning') {
    const { cert, key } = access.ca.provisioning.tlsOptions();
    return { mode: 'provisioning', clientCertificateChainPem: cert, clientKeyPem: key, legacyProtocols };
  }
  const { fqdn } = await access.store.devices.require(session.deviceUuid);
  return { mode: 'verified', caPem: access.ca.chainPem.join('\n'), serverName: fqdn, legacyProtocols };
}

/** The Digest candidates of OOB6 with their passwords, the session's last winner first. */
export async function digestCredentials(access: DeviceAccess, session: DeviceSession): Promise<AmtCredential[]> {
  const { credentials: store } = access.store;
  const candidates = await store.digestCandidates(session.deviceUuid, access.provisioningAccounts);
  const credentials = await Promise.all(
    candidates.map(async (candidate) => ({
      username: candidate.username,
      password: await store.reveal(candidate.ref, access.provisioningAccounts),
      ref: serialiseRef(candidate.ref),
    })),
  );
  const preferred = credentials.findIndex((c) => c.ref === session.credentialRef);
  if (preferred > 0) credentials.unshift(...credentials.splice(preferred, 1));
  return credentials;
}

export interface OpenDevice {
  amt: AmtSession;
  setup: ManagementControllerSetup;
}

/** A session to the device; `credentials` replaces the OOB6 list when one specific password is to be tried. */
export async function openDevice(
  access: DeviceAccess,
  session: DeviceSession,
  credentials?: AmtCredential[],
): Promise<OpenDevice> {
  const endpoint = await deviceEndpoint(access, session.deviceUuid);
  const amt = openAmtSession({
    host: endpoint.host,
    port: endpoint.tlsPort,
    tls: await tlsOptions(access, session),
    credentials: credentials ?? (await digestCredentials(access, session)),
    timeouts: access.amtTimeouts,
  });
  return { amt, setup: amt.setup(session.protocol) };
}

/** OOB5/OOB6: logs in with the candidates in order; resolves with the ref of the one that worked. */
export async function login(amt: AmtSession, iface: AmtInterface): Promise<string> {
  await amt.login(iface);
  const ref = amt.credentialRef;
  if (ref === undefined) throw new Error(`${amt.target}: no credential was used`);
  return ref;
}

/** Whether the device accepts `credential` alone: how a one-shot password step reads the firmware's state. */
export async function deviceAccepts(
  access: DeviceAccess,
  session: DeviceSession,
  credential: AmtCredential,
): Promise<boolean> {
  const { amt } = await openDevice(access, session, [credential]);
  try {
    await amt.login(session.protocol);
    return true;
  } catch (err) {
    if (err instanceof AmtAuthError) return false;
    throw err;
  }
}
