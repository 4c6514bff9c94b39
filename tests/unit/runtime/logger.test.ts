import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { consoleFormat } from '../../../runtime/logger';

/**
 * Issue 14 §1: `npm start`'s console is readable on a terminal (pino-pretty) and JSON when its
 * output goes to a file or pipe, or with `--json` — the format chosen by `consoleFormat` and written
 * by `createLogger`, checked in a real process whose stdout is a pipe, or a terminal (util-linux
 * `script` gives it a pseudo-terminal). Redaction holds in both formats.
 */
// Each case starts a process or two (tsx): seconds, not the default five.
jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
/** Logs one entry the way scripts/start.ts does: the format from the process's own stdout and argv. */
const PROGRAM = [
  `import { consoleFormat, createLogger } from ${JSON.stringify(path.join(ROOT, 'runtime', 'logger.ts'))};`,
  `const logger = createLogger({ log: { level: 'info' } }, 'amtflow', { format: consoleFormat() });`,
  `logger.info({ device: 'pc-17', password: 'S3cret!pw' }, 'device provisioned');`,
].join('\n');

/** The process's output, its stdout a pipe or (`tty`) a pseudo-terminal. */
function run(options: { tty: boolean; args?: string[] }): string {
  const command = [TSX, '-e', PROGRAM, '--', ...(options.args ?? [])];
  const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = options.tty
    ? spawnSync('script', ['-qec', quoted, '/dev/null'], { cwd: ROOT, encoding: 'utf8' })
    : spawnSync(command[0]!, command.slice(1), { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`logger process failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

describe('console log format', () => {
  it('chooses pretty only for a terminal without --json', () => {
    expect(consoleFormat(['node', 'start.ts'], { isTTY: true } as typeof process.stdout)).toBe('pretty');
    expect(consoleFormat(['node', 'start.ts', '--json'], { isTTY: true } as typeof process.stdout)).toBe('json');
    expect(consoleFormat(['node', 'start.ts'], { isTTY: false } as typeof process.stdout)).toBe('json');
    expect(consoleFormat(['node', 'start.ts'], {} as typeof process.stdout)).toBe('json');
  });

  it('writes one JSON object per line when stdout is a pipe', () => {
    const lines = run({ tty: false }).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 30,
      name: 'amtflow',
      device: 'pc-17',
      password: '[redacted]',
      msg: 'device provisioned',
    });
  });

  it('writes readable lines on a terminal, and JSON there too with --json', () => {
    const pretty = run({ tty: true }).trim();
    // eslint-disable-next-line no-control-regex -- the colours pino-pretty writes to a terminal
    const plain = pretty.replace(/\u001b\[[0-9;]*m/g, '');
    expect(() => JSON.parse(plain)).toThrow();
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: device provisioned/);
    expect(plain).toContain('device: "pc-17"');
    expect(plain).toContain('password: "[redacted]"');
    expect(pretty).not.toContain('S3cret!pw');
    expect(pretty).toContain('\u001b['); // coloured

    const json = run({ tty: true, args: ['--json'] }).trim();
    expect(JSON.parse(json)).toMatchObject({ msg: 'device provisioned', password: '[redacted]' });
  });
});
