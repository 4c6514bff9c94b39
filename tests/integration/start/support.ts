import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../../scripts/lib/process';
import { TEST_DC_IP } from '../../../scripts/samba-dc';

const run = promisify(execFile);
export const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * `npm start` on ports and addresses of its own, so it runs beside the suite's own servers and beside
 * a developer's `npm start`: all derived from the two isolation variables of this checkout.
 * Frontend, Web UI, API, hello and codec ports are the test Temporal port + 1000 … + 5000; the dev
 * DC takes the address after the test DC's; the demo devices the test DC's address one /16 up.
 */
export function startEnvironment(stateDir: string, configFile: string): Record<string, string> {
  const base = Number(process.env.AMTFLOW_TEST_TEMPORAL_PORT ?? 17233);
  const [, b, c, d] = (process.env.AMTFLOW_TEST_DC_IP ?? TEST_DC_IP).split('.').map(Number) as number[];
  return {
    AMTFLOW_CONFIG: configFile,
    AMTFLOW_STATE_DIR: stateDir,
    AMTFLOW_TEMPORAL_ADDRESS: `127.0.0.1:${base + 1000}`,
    AMTFLOW_TEMPORAL_UI_PORT: String(base + 2000),
    AMTFLOW_API_PORT: String(base + 3000),
    AMTFLOW_HELLO_PORT: String(base + 4000),
    AMTFLOW_CODEC_PORT: String(base + 5000),
    AMTFLOW_DEV_DC_IP: `127.${b}.${c}.${(d as number) + 1}`,
    AMTFLOW_DEMO_FIRST_IP: `127.${(b as number) + 1}.${c}.${d}`,
    AMTFLOW_DEMO_DEVICES: '2',
    AMTFLOW_LOG_LEVEL: 'info',
  };
}

/** One pino line of the process's output. */
export interface LogLine {
  msg: string;
  [field: string]: unknown;
}

/**
 * One `npm start`: scripts/start.ts run by node with tsx's loader, one process (not the npm and tsx
 * launchers), so a signal reaches amtflow itself. Its log lines are collected as they come.
 */
export class StartRun {
  /** Every run launched by this test file that has not exited: {@link StartRun.killAll} ends them. */
  private static readonly live = new Set<StartRun>();
  readonly lines: LogLine[] = [];
  private readonly output: string[] = [];
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly child: ChildProcess) {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const complete = buffered.split('\n');
      buffered = complete.pop() ?? '';
      for (const line of complete) this.record(line);
    });
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(...chunk.toString().split('\n').filter(Boolean)));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        StartRun.live.delete(this);
        resolve(this.exit);
      }),
    );
  }

  static launch(env: Record<string, string>): StartRun {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = new StartRun(child);
    StartRun.live.add(started);
    return started;
  }

  /**
   * SIGKILLs every run still alive. A case that fails leaves its `npm start` running, holding ports
   * and the state directory: the next case, the next test file and jest's own exit would wait on it.
   */
  static async killAll(): Promise<void> {
    await Promise.all([...StartRun.live].map((started) => started.kill()));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  private record(text: string): void {
    this.output.push(text);
    try {
      const line = JSON.parse(text) as LogLine;
      if (typeof line.msg === 'string') this.lines.push(line);
    } catch {
      // Not a log line (a stack trace, say): kept in the output for the failure message.
    }
  }

  /** The last lines of output, for a failure message. */
  tail(lines = 25): string {
    return this.output.slice(-lines).join('\n');
  }

  find(match: (line: LogLine) => boolean): LogLine | undefined {
    return this.lines.find(match);
  }

  /** Waits for a log line; fails at once, with the output's tail, if the process exits first. */
  async waitForLine(what: string, match: (line: LogLine) => boolean, timeoutMs = 240_000): Promise<LogLine> {
    await waitFor(
      what,
      async () => {
        if (this.find(match)) return true;
        if (this.exit)
          throw new Error(`npm start exited (${JSON.stringify(this.exit)}) before ${what}:\n${this.tail()}`);
        return false;
      },
      timeoutMs,
      100,
    );
    return this.find(match) as LogLine;
  }

  up(): Promise<LogLine> {
    return this.waitForLine('amtflow to be up', (l) => l.msg === 'amtflow is up. Press Ctrl-C to stop.');
  }

  /** Ctrl-C: SIGINT, then the exit. */
  async interrupt(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill('SIGINT');
    return this.exited;
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** `npm run cli -- …` against the `npm start` of this environment. */
export async function cli(env: Record<string, string>, args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
  });
  return stdout.trim();
}

/** `npx tsx scripts/temporal.ts start|stop`: the dev server started (or stopped) by hand. */
export async function temporalScript(env: Record<string, string>, command: 'start' | 'stop'): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/temporal.ts', command], {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
  });
  return stdout.trim();
}
