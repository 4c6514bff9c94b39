import { X509Certificate } from 'node:crypto';
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
  /**
   * Where this run reached the device (P2 fixes it at the start of the run): every call of the run
   * goes there, never to an address a later hello or agent report names (issue 9: addresses don't
   * move under a run). Absent only in sessions of runs started before it existed; those read the
   * device's contact record.
   */
  endpoint?: AmtPorts;
  /**
   * OOB4/IB8: SHA-256 (lower-case hex) of the certificate the firmware presented on its TLS port when
   * the run connected for provisioning. Every later provisioning-TLS call of the run must see the
   * same certificate (TLS_PIN_MISMATCH otherwise). A fingerprint of a public certificate: no secret.
   */
  certificateSha256?: string;
  /**
   * OOB3: SHA-256 of the root of the provisioning chain chosen for this device (the held chain under
   * a root it listed that its firmware accepts, `ca.provisioning.choose`); every provisioning-TLS
   * call of the run presents that chain. Absent in runs started before several chains existed: the
   * main chain.
   */
  provisioningRoot?: string;
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

/**
 * The address a session's calls go to: the one the run fixed (`session.endpoint`), else where the
 * device was last heard from; DEVICE_NOT_REACHABLE_ADDRESS when it never was.
 */
export async function deviceEndpoint(
  access: Pick<DeviceAccess, 'store'>,
  deviceUuid: DeviceUuid,
  fixed?: AmtPorts,
): Promise<AmtPorts> {
  if (fixed) return fixed;
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
  session: Pick<DeviceSession, 'deviceUuid' | 'protocol' | 'tls' | 'certificateSha256' | 'provisioningRoot'>,
): Promise<AmtTlsOptions> {
  const legacyProtocols = await needsLegacyTls(access, session);
  if (session.tls === 'provisioning') {
    const { cert, key } = access.ca.provisioning.tlsOptions(session.provisioningRoot);
    return {
      mode: 'provisioning',
      clientCertificateChainPem: cert,
      clientKeyPem: key,
      legacyProtocols,
      ...(session.certificateSha256 ? { pinnedServerSha256: await runPins(access, session) } : {}),
    };
  }
  const { fqdn } = await access.store.devices.require(session.deviceUuid);
  return {
    mode: 'verified',
    caPem: access.ca.chainPem.join('\n'),
    serverName: fqdn,
    legacyProtocols,
    // A certificate amtflow revoked is no proof of identity, even though it chains to amtflow's CA.
    refusedSerials: await access.ca.revokedSerials(),
  };
}

/**
 * The certificates a provisioning session may see: the one the firmware presented at OOB4, and —
 * once a commit may have taken effect (a reboot during OOB8.6) — the device's current certificate
 * from amtflow's CA, which only the firmware holding its key can present.
 */
async function runPins(
  access: Pick<DeviceAccess, 'ca'>,
  session: Pick<DeviceSession, 'deviceUuid' | 'certificateSha256'>,
): Promise<string[]> {
  const issued = await access.ca.currentCertificates(session.deviceUuid, ['amt-web-server']);
  return [
    session.certificateSha256 as string,
    ...issued.map((record) => new X509Certificate(record.certificatePem).fingerprint256),
  ];
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
  await refuseDuplicateUuid(access, session.deviceUuid);
  const endpoint = await deviceEndpoint(access, session.deviceUuid, session.endpoint);
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

/**
 * Issue 9: while another address claims the device's UUID (a conflict no operator has cleared),
 * nothing is sent to either: DUPLICATE_UUID, final, so the run parks for an operator.
 */
export async function refuseDuplicateUuid(access: Pick<DeviceAccess, 'store'>, deviceUuid: DeviceUuid): Promise<void> {
  const [conflict] = await access.store.contacts.openConflicts(deviceUuid);
  if (conflict) {
    throw new ProvisioningError(
      'DUPLICATE_UUID',
      `${conflict.host} and ${conflict.knownHost} both claim UUID ${deviceUuid} (${conflict.source}, ` +
        `${conflict.seenAt.toISOString()}): tell the computers apart, clear the conflict, then retry`,
    );
  }
}

/**
 * Issue 9: after login, the platform UUID the firmware reports must be the device's this run works
 * on; otherwise DEVICE_IDENTITY_MISMATCH (final: the operator decides), before anything is sent.
 */
export async function verifyIdentity(setup: ManagementControllerSetup, session: DeviceSession): Promise<void> {
  const reported = await setup.getPlatformUuid();
  if (reported !== session.deviceUuid) {
    throw new ProvisioningError(
      'DEVICE_IDENTITY_MISMATCH',
      `the firmware at ${session.endpoint?.host ?? 'the device address'} reports platform UUID ${reported}, ` +
        `not ${session.deviceUuid}: nothing was sent to it`,
    );
  }
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
