import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../../workflows/names';

const root = path.resolve(__dirname, '..', '..');

describe('Temporal CLI installation', () => {
  it('without Go and without a binary, prints one clear instruction and exits non-zero', () => {
    const tools = mkdtempSync(path.join(os.tmpdir(), 'amtflow-cache-'));
    const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'scripts/temporal.ts', 'install'], {
      cwd: root,
      env: { PATH: '/nonexistent', AMTFLOW_CACHE_DIR: tools, HOME: os.tmpdir() },
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/needs the Temporal CLI 1\.5\.1.*Install Go.*or put a 'temporal' binary/);
  });

  it('pre-registers exactly the search attributes the workflows use', () => {
    const settings = JSON.parse(readFileSync(path.join(root, 'temporal-config', 'dev-server.json'), 'utf8'));
    const used = Object.fromEntries(Object.values(SEARCH_ATTRIBUTES).map((k) => [k.name, 'Keyword']));
    expect(settings.searchAttributes).toEqual(used);
  });
});
