import { X509Certificate } from 'node:crypto';
import { deviceActivities } from '../../../activities/device';
import { withFailureMapping } from '../../../activities/failures';
import type { DeviceProfileInput } from '../../../emulator/device/profile';
import type { Device } from '../../../emulator/device/device';
import { digestHa1 } from '../../../lib/amt';
import { parseDeviceUuid, type DeviceUuid } from '../../../lib/device-uuid';
import type { AmtSettingsInput } from '../../../lib/store/profile-settings';
import { createTestDeps, TEST_DOMAIN, type TestDeps } from '../../support/activity-env';
import { uniqueTag } from '../../support/directory';
import { testFleet } from '../emulator/support/fleet';

export type Activities = ReturnType<typeof deviceActivities>;

export interface DeviceTestbed {
  deps: TestDeps;
  fleet: Awaited<ReturnType<typeof testFleet>>;
  /** The activities as the worker runs them: domain errors mapped to typed failures. */
  activities: Activities;
  tag: string;
  cleanup(): Promise<void>;
}

/**
 * Real activity dependencies (CA, PGlite, optionally the Samba DC) and an emulator fleet whose
 * devices trust amtflow's provisioning root, as an operator would enter its hash in MEBx. Each
 * device is imported under `dev<i>-<tag>` in the test domain, in a collection with `profile`.
 */
export async function deviceTestbed(
  devices: DeviceProfileInput[],
  options: { profile?: AmtSettingsInput; directory?: boolean } = {},
): Promise<DeviceTestbed> {
  const deps = await createTestDeps({ directory: options.directory ?? false });
  const tag = uniqueTag();
  const rootHash = deps.ca.provisioning.credential().rootThumbprints.sha256;
  const fleet = await testFleet(
    devices.map((d) => ({ customHashes: [{ algorithm: 'sha256', hash: rootHash, description: 'amtflow' }], ...d })),
  );
  const collection = `devices-${tag}`;
  if (options.profile) await deps.store.profiles.save(collection, options.profile);
  await deps.store.collections.save({ name: collection, ...(options.profile ? { settingsProfile: collection } : {}) });
  for (const [i, device] of fleet.devices.entries()) {
    await deps.store.devices.importComputer({
      uuid: device.uuid,
      hostName: `dev${i}-${tag}`,
      domain: TEST_DOMAIN,
      collection,
    });
    await deps.store.devices.update(device.uuid, { amtVersion: device.nvram().amtVersion });
    await deps.store.contacts.recordOperatorEntry(device.uuid, {
      host: device.address,
      httpPort: device.httpPort,
      tlsPort: device.tlsPort,
    });
  }
  return {
    deps,
    fleet,
    activities: withFailureMapping(deviceActivities(deps)),
    tag,
    async cleanup() {
      await fleet.cleanup();
      await deps.cleanup();
    },
  };
}

/** The emulated device's UUID as amtflow's front doors hand it on. */
export const uuidOf = (device: Device): DeviceUuid => parseDeviceUuid(device.uuid);

/** The serial of the certificate the device's TLS port serves after CommitChanges. */
export function servedCertificateSerial(device: Device): string {
  const nvram = device.nvram();
  const handle = nvram.tls.applied?.certHandle;
  const cert = nvram.certs.find((c) => c.handle === handle);
  if (!cert) throw new Error('the device serves no installed certificate');
  return BigInt(`0x${new X509Certificate(Buffer.from(cert.der, 'base64')).serialNumber}`).toString(16);
}

export const normaliseSerial = (serial: string) => BigInt(`0x${serial.replace(/:/g, '')}`).toString(16);

/** Whether the device's admin account holds `password` (its HA1 is what NVRAM keeps). */
export function adminHolds(device: Device, password: string): boolean {
  const nvram = device.nvram();
  return nvram.admin.ha1 === digestHa1(nvram.admin.username, nvram.realm, password).toString('hex');
}

/** A binary SID (S-1-5-21-a-b-c-rid), base64, as the directory would resolve it. */
export function sidBase64(...subAuthorities: number[]): string {
  const sid = Buffer.alloc(8 + 4 * subAuthorities.length);
  sid[0] = 1;
  sid[1] = subAuthorities.length;
  sid.writeUIntBE(5, 2, 6);
  subAuthorities.forEach((value, i) => sid.writeUInt32LE(value, 8 + 4 * i));
  return sid.toString('base64');
}
