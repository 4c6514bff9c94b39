/**
 * The benchmark's arithmetic and its report: percentiles, rates, per-device costs, the
 * amtflow/baseline ratios, and the Markdown table. Pure functions over measured numbers.
 */

/** What the OS says one process group used over the measured interval (bench/proc.ts). */
export interface GroupUsage {
  /** User + system CPU time, seconds, of every process of the group. */
  cpuSeconds: number;
  /** Highest sampled sum of the group's resident sets, bytes. */
  peakRssBytes: number;
}

export const GROUPS = ['workers', 'temporal', 'emulator', 'directory', 'database', 'frontDoor'] as const;
export type Group = (typeof GROUPS)[number];

export interface RunMeasurement {
  mode: 'amtflow' | 'baseline';
  topology: 'dev' | 'cluster';
  devices: number;
  latencyMs: number;
  workers: number;
  concurrency: number;
  /** From the first device's start to the last device's end, seconds. */
  wallSeconds: number;
  /**
   * Per-device time from the moment it is taken up to its end, milliseconds: by a worker (its run's
   * first workflow task started) for amtflow, by the loop for the baseline — the same span in both.
   */
  deviceMs: number[];
  /**
   * amtflow only: per-device time its run waited on the task queue before a worker took it up (run
   * started → first workflow task started), milliseconds. Runs start at their device's hello; a worker
   * takes `maxConcurrentWorkflowTaskExecutions` of them at a time.
   */
  waitMs?: number[];
  /** amtflow only, in the order of `deviceMs`: each run's longest wait once taken up (bench/history.ts). */
  longestGaps?: { ms: number; transition: string }[];
  /** amtflow only: runs with a workflow task moved off the worker's sticky queue by its timeout. */
  stickyTimeoutRuns?: number;
  /** amtflow only: runs with a workflow task that timed out once a worker had it (start-to-close). */
  timedOutRuns?: number;
  groups: Partial<Record<Group, GroupUsage>>;
  /** Temporal history events written during the run (absent for the baseline). */
  historyEvents?: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

export interface RunReport {
  mode: RunMeasurement['mode'];
  topology: RunMeasurement['topology'];
  devices: number;
  latencyMs: number;
  workers: number;
  concurrency: number;
  wallSeconds: number;
  devicesPerMinute: number;
  deviceSeconds: Percentiles;
  /** amtflow only: seconds each run waited for a worker before that (RunMeasurement.waitMs). */
  waitSeconds?: Percentiles;
  /**
   * amtflow only: the slowest 1 % of the runs (at least one) by device time, grouped by where each
   * waited longest — the two history events around its longest gap — with the median of that gap.
   */
  slowest?: { runs: number; longestGaps: { transition: string; runs: number; medianSeconds: number }[] };
  /** amtflow only: RunMeasurement.stickyTimeoutRuns. */
  stickyTimeoutRuns?: number;
  /** amtflow only: RunMeasurement.timedOutRuns. */
  timedOutRuns?: number;
  /** CPU-seconds per device, per group and in total. */
  cpuSecondsPerDevice: Partial<Record<Group | 'total', number>>;
  peakRssMiB: Partial<Record<Group, number>>;
  /** History events per second of wall time (each event is one state transition of a run). */
  historyEventsPerSecond?: number;
}

export interface Ratios {
  /** amtflow devices/min ÷ baseline devices/min (below 1: amtflow is slower). */
  devicesPerMinute: number;
  /** amtflow CPU-seconds per device ÷ baseline's, all groups (above 1: amtflow costs more). */
  cpuSecondsPerDevice: number;
}

/** Nearest-rank percentile (the smallest value with at least p% of the samples at or below it). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError('percentile of no samples');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[rank - 1] as number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99) };
}

/** Devices per minute over the wall time; throws on a zero or negative interval. */
export function devicesPerMinute(devices: number, wallSeconds: number): number {
  if (!(wallSeconds > 0)) throw new RangeError(`wall time must be positive, got ${wallSeconds}`);
  return (devices * 60) / wallSeconds;
}

export function ratio(amtflow: number, baseline: number): number {
  if (!(baseline > 0)) throw new RangeError(`baseline must be positive, got ${baseline}`);
  return amtflow / baseline;
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

export function summarise(m: RunMeasurement): RunReport {
  for (const [what, samples] of [
    ['device', m.deviceMs],
    ['wait', m.waitMs ?? m.deviceMs],
    ['gap', m.longestGaps ?? m.deviceMs],
  ] as const)
    if (samples.length !== m.devices) throw new RangeError(`${samples.length} ${what} times for ${m.devices} devices`);
  const cpu: RunReport['cpuSecondsPerDevice'] = {};
  const rss: RunReport['peakRssMiB'] = {};
  let total = 0;
  for (const g of GROUPS) {
    const usage = m.groups[g];
    if (!usage) continue;
    cpu[g] = round(usage.cpuSeconds / m.devices, 4);
    rss[g] = round(usage.peakRssBytes / 1024 ** 2, 1);
    total += usage.cpuSeconds;
  }
  cpu.total = round(total / m.devices, 4);
  const inSeconds = (ms: readonly number[]) => {
    const p = percentiles(ms.map((v) => v / 1000));
    return { p50: round(p.p50), p95: round(p.p95), p99: round(p.p99) };
  };
  return {
    mode: m.mode,
    topology: m.topology,
    devices: m.devices,
    latencyMs: m.latencyMs,
    workers: m.workers,
    concurrency: m.concurrency,
    wallSeconds: round(m.wallSeconds, 2),
    devicesPerMinute: round(devicesPerMinute(m.devices, m.wallSeconds), 1),
    deviceSeconds: inSeconds(m.deviceMs),
    ...(m.waitMs && { waitSeconds: inSeconds(m.waitMs) }),
    ...(m.longestGaps && { slowest: slowest(m.deviceMs, m.longestGaps) }),
    ...(m.stickyTimeoutRuns !== undefined && { stickyTimeoutRuns: m.stickyTimeoutRuns }),
    ...(m.timedOutRuns !== undefined && { timedOutRuns: m.timedOutRuns }),
    cpuSecondsPerDevice: cpu,
    peakRssMiB: rss,
    ...(m.historyEvents !== undefined && { historyEventsPerSecond: round(m.historyEvents / m.wallSeconds, 1) }),
  };
}

function slowest(deviceMs: readonly number[], gaps: NonNullable<RunMeasurement['longestGaps']>) {
  const count = Math.max(1, Math.floor(deviceMs.length / 100));
  const picked = deviceMs
    .map((ms, i) => ({ ms, gap: gaps[i]! }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count);
  const byTransition = new Map<string, number[]>();
  for (const { gap } of picked) byTransition.set(gap.transition, [...(byTransition.get(gap.transition) ?? []), gap.ms]);
  const longestGaps = [...byTransition].map(([transition, ms]) => ({
    transition,
    runs: ms.length,
    // The nearest-rank median: of an even count, the lower middle value.
    medianSeconds: round(percentile(ms, 50) / 1000),
  }));
  longestGaps.sort((a, b) => b.runs - a.runs || b.medianSeconds - a.medianSeconds);
  return { runs: count, longestGaps };
}

export function compare(amtflow: RunReport, baseline: RunReport): Ratios {
  return {
    devicesPerMinute: round(ratio(amtflow.devicesPerMinute, baseline.devicesPerMinute)),
    cpuSecondsPerDevice: round(ratio(amtflow.cpuSecondsPerDevice.total ?? 0, baseline.cpuSecondsPerDevice.total ?? 0)),
  };
}

const cell = (n: number | undefined) => (n === undefined ? '–' : String(n));

/** One Markdown table: a row per run, then the ratios when both runs are given. */
export function markdownTable(reports: readonly RunReport[], ratios?: Ratios): string {
  const header = [
    'mode',
    'topology',
    'devices',
    'latency ms',
    'workers',
    'devices/min',
    'p50 s',
    'p95 s',
    'p99 s',
    'waited p50 s',
    'waited p99 s',
    ...GROUPS.map((g) => `CPU-s/device ${g}`),
    'CPU-s/device total',
    ...GROUPS.map((g) => `peak RSS MiB ${g}`),
    'history events/s',
  ];
  const rows = reports.map((r) => [
    r.mode,
    r.topology,
    String(r.devices),
    String(r.latencyMs),
    r.mode === 'baseline' ? '–' : String(r.workers),
    String(r.devicesPerMinute),
    String(r.deviceSeconds.p50),
    String(r.deviceSeconds.p95),
    String(r.deviceSeconds.p99),
    cell(r.waitSeconds?.p50),
    cell(r.waitSeconds?.p99),
    ...GROUPS.map((g) => cell(r.cpuSecondsPerDevice[g])),
    cell(r.cpuSecondsPerDevice.total),
    ...GROUPS.map((g) => cell(r.peakRssMiB[g])),
    cell(r.historyEventsPerSecond),
  ]);
  const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
  for (const r of reports) {
    if (!r.slowest) continue;
    const where = r.slowest.longestGaps.map((g) => `${g.transition} in ${g.runs} (median ${g.medianSeconds} s)`);
    lines.push('', `slowest ${r.slowest.runs} run(s), longest wait: ${where.join('; ')}`);
    if (r.stickyTimeoutRuns !== undefined)
      lines.push(`runs with a workflow task moved off the sticky queue by its timeout: ${r.stickyTimeoutRuns}`);
    if (r.timedOutRuns !== undefined)
      lines.push(`runs with a workflow task timed out in a worker's hands: ${r.timedOutRuns}`);
  }
  if (ratios) {
    lines.push(
      '',
      `amtflow/baseline: devices/min ×${ratios.devicesPerMinute}, CPU-seconds per device ×${ratios.cpuSecondsPerDevice}`,
    );
  }
  return lines.join('\n');
}
