import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { auditActivities } from '../../../activities/audit';
import { loadConfig, type AmtflowConfig } from '../../../lib/config';
import { SecretBox } from '../../../lib/crypto/secret-box';
import { createStore } from '../../../lib/store';
import { auditRepository } from '../../../lib/store/audit';
import { openDatabase, type Database } from '../../../lib/store/database';
import { amtflowDataConverter } from '../../../runtime/data-converter';
import { connectClient, connectWorker } from '../../../runtime/temporal';
import { WORKFLOW_BUNDLE } from '../../../workers/workflow-bundle';
import { waitFor } from '../../../scripts/lib/process';
import {
  clusterSettingsAt,
  startCluster,
  stopCluster,
  withPostgres,
  type ClusterSettings,
  type RunningCluster,
} from '../../../scripts/temporal-cluster';
import { systemCheck } from '../../../workflows';
import { SEARCH_ATTRIBUTES } from '../../../workflows/names';
import { TEST_KEK, uniqueQueue } from '../../support/temporal';

/**
 * The production Temporal server (temporal-server on PostgreSQL, started by our script) with
 * amtflow connected through the `cluster` profile. Its own ports, derived from
 * AMTFLOW_TEST_TEMPORAL_PORT one hundred apart so that checkouts side by side never meet, and its
 * own databases, dropped afterwards. The first run on a machine builds the server (minutes).
 */
const BUILD_AND_START_MS = 40 * 60_000;
const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

function testSettings(): ClusterSettings {
  const suffix = randomBytes(4).toString('hex');
  // +6000: the restart tests (tests/integration/start) take +1000 … +5000.
  return clusterSettingsAt(Number(process.env.AMTFLOW_TEST_TEMPORAL_PORT ?? 17233) + 6000, {
    database: `amtflow_temporal_test_${suffix}`,
    visibilityDatabase: `amtflow_temporal_vis_test_${suffix}`,
  });
}

async function schemaVersions(settings: ClusterSettings): Promise<string[]> {
  const versions: string[] = [];
  for (const database of [settings.postgres.database, settings.postgres.visibilityDatabase]) {
    const { rows } = await withPostgres(
      settings,
      (c) => c.query<{ v: string }>("select curr_version || '@' || creation_time as v from schema_version"),
      { database },
    );
    versions.push(...rows.map((r) => `${database}: ${r.v}`));
  }
  return versions;
}

describe('the production Temporal server on PostgreSQL', () => {
  const settings = testSettings();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-cluster-'));
  let cluster: RunningCluster;
  let config: AmtflowConfig;
  let database: Database;
  let client: Client;
  let clientConnection: Connection;
  let workerConnection: NativeConnection;
  let namespace: string;

  beforeAll(async () => {
    cluster = await startCluster({ stateDir, settings, log: (line) => console.log(line) });
    // amtflow's own composition path: the `cluster` profile, its address moved to this test's port.
    config = loadConfig({
      env: {},
      cwd: PROJECT_ROOT,
      overrides: {
        stateDir,
        'temporal.profile': 'cluster',
        'temporal.address': cluster.address,
        'secrets.key': TEST_KEK.toString('base64'),
      },
    });
    ({ client, connection: clientConnection } = await connectClient(config));
    ({ connection: workerConnection, namespace } = await connectWorker(config));
    database = await openDatabase({});
  }, BUILD_AND_START_MS);

  afterAll(async () => {
    await clientConnection?.close();
    await workerConnection?.close();
    await database?.close();
    await stopCluster(stateDir);
    await withPostgres(settings, async (c) => {
      await c.query(`drop database if exists ${settings.postgres.database} with (force)`);
      await c.query(`drop database if exists ${settings.postgres.visibilityDatabase} with (force)`);
    });
    rmSync(stateDir, { recursive: true, force: true });
  });

  async function runSystemCheck(): Promise<{ workflowId: string; auditId: string }> {
    const taskQueue = uniqueQueue('cluster-system-check');
    const worker = await Worker.create({
      connection: workerConnection,
      namespace,
      taskQueue,
      workflowBundle: { codePath: WORKFLOW_BUNDLE },
      activities: auditActivities(createStore(database, new SecretBox(Buffer.alloc(32, 1)))),
      dataConverter: amtflowDataConverter(TEST_KEK),
    });
    const workflowId = `cluster-system-check-${randomUUID()}`;
    const { auditId } = await worker.runUntil(
      client.workflow.execute(systemCheck, {
        taskQueue,
        workflowId,
        args: [{ requestedBy: workflowId }],
        typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.operation, value: 'system-check' }],
      }),
    );
    return { workflowId, auditId };
  }

  async function listedCompleted(workflowId: string) {
    const query = `WorkflowId = '${workflowId}' AND AmtOperation = 'system-check' AND ExecutionStatus = 'Completed'`;
    for await (const execution of client.workflow.list({ query })) return execution;
    return undefined;
  }

  it('runs systemCheck through the cluster profile and lists it by its search attributes from SQL visibility', async () => {
    expect(namespace).toBe('amtflow');
    const { workflowId, auditId } = await runSystemCheck();

    const entries = await auditRepository(database.db).forTarget('amtflow');
    expect(entries.filter((e) => e.actor === workflowId).map((e) => e.id)).toEqual([auditId]);

    await waitFor('the run in visibility', async () => (await listedCompleted(workflowId)) !== undefined, 30_000);
    const listed = await listedCompleted(workflowId);
    expect(listed?.type).toBe('systemCheck');
    expect(listed?.typedSearchAttributes.get(SEARCH_ATTRIBUTES.operation)).toBe('system-check');

    // The row lives in the PostgreSQL visibility database, under the alias's pre-allocated column.
    const { rows } = await withPostgres(
      settings,
      (c) => c.query('select status from executions_visibility where workflow_id = $1', [workflowId]),
      { database: settings.postgres.visibilityDatabase },
    );
    expect(rows).toEqual([{ status: 2 }]); // WORKFLOW_EXECUTION_STATUS_COMPLETED
  });

  it('starts again idempotently: reuses the running server, and after a stop the databases, schema and runs', async () => {
    const before = await schemaVersions(settings);
    const { workflowId } = await runSystemCheck();

    const again = await startCluster({ stateDir, settings });
    expect(again).toMatchObject({ started: false, pid: cluster.pid });

    expect(await stopCluster(stateDir)).toBe(true);
    const restarted = await startCluster({ stateDir, settings });
    expect(restarted.started).toBe(true);
    expect(await schemaVersions(settings)).toEqual(before);
    await waitFor(
      'the earlier run after the restart',
      async () => (await listedCompleted(workflowId)) !== undefined,
      30_000,
    );
  }, 180_000);
});
