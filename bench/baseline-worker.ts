/**
 * The baseline's process (the "workers" group of a `--baseline` run): loads amtflow's configuration
 * (AMTFLOW_CONFIG) as `npm run worker` does, builds the same activities, records each device's
 * contact as the hello listener would, and provisions the devices with bench/baseline.ts.
 *
 *   node --import tsx bench/baseline-worker.ts <job.json> <result.json>
 *
 * It prints `baseline ready` once its dependencies are up and starts when a line arrives on stdin,
 * so that its start-up is outside the measured interval, as the workers' is.
 * job.json: { concurrency, rootSha256, devices: [{ uuid, address, httpPort, tlsPort }] };
 * result.json: { devices: [{ uuid, startedAt, endedAt, error? }] } (epoch milliseconds).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createActivities } from '../activities';
import { loadConfig } from '../lib/config';
import { parseDeviceUuid } from '../lib/device-uuid';
import { buildActivityDeps } from '../runtime/activity-deps';
import { pool, provisionWithoutTemporal } from './baseline';

export interface BaselineJob {
  concurrency: number;
  rootSha256: string;
  devices: Array<{ uuid: string; address: string; httpPort: number; tlsPort: number }>;
}

export interface BaselineResult {
  devices: Array<{ uuid: string; startedAt: number; endedAt: number; error?: string }>;
}

async function main(): Promise<void> {
  const [jobFile, resultFile] = process.argv.slice(2);
  if (!jobFile || !resultFile) throw new Error('usage: baseline-worker.ts <job.json> <result.json>');
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as BaselineJob;
  const deps = await buildActivityDeps(loadConfig());
  const activities = createActivities(deps);
  // Start-up is not part of the measurement: say so, then wait for the bench's go (a line on stdin).
  console.log('baseline ready');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  process.stdin.pause();
  try {
    const outcomes = await pool(job.devices, job.concurrency, async (d) => {
      const startedAt = Date.now();
      // What the hello listener records before it starts a run (OOB1).
      await deps.store.contacts.recordHello(d.uuid, {
        host: d.address,
        httpPort: d.httpPort,
        tlsPort: d.tlsPort,
        rootHashes: [{ algorithm: 'sha256', hex: job.rootSha256 }],
        adminCredentialsSet: false,
      });
      await provisionWithoutTemporal(activities, parseDeviceUuid(d.uuid), randomUUID());
      return { startedAt, endedAt: Date.now() };
    });
    const result: BaselineResult = {
      devices: outcomes.map((o) => ({
        uuid: o.item.uuid,
        startedAt: o.result?.startedAt ?? 0,
        endedAt: o.result?.endedAt ?? 0,
        ...(o.error && { error: o.error.message }),
      })),
    };
    writeFileSync(resultFile, JSON.stringify(result));
  } finally {
    await deps.database.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
