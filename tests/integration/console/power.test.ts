import {
  startCollectionPower,
  startDevicePower,
  onceAt,
  schedulePowerAction,
} from '../../../runtime/console-schedules';
import type { WorkflowHandle } from '@temporalio/client';
import type { Device } from '../../../emulator/device/device';
import type { DeviceUuid } from '../../../lib/device-uuid';
import type { CollectionPowerResult } from '../../../workflows/power';
import { waitFor } from '../../../scripts/lib/process';
import { collectionActions } from '../../../runtime/collection-action-client';
import { adminSession } from '../amt/support';
import { importDevice, startConsoleEnv, type ConsoleEnv } from '../../support/console-env';

/**
 * Issue 13, OPS2: power control through the workflows with the stored credentials — one device at
 * a time (WS-Management and legacy EOI), a collection at bounded concurrency with each device's
 * result, and a scheduled power-on (a Temporal Schedule) that retries a device refusing the first
 * time, Configuration Manager's way (3 retries, 2 minutes apart by default; the test bundle's
 * timers are ÷300). The emulator records every transition.
 */
const NET = '127.213.6';
const PASSWORD = 'P0wer!Console';

describe('power control workflows', () => {
  let c: ConsoleEnv;
  const uuids: DeviceUuid[] = [];

  beforeAll(async () => {
    c = await startConsoleEnv(
      [
        { state: 'post', adminPassword: PASSWORD, amtVersion: '15.0.23' },
        { state: 'post', adminPassword: PASSWORD, amtVersion: '5.2.70', build: '1011' },
        { state: 'post', adminPassword: PASSWORD, amtVersion: '11.8.50' },
      ],
      { firstIp: `${NET}.1` },
    );
    await c.deps.store.collections.save({ name: 'window', automaticProvisioning: false });
    for (const [i, device] of c.fleet.devices.entries()) {
      await adminSession(device, PASSWORD).wsman.features.setPowerScheme('Intel(r) AMT Power Scheme 7');
      uuids.push(
        await importDevice(c.deps, {
          uuid: device.uuid,
          hostName: `pc${i}`,
          collection: 'window',
          host: device.address,
          adminPassword: PASSWORD,
          amtVersion: ['15.0.23', '5.2.70', '11.8.50'][i]!,
        }),
      );
    }
  });
  afterAll(() => c?.stop());

  /**
   * The most power changes (`requestPowerChange` activities) in flight at once in a run, read from
   * its history: scheduled and not yet closed.
   */
  const maxInFlight = async (handle: WorkflowHandle) => {
    const open = new Set<string>();
    let most = 0;
    for (const e of (await handle.fetchHistory()).events ?? []) {
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'requestPowerChange') {
        open.add(String(e.eventId));
        most = Math.max(most, open.size);
      }
      const closed =
        e.activityTaskCompletedEventAttributes ??
        e.activityTaskFailedEventAttributes ??
        e.activityTaskTimedOutEventAttributes ??
        e.activityTaskCanceledEventAttributes;
      if (closed) open.delete(String(closed.scheduledEventId));
    }
    return most;
  };
  /** The durable timers of a run (the delays between a device's attempts), in seconds. */
  const timersOf = async (handle: WorkflowHandle) =>
    ((await handle.fetchHistory()).events ?? [])
      .filter((e) => e.timerStartedEventAttributes)
      .map((e) => {
        const fire = e.timerStartedEventAttributes!.startToFireTimeout!;
        return Number(fire.seconds ?? 0) + (fire.nanos ?? 0) / 1e9;
      });
  const since = (device: Device, from: number) =>
    device.host.transitions.slice(from).map((t) => [t.source, t.request, t.from, t.to, t.returnValue]);
  const device = (uuid: string) => c.fleet.device(uuid);
  const run = async (uuid: string, action: Parameters<typeof startDevicePower>[1]['action']) =>
    (
      await startDevicePower(
        c.env.client,
        { deviceUuid: uuid as DeviceUuid, action, requestedBy: 'alice' },
        { taskQueue: c.taskQueue },
      )
    ).result();

  it('reads, switches off, restarts and switches on one device, WS-Management and EOI alike, audited', async () => {
    const [modern, legacy] = uuids;
    const start = device(modern!).host.transitions.length;
    expect(await run(modern!, 'read')).toMatchObject({ outcome: 'read', state: 'on', status: { firmwareValue: 2 } });
    expect(await run(modern!, 'off')).toMatchObject({ outcome: 'done', state: 'off', interface: 'wsman', attempts: 1 });
    // Already off: nothing is sent, so a retried request never toggles the host.
    expect(await run(modern!, 'off')).toMatchObject({ outcome: 'already', state: 'off' });
    // A restart of a switched-off host is refused by the firmware, with its ReturnValue.
    expect(await run(modern!, 'reset')).toMatchObject({
      outcome: 'failed',
      returnValue: 2,
      error: expect.stringContaining('POWER_ACTION_REFUSED'),
    });
    expect(await run(modern!, 'on')).toMatchObject({ outcome: 'done', state: 'on' });
    expect(await run(modern!, 'off-graceful')).toMatchObject({ outcome: 'done', state: 'off' });
    expect(since(device(modern!), start)).toEqual([
      ['wsman', 'RequestPowerStateChange(8)', 'S0', 'S5', 0],
      ['wsman', 'RequestPowerStateChange(10)', 'S5', 'S5', 2],
      ['wsman', 'RequestPowerStateChange(2)', 'S5', 'S0', 0],
      ['wsman', 'RequestPowerStateChange(12)', 'S0', 'S5', 0],
    ]);

    const legacyStart = device(legacy!).host.transitions.length;
    expect(await run(legacy!, 'cycle')).toMatchObject({ outcome: 'done', interface: 'eoi', state: 'on' });
    expect(await run(legacy!, 'off')).toMatchObject({ outcome: 'done', interface: 'eoi', state: 'off' });
    expect(since(device(legacy!), legacyStart).map((t) => [t[0], t[3], t[4]])).toEqual([
      ['eoi', 'S0', 0],
      ['eoi', 'S5', 0],
    ]);
    const audit = await c.deps.store.audit.forTarget(modern!);
    expect(audit.map((a) => [a.actor, a.action, a.outcome])).toEqual([
      ['alice', 'power.off', 'success'],
      ['alice', 'power.off', 'success'],
      ['alice', 'power.reset', 'failure'],
      ['alice', 'power.on', 'success'],
      ['alice', 'power.off-graceful', 'success'],
    ]);
  });

  it('powers on a collection on a schedule, retrying the device that refuses the first time', async () => {
    // Every device off first, through the collection flow: three devices, two at a time.
    const offRun = await startCollectionPower(
      c.env.client,
      { collection: 'window', action: 'off', requestedBy: 'alice', concurrency: 2 },
      { taskQueue: c.taskQueue },
    );
    const off: CollectionPowerResult = await offRun.result();
    expect(off.devices.map((d) => [d.deviceUuid, d.outcome === 'failed' ? 'failed' : 'off'])).toEqual(
      uuids.map((u) => [u, 'off']),
    );
    // The throttle, as the run history shows it: never more than two power changes in flight.
    expect(await maxInFlight(offRun)).toBe(2);

    const refusing = uuids[2]!;
    c.fleet.inject({ kind: 'powerRefused', change: 'on', times: 1, returnValue: 2 }, refusing);
    const refusingStart = device(refusing).host.transitions.length;
    const schedule = await schedulePowerAction(
      c.env.client,
      `power-on-window-${Date.now()}`,
      onceAt(new Date(Date.now() + 3_600_000)),
      { collection: 'window', action: 'on', requestedBy: 'schedule:maintenance', concurrency: 2 },
      { taskQueue: c.taskQueue, once: true },
    );
    try {
      // The maintenance window is an hour away; fire it now rather than wait.
      await schedule.trigger();
      let workflowId: string | undefined;
      await waitFor(
        'the scheduled power-on to start',
        async () =>
          (workflowId = (await schedule.describe()).info.recentActions.at(-1)?.action.workflow.workflowId) !==
          undefined,
        20_000,
        50,
      );
      const handle = c.env.client.workflow.getHandle(workflowId!);
      const result: CollectionPowerResult = await handle.result();
      expect(result.devices.map((d) => [d.deviceUuid, d.outcome, d.attempts, d.state])).toEqual([
        [uuids[0], 'done', 1, 'on'],
        [uuids[1], 'done', 1, 'on'],
        [refusing, 'done', 2, 'on'],
      ]);
      expect(result).toMatchObject({ succeeded: 3, failed: 0 });
      expect(since(device(refusing), refusingStart)).toEqual([
        ['wsman', 'RequestPowerStateChange(2)', 'S5', 'S5', 2],
        ['wsman', 'RequestPowerStateChange(2)', 'S5', 'S0', 0],
      ]);
      // Configuration Manager's default delay between retries: one durable timer of 2 minutes.
      const timers = await timersOf(handle);
      expect(timers).toHaveLength(1);
      expect(timers[0]).toBeCloseTo(120 / 300);
      expect(await maxInFlight(handle)).toBe(2);
    } finally {
      await schedule.delete();
    }
  });

  it("runs as the site-wide collection action's power kinds, throttled, each device's result reported", async () => {
    const actions = collectionActions(c.env.client, { taskQueue: c.taskQueue });
    const starts = uuids.map((u) => device(u).host.transitions.length);
    for (const [kind, to] of [
      ['power-off', 'S5'],
      ['power-on', 'S0'],
    ] as const) {
      const actionId = await actions.start({
        kind,
        selector: { kind: 'devices', collection: 'window' },
        throttle: { maxConcurrent: 2, batchDelay: '1 second' },
        requestedBy: 'alice',
      });
      const result = await actions.result(actionId);
      expect(result).toMatchObject({ kind, total: 3, counts: { succeeded: 3, failed: 0 }, batches: 2 });
      for (const u of uuids) expect(device(u).host.transitions.at(-1)).toMatchObject({ to, returnValue: 0 });
    }
    uuids.forEach((u, i) => expect(device(u).host.transitions.length).toBeGreaterThan(starts[i]!));
  });

  it("a scheduled power action retries as often and as far apart as it says, not Configuration Manager's defaults", async () => {
    // Every device is on (the collection action above ended with power-on). One device refuses
    // twice; the schedule allows one retry, 30 seconds later (the defaults would be 3, 2 minutes apart).
    const refusing = uuids[0]!;
    c.fleet.inject({ kind: 'powerRefused', change: 'off', times: 2, returnValue: 2 }, refusing);
    const refusingStart = device(refusing).host.transitions.length;
    const schedule = await schedulePowerAction(
      c.env.client,
      `power-off-window-${Date.now()}`,
      onceAt(new Date(Date.now() + 3_600_000)),
      {
        collection: 'window',
        action: 'off',
        requestedBy: 'schedule:maintenance',
        concurrency: 1,
        retries: 1,
        retryDelay: '30 seconds',
      },
      { taskQueue: c.taskQueue, once: true },
    );
    try {
      await schedule.trigger();
      let workflowId: string | undefined;
      await waitFor(
        'the scheduled power-off to start',
        async () =>
          (workflowId = (await schedule.describe()).info.recentActions.at(-1)?.action.workflow.workflowId) !==
          undefined,
        20_000,
        50,
      );
      const handle = c.env.client.workflow.getHandle(workflowId!);
      const result: CollectionPowerResult = await handle.result();
      expect(result.devices.map((d) => [d.deviceUuid, d.outcome, d.attempts])).toEqual([
        [refusing, 'failed', 2],
        [uuids[1], 'done', 1],
        [uuids[2], 'done', 1],
      ]);
      expect(result.devices[0]).toMatchObject({
        returnValue: 2,
        error: expect.stringContaining('POWER_ACTION_REFUSED'),
      });
      expect(since(device(refusing), refusingStart)).toEqual([
        ['wsman', 'RequestPowerStateChange(8)', 'S0', 'S0', 2],
        ['wsman', 'RequestPowerStateChange(8)', 'S0', 'S0', 2],
      ]);
      // One delay between the two attempts, of the schedule's 30 seconds; one device at a time.
      const timers = await timersOf(handle);
      expect(timers).toHaveLength(1);
      expect(timers[0]).toBeCloseTo(30 / 300);
      expect(await maxInFlight(handle)).toBe(1);
    } finally {
      await schedule.delete();
    }
  });
});
