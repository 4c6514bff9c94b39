import path from 'node:path';
import { ESLint } from 'eslint';

/**
 * The layer rules of eslint.config.mjs, each shown failing on a deliberate violation — and an
 * import the layer may make shown passing, so a rule that refuses everything cannot pass either.
 * The snippets are linted as if they stood at the path given; type-aware rules are switched off so
 * nothing but the import rules speaks.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');

const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-misused-promises': 'off',
    },
  },
});

async function refusedImports(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => m.message);
}

describe('layer rules', () => {
  it.each([
    ['lib/amt/probe.ts', "export * from '@temporalio/workflow';", 'lib/ knows nothing of Temporal'],
    ['lib/store/probe.ts', "export type { LifecycleActivities } from '../../activities/contract';", 'nothing above it'],
    ['lib/pki/probe.ts', "export { createLogger } from '../../runtime/logger';", 'nothing above it'],
    ['lib/amt/probe.ts', "export * from '../../emulator/device/nvram';", 'no protocol code or firmware rule'],
    ['lib/provisioning/probe.ts', "export * from '../../workflows/names';", 'nothing above it'],
    ['workers/probe.ts', "export * from '../scripts/build-workflow-bundle';", 'Only tests and scripts'],
    ['bench/probe.ts', "export * from '../tests/integration/emulator/support/client';", 'Only tests and scripts'],
    ['api/probe.ts', "export * from '../cli/progress';", 'front doors'],
    ['cli/probe.ts', "export * from '../api/tokens';", 'front doors'],
    ['api/probe.ts', "export * from '../workers/workflow-bundle';", 'front doors'],
    ['activities/probe.ts', "export * from '../workflows/names';", 'Activities sit below workflows'],
    ['runtime/probe.ts', "export * from '../api/tokens';", 'imports none of them'],
    ['workflows/probe.ts', "export { readFileSync } from 'node:fs';", 'no Node built-ins'],
    ['workflows/probe.ts', "export { createActivities } from '../activities';", 'only through activities'],
    ['workflows/probe.ts', "export * from '../runtime/lifecycle-client';", 'Workflows know no process'],
    ['emulator/device/probe.ts', "export * from '../../lib/amt/digest';", 'no protocol code'],
    ['emulator/classes/probe.ts', "export * from '../../lib/crypto/passwords';", 'its own reading'],
    [
      'emulator/classes/probe.ts',
      "import { profileSettingsSchema } from '../../lib/store/profile-settings';",
      'its own reading',
    ],
    ['emulator/device/probe.ts', "export * from '../../lib/pki/chain';", 'its own reading'],
    ['lib/amt/probe.ts', "export * from '../../scripts/lib/process';", 'Only tests and scripts'],
    ['lib/store/probe.ts', "import { waitFor } from '../../tests/support/temporal';", 'Only tests and scripts'],
    ['lib/config/probe.ts', "export * from '../../api/tokens';", 'nothing above it'],
    ['lib/config/probe.ts', "export * from '../../cli/progress';", 'nothing above it'],
    ['lib/config/probe.ts', "export * from '../../workers/workflow-bundle';", 'nothing above it'],
    ['lib/config/probe.ts', "export * from '../../bench/proc';", 'nothing above it'],
    ['workers/probe.ts', "export * from '../api/tokens';", 'front doors'],
    ['workers/probe.ts', "export * from '../cli/progress';", 'front doors'],
    // Dynamic imports and require() are invisible to the import rules: refused outright.
    ['workers/probe.ts', "export const load = () => import('../scripts/build-workflow-bundle');", 'Import statically'],
    ['lib/amt/probe.ts', "export const load = () => import('@temporalio/workflow');", 'Import statically'],
    ['api/probe.ts', "export const cli = require('../cli/progress');", 'Import statically'],
    ['bench/probe.ts', "export const load = () => import('../tests/support/temporal');", 'Only tests and scripts'],
  ])('%s may not: %s', async (file, code, reason) => {
    const refused = await refusedImports(file, code);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain(reason);
  });

  it.each([
    ['lib/store/probe.ts', "export * from '../amt/vocabulary';"],
    ['lib/provisioning/probe.ts', "export * from '../pki';"],
    ['workflows/probe.ts', "export type { LifecycleActivities } from '../activities/contract';"],
    ['activities/probe.ts', "export * from '../lib/provisioning';"],
    ['api/probe.ts', "export * from '../runtime/lifecycle-client';"],
    ['cli/probe.ts', "export * from '../runtime/lifecycle-client';"],
    ['bench/probe.ts', "export * from '../lib/amt';"],
    ['bench/probe.ts', "export * from '../scripts/temporal-cluster';"],
    ['bench/probe.ts', "export const load = () => import('../lib/config');"],
    ['lib/store/probe.ts', 'export const f = (require: (n: string) => string, name: string) => require(name);'],
    ['tests/unit/probe.test.ts', "export * from '../../scripts/lib/process';"],
    ['scripts/probe.ts', "export * from '../tests/support/temporal';"],
  ])('%s may: %s', async (file, code) => {
    expect(await refusedImports(file, code)).toEqual([]);
  });
});
