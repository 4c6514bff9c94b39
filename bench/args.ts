/**
 * `npm run bench -- …` arguments: what to provision, against which topology, and how to compare.
 * Pure: parsing and validation only, so that bad input is refused before anything starts.
 */
import { Command, InvalidArgumentError } from 'commander';
import { workerSchema } from '../lib/config/schema';

/** The configuration's own default, so that a run without the option measures what installs run. */
const WORKFLOW_TASK_SLOTS_DEFAULT = workerSchema.parse({}).maxConcurrentWorkflowTaskExecutions;

export type Topology = 'dev' | 'cluster';

export interface BenchOptions {
  /** Emulated AMT devices to provision, 1 … 10,000. */
  devices: number;
  /** Added emulated firmware latency per answer, milliseconds. */
  latencyMs: number;
  /** `dev`: the Temporal CLI's dev server (SQLite); `cluster`: temporal-server on PostgreSQL. */
  topology: Topology;
  /** Worker processes (`npm run worker`), 1 … 16. */
  workers: number;
  /** Drive the same activities in a plain loop without Temporal (no workers, no front door). */
  baseline: boolean;
  /**
   * Devices in flight at once: in the baseline, the loop's; for amtflow, the runs in progress at
   * once, `workers × workflowTaskSlots` (the others wait on the task queue).
   */
  concurrency: number;
  /**
   * `worker.maxConcurrentWorkflowTaskExecutions` of each worker process: runs in progress at once
   * per worker (lib/config/schema.ts `workerSchema`). Its local-activity slots are at least as many.
   */
  workflowTaskSlots: number;
  /** First loopback address of the emulated fleet; each device takes the next one. */
  firstIp: string;
  /** Frontend gRPC port of the Temporal server the bench starts; the other ports derive from it. */
  temporalPort: number;
  /** Loopback address of the bench's own Samba AD DC. */
  dcIp: string;
  /** State directory (CA, Samba DC, Temporal files), kept between runs so the DC is provisioned once. */
  stateDir: string;
  /** PostgreSQL administration URL: a fresh site database is created there per run and dropped after. */
  postgresUrl: string;
  /** Give up when the fleet is not provisioned after this many seconds. */
  timeoutSeconds: number;
  /** Where the JSON report is written (the Markdown table goes next to it, .md). */
  out?: string;
  /**
   * Directory for V8 CPU profiles (`node --cpu-prof`) of the workers, the front door and the
   * baseline's process, one `.cpuprofile` per thread, written when each process exits.
   */
  cpuProf?: string;
}

export class BenchArgumentError extends Error {
  override readonly name = 'BenchArgumentError';
  readonly code = 'BENCH_INVALID_ARGUMENT';
}

const int = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}, got "${value}"`);
  return n;
};

const ipv4 = (name: string) => (value: string) => {
  const parts = value.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
    throw new InvalidArgumentError(`${name} must be an IPv4 address, got "${value}"`);
  if (parts[0] !== '127') throw new InvalidArgumentError(`${name} must be a loopback address (127/8), got "${value}"`);
  return value;
};

const topology = (value: string): Topology => {
  if (value !== 'dev' && value !== 'cluster')
    throw new InvalidArgumentError(`--topology must be dev or cluster, got "${value}"`);
  return value;
};

/**
 * Parses `argv` (without node and script). Defaults: 10 devices, 0 ms, dev, 1 worker, the baseline's
 * concurrency equal to the number of devices (everything in flight, as the hellos put it).
 * Throws BenchArgumentError naming the bad option.
 */
export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): BenchOptions {
  const program = new Command('bench')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .option('--devices <n>', 'emulated devices to provision', int('--devices', 1, 10_000), 10)
    .option('--latency-ms <ms>', 'emulated firmware latency per answer', int('--latency-ms', 0, 60_000), 0)
    .option('--topology <t>', 'dev | cluster', topology, 'dev' as Topology)
    .option('--workers <n>', 'worker processes', int('--workers', 1, 16), 1)
    .option('--baseline', 'same activities in a plain loop, without Temporal', false)
    .option('--concurrency <n>', 'baseline: devices in flight (default: all)', int('--concurrency', 1, 10_000))
    .option(
      '--workflow-task-slots <n>',
      'amtflow: runs in progress at once per worker process',
      int('--workflow-task-slots', 2, 2_000),
      WORKFLOW_TASK_SLOTS_DEFAULT,
    )
    .option('--first-ip <ip>', 'first emulated device address', ipv4('--first-ip'), '127.210.0.1')
    .option(
      '--temporal-port <port>',
      'Temporal frontend port',
      int('--temporal-port', 1024, 65_000),
      Number(env.AMTFLOW_BENCH_TEMPORAL_PORT ?? 17_900),
    )
    .option('--dc-ip <ip>', 'Samba DC address', ipv4('--dc-ip'), env.AMTFLOW_BENCH_DC_IP ?? '127.77.9.2')
    .option('--state-dir <dir>', 'state directory', '.state/bench')
    .option(
      '--postgres-url <url>',
      'PostgreSQL administration URL',
      env.AMTFLOW_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    )
    .option('--timeout-seconds <s>', 'give up after', int('--timeout-seconds', 10, 86_400), 1_800)
    .option('--out <file>', 'JSON report file')
    .option('--cpu-prof <dir>', 'write V8 CPU profiles of the workers, the front door and the baseline here');
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    throw new BenchArgumentError((err as Error).message.replace(/^error: /, ''));
  }
  if (program.args.length > 0) throw new BenchArgumentError(`unexpected argument "${program.args[0]}"`);
  const o = program.opts<Omit<BenchOptions, 'concurrency'> & { concurrency?: number }>();
  if (!/^postgres(ql)?:\/\//.test(o.postgresUrl))
    throw new BenchArgumentError(`--postgres-url must be a postgres:// URL, got "${o.postgresUrl}"`);
  for (const option of ['--workers', '--workflow-task-slots'])
    if (o.baseline && argv.includes(option))
      throw new BenchArgumentError(`${option} has no meaning with --baseline (no Temporal workers run)`);
  if (!o.baseline && o.concurrency !== undefined)
    throw new BenchArgumentError(
      '--concurrency is for --baseline; amtflow runs --workers × --workflow-task-slots at once',
    );
  return { ...o, concurrency: o.baseline ? (o.concurrency ?? o.devices) : o.workers * o.workflowTaskSlots };
}
