import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { DeviceUuid, ProvisioningMode } from '../../activities/contract';
import { runAgent } from '../../emulator/agent/agent';
import { startFleet, type Fleet } from '../../emulator/fleet/fleet';
import type { DeviceProfileInput } from '../../emulator/device/profile';
import { parseDeviceUuid } from '../../lib/device-uuid';
import type { AmtSettingsInput } from '../../lib/store';
import { startLifecycle } from '../../runtime/lifecycle-client';
import { TASK_QUEUES } from '../../workflows/names';
import { testKeyPool } from '../unit/emulator/support/pki';
import { createTestDeps, TEST_DOMAIN, type TestDeps } from './activity-env';
import { connectTestEnv, createTestWorker, testServerAddress, uniqueQueue } from './temporal';

/**
 * Everything a lifecycle run meets in production, for one test file: the real Temporal dev server,
 * a worker with the real activities, the emulated devices, the test Samba DC, the CA and the site
 * database. Devices are imported into a collection with a settings profile, as an operator would,
 * and their contact recorded as their hello would. The worker runs the test bundle, whose durable
 * timers (backoff between attempts, REN2's poll) are shortened (tests/support/fast-timers.ts).
 */
export const TEST_COLLECTION = 'e2e';
export const TEST_PROFILE = 'e2e-desktops';

/** The secrets the test profile carries, so tests can look for them in histories and logs. */
export const PROFILE_SECRETS = { digestPassword: 'Au9!dit-Pw#27xQ', mebxPassword: 'Mb9$tYw3nQe5uJ@c' };

export function testProfile(): AmtSettingsInput {
  return {
    description: 'end-to-end test desktops',
    userAccounts: [
      { type: 'kerberos', account: 'CORP\\Domain Admins', realms: ['Redirection', 'RemoteControl'], access: 'network' },
      {
        type: 'digest',
        username: 'auditor',
        password: PROFILE_SECRETS.digestPassword,
        realms: ['AuditLog'],
        access: 'network',
      },
    ],
    ping: true,
    webUi: true,
    serialOverLan: true,
    ideRedirection: false,
    powerPackage: 'desktop_s0_s3_s45',
    wireless: [],
    mebx: { policy: 'set', password: PROFILE_SECRETS.mebxPassword },
  };
}

export interface E2eDevice {
  uuid: DeviceUuid;
  hostName: string;
  fqdn: string;
}

export interface LifecycleEnv {
  deps: TestDeps;
  fleet: Fleet;
  env: TestWorkflowEnvironment;
  taskQueue: string;
  devices: E2eDevice[];
  provision(uuid: DeviceUuid, mode?: ProvisioningMode): ReturnType<typeof startLifecycle>;
  /** The configuration a separate worker process needs to join this environment. */
  workerConfig(): Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startLifecycleEnv(
  profiles: Array<Partial<DeviceProfileInput> & { hostName: string; domain?: string }>,
  options: {
    firstIp: string;
    worker?: boolean;
    databaseUrl?: string;
    /** A Temporal server of the test's own (the chaos suite stops and restarts it). */
    temporalAddress?: string;
    /** Seeds the emulator's draws of faults injected with a probability. */
    faultSeed?: number;
  },
): Promise<LifecycleEnv> {
  const deps = await createTestDeps({ databaseUrl: options.databaseUrl });
  const rootSha256 = deps.ca.provisioning.credential().rootThumbprints.sha256;
  const emulatorDir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-e2e-fleet-'));
  const withUuids = profiles.map(({ hostName, domain, ...profile }) => ({
    hostName,
    domain: domain ?? TEST_DOMAIN,
    uuid: parseDeviceUuid(profile.uuid ?? randomUUID()),
    profile,
  }));
  const fleet = await startFleet({
    devices: withUuids.map(({ uuid, profile }) => ({
      dnsSuffix: TEST_DOMAIN,
      hello: null,
      customHashes: [{ algorithm: 'sha256', hash: rootSha256, description: 'amtflow provisioning root' }],
      ...profile,
      uuid,
    })),
    stateDir: emulatorDir,
    ephemeralPorts: true,
    keyPool: await testKeyPool(),
    firstIp: options.firstIp,
    admin: false,
    ...(options.faultSeed === undefined ? {} : { faultSeed: options.faultSeed }),
  });

  await deps.store.profiles.save(TEST_PROFILE, testProfile());
  await deps.store.collections.save({
    name: TEST_COLLECTION,
    automaticProvisioning: true,
    settingsProfile: TEST_PROFILE,
  });
  const devices: E2eDevice[] = [];
  for (const { uuid, hostName, domain } of withUuids) {
    const device = fleet.device(uuid);
    await deps.store.devices.importComputer({ uuid, hostName, domain, collection: TEST_COLLECTION });
    await deps.store.contacts.recordHello(uuid, {
      host: device.address,
      httpPort: device.httpPort,
      tlsPort: device.tlsPort,
      // What the device's hello carries that matters here: amtflow's root among its trusted hashes.
      rootHashes: [{ algorithm: 'sha256', hex: rootSha256 }],
      adminCredentialsSet: false,
    });
    devices.push({ uuid, hostName, fqdn: `${hostName}.${domain}` });
  }

  const env = await connectTestEnv(options.temporalAddress);
  // Where this environment's runs go: its own queue, or the production queue a separate worker
  // process (workers/main.ts) polls.
  const taskQueue = options.worker === false ? TASK_QUEUES.lifecycle : uniqueQueue('e2e');
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  if (options.worker !== false) {
    worker = await createTestWorker(env, { taskQueue, activities: createActivities(deps) });
    // A worker that dies would leave runs waiting silently: say so at once.
    running = worker.run().catch((err: unknown) => {
      process.stderr.write(`lifecycle test worker failed: ${String(err)}\n`);
      throw err;
    });
  }
  return {
    deps,
    fleet,
    env,
    taskQueue,
    devices,
    provision: (uuid, mode = 'out-of-band') =>
      startLifecycle(env.client, 'provision', { deviceUuid: uuid, mode, requestedBy: 'e2e' }, { taskQueue }),
    workerConfig: () => ({
      stateDir: deps.stateDir,
      secrets: { key: deps.config.secrets.key },
      database: { url: options.databaseUrl },
      temporal: { address: options.temporalAddress ?? testServerAddress(), namespace: 'amtflow' },
      directory: deps.config.directory,
      ca: { provisioningDomain: TEST_DOMAIN },
      log: { level: 'warn' },
      // The front doors these processes start keep no Temporal Schedules on the shared test server:
      // a sweep left there fires every hour into whichever production worker polls next.
      schedules: { enabled: false },
    }),
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

/** IB1–IB2: the device's in-band agent reports its OTP hash, recorded as the API's agent route records it. */
export async function reportOtpHash(env: LifecycleEnv, uuid: DeviceUuid): Promise<void> {
  await runAgent(env.fleet.device(uuid), {
    reporter: async (report) => {
      await env.deps.store.otp.record(uuid, {
        algorithm: 'sha256',
        hash: report.otpHash,
        reportedAmtVersion: report.amtVersion,
        wiredIp: report.wiredIpAddress,
      });
    },
  });
}
