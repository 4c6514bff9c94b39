/**
 * Reads V8 CPU profiles (`.cpuprofile`, as `npm run bench -- --cpu-prof <dir>` writes them) and says
 * where the time went: self time by function and by where the code comes from (a project file, an
 * npm package, Node's internals, V8's own entries such as the garbage collector), busy time only
 * (V8's `(idle)` left out).
 *
 *   npx tsx bench/cpu-profile.ts [--top N] <file.cpuprofile | dir>…
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The part of a `.cpuprofile` this reads (Chrome DevTools protocol, Profiler.Profile). */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
}

export interface ProfileSummary {
  /** Sampled time that was not `(idle)`, milliseconds. */
  busyMs: number;
  idleMs: number;
  byFunction: SelfTime[];
  bySource: SelfTime[];
}

/**
 * Where a script comes from: `pkg:<name>` for node_modules (scoped names kept), the path inside the
 * project for our own files, `node:<module>` for Node's internals, the entry itself for V8's
 * pseudo-functions (`(garbage collector)`, `(program)`).
 */
export function sourceOf(url: string, functionName: string, root: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const file = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) return `pkg:${pkg[1]}`;
  if (file.startsWith('node:')) return file;
  return path.isAbsolute(file) ? path.relative(root, file) : file;
}

/** Each sample's interval is the time to the next sample (the last one's runs to the profile's end). */
export function summarise(profiles: readonly CpuProfile[], root: string): ProfileSummary {
  const fn = new Map<string, number>();
  const src = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const profile of profiles) {
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    let at = profile.startTime;
    const stamps = deltas.map((d) => (at += d));
    samples.forEach((id, i) => {
      const us = (stamps[i + 1] ?? profile.endTime) - (stamps[i] ?? profile.startTime);
      const frame = nodes.get(id)?.callFrame;
      if (!frame || us <= 0) return;
      const ms = us / 1000;
      if (frame.functionName === '(idle)') {
        idle += ms;
        return;
      }
      busy += ms;
      const source = sourceOf(frame.url, frame.functionName, root);
      const where = frame.url === '' ? '' : ` ${source}:${frame.lineNumber + 1}`;
      const name = `${frame.functionName || '(anonymous)'}${where}`;
      fn.set(name, (fn.get(name) ?? 0) + ms);
      src.set(source, (src.get(source) ?? 0) + ms);
    });
  }
  const sorted = (m: Map<string, number>) =>
    [...m.entries()].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { busyMs: busy, idleMs: idle, byFunction: sorted(fn), bySource: sorted(src) };
}

function profileFiles(args: readonly string[]): string[] {
  return args.flatMap((a) =>
    statSync(a).isDirectory()
      ? readdirSync(a, { recursive: true })
          .map(String)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => path.join(a, f))
      : [a],
  );
}

function table(title: string, rows: readonly SelfTime[], busyMs: number, top: number): string {
  const lines = rows
    .slice(0, top)
    .map((r) => `| ${r.name.replace(/\|/g, '\\|')} | ${r.ms.toFixed(0)} | ${((100 * r.ms) / busyMs).toFixed(1)} |`);
  return [`| ${title} | self ms | % of busy |`, '| --- | --- | --- |', ...lines].join('\n');
}

function main(): void {
  const argv = process.argv.slice(2);
  const topAt = argv.indexOf('--top');
  const top = topAt >= 0 ? Number(argv[topAt + 1]) : 25;
  const files = profileFiles(topAt >= 0 ? argv.filter((_, i) => i !== topAt && i !== topAt + 1) : argv);
  if (files.length === 0) throw new Error('usage: bench/cpu-profile.ts [--top N] <file.cpuprofile | dir>…');
  const summary = summarise(
    files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as CpuProfile),
    path.resolve(__dirname, '..'),
  );
  process.stdout.write(
    [
      `${files.length} profile(s); busy ${(summary.busyMs / 1000).toFixed(1)} s, idle ${(summary.idleMs / 1000).toFixed(1)} s`,
      '',
      table('source', summary.bySource, summary.busyMs, top),
      '',
      table('function', summary.byFunction, summary.busyMs, top),
      '',
    ].join('\n'),
  );
}

if (require.main === module) main();
