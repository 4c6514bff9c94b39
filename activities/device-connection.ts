import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import {
  AMT_TLS_SECURE_OPTIONS,
  AmtTlsError,
  AmtTimeoutError,
  AmtConnectionError,
  openAmtSession,
  type AmtCredential,
  type AmtSession,
  type AmtTlsOptions,
  type ManagementControllerSetup,
} from '../lib/amt';
import type { CandidateRef } from '../lib/store';
import type { DeviceSession } from './contract';
import type { ActivityDeps } from './deps';
import { permanentFailure } from './failures';

/**
 * How device activities reach a device: endpoint from the contact the hello (or agent, or operator)
 * left, TLS by the session's phase, Digest candidates in OOB6 order. Credential references travel
 * in workflow history as strings — `amt_admin:3` for a stored version of this device, `account:factory`
 * for a configured provisioning account — never as passwords; a session's ref is matched against
 * the candidates' serialised refs, so it never needs parsing back.
 */

const ACCOUNT_PREFIX = 'account:';

export function serialiseRef(ref: CandidateRef): string {
  return 'account' in ref ? `${ACCOUNT_PREFIX}${ref.account}` : `${ref.kind}:${ref.version}`;
}

interface Endpoint {
  host: string;
  httpPort: number;
  tlsPort: number;
}

export async function deviceEndpoint(deps: ActivityDeps, deviceUuid: string): Promise<Endpoint> {
  const contact = await deps.store.contacts.get(deviceUuid);
  if (!contact) {
    throw permanentFailure(
      'DEVICE_NOT_REACHABLE_ADDRESS',
      `no address is known for ${deviceUuid}: no hello, agent report or operator entry yet`,
    );
  }
  return { host: contact.host, httpPort: contact.httpPort, tlsPort: contact.tlsPort };
}

/** AMT before 12 offers only TLS 1.0/1.1 and the old RSA suites; the version the probe stored decides. */
async function needsLegacyTls(deps: ActivityDeps, session: Pick<DeviceSession, 'deviceUuid' | 'protocol'>) {
  if (session.protocol === 'eoi') return true;
  const version = (await deps.store.devices.require(session.deviceUuid)).amtVersion;
  return version !== null && Number.parseInt(version, 10) < 12;
}

/**
 * `provisioning`: our provisioning chain as client certificate (OOB3); `managed`: the device must
 * present the certificate amtflow's CA issued for its FQDN.
 */
export async function tlsOptions(
  deps: ActivityDeps,
  session: Pick<DeviceSession, 'deviceUuid' | 'protocol' | 'tls'>,
): Promise<AmtTlsOptions> {
  const legacyProtocols = await needsLegacyTls(deps, session);
  if (session.tls === 'provisioning') {
    const { cert, key } = deps.ca.provisioningTlsOptions();
    return { mode: 'provisioning', clientCertificateChainPem: cert, clientKeyPem: key, legacyProtocols };
  }
  const { fqdn } = await deps.store.devices.require(session.deviceUuid);
  return { mode: 'verified', caPem: deps.ca.chainPem.join('\n'), serverName: fqdn, legacyProtocols };
}

/** The Digest candidates of OOB6 with their passwords, the session's last winner first. */
export async function digestCredentials(deps: ActivityDeps, session: DeviceSession): Promise<AmtCredential[]> {
  const candidates = await deps.store.credentials.digestCandidates(session.deviceUuid, deps.provisioningAccounts);
  const credentials = await Promise.all(
    candidates.map(async (candidate) => ({
      username: candidate.username,
      password: await deps.store.credentials.reveal(candidate.ref, deps.provisioningAccounts),
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
  deps: ActivityDeps,
  session: DeviceSession,
  credentials?: AmtCredential[],
): Promise<OpenDevice> {
  const endpoint = await deviceEndpoint(deps, session.deviceUuid);
  const amt = openAmtSession({
    host: endpoint.host,
    port: endpoint.tlsPort,
    tls: await tlsOptions(deps, session),
    credentials: credentials ?? (await digestCredentials(deps, session)),
    timeouts: deps.amtTimeouts,
  });
  return { amt, setup: amt.setup(session.protocol) };
}

/** The winning ref after a login; every session here logs in with a listed credential. */
export function winningRef(amt: AmtSession): string {
  const ref = amt.credentialRef;
  if (ref === undefined) throw new Error(`${amt.target}: no credential was used`);
  return ref;
}

/**
 * One TLS handshake with the device's TLS port, returning the certificate it presents. With
 * `clientCertificate` the provisioning chain is offered (OOB3); without, nothing is offered, which
 * only looks at what the device serves. Errors are the AMT client's transport errors.
 */
export function deviceCertificate(
  endpoint: Endpoint,
  options: { clientCertificate?: { cert: string; key: string }; legacyProtocols: boolean; connectMs: number },
): Promise<X509Certificate> {
  const target = `${endpoint.host}:${endpoint.tlsPort}`;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: endpoint.host,
      port: endpoint.tlsPort,
      rejectUnauthorized: false,
      secureOptions: AMT_TLS_SECURE_OPTIONS,
      // As the AMT client: with a client certificate, TLS 1.2 decides acceptance inside the handshake.
      maxVersion: 'TLSv1.2',
      ...(options.legacyProtocols ? { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
      ...(options.clientCertificate ?? {}),
    });
    const timer = setTimeout(() => fail(new AmtTimeoutError('connect', options.connectMs, target)), options.connectMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const raw = socket.getPeerX509Certificate();
      socket.end();
      if (raw) resolve(raw);
      else reject(new AmtTlsError('TLS_HANDSHAKE_REJECTED', `${target}: the device presented no certificate`));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      fail(
        code.startsWith('ERR_SSL_') || code === 'ECONNRESET'
          ? new AmtTlsError('TLS_HANDSHAKE_REJECTED', `${target}: TLS handshake failed (${code})`, err)
          : new AmtConnectionError('CONNECTION_FAILED', `${target}: connection failed (${code})`, 'not-delivered', {
              transient: true,
              cause: err,
            }),
      );
    });
  });
}

export const sha256Fingerprint = (certificate: X509Certificate): string =>
  createHash('sha256').update(certificate.raw).digest('hex');
