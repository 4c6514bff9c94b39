/**
 * `npx tsx bench/idle-rss.ts [--temporal-port P] [--state-dir D] [--demo-first-ip IP]`: what the
 * `npm start` process holds in memory when idle, piece by piece (issue 15 §3, docs/benchmarks.md
 * "Idle memory of the main process"). Brings up, in one process and in `npm start`'s order, what
 * that process hosts — PGlite and the CA, the worker (its Rust core and the workflow bundle in the
 * workflow thread), the client and the front door, an emulated fleet of three devices like the
 * demo's — and prints the resident set from /proc/self/status after each step (anonymous and
 * file-backed), with V8's own figures for the main thread. The Temporal dev server it needs runs
 * apart, as under `npm start`, and is not counted. The Samba DC is not needed: nothing here talks
 * to the directory while idle.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';

const ROOT = path.resolve(__dirname, '..');

interface Sample {
  step: string;
  rssMiB: number;
  anonMiB: number;
  fileMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  threads: number;
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function sample(step: string): Sample {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  const usage = process.memoryUsage();
  const s: Sample = {
    step,
    rssMiB: mib(kb('VmRSS')),
    anonMiB: mib(kb('RssAnon')),
    fileMiB: mib(kb('RssFile') + kb('RssShmem')),
    heapUsedMiB: mib(usage.heapUsed),
    externalMiB: mib(usage.external),
    arrayBuffersMiB: mib(usage.arrayBuffers),
    threads: readdirSync('/proc/self/task').length,
  };
  process.stderr.write(`[idle-rss] ${JSON.stringify(s)}\n`);
  return s;
}

/** Lets the process settle (timers, the worker's first polls) and, when exposed, collects garbage. */
async function settle(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--temporal-port <port>', 'Temporal dev server frontend (API/hello/codec on +1…+3)', '27960')
    .option('--state-dir <dir>', 'state directory (wiped first)', '.state/idle-rss')
    .option('--demo-first-ip <ip>', 'address of the first of the three emulated devices', '127.212.0.1')
    .option('--settle-ms <ms>', 'idle time before each sample', '3000')
    .option('--keep-state', 'reuse the state directory of an earlier run (a restart: no initdb, the CA exists)')
    .parse(process.argv)
    .opts<{ temporalPort: string; stateDir: string; demoFirstIp: string; settleMs: string; keepState?: boolean }>();
  const port = Number(o.temporalPort);
  const settleMs = Number(o.settleMs);
  const stateDir = path.resolve(ROOT, o.stateDir);
  if (!o.keepState) rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const samples: Sample[] = [sample('node + tsx, nothing loaded')];

  // The modules npm start loads (scripts/start.ts), before anything runs.
  const { loadConfig } = await import('../lib/config');
  const { loadDerivationKey } = await import('../lib/crypto/kek');
  const { buildActivityDeps } = await import('../runtime/activity-deps');
  const { amtflowDataConverter } = await import('../runtime/data-converter');
  const { createLogger } = await import('../runtime/logger');
  const { connectClient, connectWorker } = await import('../runtime/temporal');
  const { createLifecycleWorker, installRuntimeLogger } = await import('../workers/lifecycle-worker');
  const { buildWorkflowBundleApart } = await import('../workers/workflow-bundle');
  const { startCodecServer, startFrontDoor } = await import('../api/front-door');
  const { RedirectionBroker } = await import('../lib/console');
  const { startFleet } = await import('../emulator/fleet/fleet');
  const { ensureTemporalCli, startServer, stopServer } = await import('../scripts/temporal-dev-server');
  const { STARTED_BY } = await import('../scripts/lib/process');
  await settle(settleMs);
  samples.push(sample("npm start's modules loaded"));

  const file = {
    stateDir,
    secrets: { key: randomBytes(32).toString('base64') },
    temporal: { profile: 'dev', address: `127.0.0.1:${port}` },
    ca: { provisioningDomain: 'corp.example.test' },
    listeners: { host: '127.0.0.1', apiPort: port + 1, helloPort: port + 2, codecPort: port + 3 },
    log: { level: 'warn' },
  };
  const configFile = path.join(stateDir, 'amtflow.config.json');
  // A kept state directory keeps its configuration: the CA there is sealed with that key.
  if (!existsSync(configFile)) writeFileSync(configFile, JSON.stringify(file), { mode: 0o600 });
  const config = loadConfig({ file: configFile, env: {}, cwd: ROOT });
  const logger = createLogger(config, 'idle-rss');
  installRuntimeLogger(logger, []);
  const kek = loadDerivationKey(config);

  const cli = await ensureTemporalCli({ log: () => undefined });
  await startServer({
    cli,
    stateDir,
    ip: '127.0.0.1',
    port,
    uiPort: false,
    namespace: 'amtflow',
    startedBy: STARTED_BY.byHand,
  });
  const stops: Array<() => Promise<unknown>> = [() => stopServer(stateDir)];
  try {
    const bundle = await buildWorkflowBundleApart();
    await settle(settleMs);
    samples.push(sample('+ workflow bundle built (in a child process, as npm start does)'));

    const deps = await buildActivityDeps(config);
    stops.push(() => deps.database.close());
    await settle(settleMs);
    samples.push(sample('+ PGlite (site database, migrated) and the CA'));

    const temporal = await connectWorker(config);
    stops.push(() => temporal.connection.close());
    const worker = await createLifecycleWorker({
      ...temporal,
      deps,
      dataConverter: amtflowDataConverter(kek),
      workflowBundlePath: bundle,
    });
    const running = worker.run();
    stops.push(() => (worker.shutdown(), running));
    await settle(settleMs);
    samples.push(sample('+ worker running (Rust core, workflow thread with the bundle)'));

    const { client, connection: clientConnection } = await connectClient(config);
    stops.push(() => clientConnection.close());
    const codec = await startCodecServer(config, kek);
    stops.push(() => codec.stop());
    const frontDoor = await startFrontDoor({
      config,
      store: deps.store,
      ca: deps.ca,
      client,
      logger,
      sessions: new RedirectionBroker(deps),
    });
    stops.push(() => frontDoor.stop());
    await settle(settleMs);
    samples.push(sample('+ client, codec server, front door (API, hello listener)'));

    const fleet = await startFleet({
      devices: [0, 1, 2].map(() => ({ amtVersion: '15.0.23', hello: null })),
      stateDir: path.join(stateDir, 'emulator'),
      firstIp: o.demoFirstIp,
      ephemeralPorts: true,
      admin: false,
    });
    stops.push(() => fleet.stop());
    await settle(settleMs);
    samples.push(sample('+ emulated fleet of 3 devices (the demo runs it in-process)'));
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
  process.stdout.write(`${JSON.stringify(samples, null, 2)}\n`);
  const rows = samples.map((s, i) => {
    const delta = i === 0 ? s.rssMiB : Math.round((s.rssMiB - (samples[i - 1] as Sample).rssMiB) * 10) / 10;
    return `| ${s.step} | ${s.rssMiB} | ${delta >= 0 && i > 0 ? '+' : ''}${delta} | ${s.anonMiB} | ${s.fileMiB} | ${s.heapUsedMiB} | ${s.arrayBuffersMiB} | ${s.threads} |`;
  });
  process.stdout.write(
    [
      '| step | RSS MiB | Δ MiB | anonymous | file-backed | V8 heap used (main thread) | array buffers (incl. wasm) | threads |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n') + '\n',
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
