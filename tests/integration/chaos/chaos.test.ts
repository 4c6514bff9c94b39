import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DeviceUuid } from '../../../activities/contract';
import pino from 'pino';
import { createHelloService } from '../../../api/hello-service';
import { runAgent } from '../../../emulator/agent/agent';
import { startFleet, type Fleet } from '../../../emulator/fleet/fleet';
import { seededRandom } from '../../../emulator/fleet/faults';
import { STARTED_BY, waitFor } from '../../../scripts/lib/process';
import { ensureTemporalCli, startServer, stopServer } from '../../../scripts/temporal-dev-server';
import { collectionActions } from '../../../runtime/collection-action-client';
import { operatorCommands } from '../../../runtime/lifecycle-client';
import { SEARCH_ATTRIBUTES, deviceWorkflowId } from '../../../workflows/names';
import { TEST_DOMAIN } from '../../support/activity-env';
import { backends, type TestDatabase } from '../../support/databases';
import { newDeviceUuid } from '../../support/device-uuid';
import { testKeyPool } from '../../unit/emulator/support/pki';
import { childDn } from '../../../lib/directory/dn';
import { adminClient, TEST_DC, uniqueTag } from '../../support/directory';
import { expectNoSecretInHistories, handledSecrets } from '../../support/agreement';
import { findLeaks } from '../../support/history-scan';
import {
  PROFILE_SECRETS,
  TEST_COLLECTION,
  startLifecycleEnv,
  testProfile,
  type E2eDevice,
  type LifecycleEnv,
} from '../../support/lifecycle-env';
import { TEST_SERVER } from '../../support/temporal';
import {
  WorkerProcess,
  databaseOutage,
  directoryOutage,
  runChaos,
  settled,
  temporalOutage,
  type Outage,
} from './chaos';
import { checkInvariants } from './invariants';

/**
 * Proof under faults (issue 16 §1, §3): a fleet of legacy and modern devices, out of band and in
 * band, provisioned, updated collection-wide and removed in full while the production worker
 * process is SIGKILLed at seeded moments and restarted, the Temporal server is stopped and
 * restarted, the Samba DC is stopped for a while, the database connections are cut, and the
 * emulated firmware fails 10 % of the calls made to it, lost NVRAM writes among them. After each phase the invariant table
 * (invariants.ts) must hold for every device; afterwards no secret the run handled appears in any
 * history, search attribute, log line or in the database dump.
 *
 * `npm test` runs a moderate size; AMTFLOW_CHAOS_DEVICES=50 (and AMTFLOW_CHAOS_KILLS,
 * AMTFLOW_CHAOS_SEED, AMTFLOW_CHAOS_DC_OUTAGE_MS) runs the size (docs/chaos.md).
 */
const size = Number(process.env.AMTFLOW_CHAOS_DEVICES ?? 8);
const large = size >= 50;
const KILLS = Number(process.env.AMTFLOW_CHAOS_KILLS ?? (large ? 20 : 3));
const SEED = Number(process.env.AMTFLOW_CHAOS_SEED ?? 16);
const DC_OUTAGE_MS = Number(process.env.AMTFLOW_CHAOS_DC_OUTAGE_MS ?? (large ? 30_000 : 8_000));
/** How long one phase may take before the test gives up: the faults stretch every run. */
const PHASE_MS = (large ? 20 : 4) * 60_000;

/** Legacy (EOI), middle and current firmware; every fourth modern device runs the in-band agent. */
const FIRMWARE = ['5.2.70', '11.8.50', '15.0.23', '9.5.30', '16.1.25', '12.0.45', '19.0.5', '8.1.40'];
const legacy = (version: string) => Number(version.split('.')[0]) < 6;

/**
 * The emulator's share of faulty calls: 10 % of every call fails — dropped, HTTP 500, busy, or a
 * lost NVRAM write (success answered, nothing stored), a quarter each — and one commit in ten
 * reboots the device half-way. Every stage-two step reads its settings back, so a lost write is a
 * retry, never a setting the device lacks. AMTFLOW_CHAOS_LOST_WRITES=0 leaves the lost writes out
 * (the other three a third each), to tell their cost from the rest when replaying a seed.
 */
