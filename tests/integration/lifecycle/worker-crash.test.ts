import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive, waitFor } from '../../../scripts/lib/process';
import { expectNoSecretInHistories, expectProvisionedEverywhere } from '../../support/agreement';
import { backends, type TestDatabase } from '../../support/databases';
import { PROFILE_SECRETS, startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Durability of a run: the worker process is killed with SIGKILL in the middle of stage one and a
 * new one started; the run completes with exactly one certificate, one directory object, and an
 * admin password in the database that the device accepts. PostgreSQL, because the worker runs in
 * its own process.
 */
describe('worker killed in the middle of stage one', () => {
  let env: LifecycleEnv;
  let database: TestDatabase;
  let worker: ChildProcess | undefined;
  let configFile: string;

  beforeAll(async () => {
    database = await backends.find((b) => b.name === 'postgres')!.open();
    env = await startLifecycleEnv([{ hostName: 'amt-crash', amtVersion: '11.8.50' }], {
      firstIp: '127.31.2.1',
      worker: false,
      databaseUrl: database.url,
    });
    configFile = path.join(env.deps.stateDir, 'worker.config.json');
    writeFileSync(configFile, JSON.stringify(env.workerConfig()));
  });
  afterAll(async () => {
    const pid = worker?.pid;
    if (pid && isAlive(pid)) {
      worker?.kill('SIGKILL');
      await waitFor('the worker to die', async () => !isAlive(pid), 10_000, 50);
    }
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

  it('completes after a restart with one certificate, one directory object and a working password', async () => {
    const device = env.devices[0]!;
    // Slow down OOB8.2 so the kill lands while stage one is under way.
    env.fleet.inject({ kind: 'delay', ms: 4_000, match: 'Put', times: 1 }, device.uuid);
    worker = startWorker();
    const handle = await env.provision(device.uuid);
    // Told by the device, not by a query: a query waits while the run's steps chain in one workflow
    // task (they run as local activities), so it may answer only once OOB8.2 is over.
    await waitFor(
      "OOB8.2's write to reach the device",
      async () =>
        env.fleet
          .device(device.uuid)
          .operations()
          .some((op) => op.operation === 'Put'),
      120_000,
      50,
    );
    const killed = worker.pid!;
    worker.kill('SIGKILL');
    await waitFor('the worker to die', async () => !isAlive(killed), 10_000, 50);

    worker = startWorker();
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
  });

  it('kept every password, passphrase and OTP out of every history', async () => {
    expect(await expectNoSecretInHistories(env, Object.values(PROFILE_SECRETS))).toBeGreaterThan(0);
  });
});
