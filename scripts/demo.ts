/**
 * The main job of `npm start` (issue 14): a fleet of up to 20 emulated devices worth watching in
 * the Temporal Web UI. Legacy (before AMT 6, EOI), middle and current firmware; most say hello and
 * provision out of band, some run the in-band agent (IB1–IB4, its report to the API); one trusts a
 * root that is not amtflow's (OOB3 refuses it) and one was never imported (OOB2 discards its hellos);
 * two collections with different settings profiles. Once the fleet has settled, the demo updates the
 * second collection (UPD) and removes one device (DEP), once per state directory, so every flow shows.
 *
 * The console tells the story: one line per run as its status changes, each refusal with its reason
 * as it happens, a live line of devices by stage and runs waiting for an operator, then a summary —
 * devices by state, refusals, runs waiting for an operator — ending in "all demo devices settled"
 * when no demo run is running but those that wait for an operator.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type pino from 'pino';
import { httpReporter, runAgent } from '../emulator/agent/agent';
import type { DeviceProfileInput } from '../emulator/device/profile';
import { loopbackAddresses, startFleet, uuidForAddress, type Fleet } from '../emulator/fleet/fleet';
import type { AmtflowConfig } from '../lib/config';
import { parseDeviceUuid, type DeviceUuid } from '../lib/device-uuid';
import type { Store } from '../lib/store';
import { operatorCommands } from '../runtime/lifecycle-client';
import { deviceWorkflowId } from '../workflows/names';

/** The two demo collections, each with its own settings profile. */
export const DEMO_COLLECTIONS = {
  office: { collection: 'demo', profile: 'demo' },
  lab: { collection: 'demo-lab', profile: 'demo-lab' },
} as const;

export interface DemoDevice {
  /** 1–20: `amt-demo-<n>`. */
  n: number;
  amtVersion: string;
  /** Before AMT 6: EOI, SHA-1 root thumbprints only. */
  legacy: boolean;
  collection: keyof typeof DEMO_COLLECTIONS;
  /** `hello`: the firmware says hello (out of band); `agent`: the OS agent reports its OTP (in band). */
  by: 'hello' | 'agent';
  /** The refusals the demo shows: a root hash amtflow does not hold (OOB3), never imported (OOB2). */
  refusal?: 'wrong-root-hash' | 'not-imported';
}

const d = (
  n: number,
  amtVersion: string,
  collection: DemoDevice['collection'],
  by: DemoDevice['by'],
  refusal?: DemoDevice['refusal'],
): DemoDevice => ({
  n,
  amtVersion,
  legacy: Number(amtVersion.split('.')[0]) < 6,
  collection,
  by,
  ...(refusal ? { refusal } : {}),
});

/**
 * The demo fleet in order; `dev.demoDevices` takes the first ones. The first three are the fleet of
 * earlier versions (5.2.70, 11.8.50, 15.0.23), so an existing state directory keeps its devices.
 */
export const DEMO_PLAN: readonly DemoDevice[] = [
  d(1, '5.2.70', 'office', 'hello'),
  d(2, '11.8.50', 'office', 'hello'),
  d(3, '15.0.23', 'office', 'hello'),
  d(4, '5.2.70', 'lab', 'hello'),
  d(5, '9.5.30', 'lab', 'hello'),
  d(6, '16.1.25', 'lab', 'hello'),
  d(7, '12.0.45', 'office', 'hello'),
  d(8, '19.0.5', 'office', 'hello'),
  d(9, '8.1.40', 'lab', 'hello'),
  d(10, '11.8.50', 'lab', 'hello'),
  d(11, '11.8.50', 'office', 'agent'),
  d(12, '15.0.23', 'lab', 'agent'),
  d(13, '12.0.45', 'office', 'agent'),
  d(14, '16.1.25', 'lab', 'agent'),
  d(15, '5.2.70', 'office', 'hello'),
  d(16, '15.0.23', 'lab', 'hello'),
  d(17, '9.5.30', 'office', 'agent'),
  d(18, '19.0.5', 'office', 'hello'),
  d(19, '11.8.50', 'office', 'hello', 'wrong-root-hash'),
  d(20, '15.0.23', 'office', 'hello', 'not-imported'),
];

/** After the first settle: the collection updated and the device removed (an agent device: no hellos after). */
export const DEMO_FINALE = { update: 'lab' as const, remove: 17 };

export interface PlannedDevice extends DemoDevice {
  address: string;
  uuid: DeviceUuid;
  hostName: string;
}

export function demoPlan(count: number, firstIp: string): PlannedDevice[] {
  const addresses = loopbackAddresses(firstIp);
  return DEMO_PLAN.slice(0, count).map((device) => {
    const address = addresses.next().value as string;
    return { ...device, address, uuid: parseDeviceUuid(uuidForAddress(address)), hostName: `amt-demo-${device.n}` };
  });
}

