import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareGoVersions, verifyEntry, type GoBuildSpec } from '../../scripts/lib/go-build-cache';
import {
  CLUSTER_TEMPLATE_FILE,
  ClusterSettingsError,
  frontendAddress,
  parseClusterSettings,
  readClusterSettings,
  renderDynamicConfig,
  renderTemplate,
} from '../../scripts/temporal-cluster';

const root = path.resolve(__dirname, '..', '..');

describe('production Temporal server settings', () => {
  const settings = readClusterSettings();

  it('the cluster profile connects to the frontend and namespace the cluster serves', () => {
    const profiles = readFileSync(path.join(root, 'temporal-config', 'profiles.toml'), 'utf8');
    const section = /\[profile\.cluster\]\n([\s\S]*?)\n\n/.exec(profiles)?.[1] ?? '';
    expect(section).toContain(`address = "${frontendAddress(settings)}"`);
    expect(section).toContain(`namespace = "${settings.namespace}"`);
  });

  it('renders the server config completely, leaving the PostgreSQL password to the environment', () => {
    const rendered = renderTemplate(readFileSync(CLUSTER_TEMPLATE_FILE, 'utf8'), {
      ...settings,
      dynamicConfigFile: '/state/dynamicconfig.yaml',
    });
    expect(rendered).not.toContain('${');
    expect(rendered).toMatch(/^# enable-template/);
    expect(rendered).toContain(`grpcPort: ${settings.ports.frontend}`);
    expect(rendered).toContain(`numHistoryShards: ${settings.numHistoryShards}`);
    expect(rendered).toContain(`databaseName: ${settings.postgres.visibilityDatabase}`);
    const passwords = rendered.split('\n').filter((line) => line.includes('password:'));
    expect(passwords).toEqual(Array(2).fill(`        password: '{{ env "AMTFLOW_TEMPORAL_POSTGRES_PASSWORD" }}'`));
  });

  it('refuses a template value the settings do not define, naming it', () => {
    expect(() => renderTemplate('port: ${ports.frontnd}', settings)).toThrow(
      new ClusterSettingsError('the server config template uses ${ports.frontnd}, which the settings do not define'),
    );
  });

  it('writes each dynamic config key with one unconstrained value', () => {
    expect(renderDynamicConfig({ 'history.hostLevelCacheMaxSize': 8096, 'a.b': true })).toBe(
      'history.hostLevelCacheMaxSize:\n  - value: 8096\na.b:\n  - value: true\n',
    );
  });

  it.each([
    [
      { postgres: { ...settings.postgres, database: 'temporal; drop database x' } },
      /postgres\.database: must be a lower-case SQL identifier/,
    ],
    [{ ports: { ...settings.ports, history: settings.ports.frontend } }, /ports\.history repeats port 7333/],
    [{ numHistoryShards: 0 }, /numHistoryShards: /],
  ])('rejects invalid settings with a typed error naming the key (%#)', (patch, message) => {
    const attempt = () => parseClusterSettings({ ...settings, ...patch });
    expect(attempt).toThrow(ClusterSettingsError);
    expect(attempt).toThrow(message);
  });
});

describe('Go build cache entries', () => {
  const spec: GoBuildSpec = {
    name: 'tool',
    module: 'example.test/tool',
    version: '1.0.0',
    programs: [{ binary: 'tool', package: 'example.test/tool/cmd/tool' }],
  };

  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  function entry(content = 'binary bytes'): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-go-entry-'));
    dirs.push(dir);
    mkdirSync(path.join(dir, 'bin'));
    writeFileSync(path.join(dir, 'bin', 'tool'), content);
    const sha256 = createHash('sha256').update(content).digest('hex');
    const manifest = { ...spec, goVersion: 'go1.26.8', files: { 'bin/tool': { size: content.length, sha256 } } };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    return dir;
  }

  it('accepts an entry whose files match its manifest', async () => {
    expect(await verifyEntry(spec, entry())).toMatchObject({ version: '1.0.0' });
  });

  it('rejects a partial binary, an altered binary, a missing manifest and another version', async () => {
    const partial = entry();
    truncateSync(path.join(partial, 'bin', 'tool'), 3);
    const altered = entry();
    writeFileSync(path.join(altered, 'bin', 'tool'), 'binary bytez');
    const unmanifested = entry();
    writeFileSync(path.join(unmanifested, 'manifest.json'), '{"module":');

    expect(await verifyEntry(spec, partial)).toBeUndefined();
    expect(await verifyEntry(spec, altered)).toBeUndefined();
    expect(await verifyEntry(spec, unmanifested)).toBeUndefined();
    expect(await verifyEntry({ ...spec, version: '1.0.1' }, entry())).toBeUndefined();
  });

  it('compares Go versions numerically', () => {
    expect(compareGoVersions('1.26.8', '1.26.10')).toBeLessThan(0);
    expect(compareGoVersions('1.26.8', '1.25')).toBeGreaterThan(0);
    expect(compareGoVersions('1.26', '1.26.0')).toBe(0);
  });
});
