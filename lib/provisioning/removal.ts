import { AmtTlsError, tlsConfigurationRemoved } from '../amt';
import { deviceEndpoint, openDevice, type DeviceAccess, type DeviceSession } from './device-session';

/**
 * DEP1, one-shot: the state is read first and a device already back in pre-provisioning is done.
 * Once Unprovision took effect the device no longer serves amtflow's certificate, so the managed
 * session cannot read the state; then what the TLS port does is the state: refusing TLS or serving
 * a self-signed certificate while the device answers on 16992 means its TLS configuration is gone,
 * which is what an earlier attempt's Unprovision left.
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
    if (removed) return;
    throw err;
  }
  if (state === 'pre') return;
  await setup.unprovision(mode);
}