export interface DemoContext {
  config: AmtflowConfig;
  logger: pino.Logger;
  store: Store;
  client: Client;
  root: { sha1: string; sha256: string };
  /** The API's base URL, e.g. http://127.0.0.1:8080; the agents report to it. */
  apiUrl: string;
  /** Called with what to stop at Ctrl-C. */
  onStop: (what: string, stop: () => Promise<unknown>) => void;
}

/** Imports the fleet, starts it, runs the agents, and watches the runs until Ctrl-C. */
export async function runDemo(ctx: DemoContext): Promise<void> {
  const { config, logger, store } = ctx;
  const domain = config.ca.provisioningDomain as string;
  if (!(await store.profiles.get(DEMO_COLLECTIONS.office.profile))) {
    await store.profiles.save(DEMO_COLLECTIONS.office.profile, {
      ping: true,
      webUi: true,
      serialOverLan: true,
      ideRedirection: true,
    });
  }
  if (!(await store.profiles.get(DEMO_COLLECTIONS.lab.profile))) {
    // The lab: reachable by ping only, no web UI and no redirection.
    await store.profiles.save(DEMO_COLLECTIONS.lab.profile, {
      ping: true,
      webUi: false,
      serialOverLan: false,
      ideRedirection: false,
    });
  }
  for (const { collection, profile } of Object.values(DEMO_COLLECTIONS)) {
    if (!(await store.collections.get(collection))) {
      await store.collections.save({ name: collection, automaticProvisioning: true, settingsProfile: profile });
    }
  }
  if (config.dev.demoDevices === 0) return;

  // Imported before the fleet starts: a hello from a UUID not yet imported is discarded (OOB2).
  const plan = demoPlan(config.dev.demoDevices, config.dev.demoFirstIp);
  for (const device of plan) {
    if (device.refusal === 'not-imported') {
      logger.info(
        { uuid: device.uuid, address: device.address },
        `demo device ${device.hostName} left out of the import`,
      );
      continue;
    }
    const known = await store.devices.get(device.uuid);
    const imported =
      known ??
      (
        await store.devices.importComputer({
          uuid: device.uuid,
          hostName: device.hostName,
          domain,
          collection: DEMO_COLLECTIONS[device.collection].collection,
        })
      ).device;
    logger.info(
      {
        uuid: device.uuid,
        address: device.address,
        collection: imported.collection,
        state: imported.provisioningState,
      },
      `demo device ${imported.fqdn} ${known ? 'already imported' : 'imported'}`,
    );
  }

  // A device whose NVRAM is kept starts from it, whatever its profile says (firmware version included).
  const hello = `${config.listeners.host}:${config.listeners.helloPort}`;
  const fleet = await startFleet({
    devices: plan.map((device): DeviceProfileInput => ({
      uuid: device.uuid,
      address: device.address,
      amtVersion: device.amtVersion,
      dnsSuffix: domain,
      // The agent's devices provision in band only: their firmware has nowhere to say hello.
      hello: device.by === 'hello' ? hello : null,
      customHashes: [
        device.refusal === 'wrong-root-hash'
          ? { algorithm: 'sha256', hash: randomBytes(32).toString('hex'), description: 'a root amtflow does not hold' }
          : device.legacy
            ? // Firmware before 6.0 stores SHA-1 thumbprints only.
              { algorithm: 'sha1', hash: ctx.root.sha1, description: 'amtflow provisioning root' }
            : { algorithm: 'sha256', hash: ctx.root.sha256, description: 'amtflow provisioning root' },
      ],
    })),
    stateDir: path.join(config.stateDir, 'emulator'),
    admin: false,
    logger: logger.child({ component: 'emulator' }),
  });
  ctx.onStop('emulator fleet', () => fleet.stop());
  const helloed = new Set<string>();
  fleet.events.on('hello', (uuid: string, attempt: { delivered: boolean }) => {
    helloed.add(uuid);
    logger.debug({ uuid, delivered: attempt.delivered }, 'emulator: hello sent');
  });

  // IB1–IB4: the OS agent of each agent device reports its OTP hash, once, while the device is unprovisioned.
  const agents = runAgents(ctx, fleet, plan);
  const watch = new DemoWatch(ctx, plan, helloed);
  ctx.onStop('demo watch', async () => {
    await watch.stop();
    await agents;
  });
}

