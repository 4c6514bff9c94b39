import type { Device } from '../../../emulator/device/device';
import type { PowerTransition } from '../../../emulator/host/host';
import { AmtConnectionError, AmtPowerError, ref, type PowerAction, type PowerControl } from '../../../lib/amt';
import { testFleet } from '../emulator/support/fleet';
import { adminSession } from './support';

/**
 * Issue 13 (OPS2): power control through amtflow's client against the emulator's host model —
 * which changes each firmware release accepts from which state, the return values of refusals,
 * the fault that refuses a first power-on, and the ME going dark with the host.
 */
describe('power control against the emulated host', () => {
  const password = 'P0wer!Admin';
  let fleet: Awaited<ReturnType<typeof testFleet>>;

  beforeAll(async () => {
    fleet = await testFleet([
      { state: 'post', adminPassword: password, amtVersion: '15.0.23' },
      { state: 'post', adminPassword: password, amtVersion: '9.5.40' },
      { state: 'post', adminPassword: password, amtVersion: '8.1.40' },
      { state: 'post', adminPassword: password, amtVersion: '5.2.70' },
      { state: 'post', adminPassword: password, amtVersion: '11.8.50' },
    ]);
    // "Desktop: ON in S0, S3, S4-5" where the host is switched off below, as stage two sets it (OOB9.3).
    for (const device of fleet.devices.slice(0, 4))
      await adminSession(device, password).wsman.features.setPowerScheme('Intel(r) AMT Power Scheme 7');
  });
  afterAll(() => fleet.cleanup());

  const control = (device: Device, iface: 'wsman' | 'eoi' = 'wsman'): PowerControl =>
    adminSession(device, password).power(iface);
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => 'accepted',
      (err: unknown) => err,
    );
  const since = (device: Device, from: number) =>
    device.host.transitions.slice(from).map((t: PowerTransition) => [t.request, t.from, t.to, t.returnValue]);

  it('walks a modern host through on, off, cycle, reset, sleep and hibernate by the firmware rules', async () => {
    const device = fleet.devices[0]!;
    const power = control(device);
    const start = device.host.transitions.length;
    expect(await power.getStatus()).toEqual({
      state: 'on',
      firmwareValue: 2,
      available: ['sleep', 'cycle', 'hibernate', 'off', 'reset', 'off-graceful', 'reset-graceful'],
    });

    const onWhenOn = await refusal(power.request('on'));
    expect(onWhenOn).toBeInstanceOf(AmtPowerError);
    expect(onWhenOn).toMatchObject({ code: 'POWER_ACTION_REFUSED', action: 'on', returnValue: 2 });
    expect((onWhenOn as Error).message).toContain('RequestPowerStateChange returned 2 (STATE_CHANGE_UNKNOWN_ERROR)');

    await power.request('off');
    expect(await power.getStatus()).toEqual({ state: 'off', firmwareValue: 8, available: ['on'] });
    expect(await refusal(power.request('reset'))).toMatchObject({ code: 'POWER_ACTION_REFUSED', returnValue: 2 });
    const before = device.host.transitions.length;
    expect(await refusal(power.request('off-graceful'))).toMatchObject({
      code: 'POWER_ACTION_NOT_OFFERED',
      returnValue: null,
    });
    expect(device.host.transitions).toHaveLength(before);

    for (const action of ['on', 'cycle', 'reset', 'reset-graceful', 'sleep', 'on', 'hibernate', 'on'] as PowerAction[])
      await power.request(action);
    expect((await power.getStatus()).state).toBe('on');
    await power.request('off-graceful');
    expect(await power.getStatus()).toMatchObject({ state: 'off', firmwareValue: 8 });
    expect(since(device, start)).toEqual([
      ['RequestPowerStateChange(2)', 'S0', 'S0', 2],
      ['RequestPowerStateChange(8)', 'S0', 'S5', 0],
      ['RequestPowerStateChange(10)', 'S5', 'S5', 2],
      ['RequestPowerStateChange(2)', 'S5', 'S0', 0],
      ['RequestPowerStateChange(5)', 'S0', 'S0', 0],
      ['RequestPowerStateChange(10)', 'S0', 'S0', 0],
      ['RequestPowerStateChange(14)', 'S0', 'S0', 0],
      ['RequestPowerStateChange(4)', 'S0', 'S3', 0],
      ['RequestPowerStateChange(2)', 'S3', 'S0', 0],
      ['RequestPowerStateChange(7)', 'S0', 'S4', 0],
      ['RequestPowerStateChange(2)', 'S4', 'S0', 0],
      ['RequestPowerStateChange(12)', 'S0', 'S5', 0],
    ]);
    await power.request('on');
  });

  it('offers sleep and hibernate from 9.0 and the graceful changes from 10; older releases answer 2', async () => {
    const v9 = control(fleet.devices[1]!);
    expect((await v9.getStatus()).available).toEqual(['sleep', 'cycle', 'hibernate', 'off', 'reset']);
    const v8 = control(fleet.devices[2]!);
    expect((await v8.getStatus()).available).toEqual(['cycle', 'off', 'reset']);
    expect(await refusal(v8.request('sleep'))).toMatchObject({ code: 'POWER_ACTION_NOT_OFFERED' });
    // Sent anyway, the firmware refuses a value its release does not offer with 2 (MeshCentral#2426).
    const raw = adminSession(fleet.devices[1]!, password).wsman.client.invoke(
      'CIM_PowerManagementService',
      'RequestPowerStateChange',
      {
        PowerState: 12,
        ManagedElement: ref('CIM_ComputerSystem', { CreationClassName: 'CIM_ComputerSystem', Name: 'ManagedSystem' }),
      },
    );
    await expect(raw).rejects.toMatchObject({ code: 'STATE_CHANGE_UNKNOWN_ERROR', returnValue: 2 });
  });

  it('refuses the first power-on when the fault says so, and accepts the retry', async () => {
    const device = fleet.devices[1]!;
    const power = control(device);
    await power.request('off');
    const start = device.host.transitions.length;
    fleet.inject({ kind: 'powerRefused', change: 'on', returnValue: 4099, times: 1 }, device.uuid);
    const first = await refusal(power.request('on'));
    expect(first).toMatchObject({ code: 'POWER_ACTION_REFUSED', returnValue: 4099, returnCode: 'STATE_CHANGE_BUSY' });
    expect((first as AmtPowerError).transient).toBe(true);
    await power.request('on');
    expect(since(device, start)).toEqual([
      ['RequestPowerStateChange(2)', 'S5', 'S5', 4099],
      ['RequestPowerStateChange(2)', 'S5', 'S0', 0],
    ]);
    expect(fleet.faults()).toEqual([]);
  });

  it('controls legacy firmware over EOI RemoteControl with PT_STATUS refusals', async () => {
    const device = fleet.devices[3]!;
    const power = control(device, 'eoi');
    expect(await power.getStatus()).toEqual({ state: 'on', firmwareValue: 0, available: ['off', 'cycle', 'reset'] });
    await power.request('off');
    expect(await power.getStatus()).toEqual({ state: 'off', firmwareValue: 5, available: ['on'] });
    expect(await refusal(power.request('off'))).toMatchObject({
      code: 'POWER_ACTION_REFUSED',
      returnValue: 36,
      returnCode: 'PT_STATUS_INVALID_PARAMETER',
    });
    expect(await refusal(power.request('sleep'))).toMatchObject({ code: 'POWER_ACTION_NOT_OFFERED' });
    await power.request('on');
    expect(device.host.transitions.map((t) => [t.source, t.request, t.to, t.returnValue])).toEqual([
      ['eoi', 'RemoteControl(18)', 'S5', 0],
      ['eoi', 'RemoteControl(18)', 'S5', 36],
      ['eoi', 'RemoteControl(17)', 'S0', 0],
    ]);
  });

  it('takes the ME down with the host under the factory power package', async () => {
    const device = fleet.devices[4]!;
    const power = control(device);
    await power.request('off');
    expect(device.host.meAwake()).toBe(false);
    await expect(power.getStatus()).rejects.toBeInstanceOf(AmtConnectionError);
    expect(device.nvram().power.hostPowerState).toBe(8);
    await device.host.local('power-button');
    expect(await power.getStatus()).toMatchObject({ state: 'on' });
    expect(device.host.transitions.at(-1)).toMatchObject({
      source: 'host',
      request: 'power-button',
      from: 'S5',
      to: 'S0',
    });
  });
});
