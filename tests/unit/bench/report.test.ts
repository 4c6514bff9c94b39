import {
  compare,
  devicesPerMinute,
  markdownTable,
  percentile,
  percentiles,
  ratio,
  summarise,
  type RunMeasurement,
} from '../../../bench/report';

const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

describe('benchmark arithmetic', () => {
  it('takes nearest-rank percentiles whatever the order of the samples', () => {
    expect(percentiles([...oneToHundred].reverse())).toEqual({ p50: 50, p95: 95, p99: 99 });
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 100)).toBe(4);
  });

  it('refuses percentiles of nothing or out of range', () => {
    expect(() => percentile([], 50)).toThrow(/no samples/);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('computes devices per minute and ratios, refusing zero denominators', () => {
    expect(devicesPerMinute(50, 59)).toBeCloseTo(50.847, 3);
    expect(devicesPerMinute(1000, 60)).toBe(1000);
    expect(() => devicesPerMinute(1, 0)).toThrow(/wall time must be positive/);
    expect(ratio(3, 2)).toBe(1.5);
    expect(() => ratio(1, 0)).toThrow(/baseline must be positive/);
  });
});

function measurement(overrides: Partial<RunMeasurement> = {}): RunMeasurement {
  return {
    mode: 'amtflow',
    topology: 'dev',
    devices: 4,
    latencyMs: 0,
    workers: 1,
    concurrency: 4,
    wallSeconds: 12,
    deviceMs: [1000, 2000, 3000, 4000],
    waitMs: [0, 500, 1000, 60_000],
    groups: {
      workers: { cpuSeconds: 4, peakRssBytes: 512 * 1024 ** 2 },
      temporal: { cpuSeconds: 2, peakRssBytes: 100 * 1024 ** 2 },
    },
    historyEvents: 600,
    ...overrides,
  };
}

describe('the run report', () => {
  it('divides each group’s CPU by the devices and sums them, in MiB and seconds', () => {
    const r = summarise(measurement());
    expect(r.devicesPerMinute).toBe(20);
    expect(r.deviceSeconds).toEqual({ p50: 2, p95: 4, p99: 4 });
    expect(r.waitSeconds).toEqual({ p50: 0.5, p95: 60, p99: 60 });
    expect(r.cpuSecondsPerDevice).toEqual({ workers: 1, temporal: 0.5, total: 1.5 });
    expect(r.peakRssMiB).toEqual({ workers: 512, temporal: 100 });
    expect(r.historyEventsPerSecond).toBe(50);
  });

  it('refuses a run whose device times do not match its devices', () => {
    expect(() => summarise(measurement({ deviceMs: [1] }))).toThrow(/1 device times for 4 devices/);
    expect(() => summarise(measurement({ waitMs: [1, 2] }))).toThrow(/2 wait times for 4 devices/);
  });

  it('gives the amtflow/baseline ratios and prints them under the table', () => {
    const amtflow = summarise(measurement());
    const baseline = summarise(
      measurement({
        mode: 'baseline',
        wallSeconds: 6,
        groups: { workers: { cpuSeconds: 2, peakRssBytes: 1 } },
        historyEvents: undefined,
        waitMs: undefined,
      }),
    );
    const ratios = compare(amtflow, baseline);
    expect(ratios).toEqual({ devicesPerMinute: 0.5, cpuSecondsPerDevice: 3 });
    const table = markdownTable([amtflow, baseline], ratios);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^\| mode \| topology \| devices \|/);
    expect(lines[2]).toMatch(/^\| amtflow \| dev \| 4 \| 0 \| 1 \| 20 \| 2 \| 4 \| 4 \| 0.5 \| 60 \| 1 \| 0.5 \|/);
    expect(lines[3]).toMatch(/^\| baseline \| dev \| 4 \| 0 \| – \| 40 \| 2 \| 4 \| 4 \| – \| – \|/);
    expect(table).toContain('amtflow/baseline: devices/min ×0.5, CPU-seconds per device ×3');
  });

  it('says where the slowest runs waited, and how many runs lost their sticky queue', () => {
    const deviceMs = Array.from({ length: 200 }, (_, i) => 20_000 + i);
    deviceMs[17] = 330_000;
    deviceMs[90] = 310_000;
    const longestGaps = deviceMs.map((ms) => ({ ms: ms > 100_000 ? ms - 30_000 : 2_000, transition: 'step' }));
    longestGaps[17]!.transition = 'WorkflowTaskScheduled (shared queue) → WorkflowTaskStarted';
    longestGaps[90]!.transition = 'WorkflowTaskScheduled (shared queue) → WorkflowTaskStarted';
    const r = summarise(
      measurement({
        devices: 200,
        deviceMs,
        waitMs: deviceMs.map(() => 0),
        longestGaps,
        stickyTimeoutRuns: 2,
        timedOutRuns: 1,
      }),
    );
    expect(r.slowest).toEqual({
      runs: 2,
      longestGaps: [
        { transition: 'WorkflowTaskScheduled (shared queue) → WorkflowTaskStarted', runs: 2, medianSeconds: 280 },
      ],
    });
    const table = markdownTable([r]);
    expect(table).toContain(
      'slowest 2 run(s), longest wait: WorkflowTaskScheduled (shared queue) → WorkflowTaskStarted in 2 (median 280 s)',
    );
    expect(table).toContain('runs with a workflow task moved off the sticky queue by its timeout: 2');
    expect(table).toContain("runs with a workflow task timed out in a worker's hands: 1");
    expect(() => summarise(measurement({ longestGaps: [] }))).toThrow(/0 gap times for 4 devices/);
  });
});
