import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DeviceUuid } from '../../../lib/device-uuid';
import { startLifecycle } from '../../../runtime/lifecycle-client';
import { isAlive, waitFor } from '../../../scripts/lib/process';
import { expectNoSecretInHistories, expectProvisionedEverywhere } from '../../support/agreement';
import { backends, type TestDatabase } from '../../support/databases';
import { PROFILE_SECRETS, startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Durability of a run: the worker process is killed with SIGKILL in the middle of stage one, while
 * the firmware commits, or while it unprovisions, and a new one started; the run completes — with
 * exactly one certificate, one directory object, and an admin password in the database that the
 * device accepts; or, for a full removal, the firmware back in pre-provisioning, its certificate
 * revoked and its directory object gone. Steps run as local activities, so the new worker runs again
 * every step since the last record; the commit and the unprovision are checkpoints
 * (workflows/step-runner.ts), so no step before them runs again after them — without that, the
 * removal's DEP1.0 logs in again over TLS, which an unprovisioned device no longer answers, and the
 * run never ends. PostgreSQL, because the worker runs in its own process.
 */
describe('worker killed in the middle of stage one', () => {
  let env: LifecycleEnv;
  let database: TestDatabase;
  let worker: ChildProcess | undefined;
  let configFile: string;

  beforeAll(async () => {
    database = await backends.find((b) => b.name === 'postgres')!.open();
    env = await startLifecycleEnv(
      [
        { hostName: 'amt-crash', amtVersion: '11.8.50' },
        { hostName: 'amt-crash-commit', amtVersion: '11.8.50' },
        { hostName: 'amt-crash-remove', amtVersion: '11.8.50' },
      ],
      {
        firstIp: '127.31.2.1',
        worker: false,
        databaseUrl: database.url,
      },
    );
    configFile = path.join(env.deps.stateDir, 'worker.config.json');
    writeFileSync(configFile, JSON.stringify(env.workerConfig()));
  });
  /** Kills the worker the last case started, if it still runs. */
  async function stopWorker(): Promise<void> {
    const pid = worker?.pid;
    if (pid && isAlive(pid)) {
      worker?.kill('SIGKILL');
      await waitFor('the worker to die', async () => !isAlive(pid), 10_000, 50);
    }
  }

  afterAll(async () => {
    await stopWorker();
    await env?.stop();
    await database?.close();
  });

  function startWorker(): ChildProcess {
    // One process (node with tsx's loader), not the tsx launcher: SIGKILL must hit the worker itself.
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, AMTFLOW_CONFIG: configFile, NODE_OPTIONS: '' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return child;
  }

  /**
   * Kills the worker as soon as `operation` reaches the device, then starts another. Told by the
   * device, not by a query: a query waits while the run's steps chain in one workflow task (they run
   * as local activities), so it may answer only once the step is over.
   */
  async function restartWorkerWhen(deviceUuid: DeviceUuid, operation: string): Promise<void> {
    await waitFor(
      `${operation} to reach the device`,
      async () =>
        env.fleet
          .device(deviceUuid)
          .operations()
          .some((op) => op.operation === operation),
      120_000,
      50,
    );
    await stopWorker();
    worker = startWorker();
  }

  it.each([
    // OOB8.2's write, slowed down so the kill lands while stage one is under way.
    ['Put', 0],
    // The commit: the firmware leaves setup mode while the worker dies.
    ['CommitChanges', 1],
  ])(
    'completes after a restart during %s with one certificate, one directory object and a working password',
    async (operation, at) => {
      const device = env.devices[at]!;
      env.fleet.inject({ kind: 'delay', ms: 4_000, match: operation, times: 1 }, device.uuid);
      worker = startWorker();
      const handle = await env.provision(device.uuid);
      await restartWorkerWhen(device.uuid, operation);
      const result = await handle.result();
      await expectProvisionedEverywhere(env, device, result);

      const certificates = await env.deps.database.db
        .selectFrom('certificates')
        .select(['serial'])
        .where('device_uuid', '=', device.uuid)
        .where('template', '=', 'amt-web-server')
        .execute();
      expect(certificates).toHaveLength(1);
      expect(await env.deps.withDirectory((directory) => directory.findAmtAccount(device.fqdn))).toBeDefined();
      const current = (await env.deps.store.credentials.list(device.uuid, 'amt_admin')).filter(
        (c) => c.status === 'current',
      );
      expect(current).toHaveLength(1);
      await stopWorker();
    },
  );

  it('removes fully after a restart during the unprovision', async () => {
    const device = env.devices[2]!;
    worker = startWorker();
    await (await env.provision(device.uuid)).result();
    env.fleet.inject({ kind: 'delay', ms: 4_000, match: 'Unprovision', times: 1 }, device.uuid);
    const handle = await startLifecycle(
      env.env.client,
      'remove',
      { deviceUuid: device.uuid, mode: 'full', requestedBy: 'worker-crash' },
      { taskQueue: env.taskQueue },
    );
    await restartWorkerWhen(device.uuid, 'Unprovision');
    await handle.result();
    expect(env.fleet.device(device.uuid).nvram().provisioning.state).toBe(0);
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual([]);
    expect(await env.deps.withDirectory((directory) => directory.findAmtAccount(device.fqdn))).toBeUndefined();
    await stopWorker();
  });

  it('kept every password, passphrase and OTP out of every history', async () => {
    expect(await expectNoSecretInHistories(env, Object.values(PROFILE_SECRETS))).toBeGreaterThan(0);
  });
});
