import net from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createHelloService } from '../../../api/hello-service';
import { encodeHello } from '../../../emulator/hello/message';
import type { Hello } from '../../../lib/hello/parse';
import { startHelloListener } from '../../../lib/hello/listener';
import type { Pacer } from '../../../lib/hello/pacer';
import { deviceWorkflowId } from '../../../workflows/names';
import { waitFor } from '../../../scripts/lib/process';
import { fakeLifecycleActivities } from '../../support/fake-lifecycle';
import type { DeviceUuid } from '../../../lib/device-uuid';
import { newDeviceUuid } from '../../support/device-uuid';
import { connectTestEnv, createTestWorker, uniqueQueue } from '../../support/temporal';
import { capturingLogger, importDevice, useApiStore } from './support';

const ROOT = { algorithm: 'sha256' as const, hex: 'ab'.repeat(32) };
const hello = (uuid: DeviceUuid, extra: Partial<Hello> = {}): Hello => ({
  version: 3,
  adminCredentialsSet: false,
  retryCount: 0,
  uuid,
  rootHashes: [ROOT],
  ...extra,
});

describe('hello service', () => {
  const f = useApiStore();
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await connectTestEnv();
  });
  afterAll(async () => env?.teardown());

  function service(
    taskQueue: string,
    limits: { maxConcurrent?: number; maxQueued?: number; maxPerSecond?: number; pace?: Pacer } = {},
  ) {
    const { logger, lines } = capturingLogger();
    const handlers = createHelloService({ store: f.store, client: env.client, logger, taskQueue, ...limits });
    return {
      handlers,
      lines,
      messages: () => lines.map((l) => String(l.msg)),
      /** The hellos handled for devices whose automatic provisioning is off, in the order handled. */
      recorded: () => lines.filter((l) => l.msg === 'hello recorded; automatic provisioning is off for this device'),
    };
  }

  it('discards a hello from a UUID that was never imported (OOB2) and records nothing', async () => {
    const { handlers, messages } = service(uniqueQueue('hello-unknown'));
    const uuid = newDeviceUuid();
    await handlers.onHello(hello(uuid), '127.20.0.9');
    expect(messages()).toEqual(['hello discarded: unknown UUID (not imported)']);
    await expect(env.client.workflow.getHandle(deviceWorkflowId(uuid)).describe()).rejects.toThrow();
  });

  it('discards hellos of a device whose in-band agent reported (IB7), keeping the wired address', async () => {
    const { handlers, messages } = service(uniqueQueue('hello-ib7'));
    const uuid = await importDevice(f.store, true);
    await f.store.contacts.recordAgentReport(uuid, { host: '10.0.0.5' });
    await handlers.onHello(hello(uuid), '127.20.0.9');
    expect(messages()).toEqual(['hello discarded: the in-band agent reported for this device (IB7)']);
    expect(await f.store.contacts.get(uuid)).toMatchObject({ host: '10.0.0.5', source: 'agent' });
    await expect(env.client.workflow.getHandle(deviceWorkflowId(uuid)).describe()).rejects.toThrow();
  });

  it('records a PSK hello but discards it with the reason', async () => {
    const { handlers, messages } = service(uniqueQueue('hello-psk'));
    const uuid = await importDevice(f.store, true);
    await handlers.onHello(hello(uuid, { version: 2, rootHashes: [], pid: 'ABCD-123' }), '127.20.0.9');
    expect(messages()).toEqual([
      'hello discarded: PSK hello (version 2): amtflow provisions with certificates only (PKI)',
    ]);
    expect(await f.store.contacts.get(uuid)).toMatchObject({ source: 'hello', hellos: 1 });
  });

  it('records the contact but starts nothing while automatic provisioning is off (DEP3)', async () => {
    const { handlers, messages } = service(uniqueQueue('hello-off'));
    const uuid = await importDevice(f.store, false);
    await handlers.onHello(hello(uuid, { adminCredentialsSet: true }), '::ffff:127.20.0.7');
    expect(messages()).toEqual(['hello recorded; automatic provisioning is off for this device']);
    expect(await f.store.contacts.get(uuid)).toMatchObject({
      host: '127.20.0.7',
      rootHashes: [ROOT],
      adminCredentialsSet: true,
    });
  });

  it('starts out-of-band provisioning for a hello on the wire, and the run completes on the worker', async () => {
    const taskQueue = uniqueQueue('hello-start');
    const { handlers, messages } = service(taskQueue);
    const uuid = await importDevice(f.store, true);
    const listener = await startHelloListener({ host: '127.0.0.1', port: 0, ...handlers });
    const fake = fakeLifecycleActivities();
    const worker = await createTestWorker(env, { taskQueue, activities: fake.activities });
    try {
      await worker.runUntil(async () => {
        const { port } = listener.address() as net.AddressInfo;
        const bytes = encodeHello({
          credentialsChanged: false,
          version: 3,
          retryCount: 0,
          uuid,
          hashes: [{ algorithm: 'sha256', hash: ROOT.hex }],
        });
        await new Promise<void>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
          socket.on('close', () => resolve()).on('error', reject);
        });
        await waitFor(
          'the hello to start a run',
          async () => messages().includes('hello started provisioning'),
          15_000,
        );
        const handle = env.client.workflow.getHandle(deviceWorkflowId(uuid));
        await handle.result();
        expect((await handle.describe()).status.name).toBe('COMPLETED');
      });
    } finally {
      listener.close();
    }
    expect(fake.calls.find((c) => c.name === 'loadImportedDevice')?.input).toEqual({
      deviceUuid: uuid,
      mode: 'out-of-band',
    });
    expect(await f.store.contacts.get(uuid)).toMatchObject({ host: '127.0.0.1', source: 'hello', rootHashes: [ROOT] });
  });

  it.each([
    ['provisioned', 'provisioned', false],
    ['failed', 'provisioned', false],
    ['unprovisioned', 'externally_provisioned', true],
    ['unprovisioned', 'provisioned', true],
    ['failed', 'not_provisioned', true],
  ] as const)(
    'a device amtflow records %s with AMT status %s: the hello starts provisioning: %s',
    async (provisioningState, discoveryStatus, starts) => {
      const { handlers, messages } = service(uniqueQueue('hello-state'));
      const uuid = await importDevice(f.store, true);
      await f.store.devices.update(uuid, { provisioningState, discoveryStatus });
      await handlers.onHello(hello(uuid), '127.20.0.9');
      const handle = env.client.workflow.getHandle(deviceWorkflowId(uuid));
      if (starts) {
        // A status only a discovery sweep set is stale once the firmware says hello (OOB1).
        expect(messages()).toContain('hello started provisioning');
        await handle.terminate('test over');
      } else {
        expect(messages()).not.toContain('hello started provisioning');
        await expect(handle.describe()).rejects.toThrow();
        expect(await f.store.audit.forTarget(uuid)).toContainEqual(
          expect.objectContaining({ action: 'hello.provisioned-device' }),
        );
      }
    },
  );

  /** Three imported devices with automatic provisioning off. */
  const devicesOff = async (): Promise<[DeviceUuid, DeviceUuid, DeviceUuid]> => [
    await importDevice(f.store, false),
    await importDevice(f.store, false),
    await importDevice(f.store, false),
  ];

  it('hellos beyond the ones in hand wait their turn in arrival order, one per device, none lost', async () => {
    // Devices that power on together say hello together, and again together a minute later: a hello
    // dropped for being one too many would drop the same devices at every turn.
    const { handlers, lines, recorded } = service(uniqueQueue('hello-queue'), { maxConcurrent: 1 });
    const [a, b, c] = await devicesOff();
    await Promise.all([
      handlers.onHello(hello(a), '127.20.0.9'),
      handlers.onHello(hello(b), '127.20.0.9'),
      handlers.onHello(hello(c), '127.20.0.9'),
      // A newer hello of a device still waiting takes the older one's place and turn.
      handlers.onHello(hello(b, { retryCount: 1 }), '127.20.0.9'),
    ]);
    expect(recorded().map((l) => [l.uuid, l.retryCount])).toEqual([
      [a, 0],
      [b, 1],
      [c, 0],
    ]);
    expect(lines.filter((l) => String(l.msg).startsWith('hello discarded'))).toEqual([]);
  });

  it('a hello from another address waits beside the device’s own instead of replacing it (issue 9)', async () => {
    const { handlers, recorded } = service(uniqueQueue('hello-queue-other'), { maxConcurrent: 1 });
    const [a, b] = await devicesOff();
    await Promise.all([
      handlers.onHello(hello(a), '127.20.0.9'),
      handlers.onHello(hello(b), '127.20.0.10'),
      handlers.onHello(hello(b), '127.20.0.66'),
    ]);
    expect(recorded().map((l) => [l.uuid, l.remoteAddress])).toEqual([
      [a, '127.20.0.9'],
      [b, '127.20.0.10'],
      [b, '127.20.0.66'],
    ]);
  });

  it('once closed, drops the waiting hellos and takes no more, finishing the one in hand', async () => {
    const { handlers, lines, recorded } = service(uniqueQueue('hello-close'), { maxConcurrent: 1 });
    const [a, b, c] = await devicesOff();
    const first = handlers.onHello(hello(a), '127.20.0.9');
    await handlers.onHello(hello(b), '127.20.0.9');
    handlers.close();
    await first;
    await handlers.onHello(hello(c), '127.20.0.9');
    expect(recorded().map((l) => l.uuid)).toEqual([a]);
    expect(lines.filter((l) => l.msg === 'hello discarded: the hello service is closed').map((l) => l.uuid)).toEqual([
      c,
    ]);
    expect(await f.store.contacts.get(b)).toBeUndefined();
  });

  /** A pace the test lets through by hand: `turns` resolves each waiting call; close() aborts them. */
  function gatedPace() {
    const turns: Array<() => void> = [];
    let called!: () => void;
    const firstCall = new Promise<void>((resolve) => (called = resolve));
    const pace = (signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        turns.push(resolve);
        signal?.addEventListener('abort', () => reject(signal.reason));
        called();
      });
    /** Resolves once `handled`'s hello asks for its turn; fails at once if it was handled without one. */
    const asked = (handled: Promise<void>) =>
      Promise.race([
        firstCall,
        handled.then(() => {
          throw new Error('the hello was handled without taking a turn of the pace');
        }),
      ]);
    return { pace, turns, asked };
  }

  it('handles a hello of an imported device only at its turn of the pace; one naming no device takes none', async () => {
    const gate = gatedPace();
    const { handlers, messages, recorded } = service(uniqueQueue('hello-paced'), { pace: gate.pace });
    const unknown = newDeviceUuid();
    await handlers.onHello(hello(unknown), '127.20.0.9');
    expect(messages()).toEqual(['hello discarded: unknown UUID (not imported)']);
    const [a] = await devicesOff();
    const handled = handlers.onHello(hello(a), '127.20.0.9');
    await gate.asked(handled);
    // Waiting for its turn: nothing written yet.
    expect(await f.store.contacts.get(a)).toBeUndefined();
    expect(gate.turns).toHaveLength(1);
    gate.turns[0]!();
    await handled;
    expect(recorded().map((l) => l.uuid)).toEqual([a]);
  });

  it('once closed, drops a hello whose hand still waited for its turn, and says so', async () => {
    const gate = gatedPace();
    const { handlers, lines } = service(uniqueQueue('hello-paced-close'), { pace: gate.pace });
    const [a] = await devicesOff();
    const handled = handlers.onHello(hello(a), '127.20.0.9');
    await gate.asked(handled);
    handlers.close();
    await handled;
    expect(lines.map((l) => [l.msg, l.uuid])).toEqual([
      ['hello discarded: the hello service closed before its turn', a],
    ]);
    expect(await f.store.contacts.get(a)).toBeUndefined();
  });

  it('refuses a pace that is not a positive number of hellos a second', () => {
    expect(() => service(uniqueQueue('hello-paced-bad'), { maxPerSecond: 0 })).toThrow(
      'maxPerSecond must be a positive number, not 0',
    );
  });

  it('drops a hello only when the waiting line is full, and says so', async () => {
    const { handlers, lines, recorded } = service(uniqueQueue('hello-full'), { maxConcurrent: 1, maxQueued: 1 });
    const [a, b, c] = await devicesOff();
    await Promise.all([a, b, c].map((uuid) => handlers.onHello(hello(uuid), '127.20.0.9')));
    expect(recorded().map((l) => l.uuid)).toEqual([a, b]);
    expect(lines.filter((l) => l.msg === 'hello discarded: too many hellos waiting')).toEqual([
      expect.objectContaining({ level: 40, uuid: c }),
    ]);
    // c was never recorded: its next hello is the firmware's next try (OOB1).
    expect(await f.store.contacts.get(c)).toBeUndefined();
  });

  it('repeated and concurrent hellos do not start a second run while the first is in flight', async () => {
    // No worker polls this queue, so the first run stays in flight for as long as the test needs.
    const { handlers, lines } = service(uniqueQueue('hello-repeat'));
    const uuid = await importDevice(f.store, true);
    await handlers.onHello(hello(uuid), '127.20.0.9');
    const handle = env.client.workflow.getHandle(deviceWorkflowId(uuid));
    const first = (await handle.describe()).runId;
    try {
      await handlers.onHello(hello(uuid, { retryCount: 1 }), '127.20.0.9');
      await Promise.all([2, 3, 4].map((retryCount) => handlers.onHello(hello(uuid, { retryCount }), '127.20.0.9')));
      expect((await handle.describe()).runId).toBe(first);
      expect(lines.filter((l) => l.msg === 'hello started provisioning')).toHaveLength(1);
      const inFlight = lines.filter((l) => l.msg === 'hello: the device already has a run in flight');
      expect(inFlight.length).toBeGreaterThanOrEqual(1);
      expect(inFlight[0]).toMatchObject({ level: 20, operation: 'provision', status: 'in-flight' });
    } finally {
      await handle.terminate('test over');
    }
  });
});
