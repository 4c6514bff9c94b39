import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DeviceProfileInput } from '../../../../emulator/device/profile';
import { startFleet, type Fleet, type FleetOptions } from '../../../../emulator/fleet/fleet';
import { testKeyPool } from '../../../unit/emulator/support/pki';

let nextNet = 0;

/** A unique 127.x.y.0/24 per test file (jest workers run files in parallel) for the fleet's devices. */
export function freshFirstIp(): string {
  nextNet += 1;
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  return `127.${100 + (process.pid % 100)}.${(worker * 20 + nextNet) % 250}.1`;
}

export async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'amtflow-emulator-'));
}

export async function testFleet(
  devices: DeviceProfileInput[],
  extra: Partial<FleetOptions> = {},
): Promise<Fleet & { stateDir: string; cleanup(): Promise<void> }> {
  const stateDir = extra.stateDir ?? (await tempDir());
  const fleet = await startFleet({
    devices,
    stateDir,
    keyPool: await testKeyPool(),
    ephemeralPorts: true,
    firstIp: freshFirstIp(),
    ...extra,
  });
  return Object.assign(fleet, {
    stateDir,
    async cleanup() {
      await fleet.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  });
}
