import { BenchArgumentError, parseBenchArgs } from '../../../bench/args';

describe('npm run bench arguments', () => {
  it('reads the documented options', () => {
    const o = parseBenchArgs(['--devices', '20', '--latency-ms', '50', '--topology', 'cluster', '--workers', '2']);
    expect(o).toMatchObject({ devices: 20, latencyMs: 50, topology: 'cluster', workers: 2, baseline: false });
    expect(o.firstIp).toBe('127.210.0.1');
  });

  it("runs each worker with the configuration's workflow task slots unless told, and counts runs in progress across workers", () => {
    expect(parseBenchArgs(['--workers', '2'])).toMatchObject({ workflowTaskSlots: 40, concurrency: 80 });
    expect(parseBenchArgs(['--workers', '2', '--workflow-task-slots', '150'])).toMatchObject({
      workflowTaskSlots: 150,
      concurrency: 300,
    });
  });

  it('defaults to 10 devices, 0 ms, the dev server and one worker', () => {
    expect(parseBenchArgs([])).toMatchObject({ devices: 10, latencyMs: 0, topology: 'dev', workers: 1 });
  });

  it('takes the baseline with its own concurrency', () => {
    expect(parseBenchArgs(['--baseline', '--devices', '8', '--concurrency', '4'])).toMatchObject({
      baseline: true,
      devices: 8,
      concurrency: 4,
    });
  });

  it('takes a directory for CPU profiles, none by default', () => {
    expect(parseBenchArgs([]).cpuProf).toBeUndefined();
    expect(parseBenchArgs(['--cpu-prof', '/tmp/prof']).cpuProf).toBe('/tmp/prof');
  });

  it('takes ports and addresses from the environment when not given', () => {
    const o = parseBenchArgs([], { AMTFLOW_BENCH_TEMPORAL_PORT: '17307', AMTFLOW_BENCH_DC_IP: '127.77.7.9' });
    expect(o).toMatchObject({ temporalPort: 17307, dcIp: '127.77.7.9' });
  });

  it.each([
    [['--devices', '0'], /--devices must be an integer 1..10000/],
    [['--devices', '10001'], /--devices must be an integer 1..10000/],
    [['--devices', '2.5'], /--devices must be an integer/],
    [['--latency-ms', '-1'], /--latency-ms must be an integer/],
    [['--topology', 'cloud'], /--topology must be dev or cluster, got "cloud"/],
    [['--workers', '0'], /--workers must be an integer 1..16/],
    [['--first-ip', '10.0.0.1'], /--first-ip must be a loopback address/],
    [['--first-ip', '127.0.0.300'], /--first-ip must be an IPv4 address/],
    [['--postgres-url', 'mysql://x'], /--postgres-url must be a postgres:\/\/ URL/],
    [['--baseline', '--workers', '2'], /--workers has no meaning with --baseline/],
    [['--baseline', '--workflow-task-slots', '80'], /--workflow-task-slots has no meaning with --baseline/],
    [['--workflow-task-slots', '1'], /--workflow-task-slots must be an integer 2..2000, got "1"/],
    [
      ['--concurrency', '50'],
      /--concurrency is for --baseline; amtflow runs --workers × --workflow-task-slots at once/,
    ],
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['stray'], /unexpected argument|too many arguments/],
  ])('refuses %j with a message naming the problem', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(BenchArgumentError);
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });
});
