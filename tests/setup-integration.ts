import { DefaultLogger, Runtime } from '@temporalio/worker';

// Keep the SDK quiet in tests unless asked: TEST_LOG_LEVEL=INFO shows worker state changes.
try {
  Runtime.install({ logger: new DefaultLogger((process.env.TEST_LOG_LEVEL as 'WARN' | undefined) ?? 'ERROR') });
} catch {
  // Already installed by an earlier test file in this jest worker.
}
