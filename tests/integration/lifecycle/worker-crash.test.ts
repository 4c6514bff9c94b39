import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { sql } from 'kysely';
import type { DeviceUuid } from '../../../lib/device-uuid';
import { startLifecycle } from '../../../runtime/lifecycle-client';
import { fetchProgressFromHistory } from '../../../runtime/progress-history';
import { isAlive, waitFor } from '../../../scripts/lib/process';
import type { ForgetResult } from '../../../workflows/forget-device';
import { SEARCH_ATTRIBUTES } from '../../../workflows/names';
import type { ProvisionDeviceResult } from '../../../workflows/provision-device';
import { expectNoSecretInHistories, expectProvisionedEverywhere, handledSecrets } from '../../support/agreement';
import { backends, type TestDatabase } from '../../support/databases';
import {
  PROFILE_SECRETS,
  reportOtpHash,
  startLifecycleEnv,
  type E2eDevice,
  type LifecycleEnv,
} from '../../support/lifecycle-env';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Durability of a run: the worker process is killed with SIGKILL in the middle of a run and a new
 * one started; the run completes — with exactly one certificate, one directory object, and an admin
 * password in the database that the device accepts; or, for a full removal, the firmware back in
 * pre-provisioning, its certificate revoked and its directory object gone; or, for a forget, the
 * device's records removed once. Steps run as local activities, so the new worker runs again every
 * step since the last record. A step after which an earlier one cannot run again is a checkpoint
 * (workflows/step-runner.ts), recorded before it starts and when it ends, and each case below that
 * kills the worker after one fails without it:
 * - in band, after IB5 used the OTP: IB9 runs again, finds no unused OTP report and ends the run;
 * - on an EOI device, after the commit (OOB8.6) discarded the key the CA made for the firmware:
 *   OOB8.3 runs again, finds no key to install, and the run parks for an operator;
 * - in a full removal, during the unprovision (DEP1): DEP1.0 logs in again over TLS, which an
 *   unprovisioned device no longer answers, and the run never ends;
 * - in a forget, after DEP2.forget removed the device's records and before the server heard of it:
 *   OOB2 runs again, finds no device and ends the run.
 * Killed during stage one's writes or during the commit itself, the run completes with or without
 * the checkpoints: every step before them runs again and finds its own work (also on EOI firmware).
 * PostgreSQL, because the worker runs in its own process.
 */
