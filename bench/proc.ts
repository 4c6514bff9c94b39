/**
 * CPU and memory of process groups, measured from the OS (/proc, Linux). A group is one or more
 * root processes and all their descendants (tsx starts node as a child, Samba forks its services).
 * CPU is utime + stime of /proc/<pid>/stat (field 14 and 15, clock ticks); RSS is field 24 (pages).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: 100 on every Linux architecture Node runs on (sysconf(_SC_CLK_TCK)). */
export const CLOCK_TICKS_PER_SECOND = 100;
export const PAGE_BYTES = 4096;

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, seconds. */
  cpuSeconds: number;
  rssBytes: number;
}

/**
 * Parses one /proc/<pid>/stat line. The command (field 2) is in parentheses and may itself contain
 * spaces and parentheses, so the fields after it are counted from the last ')'.
 */
export function parseProcStat(line: string): ProcStat {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${line.slice(0, 60)}`);
  const pid = Number(line.slice(0, open).trim());
  const rest = line
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state): field n is rest[n - 3].
  const field = (n: number) => Number(rest[n - 3]);
  if (rest.length < 22 || !Number.isFinite(field(14))) throw new Error(`short /proc stat line for ${pid}`);
  return {
    pid,
    comm: line.slice(open + 1, close),
    ppid: field(4),
    cpuSeconds: (field(14) + field(15)) / CLOCK_TICKS_PER_SECOND,
    rssBytes: field(24) * PAGE_BYTES,
  };
}

/** The roots and every descendant of theirs among `all`. */
export function descendants(all: readonly ProcStat[], roots: readonly number[]): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const out: ProcStat[] = [];
  const seen = new Set<number>();
  const queue = roots.filter((r) => byPid.has(r));
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(byPid.get(pid) as ProcStat);
    for (const c of children.get(pid) ?? []) queue.push(c.pid);
  }
  return out;
}

/** Every process visible now; processes that end while being read are skipped. */
export function readAllProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.push(parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8')));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Samples groups periodically. CPU per process is remembered at its last sighting, so a process
 * that ends during the run still counts what it used until its last sample; a process already
 * running at `start` counts only what it used from then on.
 */
export class GroupSampler {
  private readonly baseline = new Map<number, number>();
  private readonly last = new Map<string, Map<number, number>>();
  private readonly peak = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly groups: () => Record<string, number[]>) {}

  start(intervalMs = 250): void {
    for (const p of readAllProcesses()) this.baseline.set(p.pid, p.cpuSeconds);
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const all = readAllProcesses();
    for (const [group, roots] of Object.entries(this.groups())) {
      const members = descendants(all, roots);
      const seen = this.last.get(group) ?? new Map<number, number>();
      for (const p of members) seen.set(p.pid, p.cpuSeconds - (this.baseline.get(p.pid) ?? 0));
      this.last.set(group, seen);
      const rss = members.reduce((sum, p) => sum + p.rssBytes, 0);
      this.peak.set(group, Math.max(this.peak.get(group) ?? 0, rss));
    }
  }

  stop(): Record<string, { cpuSeconds: number; peakRssBytes: number }> {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const out: Record<string, { cpuSeconds: number; peakRssBytes: number }> = {};
    for (const [group, seen] of this.last) {
      out[group] = {
        cpuSeconds: [...seen.values()].reduce((a, b) => a + b, 0),
        peakRssBytes: this.peak.get(group) ?? 0,
      };
    }
    return out;
  }
}
