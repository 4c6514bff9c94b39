import { CLOCK_TICKS_PER_SECOND, descendants, PAGE_BYTES, parseProcStat, readAllProcesses } from '../../../bench/proc';

// A real line's shape: field 2 may hold spaces and parentheses.
const line = (pid: number, comm: string, ppid: number, utime: number, stime: number, rssPages: number) =>
  `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} 0 0 20 0 11 0 500 1234567 ${rssPages} 18446744073709551615`;

describe('/proc measurements', () => {
  it('reads CPU seconds, parent and RSS from a stat line whose command has spaces and parentheses', () => {
    const p = parseProcStat(line(42, 'node (tsx) x', 7, 250, 50, 1000));
    expect(p).toEqual({
      pid: 42,
      comm: 'node (tsx) x',
      ppid: 7,
      cpuSeconds: 300 / CLOCK_TICKS_PER_SECOND,
      rssBytes: 1000 * PAGE_BYTES,
    });
  });

  it('refuses what is not a stat line', () => {
    expect(() => parseProcStat('garbage')).toThrow(/not a \/proc stat line/);
    expect(() => parseProcStat('1 (x) S 0 1')).toThrow(/short/);
  });

  it('collects a group as its roots and all their descendants, not their siblings', () => {
    const all = [
      parseProcStat(line(1, 'init', 0, 0, 0, 1)),
      parseProcStat(line(10, 'npm', 1, 0, 0, 1)),
      parseProcStat(line(11, 'node', 10, 0, 0, 1)),
      parseProcStat(line(12, 'node', 11, 0, 0, 1)),
      parseProcStat(line(20, 'other', 1, 0, 0, 1)),
    ];
    expect(descendants(all, [10, 99]).map((p) => p.pid)).toEqual([10, 11, 12]);
  });

  it('reads this very process from the real /proc', () => {
    const me = readAllProcesses().find((p) => p.pid === process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(me?.rssBytes).toBeGreaterThan(0);
  });
});
