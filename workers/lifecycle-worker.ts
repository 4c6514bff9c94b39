import { existsSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import { DefaultLogger, Runtime, Worker, makeTelemetryFilterString, type NativeConnection } from '@temporalio/worker';
import type pino from 'pino';
import type { WorkerConfig } from '../lib/config';
import { createActivities, type ActivityDeps } from '../activities';
import { TASK_QUEUES } from '../workflows/names';

export interface LifecycleWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  /** amtflowDataConverter(kek): the same one every client of this namespace uses. */
  dataConverter: DataConverter;
  /** Prebuilt bundle (production) or the workflows source path (tests bundle once per suite). */
  workflowBundlePath: string;
  taskQueue?: string;
  /** The configuration's `worker` section: slots for runs and steps in progress (SDK defaults when absent). */
  tuning?: WorkerConfig;
}

/**
 * Routes the SDK's own logs into amtflow's logger; once per process, before any worker.
 * `shutdownSignals: []` leaves signal handling to a caller that must do more than stop workers.
 */
export function installRuntimeLogger(
  logger: pino.Logger,
  shutdownSignals?: NodeJS.Signals[],
  options: { metricsAddress?: string } = {},
): void {
  Runtime.install({
    ...(shutdownSignals ? { shutdownSignals } : {}),
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => {
      logger[level.toLowerCase() as Lowercase<typeof level>](meta ?? {}, message);
    }),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) },
      // The SDK's own worker metrics (task slots, poll and schedule-to-start latency, activity and
      // workflow counts) in Prometheus format at http://<metricsAddress>/metrics (issue 11 §5).
      ...(options.metricsAddress ? { metrics: { prometheus: { bindAddress: options.metricsAddress } } } : {}),
    },
  });
}

/**
 * How long a run's next workflow task may wait on this worker's sticky queue for a free slot before
 * the server moves it to the task queue — behind every run not yet taken up, minutes at 1,000
 * devices. The SDK's 10 s is too short here: the slots are held by runs whose steps chain (see
 * `WorkerConfig`), and when a wave of runs passes OOB8.6's checkpoint together their continuations
 * wait longer than that while new runs take the slots that free (14 of 1,000 in docs/benchmarks.md,
 * "Session 10"). What it does not change (Temporal server 1.32, matching and history): a task
 * scheduled while the sticky queue has had no poll for 10 s goes to the task queue at once — so a
 * dead worker's runs are not held, and neither is a live worker's whose every slot has been busy
 * that long (its pollers poll only with a slot in hand) — and a task already on a dead worker's
 * sticky queue waits out this minute, then goes to the back of the task queue.
 */
const STICKY_QUEUE_SCHEDULE_TO_START_TIMEOUT = '1 minute';

/** The worker for the lifecycle task queue: prebuilt workflow bundle plus injected activities. */
export async function createLifecycleWorker(options: LifecycleWorkerOptions): Promise<Worker> {
  if (!existsSync(options.workflowBundlePath)) {
    throw new Error(`workflow bundle ${options.workflowBundlePath} is missing: run \`npm run build\` first`);
  }
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUES.lifecycle,
    workflowBundle: { codePath: options.workflowBundlePath },
    activities: createActivities(options.deps),
    dataConverter: options.dataConverter,
    stickyQueueScheduleToStartTimeout: STICKY_QUEUE_SCHEDULE_TO_START_TIMEOUT,
    ...options.tuning,
  });
}
