import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { codecServerToken } from '../../../api/tokens';
import { encodeHello } from '../../../emulator/hello/message';
import { isAlive, waitFor } from '../../../scripts/lib/process';
import { expectProvisionedEverywhere } from '../../support/agreement';
import { backends, type TestDatabase } from '../../support/databases';
import { newDeviceUuid } from '../../support/device-uuid';
import { startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';
import { TEST_KEK } from '../../support/temporal';
import { freePort } from './support';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * The production topology: the front door (`npm run api` → api/main.ts) and a worker
 * (`npm run worker` → workers/main.ts) as processes of their own over one PostgreSQL site database
 * and the Temporal server. An operator's request to the front door's API becomes a run the worker
 * process completes; the hello listener and the codec server answer; SIGTERM stops the front door.
 */
describe('front door and worker as separate processes', () => {
  let env: LifecycleEnv;
  let database: TestDatabase;
  let listeners: { host: string; apiPort: number; helloPort: number; codecPort: number };
  const processes: ChildProcess[] = [];
  const apiOutput: string[] = [];
  let api: ChildProcess;

  function start(entry: string, configFile: string, output: 'pipe' | 'ignore'): ChildProcess {
    // One process (node with tsx's loader), not the tsx launcher: the signal must reach it.
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env: { ...process.env, AMTFLOW_CONFIG: configFile, NODE_OPTIONS: '' },
      stdio: ['ignore', output, 'inherit'],
    });
    processes.push(child);
    return child;
  }

  beforeAll(async () => {
    database = await backends.find((b) => b.name === 'postgres')!.open();
    env = await startLifecycleEnv([{ hostName: 'amt-frontdoor', amtVersion: '11.8.50' }], {
      firstIp: '127.31.8.1',
      worker: false,
      databaseUrl: database.url,
    });
    listeners = {
      host: '127.0.0.1',
      apiPort: await freePort(),
      helloPort: await freePort(),
      codecPort: await freePort(),
    };
    const configFile = path.join(env.deps.stateDir, 'processes.config.json');
    // The front door's log lines (JSON on stdout) say what became of a hello.
    writeFileSync(configFile, JSON.stringify({ ...env.workerConfig(), listeners, log: { level: 'info' } }));
    start('workers/main.ts', configFile, 'ignore');
    api = start('api/main.ts', configFile, 'pipe');
    api.stdout?.on('data', (chunk: Buffer) => apiOutput.push(...chunk.toString('utf8').split('\n')));
    await waitFor(
      'the front door to answer',
      async () => (await fetch(`http://127.0.0.1:${listeners.apiPort}/health`).catch(() => undefined))?.ok === true,
      60_000,
      200,
    );
  });
  afterAll(async () => {
    for (const child of processes) {
      const pid = child.pid;
      if (pid && isAlive(pid)) {
        child.kill('SIGKILL');
        await waitFor('the process to die', async () => !isAlive(pid), 10_000, 50);
      }
    }
    await env?.stop();
    await database?.close();
  });

  it('takes an operator request that the worker process completes', async () => {
    const device = env.devices[0]!;
    const token = readFileSync(path.join(env.deps.stateDir, 'keys', 'api-operator.token'), 'utf8').trim();
    const response = await fetch(`http://127.0.0.1:${listeners.apiPort}/api/v1/devices/${device.uuid}/provision`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(202);
    const { workflowId } = (await response.json()) as { workflowId: string };
    const result = await env.env.client.workflow.getHandle(workflowId).result();
    await expectProvisionedEverywhere(env, device, result);
  });

  it('serves the CRL, decodes payloads for the Web UI and listens for hellos', async () => {
    const crl = await fetch(`http://127.0.0.1:${listeners.apiPort}/crl`);
    expect(crl.headers.get('content-type')).toBe('application/pkix-crl');

    const decoded = await fetch(`http://127.0.0.1:${listeners.codecPort}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payloads: [] }),
    });
    expect(decoded.status).toBe(401);
    const withToken = await fetch(`http://127.0.0.1:${listeners.codecPort}/${codecServerToken(TEST_KEK)}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payloads: [] }),
    });
    expect(await withToken.json()).toEqual({ payloads: [] });

    const unknown = newDeviceUuid();
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: listeners.helloPort }, () =>
        socket.end(encodeHello({ credentialsChanged: false, version: 3, retryCount: 0, uuid: unknown, hashes: [] })),
      );
      socket.once('error', reject);
      socket.once('close', () => resolve());
    });
    await waitFor(
      'the front door to discard the hello of a device never imported',
      async () => apiOutput.some((line) => line.includes(unknown) && line.includes('hello discarded: unknown UUID')),
      10_000,
      50,
    );
  });

  it('refuses to start over the embedded PGlite, which belongs to one process', () => {
    const configFile = path.join(env.deps.stateDir, 'pglite.config.json');
    writeFileSync(configFile, JSON.stringify({ ...env.workerConfig(), database: {}, listeners }));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, AMTFLOW_CONFIG: configFile, NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('npm run api needs PostgreSQL');
  });

  it('stops on SIGTERM, closing what it opened', async () => {
    const exited = new Promise<number | null>((resolve) => api.once('exit', (code) => resolve(code)));
    api.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(apiOutput.some((line) => line.includes('front door stopped'))).toBe(true);
  });
});
