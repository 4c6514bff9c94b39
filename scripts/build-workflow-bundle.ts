/**
 * Prebuilds the workflow bundle at build time, so that workers start without running webpack
 * (Temporal's production sample does the same).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../runtime/data-converter';

export const WORKFLOW_BUNDLE = path.resolve(__dirname, '..', 'build', 'workflow-bundle.js');

export async function buildWorkflowBundle(target = WORKFLOW_BUNDLE): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '..', 'workflows', 'index.ts'),
    // The failure converter runs in the sandbox, so it is bundled; workers pass the same path.
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} },
  });
  mkdirSync(path.dirname(target), { recursive: true });
  // Renamed into place: a worker of a concurrent run (npm start beside npm test) never loads half a bundle.
  writeFileSync(`${target}.${process.pid}.tmp`, code);
  renameSync(`${target}.${process.pid}.tmp`, target);
  return target;
}

if (require.main === module) {
  buildWorkflowBundle().then(
    (file) => console.log(`workflow bundle written to ${path.relative(process.cwd(), file)}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