describe('worker killed in the middle of a run', () => {
  let env: LifecycleEnv;
  let database: TestDatabase;
  let worker: ChildProcess | undefined;
  let configFile: string;
  /** The same worker configuration, its Temporal connection through `relay`. */
  let relayedConfigFile: string;
  let relay: Relay;
  /** The forgotten device's secrets, which the history scan can no longer read from the database. */
  const forgottenSecrets: string[] = [];

  beforeAll(async () => {
    database = await backends.find((b) => b.name === 'postgres')!.open();
    env = await startLifecycleEnv(
      [
        { hostName: 'amt-crash', amtVersion: '11.8.50' },
        { hostName: 'amt-crash-commit', amtVersion: '11.8.50' },
        { hostName: 'amt-crash-remove', amtVersion: '11.8.50' },
        { hostName: 'amt-crash-inband', amtVersion: '11.8.50' },
        { hostName: 'amt-crash-eoi', amtVersion: '5.2.70' },
        { hostName: 'amt-crash-forget', amtVersion: '11.8.50' },
      ],
      {
        firstIp: '127.31.2.1',
        worker: false,
        databaseUrl: database.url,
      },
    );
    const config = env.workerConfig() as { temporal: { address: string } };
    configFile = path.join(env.deps.stateDir, 'worker.config.json');
    writeFileSync(configFile, JSON.stringify(config));
    relay = await startRelay(config.temporal.address);
    relayedConfigFile = path.join(env.deps.stateDir, 'worker.relayed.config.json');
    writeFileSync(
      relayedConfigFile,
      JSON.stringify({ ...config, temporal: { ...config.temporal, address: relay.address } }),
    );
  });
  /** Kills the worker the last case started, if it still runs. */
  async function stopWorker(): Promise<void> {
    const pid = worker?.pid;
    if (pid && isAlive(pid)) {
      worker?.kill('SIGKILL');
      await waitFor('the worker to die', async () => !isAlive(pid), 10_000, 50);
    }
  }

  // A case that failed leaves no worker behind to take the next case's runs.
  afterEach(stopWorker);
  afterAll(async () => {
    await stopWorker();
    await relay?.close();
    await env?.stop();
    await database?.close();
  });

  function startWorker(config = configFile): ChildProcess {
    // One process (node with tsx's loader), not the tsx launcher: SIGKILL must hit the worker itself.
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, AMTFLOW_CONFIG: config, NODE_OPTIONS: '' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return child;
  }

  /** Kills the worker as soon as `happened` holds, then starts another. */
  async function restartWorkerOnce(what: string, happened: () => Promise<boolean>): Promise<void> {
    await waitFor(what, happened, 120_000, 50);
    await stopWorker();
    worker = startWorker();
  }

  /**
   * Kills the worker as soon as `operation` reaches the device, then starts another. Told by the
   * device, not by a query: a query waits while the run's steps chain in one workflow task (they run
   * as local activities), so it may answer only once the step is over.
   */
  async function restartWorkerWhen(deviceUuid: DeviceUuid, operation: string): Promise<void> {
    await restartWorkerOnce(`${operation} to reach the device`, async () =>
      env.fleet
        .device(deviceUuid)
        .operations()
        .some((op) => op.operation === operation),
    );
  }

  /**
   * The run's result. A run that parks for an operator instead fails the case at once, naming the
   * step and its error, rather than at the test's timeout.
   */
  async function resultOf<R>(handle: WorkflowHandle): Promise<R> {
    const result = handle.result() as Promise<R>;
    const ended = result.then(
      () => true,
      () => true,
    );
    while (!(await Promise.race([ended, sleep(500, false)]))) {
      const { typedSearchAttributes } = await handle.describe();
      if (typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage) === 'AWAITING_OPERATOR') {
        const { awaiting } = await fetchProgressFromHistory(env.env.client, handle.workflowId);
        throw new Error(
          `the run waits for an operator at ${awaiting?.step}: ${awaiting?.error.code} ${awaiting?.error.message}`,
        );
      }
    }
    return result;
  }

  /** Provisioned everywhere, with one web-server certificate and one current admin password. */
  async function expectProvisionedOnce(device: E2eDevice, result: ProvisionDeviceResult): Promise<void> {
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
      await expectProvisionedOnce(device, await resultOf<ProvisionDeviceResult>(handle));
    },
  );

  // IB5 uses up the agent's OTP report, and IB9, the run's first step, refuses a device without an
  // unused one. Killed at I2's key generation, the first write after IB5, the new worker runs again
  // from IB5's end; without IB5 as a checkpoint, from IB9, which ends the run with OTP_NOT_REPORTED.
  it('completes an in-band run after a restart once IB5 used the OTP, with one certificate, one directory object and a working password', async () => {
    const device = env.devices[3]!;
    await reportOtpHash(env, device.uuid);
    env.fleet.inject({ kind: 'delay', ms: 4_000, match: 'GenerateKeyPair', times: 1 }, device.uuid);
    worker = startWorker();
    const handle = await env.provision(device.uuid, 'in-band');
    await restartWorkerWhen(device.uuid, 'GenerateKeyPair');
    await expectProvisionedOnce(device, await resultOf<ProvisionDeviceResult>(handle));
  });

  // EOI firmware cannot generate keys: the CA makes the web-server key (I2), OOB8.3 installs it, and
  // the commit discards it once the firmware holds it. Killed as soon as the key is gone, the new
  // worker runs again from the commit's end; without OOB8.6 as a checkpoint, from OOB2 through
  // OOB8.3, which has no key to install (PRIVATE_KEY_NOT_AVAILABLE) and waits for an operator. Killed
  // during CommitChanges instead, the key is still there and the run completes either way.
  it("completes an EOI device's run after a restart once the commit discarded its CA-made key, with one certificate, one directory object and a working password", async () => {
    const device = env.devices[4]!;
    worker = startWorker();
    const handle = await env.provision(device.uuid);
    await restartWorkerOnce('the commit to discard the CA-made key', async () => {
      const keys = await env.deps.database.db
        .selectFrom('certificates')
        .leftJoin('certificate_private_keys', 'certificate_private_keys.serial', 'certificates.serial')
        .select(['certificates.key_source', 'certificate_private_keys.serial as kept'])
        .where('certificates.device_uuid', '=', device.uuid)
        .where('certificates.template', '=', 'amt-web-server')
        .execute();
      return keys.length > 0 && keys.every((k) => k.key_source === 'amtflow' && k.kept === null);
    });
    await expectProvisionedOnce(device, await resultOf<ProvisionDeviceResult>(handle));
  });

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
    await resultOf(handle);
    expect(env.fleet.device(device.uuid).nvram().provisioning.state).toBe(0);
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual([]);
    expect(await env.deps.withDirectory((directory) => directory.findAmtAccount(device.fqdn))).toBeUndefined();
  });

  // DEP2.forget, the forget's last step, removes the device's records, which OOB2, its first, reads.
  // Its window is between the records' commit and the server hearing of it: DEP2.forget's insert is
  // held by a table lock until the relay drops all the worker sends the server, then let go, and the
  // worker killed once the records are gone. The new worker runs DEP2.forget again, which finds its
  // own forgotten record; without DEP2.forget as a checkpoint, the whole run again from OOB2, which
  // ends it with DEVICE_NOT_IMPORTED.
  it('forgets a device once after a restart between removing its records and recording that', async () => {
    const device = env.devices[5]!;
    worker = startWorker(relayedConfigFile);
    await (await env.provision(device.uuid)).result();
    const issued = (await env.deps.ca.currentCertificates(device.uuid)).map((c) => c.serial);
    forgottenSecrets.push(...(await handledSecrets(env)));
    const handle = await env.deps.database.db.transaction().execute(async (trx) => {
      // Only DEP2.forget writes the table; SHARE mode lets its reads through and holds its insert.
      await sql`lock table forgotten_devices in share mode`.execute(trx);
      const started = await startLifecycle(
        env.env.client,
        'forget',
        { deviceUuid: device.uuid, reason: 'scrapped', requestedBy: 'worker-crash' },
        { taskQueue: env.taskQueue },
      );
      await waitFor(
        'DEP2.forget to wait for the lock',
        async () =>
          (await sql`select pid from pg_stat_activity where pg_backend_pid() = any(pg_blocking_pids(pid))`.execute(trx))
            .rows.length > 0,
        60_000,
        20,
      );
      relay.hold();
      return started;
    });
    await restartWorkerOnce(
      'the records to be forgotten',
      async () => !(await env.deps.store.devices.get(device.uuid)),
    );
    relay.release();
    const result = await resultOf<ForgetResult>(handle);
    expect(result.revoked.sort()).toEqual(issued.sort());
    expect(await env.deps.store.forgotten.forDevice(device.uuid)).toHaveLength(1);
    const audit = await env.deps.store.audit.forTarget(device.uuid);
    expect(audit.filter((entry) => entry.action === 'device.forget')).toHaveLength(1);
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual([]);
    expect(await env.deps.withDirectory((directory) => directory.findAmtAccount(device.fqdn))).toBeUndefined();
  });

  it('kept every password, passphrase and OTP out of every history', async () => {
    const secrets = [...Object.values(PROFILE_SECRETS), ...forgottenSecrets];
    expect(await expectNoSecretInHistories(env, secrets)).toBeGreaterThan(0);
  });
});

