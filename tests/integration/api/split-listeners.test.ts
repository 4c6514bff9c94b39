import net from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { startCodecServer, startFrontDoor, type Stoppable } from '../../../api/front-door';
import type { AmtflowConfig } from '../../../lib/config';
import { createTestDeps, type TestDeps } from '../../support/activity-env';
import { connectTestEnv } from '../../support/temporal';
import { freePort } from './support';

/** Loopback addresses of this file: one for the devices' side, one for the operators'. */
const DEVICES_SIDE = '127.78.11.1';
const OPERATORS_SIDE = '127.78.11.2';

/** Whether something accepts TCP connections at `host:port`. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Issue 11 §7: the listeners bind to their own addresses — the hello listener faces the devices'
 * network, the API and the codec server face operators — and each is reachable only where it was
 * told to listen.
 */
describe('listeners on their own addresses', () => {
  let env: TestWorkflowEnvironment;
  let deps: TestDeps;
  let listeners: AmtflowConfig['listeners'];
  const started: Stoppable[] = [];

  beforeAll(async () => {
    env = await connectTestEnv();
    deps = await createTestDeps({ directory: false });
    listeners = {
      ...deps.config.listeners,
      host: '127.0.0.1',
      apiHost: OPERATORS_SIDE,
      codecHost: OPERATORS_SIDE,
      helloHost: DEVICES_SIDE,
      apiPort: await freePort(),
      helloPort: await freePort(),
      codecPort: await freePort(),
    };
    // No Temporal Schedules: the shared test server is every file's, and a sweep left behind would
    // fire into whichever production worker polls next (runtime/schedules.ts).
    const config = { ...deps.config, listeners, schedules: undefined };
    started.push(
      await startFrontDoor({
        config,
        store: deps.store,
        ca: deps.ca,
        client: env.client,
        logger: pino({ level: 'silent' }),
      }),
    );
    started.push(await startCodecServer(config, Buffer.alloc(32, 3)));
  });
  afterAll(async () => {
    for (const s of started.reverse()) await s.stop();
    await deps?.cleanup();
    await env?.teardown();
  });

  it('serves the API and the codec server on the operators’ address only', async () => {
    const health = await fetch(`http://${OPERATORS_SIDE}:${listeners.apiPort}/health`);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(await accepts(DEVICES_SIDE, listeners.apiPort)).toBe(false);
    expect(await accepts('127.0.0.1', listeners.apiPort)).toBe(false);
    expect(await accepts(OPERATORS_SIDE, listeners.codecPort)).toBe(true);
    expect(await accepts(DEVICES_SIDE, listeners.codecPort)).toBe(false);
  });

  it('listens for hellos on the devices’ address only', async () => {
    expect(await accepts(DEVICES_SIDE, listeners.helloPort)).toBe(true);
    expect(await accepts(OPERATORS_SIDE, listeners.helloPort)).toBe(false);
    expect(await accepts('127.0.0.1', listeners.helloPort)).toBe(false);
  });
});
