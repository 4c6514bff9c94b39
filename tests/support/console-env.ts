import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { DeviceProfileInput } from '../../emulator/device/profile';
import { startFleet, type Fleet } from '../../emulator/fleet/fleet';
import { parseDeviceUuid, type DeviceUuid } from '../../lib/device-uuid';
import { testKeyPool } from '../unit/emulator/support/pki';
import { createTestDeps, TEST_DOMAIN, type TestDeps } from './activity-env';
import { connectTestEnv, createTestWorker, uniqueQueue } from './temporal';

/**
 * Console operations (OPS1–OPS3) against the emulator: a site database, a worker with the real
 * activities on the test bundle (durable timers ÷300), and emulated devices on 16992–16995 of
 * their own loopback addresses (so an address range can be swept on the standard ports).
 */
export interface ConsoleEnv {
  deps: TestDeps;
  fleet: Fleet;
  env: TestWorkflowEnvironment;
  taskQueue: string;
  stop(): Promise<void>;
}

export async function startConsoleEnv(
  devices: DeviceProfileInput[],
  options: { firstIp: string; worker?: boolean },
): Promise<ConsoleEnv> {
  const deps = await createTestDeps({ directory: false });
  const emulatorDir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-console-fleet-'));
  const fleet = await startFleet({
    devices: devices.map((d) => ({ hello: null, helloEnabled: false, uuid: randomUUID(), ...d })),
    stateDir: emulatorDir,
    keyPool: await testKeyPool(),
    firstIp: options.firstIp,
    admin: false,
  });
  const env = await connectTestEnv();
  const taskQueue = uniqueQueue('console');
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  if (options.worker !== false) {
    worker = await createTestWorker(env, { taskQueue, activities: createActivities(deps) });
    running = worker.run().catch((err: unknown) => {
      process.stderr.write(`console test worker failed: ${String(err)}\n`);
      throw err;
    });
  }
  return {
    deps,
    fleet,
    env,
    taskQueue,
    async stop() {
      worker?.shutdown();
      await running;
      await env.teardown();
      await fleet.stop();
      await deps.cleanup();
      rmSync(emulatorDir, { recursive: true, force: true });
    },
  };
}

/**
 * Imports a device into `collection` and records its contact, as an operator's import and its
 * hello would; with `adminPassword`, stores it as the device's current admin credential, as
 * provisioning (OOB8.4) leaves it.
 */
export async function importDevice(
  deps: TestDeps,
  input: {
    uuid?: string;
    hostName: string;
    collection: string;
    host: string;
    httpPort?: number;
    tlsPort?: number;
    adminPassword?: string;
    amtVersion?: string;
  },
): Promise<DeviceUuid> {
  const uuid = parseDeviceUuid(input.uuid ?? randomUUID());
  await deps.store.devices.importComputer({
    uuid,
    hostName: input.hostName,
    domain: TEST_DOMAIN,
    collection: input.collection,
  });
  if (input.amtVersion) await deps.store.devices.update(uuid, { amtVersion: input.amtVersion });
  await deps.store.contacts.recordOperatorEntry(uuid, {
    host: input.host,
    ...(input.httpPort ? { httpPort: input.httpPort } : {}),
    ...(input.tlsPort ? { tlsPort: input.tlsPort } : {}),
  });
  if (input.adminPassword) {
    const staged = await deps.store.credentials.stagePending(uuid, 'amt_admin', `test-${uuid}-admin`, {
      value: input.adminPassword,
      username: 'admin',
    });
    await deps.store.credentials.promote(staged);
  }
  return uuid;
}
