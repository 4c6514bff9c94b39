import { detectInterface, probeAmt } from '../lib/amt';
import type { RootHashAlgorithm } from '../lib/pki';
import { assertProvisionableAmtVersion } from '../lib/provisioning';
import { normaliseDeviceUuid, StoreError, type Device } from '../lib/store';
import type { LifecycleActivities } from './contract';
import type { ActivityDeps } from './deps';
import { permanentFailure } from './failures';

type ValidationActivities = Pick<
  LifecycleActivities,
  'loadImportedDevice' | 'probeAmtVersion' | 'checkDirectoryPrerequisites' | 'matchTrustedRoot'
>;

const THUMBPRINT_ALGORITHMS: readonly string[] = ['sha1', 'sha256', 'sha384'] satisfies RootHashAlgorithm[];

/**
 * The device record a run works on. An unknown or malformed UUID is the same final condition: the
 * device was never imported (OOB2), and no retry can import it.
 */
export async function importedDevice(deps: Pick<ActivityDeps, 'store'>, deviceUuid: string): Promise<Device> {
  let device: Device | undefined;
  try {
    device = await deps.store.devices.get(normaliseDeviceUuid(deviceUuid));
  } catch (err) {
    if (!(err instanceof StoreError && err.code === 'INVALID_INPUT')) throw err;
  }
  if (!device) {
    throw permanentFailure(
      'DEVICE_NOT_IMPORTED',
      `device ${deviceUuid} was not imported; import it (UUID, host name, domain) before provisioning it (spec OOB2)`,
    );
  }
  return device;
}

/**
 * P1, P2, P4, OOB2, OOB3, IB9: checks before anything changes. Each failure is final and typed, and
 * none of these activities writes before its last check passed, so a refused run leaves the site
 * database, the directory and the CA as they were.
 *
 * Decision: `loadImportedDevice` does not mark the device's provisioning state. It is the first of
 * several validation steps; a mark written there would stay behind when a later check refuses the
 * run (a refused run records no result), contradicting "validation changes nothing". The device's
 * state is written with the run's result (`recordResult`, OOB10).
 */
export function validationActivities(deps: ActivityDeps): ValidationActivities {
  return {
    async loadImportedDevice({ deviceUuid, mode, selectedAs }) {
      const device = await importedDevice(deps, deviceUuid);
      if (selectedAs && !selectedAs.includes(device.provisioningState)) {
        throw permanentFailure(
          'PROVISIONING_STATE_CHANGED',
          `device ${device.uuid} (${device.fqdn}) is ${device.provisioningState} now, not ` +
            `${selectedAs.join(' or ')} as when the collection action selected it: a run has changed it since (spec OOB2)`,
        );
      }
      // IB9: an in-band device is known by the name its computer registered; it is the same record.
      if (mode === 'in-band' && !(await deps.store.otp.latest(device.uuid))) {
        throw permanentFailure(
          'OTP_NOT_REPORTED',
          `device ${device.uuid} (${device.fqdn}) has no unused one-time password report from its agent (spec IB2, IB4)`,
        );
      }
      const { settingsProfile } = await deps.store.devices.automaticProvisioning(device.uuid);
      return {
        deviceUuid: device.uuid,
        hostName: device.hostName,
        domain: device.domain,
        fqdn: device.fqdn,
        ...(device.collection ? { collection: device.collection } : {}),
        ...(settingsProfile ? { profileId: settingsProfile } : {}),
      };
    },

    async probeAmtVersion({ deviceUuid }) {
      const device = await importedDevice(deps, deviceUuid);
      const contact = await deps.store.contacts.get(device.uuid);
      if (!contact) {
        throw permanentFailure(
          'DEVICE_NOT_REACHABLE_ADDRESS',
          `no address is known for device ${device.uuid} (${device.fqdn}): it has sent no hello, its agent no report, ` +
            'and no operator entered one',
        );
      }
      // Unauthenticated: the Server header names the release on every answer, 401 included.
      const probe = await probeAmt({ host: contact.host, port: contact.httpPort }, deps.amtTimeouts);
      // IB3: an in-band agent reports the version too, for firmware whose answer lacks the header.
      const amtVersion = probe.version ?? (await deps.store.otp.latest(device.uuid))?.reportedAmtVersion ?? undefined;
      if (!amtVersion) {
        throw permanentFailure(
          'AMT_VERSION_UNKNOWN',
          `${contact.host}:${contact.httpPort} answered HTTP ${probe.status} without naming an AMT version; ` +
            `check that the address of ${device.fqdn} is its AMT interface (spec P2)`,
        );
      }
      assertProvisionableAmtVersion(amtVersion, device.fqdn);
      // Recorded only once the check passed: a refused device is left as it was.
      if (device.amtVersion !== amtVersion) await deps.store.devices.update(device.uuid, { amtVersion });
      const endpoint = { host: contact.host, httpPort: contact.httpPort, tlsPort: contact.tlsPort };
      return { amtVersion, protocol: detectInterface(amtVersion), endpoint };
    },

    async checkDirectoryPrerequisites({ deviceUuid, fqdn, domain, renamed = false }) {
      const device = await importedDevice(deps, deviceUuid);
      // Reads only; the P4 refusals come back as the directory's typed errors.
      await deps.withDirectory((directory) =>
        directory.checkPrerequisites({
          fqdn,
          domain,
          ...(device.windowsComputerDn && !renamed ? { computerDn: device.windowsComputerDn } : {}),
        }),
      );
    },

    async matchTrustedRoot({ deviceUuid }) {
      const device = await importedDevice(deps, deviceUuid);
      const contact = await deps.store.contacts.get(device.uuid);
      // A device that never sent a hello (in band: the agent starts it and its hellos are discarded,
      // IB7) has no hashes here. Its agent checked the root before reporting (IB1), and the firmware
      // itself refuses the TLS handshake of OOB4 against any other root, so nothing is lost.
      const reported =
        contact && contact.hellos > 0
          ? contact.rootHashes
              .filter((h) => THUMBPRINT_ALGORITHMS.includes(h.algorithm))
              .map((h) => ({ algorithm: h.algorithm as RootHashAlgorithm, hash: h.hex }))
          : undefined;
      // Throws the typed reason: no usable provisioning certificate, ROOT_HASH_MISMATCH (no chain
      // under a listed root), WEAK_PROVISIONING_CHAIN (every listed one too weak for this firmware).
      const chosen = deps.ca.provisioning.choose(reported, device.amtVersion ?? undefined, device.fqdn);
      return { rootThumbprint: chosen.rootThumbprints.sha256 };
    },
  };
}
