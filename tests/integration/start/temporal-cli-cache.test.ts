import { execFileSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entryDir, goCacheRoot } from '../../../scripts/lib/go-build-cache';
import { ensureTemporalCli, readDevServerSettings, temporalCliBuild } from '../../../scripts/temporal-dev-server';

// Each rebuild is a real `go install` (a link on a warm Go build cache).
jest.setTimeout(600_000);

/**
 * The Temporal CLI is built once per machine into a cache outside every checkout, and a cached binary
 * that is partial or corrupt is found out and rebuilt: a truncated one, and one with a byte changed
 * that still runs (its sha256 no longer matches the one its build recorded).
 */
describe('the cached Temporal CLI', () => {
  const version = readDevServerSettings().cli.version;
  const cache = mkdtempSync(path.join(os.tmpdir(), 'amtflow-cli-cache-'));
  // No `temporal` on PATH may answer for the cache; Go stays reachable.
  const env = {
    ...process.env,
    AMTFLOW_CACHE_DIR: cache,
    PATH: (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter((dir) => !existsSync(path.join(dir, 'temporal')))
      .join(path.delimiter),
  };
  const dir = entryDir(temporalCliBuild(), cache);
  const binary = path.join(dir, 'bin', 'temporal');
  const logs: string[] = [];
  const ensure = () => ensureTemporalCli({ env, log: (line) => logs.push(line) });
  const reportedVersion = () => execFileSync(binary, ['--version'], { encoding: 'utf8' });

  beforeAll(async () => {
    // Seeded from the machine's own cache when it holds the CLI, so only the rebuilds below cost a build.
    const machine = entryDir(temporalCliBuild(), goCacheRoot());
    if ((await ensureTemporalCli()) === path.join(machine, 'bin', 'temporal')) {
      mkdirSync(path.join(dir, 'bin'), { recursive: true });
      for (const file of ['bin/temporal', 'manifest.json'])
        copyFileSync(path.join(machine, file), path.join(dir, file));
    }
  });
  afterAll(() => rmSync(cache, { recursive: true, force: true }));
  beforeEach(() => (logs.length = 0));

  it('lives outside the checkout, keyed by version, and is reused as it is', async () => {
    expect(goCacheRoot(env)).toBe(cache);
    expect(await ensure()).toBe(binary);
    const built = statSync(binary).mtimeMs;
    logs.length = 0;
    expect(await ensure()).toBe(binary);
    expect(statSync(binary).mtimeMs).toBe(built);
    expect(logs).toEqual([]);
  });

  it.each([
    [
      'truncated, as a killed copy leaves it',
      () => {
        const fd = openSync(binary, 'r+');
        ftruncateSync(fd, Math.floor(statSync(binary).size / 2));
        closeSync(fd);
      },
    ],
    [
      'changed by one byte, though it still runs',
      () => {
        // The last byte, in the section headers the loader never reads.
        const fd = openSync(binary, 'r+');
        writeSync(fd, Buffer.from('x'), 0, 1, statSync(binary).size - 1);
        closeSync(fd);
        expect(reportedVersion()).toMatch(/^temporal version /);
      },
    ],
  ])('is found out and rebuilt when %s', async (_, damage) => {
    damage();
    expect(await ensure()).toBe(binary);
    expect(logs[0]).toBe(`${dir} is incomplete or altered: removing it and building again`);
    expect(logs.at(-1)).toMatch(new RegExp(`^Built temporal ${version.replace(/\./g, '\\.')} in \\d+ s into ${dir}$`));
    expect(reportedVersion()).toMatch(new RegExp(`^temporal version ${version.replace(/\./g, '\\.')} `));
    // Nothing of the build is left beside it.
    expect(readdirSync(dir).sort()).toEqual(['bin', 'manifest.json']);
    expect(readdirSync(path.dirname(dir)).sort()).toEqual([version]);
  });
});
