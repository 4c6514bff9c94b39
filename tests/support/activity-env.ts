import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ActivityDeps } from '../../activities/deps';
import { loadConfig } from '../../lib/config';
import { openDatabase } from '../../lib/store/database';
import { buildActivityDeps } from '../../runtime/activity-deps';
import { testDirectoryConfig } from './directory';
import { TEST_KEK } from './temporal';

export const TEST_DOMAIN = 'corp.example.test';

export interface TestDeps extends ActivityDeps {
  stateDir: string;
  cleanup(): Promise<void>;
}

/**
 * Real activity dependencies for a test: a fresh state directory (CA, key file), an in-memory
 * PGlite site database (or PostgreSQL at `databaseUrl`), and — unless `directory: false` — the test
 * Samba DC that global-setup starts.
 */
export async function createTestDeps(options: { directory?: boolean; databaseUrl?: string } = {}): Promise<TestDeps> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-deps-'));
  const config = loadConfig({
    env: {},
    cwd: path.resolve(__dirname, '..', '..'),
    overrides: {
      stateDir,
      // The test run's key: the workers' payload codec and the secrets at rest use the same one.
      'secrets.key': TEST_KEK.toString('base64'),
      'ca.provisioningDomain': TEST_DOMAIN,
      ...(options.directory === false ? {} : { directory: testDirectoryConfig() }),
      ...(options.databaseUrl ? { 'database.url': options.databaseUrl } : {}),
    },
  });
  const database = await openDatabase(options.databaseUrl ? { url: options.databaseUrl } : {});
  const deps = await buildActivityDeps(config, database);
  return {
    ...deps,
    stateDir,
    async cleanup() {
      await database.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
