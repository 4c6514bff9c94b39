import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import type { DeviceUuid } from '../../../activities/contract';
import { STARTED_BY, isAlive, waitFor } from '../../../scripts/lib/process';
import { startSambaDc, stopSambaDc } from '../../../scripts/samba-dc';
import { startServer, stopServer, type ServerOptions } from '../../../scripts/temporal-dev-server';
import { fetchProgressFromHistory } from '../../../runtime/progress-history';
import { deviceWorkflowId } from '../../../workflows/names';
import { POSTGRES_ADMIN_URL } from '../../support/databases';
import { TEST_DC } from '../../support/directory';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * What the chaos suite does to a running amtflow (issue 16 §1): the worker process killed with
 * SIGKILL and started again, the Temporal server stopped and started, the Samba DC stopped for a
 * while, the database connections cut. Every random choice comes from one seeded generator
 * (`seededRandom`), and the seed is printed, so a failing run can be replayed.
 */

/**
 * The production worker (workers/main.ts) as its own process, its output appended to `logFile`,
 * supervised as a service manager would: a worker that exits by itself (one starting while the
 * database cuts its connections fails its start-up and exits 1) is started again and counted.
 */
export class WorkerProcess {
  private child: ChildProcess | undefined;
  /** Exits nobody asked for, with their exit code: each was followed by a restart. */
  readonly selfExits: Array<number | null> = [];
  private supervising = true;

  constructor(
    private readonly configFile: string,
    readonly logFile: string,
  ) {}

  start(): void {
    const out = openSync(this.logFile, 'a');
    // One process (node with tsx's loader), not the tsx launcher: SIGKILL must hit the worker itself.
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, AMTFLOW_CONFIG: this.configFile, NODE_OPTIONS: '' },
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    child.once('exit', (code) => {
      if (this.child !== child || !this.supervising) return;
      this.selfExits.push(code);
      this.start();
    });
    this.child = child;
  }

  async kill(): Promise<void> {
    const pid = this.child?.pid;
    this.child = undefined;
    if (pid === undefined || !isAlive(pid)) return;
    process.kill(pid, 'SIGKILL');
    await waitFor('the killed worker to exit', async () => !isAlive(pid), 10_000, 50);
  }

  /** The end of the test: killed, and not started again. */
  async stop(): Promise<void> {
    this.supervising = false;
    await this.kill();
  }
}

/** Resolves after `ms`: the pace of the chaos (when the next fault lands), never a synchronisation. */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Outage {
  name: string;
  run(): Promise<void>;
}

/** The Temporal dev server stopped (SIGTERM) and started again on the same SQLite file and port. */
export function temporalOutage(server: Omit<ServerOptions, 'startedBy'>): Outage {
  return {
    name: 'Temporal server stopped and restarted',
    async run() {
      await stopServer(server.stateDir);
      await startServer({ ...server, startedBy: STARTED_BY.tests });
    },
  };
}

/** The test Samba DC stopped for `ms`, then started again (the suite runs one file at a time). */
export function directoryOutage(ms: number): Outage {
  return {
    name: `Samba DC stopped for ${ms / 1000} s`,
    async run() {
      await stopSambaDc(TEST_DC);
      await pause(ms);
      await startSambaDc(TEST_DC, { startedBy: STARTED_BY.tests });
    },
  };
}

/** Every connection to the PostgreSQL database `url` names terminated by the server. */
export function databaseOutage(url: string): Outage {
  const name = new URL(url).pathname.slice(1);
  return {
    name: `database connections to ${name} terminated`,
    async run() {
      const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await admin.connect();
      try {
        // Pools close idle connections: the cut waits for the next one the worker or the test opens.
        await waitFor(
          `a connection to ${name} to cut`,
          async () =>
            Boolean(
              (
                await admin.query(
                  'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
                  [name],
                )
              ).rowCount,
            ),
          60_000,
          20,
        );
      } finally {
        await admin.end();
      }
    },
  };
}

export interface ChaosPlan {
  random: () => number;
  worker: WorkerProcess;
  kills: number;
  /** Outages, each before the kill of the same index (0: before the first kill). */
  outages: Outage[];
  /** True once there is nothing left to interrupt: the remaining kills are not worth making. */
  done(): Promise<boolean>;
  log(line: string): void;
}

/**
 * Kills the worker `kills` times, 2–8 s apart, starting a new one each time, each of the first kills
 * preceded by an outage (outages beyond the kills come 2–8 s apart too). Stops early when `done`.
 * Resolves with what it did, in order.
 */
export async function runChaos(plan: ChaosPlan): Promise<string[]> {
  const events: string[] = [];
  const note = (event: string) => {
    events.push(event);
    plan.log(`chaos: ${event}`);
  };
  for (let i = 0; i < Math.max(plan.kills, plan.outages.length); i++) {
    await pause(2_000 + Math.floor(plan.random() * 6_000));
    if (await plan.done()) break;
    // The outage first, so that it meets a worker at work; then the kill.
    const outage = plan.outages[i];
    if (outage) {
      await outage.run();
      note(outage.name);
    }
    if (i >= plan.kills) continue;
    await plan.worker.kill();
    plan.worker.start();
    note(`worker SIGKILLed and restarted (${i + 1})`);
  }
  return events;
}

/** Run states in which a device's run no longer moves on its own. */
const RESTING = new Set(['completed', 'failed', 'aborted', 'awaiting-operator', 'waiting-for-signal']);

/**
 * True when every device's last run is `workflowType` and rests: closed, or waiting for an
 * operator. Read from the histories, which answer while no worker runs; unreachable servers
 * (an outage under way) count as not settled.
 */
export async function settled(client: Client, devices: DeviceUuid[], workflowType: string): Promise<boolean> {
  try {
    for (const uuid of devices) {
      const description = await client.workflow.getHandle(deviceWorkflowId(uuid)).describe();
      if (description.type !== workflowType) return false;
      if (description.status.name !== 'RUNNING') continue;
      const progress = await fetchProgressFromHistory(client, deviceWorkflowId(uuid));
      if (!RESTING.has(progress.state)) return false;
    }
    return true;
  } catch {
    return false;
  }
}
