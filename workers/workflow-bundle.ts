/**
 * The prebuilt workflow bundle, so that workers start without running webpack (Temporal's
 * production sample does the same). `npm run build` and `npm start` build it; workers load it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../runtime/data-converter';

export const WORKFLOW_BUNDLE = path.resolve(__dirname, '..', 'build', 'workflow-bundle.js');

export interface WorkflowBundleOptions {
  /** Where to write it; the production bundle by default. */
  target?: string;
  /** Workflow interceptor modules bundled in besides the workflows (none in production). */
  interceptorModules?: string[];
}

export async function buildWorkflowBundle(options: WorkflowBundleOptions = {}): Promise<string> {
  const target = options.target ?? WORKFLOW_BUNDLE;
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '..', 'workflows', 'index.ts'),
    // The failure converter runs in the sandbox, so it is bundled; workers pass the same path.
    failureConverterPath: FAILURE_CONVERTER_PATH,
    ...(options.interceptorModules ? { workflowInterceptorModules: options.interceptorModules } : {}),
    logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} },
  });
  mkdirSync(path.dirname(target), { recursive: true });
  // Renamed into place: a worker of a concurrent run (npm start beside npm test) never loads half a bundle.
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, code);
  renameSync(temporary, target);
  return target;
}

/**
 * The production bundle, built as `npm run build` builds it but in a child process: for a process
 * that lives on after (npm start), which would otherwise keep webpack's memory — about 95 MB
 * resident for its whole life (docs/benchmarks.md, "Idle memory of the main process").
 */
export async function buildWorkflowBundleApart(): Promise<string> {
  const root = path.resolve(__dirname, '..');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'build-workflow-bundle.ts')], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`building the workflow bundle failed (${signal ?? `exit ${code}`})`)),
    );
  });
  return WORKFLOW_BUNDLE;
}
