import {
  AmtConnectionError,
  AmtTlsError,
  detectInterface,
  openAmtSession,
  type AmtCredential,
  type AmtInterface,
  type AmtSession,
} from '../amt';
import type { DeviceUuid } from '../device-uuid';
import { deviceEndpoint, serialiseRef, tlsOptions, type DeviceAccess } from '../provisioning';
import type { Store } from '../store';
import { ConsoleError } from './errors';

/**
 * How console operations (power, discovery's authenticated read, redirection) reach a device
 * amtflow manages: its last contact, its stored admin credentials only (current, pending, retired —
 * never the provisioning accounts: a console operation is for devices this site provisioned), TLS
 * verified against amtflow's CA and the device's FQDN.
 */

/** The device's own admin credentials, current first (OOB6 order without the provisioning accounts). */
export async function storedAdminCredentials(store: Store, deviceUuid: DeviceUuid): Promise<AmtCredential[]> {
  const candidates = (await store.credentials.digestCandidates(deviceUuid, [])).filter((c) => !('account' in c.ref));
  return Promise.all(
    candidates.map(async (c) => ({
      username: c.username,
      password: await store.credentials.reveal(c.ref),
      ref: serialiseRef(c.ref),
    })),
  );
}

/** The interface of the device's firmware release, from the version discovery or P2 stored. */
export async function deviceInterface(store: Store, deviceUuid: DeviceUuid): Promise<AmtInterface> {
  const { amtVersion } = await store.devices.require(deviceUuid);
  return amtVersion === null ? 'wsman' : detectInterface(amtVersion);
}

export interface ConsoleSession {
  amt: AmtSession;
  iface: AmtInterface;
  transport: 'tls' | 'plain';
}

/**
 * The TLS port has no TLS server for us: refused, reset, or closed before the handshake completed —
 * how AMT's 16993 behaves while TLS is not configured. A handshake that completes with a certificate
 * amtflow does not trust (TLS_SERVER_UNTRUSTED, TLS_SERVER_NAME_MISMATCH, …) is not this.
 */
function noTlsServer(err: unknown): boolean {
  if (err instanceof AmtConnectionError) return ['CONNECTION_REFUSED', 'CONNECTION_RESET'].includes(err.code);
  return err instanceof AmtTlsError && err.code === 'TLS_HANDSHAKE_REJECTED';
}

/**
 * A session with the stored credentials. Over TLS (verified) when the device's TLS port serves
 * TLS; over 16992 only when that port has no TLS server at all (TLS not configured, as on firmware
 * provisioned without it — where AMT itself serves Digest on 16992). A TLS port that completes a
 * handshake but fails verification is never bypassed: that is a device (or a peer) amtflow cannot
 * trust, and the error says so.
 */
export async function openConsoleSession(access: DeviceAccess, deviceUuid: DeviceUuid): Promise<ConsoleSession> {
  const credentials = await storedAdminCredentials(access.store, deviceUuid);
  if (credentials.length === 0)
    throw new ConsoleError('NO_STORED_CREDENTIALS', `${deviceUuid} has no admin credential of this site`);
  const iface = await deviceInterface(access.store, deviceUuid);
  const endpoint = await deviceEndpoint(access, deviceUuid);
  const overTls = openAmtSession({
    host: endpoint.host,
    port: endpoint.tlsPort,
    tls: await tlsOptions(access, { deviceUuid, protocol: iface, tls: 'managed' }),
    credentials,
    timeouts: access.amtTimeouts,
  });
  try {
    await overTls.login(iface);
    return { amt: overTls, iface, transport: 'tls' };
  } catch (err) {
    if (!noTlsServer(err)) throw err;
  }
  const plain = openAmtSession({
    host: endpoint.host,
    port: endpoint.httpPort,
    credentials,
    timeouts: access.amtTimeouts,
  });
  await plain.login(iface);
  return { amt: plain, iface, transport: 'plain' };
}
