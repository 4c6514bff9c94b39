import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../../lib/config';

const cwd = () => mkdtempSync(path.join(os.tmpdir(), 'amtflow-config-'));

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it.each(['1024', '2047'])('refuses ca.keyBits %s: AMT 15/16 and later refuse RSA keys under 2048 bits', (bits) => {
    const err = configError(() => loadConfig({ cwd: cwd(), env: { AMTFLOW_CA_KEY_BITS: bits } }));
    expect(err.problems).toEqual([
      'ca.keyBits (from AMTFLOW_CA_KEY_BITS): must be at least 2048: AMT 15/16 and later refuse RSA keys under 2048 bits',
    ]);
  });

  it('takes 2048, the default', () => {
    expect(loadConfig({ cwd: cwd(), env: {} }).ca.keyBits).toBe(2048);
    const dir = cwd();
    writeFileSync(path.join(dir, 'amtflow.config.json'), JSON.stringify({ ca: { keyBits: 2048 } }));
    expect(loadConfig({ cwd: dir, env: {} }).ca.keyBits).toBe(2048);
  });

  it("takes the reverse proxies trusted to name an agent report's source from a comma-separated list (issue 9)", () => {
    const env = { AMTFLOW_TRUSTED_PROXIES: '10.0.0.5, 10.1.0.0/16' };
    expect(loadConfig({ cwd: cwd(), env }).listeners.trustedProxies).toEqual(['10.0.0.5', '10.1.0.0/16']);
    expect(loadConfig({ cwd: cwd(), env: {} }).listeners.trustedProxies).toEqual([]);
    const err = configError(() => loadConfig({ cwd: cwd(), env: { AMTFLOW_TRUSTED_PROXIES: 'proxy.corp' } }));
    expect(err.problems).toEqual(['listeners.trustedProxies.0: must be an IP address or CIDR range']);
  });

  it("takes the worker's slots from the file or the environment, the SDK's defaults otherwise", () => {
    expect(loadConfig({ cwd: cwd(), env: {} }).worker).toEqual({
      maxConcurrentWorkflowTaskExecutions: 40,
      maxConcurrentLocalActivityExecutions: 100,
    });
    const dir = cwd();
    writeFileSync(
      path.join(dir, 'amtflow.config.json'),
      JSON.stringify({
        worker: { maxConcurrentWorkflowTaskExecutions: 200, maxConcurrentLocalActivityExecutions: 200 },
      }),
    );
    expect(loadConfig({ cwd: dir, env: { AMTFLOW_WORKER_LOCAL_ACTIVITY_SLOTS: '300' } }).worker).toEqual({
      maxConcurrentWorkflowTaskExecutions: 200,
      maxConcurrentLocalActivityExecutions: 300,
    });
  });

  it('refuses one workflow task slot, which the sticky and the normal task queue cannot share', () => {
    const err = configError(() => loadConfig({ cwd: cwd(), env: { AMTFLOW_WORKER_WORKFLOW_TASK_SLOTS: '1' } }));
    expect(err.problems).toEqual([
      'worker.maxConcurrentWorkflowTaskExecutions (from AMTFLOW_WORKER_WORKFLOW_TASK_SLOTS): must be at least 2: with a sticky cache the sticky and the normal task queue need a slot each',
    ]);
  });
});
