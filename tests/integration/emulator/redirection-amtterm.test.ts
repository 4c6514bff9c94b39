import { openAmtSession } from '../../../lib/amt';
import type { Device } from '../../../emulator/device/device';
import { waitFor } from './support/client';
import { CliRun, requireTool } from './support/cli';
import { testFleet } from './support/fleet';

/**
 * Issue 13 (OPS3): Debian's amtterm 1.4 — plain user/password authentication, no query, a 64-byte
 * parser that drops what shares a read with 0x21 — opens serial over LAN on an emulated device and
 * sees the host's console, and is refused the way firmware refuses it.
 */
describe('amtterm against the emulator (SOL on 16994)', () => {
  const password = 'Sol!Admin1';
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  const runs: CliRun[] = [];

  beforeAll(async () => {
    requireTool('amtterm', 'amtterm');
    fleet = await testFleet([
      { state: 'post', adminPassword: password, amtVersion: '11.8.50' },
      { state: 'post', adminPassword: password, amtVersion: '12.0.45' },
    ]);
  });
  afterEach(() => runs.splice(0).forEach((r) => r.kill()));
  afterAll(() => fleet.cleanup());

  /** Stage two's redirection settings, set the way amtflow sets them (RequestStateChange, then the listener). */
  async function redirection(device: Device, features: { sol: boolean; ider: boolean }): Promise<void> {
    const session = openAmtSession({
      host: device.address,
      port: device.httpPort,
      credentials: [{ username: 'admin', password, ref: 'admin' }],
      timeouts: { connectMs: 5_000, responseMs: 10_000 },
    });
    await session.wsman.features.setRedirection(features);
  }

  function amtterm(device: Device, pw = password): CliRun {
    const run = new CliRun('amtterm', ['-u', 'admin', device.address, String(device.redirection.port)], {
      AMT_PASSWORD: pw,
    });
    runs.push(run);
    return run;
  }

  it('opens a SOL session and shows the emulated console text, answering input like a login prompt', async () => {
    const device = fleet.devices[0]!;
    await redirection(device, { sol: true, ider: false });
    const run = amtterm(device);
    await run.waitForOutput('connected now, use ^] to escape');
    expect(device.host.sessionOpen('sol')).toBe(true);

    run.type('\n');
    await run.waitForOutput('localhost login: ');
    expect(run.stdout).toContain('amtflow emulated host localhost (Intel(R) AMT 11.8.50) ttyS0');
    run.type('operator\n');
    await run.waitForOutput('Password: ');
    run.type('not-shown\n');
    await run.waitForOutput('Login incorrect');
    expect(run.stdout).toContain('localhost login: operator');
    expect(run.stdout).not.toContain('not-shown');

    // ^] ends SOL (0x22 → 0x23 → 0x12), as amtterm documents.
    run.type('\x1d');
    expect(await run.waitForExit()).toBe(0);
    expect(run.stderr).toContain('CLOSING -> CLOSED');
    await waitFor(() => !device.host.sessionOpen('sol'), 10_000, 'the SOL session to close');
    expect(device.host.console.transcript()).toContain('Login incorrect');
  });

  it('is refused at session start when SOL is disabled, and at login with a wrong password', async () => {
    const device = fleet.devices[0]!;
    await redirection(device, { sol: false, ider: true });
    const disabled = amtterm(device);
    await disabled.waitForOutput('ERROR: redirection session start failed');

    await redirection(device, { sol: true, ider: true });
    const wrong = amtterm(device, 'Wr0ng!pass');
    await wrong.waitForOutput('ERROR: session authentication failed');
    expect(device.host.sessionOpen('sol')).toBe(false);
  });

  it('gets no answer at all while the redirection listener is off', async () => {
    const device = fleet.devices[0]!;
    await redirection(device, { sol: false, ider: false });
    const run = amtterm(device);
    await run.waitForOutput('ERROR:');
    expect(run.output).not.toContain('INIT -> AUTH');
  });

  it('cannot log in to AMT 12, which offers digest authentication only', async () => {
    const device = fleet.devices[1]!;
    await redirection(device, { sol: true, ider: false });
    const run = amtterm(device);
    await run.waitForOutput('ERROR: session authentication failed');
  });
});
