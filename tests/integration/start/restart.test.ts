import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, type WorkflowExecutionDescription } from '@temporalio/client';
import { isAlive, waitFor } from '../../../scripts/lib/process';
import { sambaDc, stopSambaDc } from '../../../scripts/samba-dc';
import { stopServer } from '../../../scripts/temporal-dev-server';
import { deviceWorkflowId } from '../../../workflows/names';
import { parseDeviceUuid, type DeviceUuid } from '../../../lib/device-uuid';
import { cli, ROOT, StartRun, startEnvironment, temporalScript, type LogLine } from './support';

/**
 * `npm start` starts again from any state the last one left: killed with SIGKILL in the middle of a
 * run, stopped with Ctrl-C, after a rename, a domain move (refused at REN1: the dev DC holds one
 * domain, and amtflow publishes only in domains its DC holds — docs/directory.md) and a full removal, beside a Temporal dev
 * server left running by an earlier run or started by hand. One state directory and two demo devices
 * across all cases, each case starting from where the one before left off.
 */
// Each case waits on real servers and real runs; a run interrupted by a kill waits out its activity timeout.
jest.setTimeout(480_000);

describe('npm start starts again from any state', () => {
  const stateDir = path.join(ROOT, '.state', 'test-start');
  const configFile = path.join(ROOT, '.state', 'test-start.config.json');
  const env = startEnvironment(stateDir, configFile);
  const dc = sambaDc({ stateDir, ip: env.AMTFLOW_DEV_DC_IP as string });
  let run: StartRun | undefined;
  let connection: Connection | undefined;
  let client: Client;
  const devices: DeviceUuid[] = [];
  /** The servers the killed run left running, and the runs it left unfinished. */
  const left = { dc: 0, temporal: 0, runs: new Map<DeviceUuid, string>() };
  let byHand = 0;

  const describeRun = (uuid: DeviceUuid): Promise<WorkflowExecutionDescription | undefined> =>
    client.workflow
      .getHandle(deviceWorkflowId(uuid))
      .describe()
      .catch(() => undefined);
  /** Waits until the device's latest run is of this type and no longer running, other than `notRunId`. */
  const ended = async (uuid: DeviceUuid, type: string, notRunId?: string): Promise<WorkflowExecutionDescription> => {
    let last: WorkflowExecutionDescription | undefined;
    await waitFor(
      `a finished ${type} of ${uuid}`,
      async () => {
        last = await describeRun(uuid);
        return last?.type === type && last.status.name !== 'RUNNING' && last.runId !== notRunId;
      },
      240_000,
      250,
    );
    return last as WorkflowExecutionDescription;
  };
  const line = (msg: string) => (l: LogLine) => l.msg === msg;

  beforeAll(async () => {
    // Whatever an earlier, failed run of this file left: its servers stopped, its state removed.
    await stopServer(stateDir);
    await stopSambaDc(dc);
    rmSync(stateDir, { recursive: true, force: true });
    mkdirSync(path.dirname(configFile), { recursive: true });
    // No amtflow.config.json of the checkout applies: the dev directory is the one npm start runs.
    writeFileSync(configFile, '{}\n');
  });
  afterAll(async () => {
    await StartRun.killAll();
    await connection?.close();
    await stopServer(stateDir);
    await stopSambaDc(dc);
  });

  it('comes up on an empty state directory; a SIGKILL in the middle of a run leaves its servers and the run', async () => {
    run = StartRun.launch(env);
    const hello = await run.waitForLine('a hello to start a provisioning run', line('hello started provisioning'));
    await run.kill();

    for (const l of run.lines.filter((l) => /^demo device .* imported$/.test(l.msg))) {
      expect(l.msg).toMatch(/^demo device amt-demo-\d\.corp\.example\.test imported$/);
      devices.push(parseDeviceUuid(l.uuid as string));
    }
    expect(devices).toHaveLength(2);
    left.dc = run.find(line('directory: dev Samba DC started'))?.pid as number;
    left.temporal = run.find(line('Temporal dev server started'))?.pid as number;
    expect(isAlive(left.dc)).toBe(true);
    expect(isAlive(left.temporal)).toBe(true);

    connection = await Connection.connect({ address: env.AMTFLOW_TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: 'amtflow' });
    for (const uuid of devices) {
      const description = await describeRun(uuid);
      if (description?.status.name === 'RUNNING') left.runs.set(uuid, description.runId);
    }
    expect([...left.runs.keys()]).toContain(hello.uuid);
  });

  it('starts again after the SIGKILL: adopts the servers the killed run left, and the interrupted runs complete', async () => {
    run = StartRun.launch(env);
    await run.up();
    expect(run.find(line('directory: dev Samba DC adopted from an earlier npm start (stopped at Ctrl-C)'))?.pid).toBe(
      left.dc,
    );
    expect(run.find(line('Temporal dev server adopted from an earlier npm start (stopped at Ctrl-C)'))?.pid).toBe(
      left.temporal,
    );
    for (const uuid of devices) {
      expect(run.find((l) => l.uuid === uuid && /^demo device .* already imported$/.test(l.msg))).toBeDefined();
    }

    // The embedded database belongs to one process: a second npm start on the state directory is refused.
    const second = StartRun.launch(env);
    expect((await second.exited).code).toBe(1);
    expect(second.tail()).toContain(`another npm start (pid ${run.pid}) already runs on this state directory`);

    const settled = await run.waitForLine('the demo devices to settle', (l) =>
      l.msg.startsWith('demo devices settled'),
    );
    expect(settled.msg).toBe('demo devices settled: 2 of 2 provisioned');
    for (const [uuid, runId] of left.runs) {
      const description = await describeRun(uuid);
      expect({ runId: description?.runId, status: description?.status.name }).toEqual({ runId, status: 'COMPLETED' });
    }
  });

  it('stops at Ctrl-C, with the servers it adopted from the killed run', async () => {
    expect((await run!.interrupt()).code).toBe(0);
    expect(run!.lines.at(-1)?.msg).toBe('amtflow stopped');
    expect(isAlive(left.dc)).toBe(false);
    expect(isAlive(left.temporal)).toBe(false);
  });

  const [renamed, moved] = ['amt-renamed-1', 'emea.corp.example.test'];
  let removedRunId = '';

  it('refuses a move to a domain the directory does not hold, carries out a rename of one device and a full removal of the other, beside a Temporal server started by hand that Ctrl-C leaves running', async () => {
    const [first, second] = devices as [DeviceUuid, DeviceUuid];
    expect(await temporalScript(env, 'start')).toMatch(/^Temporal dev server 127\.0\.0\.1:\d+ /);
    run = StartRun.launch(env);
    await run.up();
    byHand = run.find(line('Temporal dev server already running, started by hand (left running at Ctrl-C)'))
      ?.pid as number;
    expect(isAlive(byHand)).toBe(true);
    expect(run.find(line('directory: dev Samba DC started'))).toBeDefined();

    // A move to a domain the dev forest does not hold: refused at REN1, before anything is removed
    // (P4), so the device stays provisioned under its name. The CLI goes through the API of the
    // running npm start.
    const beforeMove = (await describeRun(second))?.runId;
    await cli(env, ['rename', second, '--host-name', 'amt-demo-2', '--domain', moved]);
    expect((await ended(second, 'renameOrMoveDevice', beforeMove)).status.name).toBe('FAILED');
    const shown = JSON.parse(await cli(env, ['--json', 'show', second])) as { device: object };
    expect(shown.device).toMatchObject({ fqdn: 'amt-demo-2.corp.example.test', provisioningState: 'provisioned' });

    const beforeRename = (await describeRun(first))?.runId;
    await cli(env, ['rename', first, '--host-name', renamed, '--domain', 'corp.example.test']);
    await cli(env, ['rename-complete', first, '--host-name', renamed, '--domain', 'corp.example.test']);
    expect((await ended(first, 'provisionDevice', beforeRename)).status.name).toBe('COMPLETED');

    // The removal takes the other device, so the next start meets a renamed device and a removed one.
    await cli(env, ['remove', second, '--mode', 'full']);
    const removed = await ended(second, 'removeProvisioning');
    expect(removed.status.name).toBe('COMPLETED');
    removedRunId = removed.runId;

    // Ctrl-C whatever the device's own hello has started since (DEP3: it provisions again by itself).
    const dcPid = run.find(line('directory: dev Samba DC started'))?.pid as number;
    expect((await run.interrupt()).code).toBe(0);
    expect(isAlive(dcPid)).toBe(false);
    expect(isAlive(byHand)).toBe(true);
  });

  it('starts again after them: each device keeps its name, collection and state, logged as already imported', async () => {
    const [first, second] = devices as [DeviceUuid, DeviceUuid];
    run = StartRun.launch(env);
    await run.up();
    expect(run.find(line('Temporal dev server already running, started by hand (left running at Ctrl-C)'))?.pid).toBe(
      byHand,
    );
    const imports = run.lines.filter((l) => / imported$/.test(l.msg));
    expect(imports.map((l) => [l.uuid, l.msg, l.collection])).toEqual([
      [first, `demo device ${renamed}.corp.example.test already imported`, 'demo'],
      [second, 'demo device amt-demo-2.corp.example.test already imported', 'demo'],
    ]);
    // The renamed device stays provisioned under its new name; the removed one provisions again by
    // itself (DEP3), whether its run began before the Ctrl-C or now.
    const renamedDevice = JSON.parse(await cli(env, ['--json', 'show', first])) as { device: object };
    expect(renamedDevice.device).toMatchObject({
      fqdn: `${renamed}.corp.example.test`,
      provisioningState: 'provisioned',
    });
    expect((await ended(second, 'provisionDevice', removedRunId)).status.name).toBe('COMPLETED');

    expect((await run.interrupt()).code).toBe(0);
    expect(isAlive(byHand)).toBe(true);
    expect(await temporalScript(env, 'stop')).toBe('Temporal dev server stopped');
    expect(isAlive(byHand)).toBe(false);
  });

  it('stops at a Ctrl-C during start-up, with what it had started so far', async () => {
    run = StartRun.launch(env);
    const started = await run.waitForLine('the dev DC to start', line('directory: dev Samba DC started'));
    expect((await run.interrupt()).code).toBe(0);
    expect(run.find(line('amtflow is up. Press Ctrl-C to stop.'))).toBeUndefined();
    expect(run.find(line('Samba DC stopped'))).toBeDefined();
    expect(isAlive(started.pid as number)).toBe(false);
  });
});