interface Relay {
  /** host:port for the worker, instead of the Temporal server's. */
  address: string;
  /** From now on nothing the worker sends reaches the server; what the server sends still reaches the worker. */
  hold(): void;
  /** Connections opened from now on are relayed again; those held stay held until they close. */
  release(): void;
  close(): Promise<void>;
}

interface RelayedConnection {
  /** What the worker sends on it is dropped. */
  held: boolean;
  close(): void;
}

/**
 * A TCP relay between a worker process and the Temporal server, which can drop everything the worker
 * sends: a result the worker has, or a workflow task it has completed, never reaches the server.
 */
async function startRelay(target: string): Promise<Relay> {
  const separator = target.lastIndexOf(':');
  const host = target.slice(0, separator);
  const port = Number(target.slice(separator + 1));
  const open = new Set<RelayedConnection>();
  let holding = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    const connection: RelayedConnection = {
      held: holding,
      close() {
        client.destroy();
        upstream.destroy();
        open.delete(connection);
      },
    };
    open.add(connection);
    client.on('data', (chunk) => {
      if (!connection.held) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    for (const socket of [client, upstream]) {
      socket.on('error', () => connection.close());
      socket.on('close', () => connection.close());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: listening } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${listening}`,
    hold() {
      holding = true;
      for (const connection of open) connection.held = true;
    },
    release() {
      holding = false;
    },
    close: async () => {
      for (const connection of open) connection.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