const LOST_WRITES = process.env.AMTFLOW_CHAOS_LOST_WRITES !== '0';
const CALL_FAULTS = [
  { kind: 'drop', probability: LOST_WRITES ? 0.025 : 0.034 },
  { kind: 'http500', probability: LOST_WRITES ? 0.025 : 0.033 },
  { kind: 'busy', probability: LOST_WRITES ? 0.025 : 0.033 },
  ...(LOST_WRITES ? [{ kind: 'lostWrite', probability: 0.025 } as const] : []),
  { kind: 'rebootDuringCommit', probability: 0.1, rebootMs: 1_000 },
] as const;

const log = (line: string) => process.stdout.write(`${line}\n`);

/**
 * The fleet's settings profile: the lifecycle tests' one, with 802.1X on the wired port — so the
 * update asks the operator before re-applying it to a device whose OS is off (UPD4) — and a
 * security group the AMT account of an in-band device joins for it (I5).
 */
const CHAOS_PROFILE = 'chaos-desktops';
const EAP_PASSWORD = 'Ch4os!Eap-Pw#91';
const GROUP = `amt-chaos-8021x-${uniqueTag()}`;
const GROUP_DN = childDn('CN', GROUP, `CN=Users,${TEST_DC.domainDn}`);

/** Half the fleet lives in a collection whose name is built against SQL, LDAP filters and DNs, and shells. */
const PWNED = path.join(os.tmpdir(), 'amtflow-chaos-pwned');
const CRAFTED_COLLECTION = `chaos'); drop table devices; -- )(cn=*),ou=evil $(touch ${PWNED}) \`touch ${PWNED}\``;
/** Host names and domains crafted the same way: refused at import, so they reach neither DC nor firmware. */
const CRAFTED_NAMES: Array<[string, string]> = [
  ['x)(cn=*', TEST_DOMAIN],
  ['a,ou=evil', TEST_DOMAIN],
  ["pc'); drop table devices;--", TEST_DOMAIN],
  [`$(touch ${PWNED})`, TEST_DOMAIN],
  ['pc-crafted', 'corp.example.test)(cn=*'],
  ['pc-crafted', 'evil,dc=corp.example.test'],
  ['pc-crafted', `corp.example.test;touch ${PWNED}`],
];

