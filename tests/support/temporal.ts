import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { amtflowDataConverter } from '../../runtime/data-converter';
import { buildWorkflowBundle } from '../../workers/workflow-bundle';

/**
 * Integration tests share one real Temporal dev server, started once by global-setup.ts; each test
 * connects with createFromExistingServer and uses its own task queue and workflow ids.
 */
export const TEST_SERVER = {
  ip: '127.0.0.1',
  // Overridable so that two checkouts can run their suites side by side.
  port: Number(process.env.AMTFLOW_TEST_TEMPORAL_PORT ?? 17233),
  namespace: 'amtflow',
  stateDir: path.resolve(__dirname, '..', '..', '.state', 'test'),
};

/**
 * The workflows as production bundles them, plus the test-only interceptor that shortens durable
 * timers (tests/support/fast-timers.ts). Test workers run this bundle; replay uses production's.
 */
export const TEST_WORKFLOW_BUNDLE = path.resolve(__dirname, '..', '..', 'build', 'workflow-bundle.test.js');
export const FAST_TIMERS = require.resolve('./fast-timers');

export function buildTestWorkflowBundle(): Promise<string> {
  return buildWorkflowBundle({ target: TEST_WORKFLOW_BUNDLE, interceptorModules: [FAST_TIMERS] });
}

export function testServerAddress(): string {
  return process.env.AMTFLOW_TEST_TEMPORAL_ADDRESS ?? `${TEST_SERVER.ip}:${TEST_SERVER.port}`;
}

/** Key-encryption key of the test run: payloads in the test server's history are encrypted with it. */
export const TEST_KEK = Buffer.alloc(32, 7);
export const testDataConverter = amtflowDataConverter(TEST_KEK);

export async function connectTestEnv(address = testServerAddress()): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createFromExistingServer({
    address,
    namespace: TEST_SERVER.namespace,
    client: { dataConverter: testDataConverter },
  });
}

/** A task queue and id prefix of this test's own, so parallel tests never share work. */
export function uniqueQueue(name: string): string {
  return `test-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${randomUUID().slice(0, 8)}`;
}

export async function createTestWorker(
  env: TestWorkflowEnvironment,
  options: Pick<WorkerOptions, 'activities' | 'taskQueue'> & Partial<WorkerOptions>,
): Promise<Worker> {
  return Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? TEST_SERVER.namespace,
    workflowBundle: { codePath: TEST_WORKFLOW_BUNDLE },
    dataConverter: testDataConverter,
    ...options,
  });
}
