import { createHash } from 'node:crypto';
import net from 'node:net';
import type { Device } from '../../../emulator/device/device';
import { openAmtSession } from '../../../lib/amt';
import { waitFor } from './support/client';
import { testFleet } from './support/fleet';

/**
 * Issue 13: the emulator's redirection port byte for byte, from a raw socket (no client library):
 * the session start reply of the AMT 11.8 trace, the authentication methods per release, digest
 * without qop (type 3), Kerberos refused, and hostile or out-of-order input ending the connection.
 */
describe('emulator redirection protocol (raw)', () => {
  const password = 'Raw!Redir1';
  let fleet: Awaited<ReturnType<typeof testFleet>>;

  beforeAll(async () => {
    fleet = await testFleet([
      { state: 'post', adminPassword: password, amtVersion: '11.8.50' },
      { state: 'post', adminPassword: password, amtVersion: '12.0.45' },
      { state: 'post', adminPassword: password, amtVersion: '5.2.70' },
    ]);
    for (const device of fleet.devices) {
      const session = openAmtSession({
        host: device.address,
        port: device.httpPort,
        credentials: [{ username: 'admin', password, ref: 'admin' }],
        timeouts: { connectMs: 5_000, responseMs: 10_000 },
      });
      await session.wsman.features.setRedirection({ sol: true, ider: true });
    }
  });
  afterAll(() => fleet.cleanup());

  /** A raw connection that collects every byte and whether the device closed it. */
  async function connect(device: Device) {
    const socket = net.connect(device.redirection.port, device.address);
    let received = Buffer.alloc(0);
    let closed = false;
    socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    return {
      send: (bytes: Buffer | number[]) => socket.write(Buffer.from(bytes)),
      /** Waits until `n` bytes have arrived and returns them, consuming them. */
      async take(n: number): Promise<Buffer> {
        await waitFor(() => received.length >= n, 10_000, `${n} bytes from the device`);
        const out = received.subarray(0, n);
        received = received.subarray(n);
        return out;
      },
      closedByDevice: () => waitFor(() => closed, 10_000, 'the device to close the connection'),
      pending: () => received.length,
      end: () => socket.destroy(),
    };
  }
  const start = (type: string) => [0x10, 0, 0, 0, ...Buffer.from(type, 'latin1')];
  const auth = (type: number, fields: string[]) => {
    const data = Buffer.concat(fields.map((f) => Buffer.concat([Buffer.from([f.length]), Buffer.from(f, 'latin1')])));
    const head = Buffer.from([0x13, 0, 0, 0, type, 0, 0, 0, 0]);
    head.writeUInt32LE(data.length, 5);
    return Buffer.concat([head, data]);
  };
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');

  it('answers the session start like the AMT 11.8 trace and lists the methods each release offers', async () => {
    const c = await connect(fleet.devices[0]!);
    c.send(start('SOL '));
    expect([...(await c.take(13))]).toEqual([0x11, 0, 0, 0, 1, 0, 11, 8, 0x57, 1, 0, 0, 0]);
    c.send(auth(0, []));
    expect([...(await c.take(12))]).toEqual([0x14, 0, 0, 0, 0, 3, 0, 0, 0, 1, 3, 4]);
    c.end();
    for (const [device, methods] of [
      [fleet.devices[1]!, [4]],
      [fleet.devices[2]!, [1]],
    ] as const) {
      const d = await connect(device);
      d.send(start('IDER'));
      await d.take(13);
      d.send(auth(0, []));
      expect([...(await d.take(9 + methods.length)).subarray(9)]).toEqual(methods);
      d.end();
    }
  });

  it('authenticates digest without qop (type 3) and refuses Kerberos as not supported', async () => {
    const device = fleet.devices[0]!;
    const c = await connect(device);
    c.send(start('SOL '));
    await c.take(13);
    c.send(auth(2, []));
    expect([...(await c.take(9))]).toEqual([0x14, 2, 0, 0, 2, 0, 0, 0, 0]);
    c.send(auth(3, ['admin', '', '', '/RedirectionService', '', '', '']));
    const head = await c.take(9);
    expect([head[0], head[1], head[4]]).toEqual([0x14, 1, 3]);
    const challenge = await c.take(head.readUInt32LE(5));
    const realm = challenge.subarray(1, 1 + challenge[0]!).toString();
    const nonce = challenge.subarray(2 + challenge[0]!).toString();
    expect(realm).toBe(device.nvram().realm);
    const ha1 = md5(`admin:${realm}:${password}`);
    const response = md5(`${ha1}:${nonce}:${md5('POST:/RedirectionService')}`);
    c.send(auth(3, ['admin', realm, nonce, '/RedirectionService', 'c0ffee', '00000001', response]));
    expect([...(await c.take(9))]).toEqual([0x14, 0, 0, 0, 3, 0, 0, 0, 0]);
    expect(device.host.sessionOpen('sol')).toBe(true);
    c.send([0x12, 0, 0, 0]);
    await c.closedByDevice();
    await waitFor(() => !device.host.sessionOpen('sol'), 10_000, 'the session to close');
  });

  it('ends the connection on hostile or out-of-order input', async () => {
    const device = fleet.devices[0]!;
    const garbage = await connect(device);
    garbage.send([0x99, 1, 2, 3, 4, 5, 6, 7]);
    await garbage.closedByDevice();
    expect(garbage.pending()).toBe(0);

    const huge = await connect(device);
    huge.send(start('SOL '));
    await huge.take(13);
    huge.send([0x13, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0x7f]);
    await huge.closedByDevice();

    const early = await connect(device);
    early.send(start('SOL '));
    await early.take(13);
    early.send([0x20, ...Buffer.alloc(23)]);
    await early.closedByDevice();

    const kvm = await connect(device);
    kvm.send([0x10, 1, 0, 0, ...Buffer.from('KVMR')]);
    expect((await kvm.take(13))[1]).toBe(3);
    await kvm.closedByDevice();
    expect(device.host.sessionOpen('sol')).toBe(false);
  });
});
