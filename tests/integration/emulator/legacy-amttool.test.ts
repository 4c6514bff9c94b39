import type { Device } from '../../../emulator/device/device';
import { openAmtSession } from '../../../lib/amt';
import { CliRun, requireTool } from './support/cli';
import { testFleet } from './support/fleet';

/**
 * Issue 13 (OPS2): Debian's amttool (amtterm 1.4-3, SOAP::Lite over LWP's digest) reads the
 * legacy firmware and switches its host off and on through EOI RemoteControl, with the emulator
 * recording each request and refusing what the host state does not allow.
 */
describe('amttool against legacy firmware (EOI RemoteControl)', () => {
  const password = 'Leg4cy!Pw';
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  const runs: CliRun[] = [];

  beforeAll(async () => {
    requireTool('amttool', 'amtterm libsoap-lite-perl');
    fleet = await testFleet([
      { state: 'post', adminPassword: password, amtVersion: '5.2.70' },
      { state: 'post', adminPassword: password, amtVersion: '5.2.70' },
    ]);
    const session = session0(fleet.devices[0]!);
    await session.eoi.setHostName('legacy-pc');
    await session.eoi.setDomainName('corp.example.test');
    // "Desktop: ON in S0, S3, S4-5": the ME stays up with the host off, so amttool can power it on again.
    await session.wsman.features.setPowerScheme('Intel(r) AMT Power Scheme 7');
  });
  afterEach(() => runs.splice(0).forEach((r) => r.kill()));
  afterAll(() => fleet.cleanup());

  function session0(device: Device) {
    return openAmtSession({
      host: device.address,
      port: device.httpPort,
      credentials: [{ username: 'admin', password, ref: 'admin' }],
      timeouts: { connectMs: 5_000, responseMs: 10_000 },
    });
  }

  /**
   * `amttool host:port command`. Its confirmation prompt is answered `y` up front: perl buffers the
   * prompt on a pipe until it has read the answer, so there is nothing to wait for.
   */
  async function amttool(device: Device, command: string): Promise<CliRun> {
    const run = new CliRun('amttool', [`${device.address}:${device.httpPort}`, command], { AMT_PASSWORD: password });
    runs.push(run);
    if (command !== 'info') run.type('y\n');
    await run.waitForExit(20_000);
    if (command !== 'info') expect(run.stdout).toContain(`execute: ${command}`);
    return run;
  }

  it('reads version, names and power state with `amttool info`', async () => {
    const run = await amttool(fleet.devices[0]!, 'info');
    expect(run.stdout).toContain('AMT version:  5.2.70');
    expect(run.stdout).toContain('Hostname:     legacy-pc.corp.example.test');
    expect(run.stdout).toContain('Powerstate:   S0');
    expect(run.stdout).toMatch(/SystemCapabilitiesSupported\s+powercycle powerdown powerup reset/);
  });

  it('powers the host down and up, refusing a second powerdown, and records every request', async () => {
    const device = fleet.devices[0]!;
    const before = device.host.transitions.length;
    expect((await amttool(device, 'powerdown')).stdout).toContain('result: pt_status: success');
    expect((await amttool(device, 'info')).stdout).toContain('Powerstate:   S5 (soft-off)');
    expect((await amttool(device, 'powerdown')).stdout).toContain('result: pt_status: invalid parameter');
    expect((await amttool(device, 'powerup')).stdout).toContain('result: pt_status: success');
    expect((await amttool(device, 'info')).stdout).toContain('Powerstate:   S0');
    expect(device.host.transitions.slice(before).map(({ at: _at, ...t }) => t)).toEqual([
      { source: 'eoi', request: 'RemoteControl(18)', change: 'off', from: 'S0', to: 'S5', returnValue: 0 },
      { source: 'eoi', request: 'RemoteControl(18)', change: 'off', from: 'S5', to: 'S5', returnValue: 36 },
      { source: 'eoi', request: 'RemoteControl(17)', change: 'on', from: 'S5', to: 'S0', returnValue: 0 },
    ]);
  });

  it('loses the firmware with the host under the factory power package, until the power button is pressed', async () => {
    const device = fleet.devices[1]!;
    expect((await amttool(device, 'powerdown')).stdout).toContain('result: pt_status: success');
    const dark = await amttool(device, 'info');
    // The sleeping ME's port drops the connection at once (network.ts): a FIN when it closes before
    // amttool's request arrives, a reset when the request was already in its receive buffer — which
    // one is a race between the two processes, and either way no byte of an answer came back.
    expect(dark.output).toMatch(/Server closed connection without sending any data back|Connection reset by peer/);
    expect(dark.stdout).not.toContain('Powerstate');
    expect(device.host.meAwake()).toBe(false);
    await device.host.local('power-button');
    expect((await amttool(device, 'info')).stdout).toContain('Powerstate:   S0');
  });
});
