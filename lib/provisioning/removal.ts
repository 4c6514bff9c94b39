import { AmtConnectionError, AmtTimeoutError, AmtTlsError, tlsConfigurationRemoved } from '../amt';
import { deviceEndpoint, openDevice, type DeviceAccess, type DeviceSession } from './device-session';
import { SettingNotKeptError } from './errors';

/**
 * DEP1, one-shot: the state is read first and a device already back in pre-provisioning is done.
 * Once Unprovision took effect the device no longer serves amtflow's certificate, so the managed
 * session cannot read the state; then what the TLS port does is the state: refusing TLS or serving
 * a self-signed certificate while the device answers on 16992 means its TLS configuration is gone,
 * which is what an earlier attempt's Unprovision left. The same reading after Unprovision is its
 * read-back.
 *
 * After a full removal the firmware's admin password is the factory one again; the stored current
 * amt_admin credential is left as it is (the store has no operation to retire it), and the next
 * provisioning's Digest fallback reaches the factory account after one refusal.
 */
export async function unprovisionDevice(
  access: DeviceAccess,
  session: DeviceSession,
  mode: 'partial' | 'full',
): Promise<void> {
  if ((await removalState(access, session)) === 'removed') return;
  await (await openDevice(access, session)).setup.unprovision(mode);
  // Read back: an Unprovision answered but not kept (a lost NVRAM write) would otherwise end a run
  // that records the device removed while its firmware stays provisioned.
  let after;
  try {
    after = await removalState(access, session);
  } catch (err) {
    // The factory power policy keeps the ME on only while the host runs: a device whose host is off
    // drops off the network as soon as it took the Unprovision. A lost one leaves it reachable.
    // The read opens a new session, so this is a connection refused, reset or left unanswered from
    // the start. Known limit: a network fault at this very moment, on a device whose Unprovision was
    // lost, would pass for it too (docs/amt-client.md, "Uncertain points").
    if (err instanceof AmtConnectionError || err instanceof AmtTimeoutError) return;
    throw err;
  }
  if (after !== 'removed') {
    throw new SettingNotKeptError(`the removal (DEP1, ${mode})`, [`provisioning state is ${after}, written pre`]);
  }
}

/** The firmware's provisioning state, or `removed`: back in pre-provisioning, or its TLS configuration gone. */
async function removalState(access: DeviceAccess, session: DeviceSession): Promise<'removed' | 'in' | 'post'> {
  const { setup } = await openDevice(access, session);
  let state;
  try {
    state = await setup.getProvisioningState();
  } catch (err) {
    if (!(err instanceof AmtTlsError)) throw err;
    const removed = await tlsConfigurationRemoved(await deviceEndpoint(access, session.deviceUuid, session.endpoint), {
      legacyProtocols: session.protocol === 'eoi',
      timeouts: access.amtTimeouts,
    });
    if (removed) return 'removed';
    throw err;
  }
  return state === 'pre' ? 'removed' : state;
}