async function runAgents(ctx: DemoContext, fleet: Fleet, plan: PlannedDevice[]): Promise<void> {
  for (const device of plan.filter((p) => p.by === 'agent')) {
    const known = await ctx.store.devices.get(device.uuid);
    if (known?.provisioningState === 'provisioned') continue;
    try {
      // IB2: each computer's agent speaks with its own credential, from its own address (issue 9).
      const credential = await ctx.store.contacts.issueAgentCredential(device.uuid, 'demo');
      const reporter = httpReporter(`${ctx.apiUrl}/api/v1/agent/${credential}/reports`, {
        localAddress: fleet.device(device.uuid).address,
      });
      await runAgent(fleet.device(device.uuid), { reporter });
      ctx.logger.info({ uuid: device.uuid }, `demo: the agent of ${device.hostName} reported its OTP hash`);
    } catch (err) {
      // A device left provisioned or removed by an earlier start: its agent has nothing to do.
      ctx.logger.info(
        { uuid: device.uuid, reason: (err as Error).message },
        `demo: no agent report from ${device.hostName}`,
      );
    }
  }
}

/** What a device's latest run came to, as the summary lists it. */
interface DeviceView {
  uuid: DeviceUuid;
  hostName: string;
  /** The site database's provisioning state, or `not imported`. */
  state: string;
  run?: { type: string; status: string; stage?: string };
  /** Where the device stands, as the live summary counts it: `in <stage>`, `waiting for an operator`, `refused`, or its state. */
  stage: string;
  refusal?: string;
  waiting?: string;
}

const WAITING = 'waiting for an operator';

/**
 * One line per run as its status changes: a console view of what the Web UI shows. Polls, since
 * the runs start whenever hellos and agent reports arrive. Each refusal is told once, with its
 * reason, as soon as it is seen. When every demo device has settled (its run ended or waits for an
 * operator, who is told what to send; the device never imported has said hello), a summary; the
 * first time, the finale.
 */
class DemoWatch {
  private readonly seen = new Map<string, string>();
  /** Devices whose refusal was told, by the run that refused (or `not imported`). */
  private readonly refusalsTold = new Map<string, string>();
  private settled = false;
  private polling = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly finaleMarker: string;

