import { createNvram } from '../../../emulator/device/nvram';
import { deviceProfileSchema } from '../../../emulator/device/profile';
import { EmulatorError } from '../../../emulator/errors';
import { FaultRegistry } from '../../../emulator/fleet/faults';
import { HostConsole } from '../../../emulator/host/console';
import { Host } from '../../../emulator/host/host';
import { consoleMessageLength } from '../../../emulator/redirection/messages';

/** The emulated host without a network: its console, its power package rule, its local actions. */
describe('emulated host', () => {
  function host() {
    const profile = deviceProfileSchema.parse({ state: 'post', adminPassword: 'H0st!pass' });
    const nvram = createNvram(
      { ...profile, uuid: '11111111-2222-4333-8444-555555555555', address: '127.20.0.9' },
      { keyPem: 'K', certPem: 'C' },
    );
    return new Host({
      uuid: nvram.uuid,
      nvram: () => nvram,
      faults: new FaultRegistry(),
      persist: async () => undefined,
      now: () => new Date(),
    });
  }

  it('console: silent until Enter, echoes the user name but not the password, one Enter per CR LF', () => {
    let powered = true;
    const console = new HostConsole(
      () => ({ hostName: 'pc-7', amtVersion: '11.8.50' }),
      () => powered,
    );
    const seen: string[] = [];
    console.attach((b) => seen.push(b.toString('latin1')));
    expect(console.transcript()).toBe('');
    console.input(Buffer.from('\r\n'));
    expect(seen.join('')).toBe('\r\n\r\namtflow emulated host pc-7 (Intel(R) AMT 11.8.50) ttyS0\r\n\r\npc-7 login: ');
    console.input(Buffer.from('rooz\x7ft\rsecret\r'));
    expect(console.transcript()).toContain(
      'pc-7 login: rooz\b \bt\r\nPassword: \r\n\r\nLogin incorrect\r\npc-7 login: ',
    );
    expect(console.transcript()).not.toContain('secret');
    powered = false;
    const before = console.transcript();
    console.input(Buffer.from('\r'));
    expect(console.transcript()).toBe(before);
  });

  it('keeps the ME up off S0 only where the power package lists the state', async () => {
    const h = host();
    await h.local('power-button');
    expect([h.state, h.meAwake()]).toEqual(['S5', false]);
    await h.local('power-button');
    await h.local('sleep');
    expect([h.state, h.meAwake()]).toEqual(['S3', false]);
    await h.local('wake');
    await h.local('unplug');
    expect([h.state, h.meAwake()]).toEqual(['G3', false]);
    await expect(h.local('power-button')).rejects.toMatchObject({ code: 'INVALID_HOST_ACTION' });
    await expect(h.local('wake')).rejects.toBeInstanceOf(EmulatorError);
    await h.local('plug-in');
    expect(h.state).toBe('S5');
    expect(h.transitions.map((t) => `${t.change}:${t.from}>${t.to}`)).toEqual([
      'power-button:S0>S5',
      'power-button:S5>S0',
      'sleep:S0>S3',
      'wake:S3>S0',
      'unplug:S0>G3',
      'plug-in:G3>S5',
    ]);
  });

  it('frames console messages on the firmware side and refuses unknown or oversized ones', () => {
    expect(consoleMessageLength(Buffer.from([0x10, 0, 0, 0, 0x53, 0x4f, 0x4c, 0x20]))).toBe(8);
    expect(consoleMessageLength(Buffer.from([0x13, 0, 0, 0, 1, 4, 0, 0, 0, 1, 0x61, 1]))).toBeNull();
    expect(consoleMessageLength(Buffer.from([0x13, 0, 0, 0, 1, 0, 0x10, 0, 0]))).toBe(-1);
    expect(consoleMessageLength(Buffer.from([0x48, 0, 0, 0, 0, 0, 0, 0, 1]))).toBe(9);
    expect(consoleMessageLength(Buffer.from([0x48, 0, 0, 0, 0, 0, 0, 0, 3]))).toBeNull();
    expect(consoleMessageLength(Buffer.from([0x77]))).toBe(-1);
  });
});