describe(`chaos: ${size} devices, ${KILLS} worker kills, seed ${SEED}`, () => {
  const random = seededRandom(SEED);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-chaos-'));
  const server = { stateDir: dir, port: TEST_SERVER.port + 19, uiPort: false as const, cli: '' };
  const plan = Array.from({ length: size }, (_, i) => {
    const amtVersion = FIRMWARE[i % FIRMWARE.length]!;
    return { hostName: `chaos-${i + 1}`, amtVersion, inBand: !legacy(amtVersion) && i % 4 === 3 };
  });
  let database: TestDatabase;
  let env: LifecycleEnv;
  let worker: WorkerProcess;
  let uuids: DeviceUuid[];
  /** The OTPs the agents set: a full removal wipes them from the firmware, not from this list. */
  const otps: string[] = [];
  /**
   * The Kerberos keys and passphrases the firmware was given (the NT hash as base64 — and as hex, the
   * other form it could leak in): a full removal wipes them, so they are gathered after each phase.
   */
  const kerberosSecrets = new Set<string>();
  const gatherKerberosSecrets = () => {
    for (const device of env.devices) {
      const { masterKey, passphrase } = env.fleet.device(device.uuid).nvram().kerberos;
      if (masterKey)
        [masterKey, Buffer.from(masterKey, 'base64').toString('hex')].forEach((k) => kerberosSecrets.add(k));
      if (passphrase) kerberosSecrets.add(passphrase);
    }
  };
  /** Second machines with the imported UUIDs of two out-of-band devices, at other addresses. */
  let impostors: Fleet;
  let impostorTargets: E2eDevice[];

  beforeAll(async () => {
    log(`chaos seed ${SEED} (replay: AMTFLOW_CHAOS_SEED=${SEED} AMTFLOW_CHAOS_DEVICES=${size})`);
    server.cli = await ensureTemporalCli();
    const running = await startServer({ ...server, startedBy: STARTED_BY.tests });
    database = await backends.find((b) => b.name === 'postgres')!.open();
    env = await startLifecycleEnv(
      plan.map(({ hostName, amtVersion }) => ({ hostName, amtVersion })),
      {
        firstIp: '127.31.17.1',
        worker: false,
        databaseUrl: database.url,
        temporalAddress: running.address,
        faultSeed: SEED,
      },
    );
    uuids = env.devices.map((d) => d.uuid);
    const admin = await adminClient();
    try {
      await admin.add(GROUP_DN, { objectClass: 'group', sAMAccountName: GROUP });
    } finally {
      await admin.unbind();
    }
    await env.deps.store.profiles.save(CHAOS_PROFILE, {
      ...testProfile(),
      wiredIeee8021x: {
        protocol: 'peapv0_eap_mschapv2',
        username: 'amt-chaos',
        password: EAP_PASSWORD,
        serverCertificateName: 'radius.corp.example.test',
        securityGroups: [GROUP],
      },
    });
    await env.deps.store.collections.save({
      name: TEST_COLLECTION,
      automaticProvisioning: true,
      settingsProfile: CHAOS_PROFILE,
    });
    const configFile = path.join(dir, 'worker.config.json');
    // Info level, so the log the secrets are searched in afterwards says what each step did.
    writeFileSync(configFile, JSON.stringify({ ...env.workerConfig(), log: { level: 'info' } }));
    worker = new WorkerProcess(configFile, path.join(dir, 'worker.log'));
    // Like the trust suite's: they trust amtflow's root, so if amtflow ever dialled them they would take the run.
    impostorTargets = env.devices.filter((_, i) => !plan[i]!.inBand && !legacy(plan[i]!.amtVersion)).slice(0, 2);
    const rootSha256 = env.deps.ca.provisioning.credential().rootThumbprints.sha256;
    impostors = await startFleet({
      devices: impostorTargets.map((device) => ({
        uuid: device.uuid,
        amtVersion: '11.8.50',
        dnsSuffix: TEST_DOMAIN,
        hello: null,
        customHashes: [{ algorithm: 'sha256' as const, hash: rootSha256, description: 'amtflow provisioning root' }],
      })),
      stateDir: path.join(dir, 'impostors'),
      ephemeralPorts: true,
      keyPool: await testKeyPool(),
      firstIp: '127.31.18.1',
      admin: false,
    });
  }, 300_000);

  afterAll(async () => {
    await worker?.stop();
    await impostors?.stop();
    if (env) {
      env.fleet.clearFaults();
      for (const device of env.devices) {
        await env.deps.withDirectory((d) => d.deleteAmtAccount(device.fqdn)).catch(() => undefined);
      }
      const admin = await adminClient();
      await admin.del(GROUP_DN).catch(() => undefined);
      await admin.unbind();
      await env.stop();
    }
    await database?.close();
    await stopServer(dir);
    // AMTFLOW_CHAOS_KEEP=1 keeps the worker log and the Temporal server's files for a post-mortem.
    if (process.env.AMTFLOW_CHAOS_KEEP === '1') log(`chaos files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The impostors say hello with the imported UUIDs (issue 9): a run in flight parks on
   * DUPLICATE_UUID for an operator, a provisioned device's record stays as it is.
   */
  const impostorHellos = (): Outage => {
    const hellos = createHelloService({
      store: env.deps.store,
      client: env.env.client,
      logger: pino({ level: 'silent' }),
      taskQueue: env.taskQueue,
    });
    const rootSha256 = env.deps.ca.provisioning.credential().rootThumbprints.sha256;
    return {
      name: `impostor hellos for ${impostorTargets.map((d) => d.hostName).join(', ')}`,
      async run() {
        for (const device of impostorTargets) {
          await hellos.onHello(
            {
              version: 3,
              adminCredentialsSet: false,
              retryCount: 0,
              uuid: device.uuid,
              rootHashes: [{ algorithm: 'sha256', hex: rootSha256 }],
            },
            impostors.device(device.uuid).address,
          );
        }
      },
    };
  };

  /** Zero secrets reached an impostor: its firmware is as shipped, and amtflow dials the real device. */
  async function expectImpostorsUntouched(): Promise<void> {
    for (const device of impostorTargets) {
      const nvram = impostors.device(device.uuid).nvram();
      expect(nvram.provisioning.state).toBe(0);
      expect(nvram.certs).toEqual([]);
      expect(nvram.admin.isDefault).toBe(true);
      expect(nvram.kerberos.krbEnabled).toBe(false);
      expect((await env.deps.store.contacts.get(device.uuid))?.host).toBe(env.fleet.device(device.uuid).address);
    }
  }

  const injectFaults = () => {
    for (const fault of CALL_FAULTS) env.fleet.inject(fault);
  };

  /**
   * Waits until every device's last run is `workflowType` and rests; when it does not in time, says
   * for each device where its run stands (type, state, the step under way and its last error) before
   * failing, so that the seed's replay starts from a diagnosis.
   */
  async function untilRest(what: string, workflowType: string): Promise<void> {
    try {
      await waitFor(what, () => settled(env.env.client, uuids, workflowType), PHASE_MS, 2_000);
    } catch (err) {
      const commands = operatorCommands(env.env.client, { taskQueue: env.taskQueue });
      for (const [i, uuid] of uuids.entries()) {
        const progress = await commands.progress(uuid).catch((e: unknown) => String(e));
        if (typeof progress === 'string') {
          log(`where the runs stand: ${plan[i]!.hostName}: ${progress}`);
          continue;
        }
        const running = progress.steps.find((s) => s.status === 'running');
        const at = progress.awaiting?.step ?? progress.waiting?.step ?? running?.id ?? '-';
        const error = running?.lastError ? ` (${running.lastError.code}: ${running.lastError.message})` : '';
        log(`where the runs stand: ${plan[i]!.hostName}: ${progress.operation} ${progress.state} at ${at}${error}`);
      }
      throw err;
    }
  }

  /**
   * The chaos of one phase: the firmware's faults and the kills and outages together; then the
   * faults end and every device's last run must come to rest as `workflowType` — completed, or
   * waiting for an operator with its reason.
   */
  async function underChaos(workflowType: string, outages: Outage[]): Promise<void> {
    const done = () => settled(env.env.client, uuids, workflowType);
    const events = await runChaos({ random, worker, kills: KILLS, outages, done, log });
    env.fleet.clearFaults();
    // Every outage of the phase happened while runs were under way: the fleet had not settled yet.
    expect(events).toEqual(expect.arrayContaining(outages.map((o) => o.name)));
    await untilRest(`every device's ${workflowType} run to rest`, workflowType);
    log(`chaos (${workflowType}): ${events.join('; ')}; worker exits by itself so far: ${worker.selfExits.length}`);
  }

  /** The UPD4 questions the update phase answered. */
  const answeredUpd4: Array<{ uuid: DeviceUuid; apply: boolean }> = [];

  /**
   * Runs left waiting for an operator when the faults stop are retried, as an operator would, and
   * UPD4's questions answered; the invariants were checked with them waiting, and are checked again
   * once they finished.
   */
  async function retryWaiting(workflowType: string): Promise<number> {
    const commands = operatorCommands(env.env.client, { taskQueue: env.taskQueue });
    let total = 0;
    // A retried run may stop again at UPD4's question: a few rounds, as an operator comes back.
    for (let round = 0; round < 3; round++) {
      let acted = 0;
      for (const [i, uuid] of uuids.entries()) {
        const progress = await commands.progress(uuid);
        if (progress.state === 'waiting-for-signal' && progress.waiting?.step === 'UPD4') {
          // UPD4: the operator answers the warning before 802.1X wired settings, apply or skip in turn.
          const apply = i % 2 === 0;
          log(`answering UPD4 for ${uuid}: ${apply ? 'apply' : 'skip'}`);
          await commands.wiredIeee8021x(uuid, { apply, reason: 'chaos' }, 'chaos-operator');
          answeredUpd4.push({ uuid, apply });
          acted += 1;
          continue;
        }
        if (progress.state !== 'awaiting-operator') continue;
        log(`retrying ${uuid}: ${progress.awaiting?.step} ${progress.awaiting?.error.code}`);
        // An impostor's hello parked the run: the operator has looked at the conflict and clears it.
        await env.deps.store.contacts.clearConflicts(uuid, 'chaos-operator');
        await commands.decide(uuid, 'retry', 'chaos-operator');
        acted += 1;
      }
      if (acted === 0) break;
      total += acted;
      await untilRest(`the retried ${workflowType} runs`, workflowType);
    }
    return total;
  }

  async function expectInvariants(phase: string): Promise<void> {
    const report = await checkInvariants({
      deps: env.deps,
      fleet: env.fleet,
      client: env.env.client,
      taskQueue: env.taskQueue,
      devices: env.devices,
    });
    log(`invariants ${phase} (seed ${SEED})\n${report.table}`);
    expect(report.failures).toEqual([]);
  }

  const settledAs = async (state: string) =>
    (await Promise.all(uuids.map((uuid) => env.deps.store.devices.require(uuid)))).filter(
      (d) => d.provisioningState === state,
    ).length;

  it('refuses crafted host names and domains, and keeps a crafted collection name as data', async () => {
    for (const [hostName, domain] of CRAFTED_NAMES) {
      await expect(
        env.deps.store.devices.importComputer({ uuid: newDeviceUuid(), hostName, domain, collection: TEST_COLLECTION }),
      ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    }
    await env.deps.store.collections.save({
      name: CRAFTED_COLLECTION,
      automaticProvisioning: true,
      settingsProfile: CHAOS_PROFILE,
    });
    for (const uuid of uuids.filter((_, i) => i % 2 === 1)) {
      await env.deps.store.devices.update(uuid, { collection: CRAFTED_COLLECTION });
    }
    expect((await env.deps.store.devices.list({ collection: CRAFTED_COLLECTION })).length).toBe(Math.floor(size / 2));
    expect((await env.deps.store.devices.list()).length).toBe(size);
  });

  it(
    'provisions the fleet through worker kills, a Temporal restart, a DC outage, a cut database and faulty firmware',
    async () => {
      // In band: the agent reports each device's OTP hash before the run (IB2–IB4).
      for (const [i, device] of env.devices.entries()) {
        if (!plan[i]!.inBand) continue;
        await runAgent(env.fleet.device(device.uuid), {
          reporter: async (report) => {
            await env.deps.store.otp.record(device.uuid, { algorithm: 'sha256', hash: report.otpHash });
          },
        });
        otps.push(env.fleet.device(device.uuid).nvram().provisioning.otp!);
      }
      injectFaults();
      worker.start();
      for (const [i, device] of env.devices.entries())
        await env.provision(device.uuid, plan[i]!.inBand ? 'in-band' : 'out-of-band');
      await underChaos('provisionDevice', [
        temporalOutage(server),
        impostorHellos(),
        directoryOutage(DC_OUTAGE_MS),
        databaseOutage(database.url!),
      ]);
      await expectInvariants('after provisioning under faults');
      if ((await retryWaiting('provisionDevice')) > 0) await expectInvariants('after the operator retried');
      expect(await settledAs('provisioned')).toBe(size);
      await expectImpostorsUntouched();
      gatherKerberosSecrets();
      expect(kerberosSecrets.size).toBeGreaterThanOrEqual(size);
      // I5: each in-band device's AMT account joined the profile's group, as the database records
      // (the invariant table compared the directory's memberships with those records).
      for (const [i, device] of env.devices.entries()) {
        const groups = (await env.deps.store.directoryObjects.get(device.uuid))?.securityGroups ?? [];
        expect(groups.map((g) => g.toLowerCase())).toEqual(plan[i]!.inBand ? [GROUP_DN.toLowerCase()] : []);
        // 802.1X on the wired port as the profile says (OOB9.4, read back by the step).
        expect(env.fleet.device(device.uuid).nvram().ieee8021x).toMatchObject({ enabled: 2, username: 'amt-chaos' });
      }
      // The crafted collection name went through the database, the runs and their search attributes
      // as data: stored verbatim, never run by a shell, nothing of it in the directory.
      const inCrafted = uuids[1]!;
      expect((await env.deps.store.devices.require(inCrafted)).collection).toBe(CRAFTED_COLLECTION);
      const run = await env.env.client.workflow.getHandle(deviceWorkflowId(inCrafted)).describe();
      expect(run.typedSearchAttributes.get(SEARCH_ATTRIBUTES.collection)).toBe(CRAFTED_COLLECTION);
      expect(existsSync(PWNED)).toBe(false);
      const admin = await adminClient();
      try {
        const { searchEntries } = await admin.search(TEST_DC.domainDn, {
          scope: 'sub',
          filter: '(|(description=*drop table*)(description=*ou=evil*)(cn=*touch*))',
          attributes: ['1.1'],
        });
        expect(searchEntries).toEqual([]);
      } finally {
        await admin.unbind();
      }
    },
    3 * PHASE_MS,
  );

  it(
    'updates the collection and removes every device in full under the same faults',
    async () => {
      const actions = collectionActions(env.env.client, { taskQueue: env.taskQueue });
      // Two batches: a run parked for an operator in the first (an impostor's hello, a fault) must
      // not hold back the second — the action records it `waiting` and goes on (issue 11 §3).
      const throttle = { maxConcurrent: Math.ceil(size / 2), batchDelay: '1 second' };
      /** The action ended with every device in a final or waiting status, batch after batch. */
      const expectActionDone = async (actionId: string) => {
        const result = await actions.result(actionId);
        log(`collection action ${actionId}: ${JSON.stringify(result.counts)} in ${result.batches} batches`);
        expect(result).toMatchObject({ total: size, batches: Math.ceil(size / throttle.maxConcurrent) });
        expect(result.counts.started).toBe(0);
        expect(Object.values(result.counts).reduce((a, b) => a + b, 0)).toBe(size);
      };
      // UPD4 asks before re-applying 802.1X wired settings to a device whose OS is not running:
      // every third device's host is switched off, so the update must wait for the operator there.
      const hostsOff = env.devices.filter((_, i) => i % 3 === 1).map((d) => d.uuid);
      for (const uuid of hostsOff) await env.fleet.device(uuid).host.local('power-button');
      injectFaults();
      const update = await actions.start({
        kind: 'update',
        selector: { kind: 'devices' },
        throttle,
        requestedBy: 'chaos',
      });
      await underChaos('updateManagementController', [impostorHellos(), directoryOutage(DC_OUTAGE_MS)]);
      await expectInvariants('after the collection-wide update under faults');
      if ((await retryWaiting('updateManagementController')) > 0) await expectInvariants('after the operator retried');
      // Each device with its OS off was asked once, and the operator's answer is in its audit.
      expect(answeredUpd4.map((a) => a.uuid).sort()).toEqual([...hostsOff].sort());
      for (const { uuid, apply } of answeredUpd4) {
        expect((await env.deps.store.audit.forTarget(uuid)).map((a) => a.action)).toContain(
          `update.wired-8021x.${apply ? 'apply' : 'skip'}`,
        );
        expect(env.fleet.device(uuid).nvram().ieee8021x).toMatchObject({ enabled: 2, username: 'amt-chaos' });
      }
      await expectImpostorsUntouched();
      await expectActionDone(update);
      gatherKerberosSecrets();

      injectFaults();
      const removal = await actions.start({
        kind: 'remove',
        removalMode: 'full',
        selector: { kind: 'devices' },
        throttle,
        requestedBy: 'chaos',
      });
      await underChaos('removeProvisioning', [databaseOutage(database.url!)]);
      await expectInvariants('after remove full under faults');
      if ((await retryWaiting('removeProvisioning')) > 0) await expectInvariants('after the operator retried');
      expect(await settledAs('unprovisioned')).toBe(size);
      await expectActionDone(removal);
    },
    3 * PHASE_MS,
  );

  it('kept every secret out of histories, search attributes, logs, errors and the database dump', async () => {
    const extra = [...Object.values(PROFILE_SECRETS), EAP_PASSWORD, ...otps, ...kerberosSecrets];
    const secrets = await handledSecrets(env, extra);
    // An admin and a MEBx password for each device at least, and each in-band OTP.
    expect(secrets.length).toBeGreaterThan(size * 2);

    // Every history, decoded through the codec (its search attributes and failures are in it)…
    expect(await expectNoSecretInHistories(env, extra)).toBeGreaterThanOrEqual(size * 3);
    // …and the search attributes and memo as the visibility store answers a list.
    for await (const execution of env.env.client.workflow.list({ query: `TaskQueue = '${env.taskQueue}'` })) {
      expect(findLeaks(JSON.stringify([execution.searchAttributes, execution.memo]), secrets)).toEqual([]);
    }

    // Every line the worker processes logged, errors included.
    const workerLog = readFileSync(worker.logFile, 'utf8');
    expect(workerLog.length).toBeGreaterThan(0);
    expect(findLeaks(workerLog, secrets)).toEqual([]);

    const { stdout: dump } = await promisify(execFile)('pg_dump', ['--no-owner', '--dbname', database.url!], {
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(dump).toContain('provisioning_results');
    expect(findLeaks(dump, secrets)).toEqual([]);
  });
});
