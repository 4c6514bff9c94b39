/**
 * Emulator benchmark (issue 3, limits): N devices in one process within 1 GiB RSS, and the median
 * latency of an authenticated WS-Man Get (target < 5 ms with zero configured latency).
 *
 *   npx tsx bench/emulator-fleet.ts [devices=1000] [gets=2000]
 *
 * The client is amtflow's own AMT client (lib/amt: one connection per request, as rpc-go and
 * MeshCentral do), in the same process, so the figures include its cost. Devices listen on the real
 * ports 16992/16993 at 127.30.x.y.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startFleet } from '../emulator/fleet/fleet';
import { openAmtSession } from '../lib/amt';

const RSS_LIMIT = 1024 ** 3;
const MEDIAN_LIMIT_MS = 5;

async function main(): Promise<void> {
  const devices = Number(process.argv[2] ?? 1000);
  const gets = Number(process.argv[3] ?? 2000);
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'amtflow-emulator-bench-'));
  const password = 'B3nch!mark';
  const started = performance.now();
  const fleet = await startFleet({
    devices: Array.from({ length: devices }, () => ({
      state: 'post' as const,
      adminPassword: password,
      helloEnabled: false,
    })),
    stateDir,
    keyPool: { dir: path.join(os.tmpdir(), 'amtflow-emulator-bench-keys'), size: 16 },
    firstIp: '127.30.0.1',
    admin: false,
  });
  const startSeconds = (performance.now() - started) / 1000;
  global.gc?.();
  const rssIdle = process.memoryUsage().rss;

  const sessions = fleet.devices.map((d) =>
    openAmtSession({
      host: d.address,
      port: d.httpPort,
      credentials: [{ username: 'admin', password, ref: 'bench' }],
      timeouts: { connectMs: 5_000, responseMs: 10_000 },
    }),
  );
  // Warm-up: one authenticated request per device (the first costs a 401 round trip).
  for (const s of sessions) await s.wsman.client.get('AMT_GeneralSettings');
  const samples: number[] = [];
  for (let i = 0; i < gets; i++) {
    const session = sessions[i % sessions.length]!;
    const t0 = performance.now();
    // Rejects on anything but an answered Get.
    await session.wsman.client.get('AMT_GeneralSettings');
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  const p95 = samples[Math.floor(samples.length * 0.95)]!;
  const rssLoaded = process.memoryUsage().rss;
  await fleet.stop();
  await rm(stateDir, { recursive: true, force: true });

  const result = {
    devices,
    startSeconds: Number(startSeconds.toFixed(2)),
    rssIdleMiB: Math.round(rssIdle / 1024 ** 2),
    rssLoadedMiB: Math.round(rssLoaded / 1024 ** 2),
    gets,
    medianMs: Number(median.toFixed(3)),
    p95Ms: Number(p95.toFixed(3)),
    rssOk: rssLoaded < RSS_LIMIT,
    medianOk: median < MEDIAN_LIMIT_MS,
  };
  console.log(JSON.stringify(result, null, 2));
  if (!result.rssOk || !result.medianOk) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