  constructor(
    private readonly ctx: DemoContext,
    private readonly plan: PlannedDevice[],
    private readonly helloed: Set<string>,
  ) {
    this.finaleMarker = path.join(ctx.config.stateDir, 'demo-finale.done');
    this.timer = setInterval(() => {
      this.polling = this.polling
        .then(() => this.poll())
        .catch((err: unknown) => {
          ctx.logger.debug({ err: (err as Error).message }, 'demo watch: poll failed');
        });
    }, 1_000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  private async view(device: PlannedDevice): Promise<{ view: DeviceView; settled: boolean }> {
    const { client, store } = this.ctx;
    const known = await store.devices.get(device.uuid);
    const state = known?.provisioningState ?? 'not imported';
    const view: DeviceView = { uuid: device.uuid, hostName: device.hostName, state, stage: state };
    if (!known) {
      // Refused once its hello has arrived and been discarded.
      const settled = this.helloed.has(device.uuid);
      if (settled) this.refused(view, 'not imported', 'not imported: its hellos are discarded (OOB2)');
      return { view, settled };
    }
    const handle = client.workflow.getHandle(deviceWorkflowId(device.uuid));
    const description = await handle.describe().catch(() => undefined);
    if (!description) return { view, settled: false };
    const status = description.status.name;
    view.run = { type: description.type, status };
    const key = `${description.runId} ${status}`;
    if (this.seen.get(device.uuid) !== key) {
      this.seen.set(device.uuid, key);
      this.settled = false;
      this.ctx.logger.info(
        { uuid: device.uuid, workflowId: description.workflowId, status },
        `demo: ${description.type} of ${device.hostName} ${status.toLowerCase()}`,
      );
    }
    if (status === 'RUNNING') {
      const progress = await operatorCommands(client)
        .progress(device.uuid)
        .catch(() => undefined);
      view.run.stage = progress?.stage;
      if (progress?.stage) view.stage = `in ${progress.stage}`;
      if (progress?.awaiting) view.waiting = `${progress.awaiting.step}: ${progress.awaiting.error.code}`;
      if (progress?.waiting) view.waiting = `${progress.waiting.step}: ${progress.waiting.message}`;
      // A run waiting for an operator is at rest: nothing moves until someone decides or signals.
      if (view.waiting) view.stage = WAITING;
      return { view, settled: view.waiting !== undefined };
    }
    if (status === 'FAILED') {
      const reason = await handle.result().then(
        () => undefined,
        (err: unknown) => {
          const cause = err instanceof WorkflowFailedError ? err.cause : err;
          const type = (cause as { type?: string }).type;
          return `${type ? `${type}: ` : ''}${(cause as Error).message}`;
        },
      );
      if (reason) this.refused(view, description.runId, reason);
    }
    return { view, settled: true };
  }

  /** Marks the device refused, and tells it the first time this run's refusal is seen. */
  private refused(view: DeviceView, by: string, reason: string): void {
    view.refusal = reason;
    view.stage = 'refused';
    if (this.refusalsTold.get(view.uuid) === by) return;
    this.refusalsTold.set(view.uuid, by);
    this.ctx.logger.info({ uuid: view.uuid, reason }, `demo: ${view.hostName} refused: ${reason}`);
  }

  private async poll(): Promise<void> {
    const views = await Promise.all(this.plan.map((device) => this.view(device)));
    this.liveSummary(views.map((v) => v.view));
    if (this.settled || !views.every((v) => v.settled)) return;
    this.settled = true;
    const devices = views.map((v) => v.view);
    const { logger } = this.ctx;
    const imported = devices.filter((v) => v.state !== 'not imported');
    logger.info(
      { devices: imported.map((v) => ({ uuid: v.uuid, state: v.state })) },
      `demo devices settled: ${imported.filter((v) => v.state === 'provisioned').length} of ${imported.length} provisioned`,
    );
    if (await this.finale(devices)) return;

    const byState = new Map<string, string[]>();
    for (const v of devices) byState.set(v.state, [...(byState.get(v.state) ?? []), v.hostName]);
    for (const [state, names] of byState) logger.info({ state, devices: names }, `demo: ${names.length} ${state}`);
    const refused = devices.filter((v) => v.refusal);
    const waiting = devices.filter((v) => v.waiting);
    for (const v of waiting)
      logger.info({ uuid: v.uuid, waiting: v.waiting }, `demo: ${v.hostName} ${WAITING}: ${v.waiting}`);
    const counts = Object.fromEntries([...byState].map(([state, names]) => [state, names.length]));
    logger.info(
      {
        counts,
        refused: refused.length,
        waitingForOperator: waiting.length,
        devices: devices.map((v) => ({
          uuid: v.uuid,
          hostName: v.hostName,
          state: v.state,
          ...(v.run ? { run: `${v.run.type} ${v.run.status.toLowerCase()}` } : {}),
          ...(v.refusal ? { refusal: v.refusal } : {}),
          ...(v.waiting ? { waiting: v.waiting } : {}),
        })),
      },
      'all demo devices settled',
    );
  }

  private lastLive = '';

  /**
   * While runs go on, on change: devices by stage (`in <stage>` while their run goes on, refused,
   * waiting for an operator, else their state), runs in flight, and the runs waiting for an operator.
   */
  private liveSummary(devices: DeviceView[]): void {
    const running = devices.filter((v) => v.run?.status === 'RUNNING' && !v.waiting);
    const waiting = devices.filter((v) => v.waiting);
    const counts = new Map<string, number>();
    for (const v of devices) counts.set(v.stage, (counts.get(v.stage) ?? 0) + 1);
    const line =
      `demo: ${[...counts].map(([stage, n]) => `${n} ${stage}`).join(', ')}; ${running.length} runs in flight; ` +
      `${waiting.length} ${WAITING}` +
      (waiting.length ? `: ${waiting.map((v) => `${v.hostName} (${v.waiting})`).join(', ')}` : '');
    if (line === this.lastLive) return;
    this.lastLive = line;
    this.ctx.logger.info(
      {
        stages: Object.fromEntries(counts),
        running: running.map((v) => `${v.hostName} ${v.run?.stage ?? ''}`.trim()),
        waiting: waiting.map((v) => v.uuid),
      },
      line,
    );
  }

  /**
   * Once per state directory, after the first settle: re-apply the lab's settings (UPD) to its
   * provisioned devices and remove one device (DEP, full). Resolves true when it started runs.
   */
  private async finale(devices: DeviceView[]): Promise<boolean> {
    if (existsSync(this.finaleMarker)) return false;
    const commands = operatorCommands(this.ctx.client);
    const started: string[] = [];
    // A device whose run waits for an operator has a run in flight: a second would be refused.
    const waiting = new Set(devices.filter((v) => v.waiting).map((v) => v.uuid));
    for (const device of this.plan) {
      const known = await this.ctx.store.devices.get(device.uuid);
      if (known?.provisioningState !== 'provisioned' || waiting.has(device.uuid)) continue;
      if (device.n === DEMO_FINALE.remove) {
        await commands.remove(device.uuid, 'full', 'npm start demo');
        started.push(`remove ${device.hostName}`);
      } else if (device.collection === DEMO_FINALE.update) {
        await commands.update(device.uuid, 'npm start demo');
        started.push(`update ${device.hostName}`);
      }
    }
    writeFileSync(this.finaleMarker, `${new Date().toISOString()} ${started.join(', ')}\n`);
    if (started.length === 0) return false;
    this.settled = false;
    this.ctx.logger.info(
      { runs: started },
      `demo: updating collection ${DEMO_COLLECTIONS[DEMO_FINALE.update].collection} and removing amt-demo-${DEMO_FINALE.remove}`,
    );
    return true;
  }
}
