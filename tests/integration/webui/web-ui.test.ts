import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startCodecServer, type Stoppable } from '../../../api/front-door';
import { loadConfig } from '../../../lib/config';
import { readComponents } from '../../../scripts/debian-packages';
import { operatorCommands } from '../../../runtime/lifecycle-client';
import { waitFor } from '../../../scripts/lib/process';
import { ensureTemporalCli, startServer, stopServer } from '../../../scripts/temporal-dev-server';
import { deviceWorkflowId } from '../../../workflows/names';
import { newDeviceUuid } from '../../support/device-uuid';
import { requireTool } from '../emulator/support/cli';
import { fakeLifecycleActivities } from '../../support/fake-lifecycle';
import { TEST_KEK, TEST_WORKFLOW_BUNDLE, testDataConverter, uniqueQueue } from '../../support/temporal';

/**
 * Issue 14: the Temporal Web UI, as an operator uses it, in Debian's headless Chromium driven by
 * playwright-core. A dev server of its own with the Web UI and amtflow's codec server; a run parks
 * for an operator at an injected fault (OOB8.6 fails); the operator finds the run by its
 * `AmtDeviceUuid`, reads the failed attempts, the decoded input and the `progress` query (the step
 * waiting and its error, decoded by the codec server), sends the `operator-decision` signal from the
 * run's "Send a Signal" dialog, and the run shows complete, the decision recorded as the operator's.
 * Screenshots go to test-artifacts/web-ui/ (git-ignored).
 */
jest.setTimeout(300_000);

const CHROMIUM = '/usr/bin/chromium';
/** The closed network refuses Chromium's background connections: none are made. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artifacts', 'web-ui');

describe('the Temporal Web UI in headless Chromium', () => {
  // Ports of its own, from this checkout's test port (the cluster test has +6000…): frontend +8100, Web UI +8200, codec +8300.
  const base = Number(process.env.AMTFLOW_TEST_TEMPORAL_PORT ?? 17233);
  const stateDir = path.resolve(__dirname, '..', '..', '..', '.state', 'test-webui');
  const namespace = 'amtflow';
  let codec: Stoppable & { endpoint: string };
  let connection: Connection;
  let client: Client;
  let browser: BrowserContext;
  let page: Page;
  let uiUrl: string;
  let profileDir: string;

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  /** A screenshot and the page's text: what a failure message points to. */
  const dump = async (name: string) => {
    await shot(name);
    writeFileSync(path.join(ARTIFACTS, `${name}.txt`), await page.innerText('body'));
  };

  beforeAll(async () => {
    // No stand-in browser: without Debian's, the test fails saying what to install (the one list's packages).
    requireTool(
      CHROMIUM,
      readComponents()
        .find((c) => c.name === 'chromium')
        ?.packages.join(' ') ?? 'chromium',
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await stopServer(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
    const config = loadConfig({
      env: { AMTFLOW_STATE_DIR: stateDir, AMTFLOW_CODEC_PORT: String(base + 8300) },
      cwd: '/nonexistent',
    });
    config.listeners.webUiOrigins = [`http://127.0.0.1:${base + 8200}`];
    codec = await startCodecServer(config, TEST_KEK);
    const server = await startServer({
      cli: await ensureTemporalCli(),
      stateDir,
      ip: '127.0.0.1',
      port: base + 8100,
      uiPort: base + 8200,
      namespace,
      codecEndpoint: codec.endpoint,
    });
    uiUrl = server.uiUrl as string;
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace, dataConverter: testDataConverter });
    profileDir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1600, height: 1000 },
    });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await connection?.close();
    await codec?.stop();
    await stopServer(stateDir);
  });

  it('finds a parked run by AmtDeviceUuid, shows its failed step, error and payloads decoded, takes the decision from its Send a Signal dialog and shows it complete', async () => {
    // The injected fault: OOB8.6 (commit) fails until the operator has looked.
    const fake = fakeLifecycleActivities({ commitSetup: ['fail', 'fail', 'fail'] });
    const taskQueue = uniqueQueue('webui');
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: `127.0.0.1:${base + 8100}` }),
      namespace,
      taskQueue,
      workflowBundle: { codePath: TEST_WORKFLOW_BUNDLE },
      activities: fake.activities,
      dataConverter: testDataConverter,
    });
    const commands = operatorCommands(client, { taskQueue });
    const uuid = newDeviceUuid();
    const workflowId = deviceWorkflowId(uuid);
    await worker.runUntil(async () => {
      try {
        await operate();
      } catch (err) {
        await dump('failure');
        throw err;
      }
    });
    async function operate(): Promise<void> {
      await commands.provision(uuid, 'out-of-band', 'hello');
      await waitFor('the run to park', async () => (await commands.progress(uuid)).awaiting !== undefined, 60_000, 200);

      // 1. The workflow list filtered by the device's search attribute finds its run.
      const query = encodeURIComponent(`AmtDeviceUuid = "${uuid}"`);
      await page.goto(`${uiUrl}/namespaces/${namespace}/workflows?query=${query}`);
      const link = page.getByRole('link', { name: workflowId }).first();
      await link.waitFor({ timeout: 60_000 });
      await shot('1-workflows-filtered');

      // 2. The run: its input decoded by amtflow's codec server, the failed attempts of OOB8.6, and
      // the `progress` query naming the step that waits for an operator and its error.
      await link.click();
      await page.waitForURL(/\/workflows\/amt-device-/, { timeout: 30_000 });
      await page.getByText(`"deviceUuid": "${uuid}"`).first().waitFor({ timeout: 60_000 });
      // Each attempt is a local activity's event: its type and the step's summary.
      await page.getByText('OOB8.6 commit and enter post-provisioning').first().waitFor();
      await page.getByText('commitSetup').first().waitFor();
      await shot('2-run-parked');
      await page
        .getByRole('link', { name: 'Queries' })
        .or(page.getByRole('tab', { name: 'Queries' }))
        .first()
        .click();
      // The query type defaults to the run's own query, `progress`.
      await page.getByRole('button', { name: 'Run Query' }).click();
      await page.getByText('"state": "awaiting-operator"').first().waitFor({ timeout: 60_000 });
      await page.getByText('"stage": "AWAITING_OPERATOR"').first().waitFor();
      await shot('3-progress-query');
      // The editor draws only the lines in view: a tall window shows the end of the answer, which
      // names the step waiting and its error.
      await page.setViewportSize({ width: 1600, height: 8000 });
      await page.getByText('"awaiting": {').first().waitFor();
      await page.getByText('"message": "commitSetup failed"').first().waitFor();
      await shot('3-progress-query-awaiting');
      await page.setViewportSize({ width: 1600, height: 1000 });

      // 3. The operator's decision, from the run's "Send a Signal" dialog: the UI lists the signal
      // the run declares, and the JSON typed in goes through amtflow's codec server to the workflow.
      await page.getByRole('button', { name: 'More Actions' }).click();
      await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
      const dialog = page.getByRole('dialog', { name: 'Send a Signal' });
      await dialog.getByRole('button', { name: 'Select a signal' }).click();
      await dialog.getByRole('option', { name: 'operator-decision' }).click();
      await dialog.getByRole('textbox').last().click();
      // Typed as one insertion: the editor would otherwise close each bracket and quote itself.
      await page.keyboard.insertText(
        JSON.stringify({ action: 'retry', operator: 'alice', step: 'OOB8.6', reason: 'checked in the Web UI' }),
      );
      // Leaving the editor reformats the JSON and moves the buttons under a pointer: Submit is
      // reached with the keyboard, as an operator tabbing out of the field would.
      const submit = dialog.getByRole('button', { name: 'Submit' });
      await submit.focus();
      await shot('4-signal-dialog');
      await submit.press('Enter');
      await page.getByText('Workflow signaled.').first().waitFor({ timeout: 30_000 });
      await shot('5-signalled');

      await client.workflow.getHandle(workflowId).result();
      await page.reload();
      await page.getByText('Completed').first().waitFor({ timeout: 60_000 });
      await shot('6-run-completed');
    }
    const progress = await commands.progress(uuid);
    expect(progress.state).toBe('completed');
    expect(progress.steps.find((s) => s.id === 'OOB8.6')).toMatchObject({ status: 'succeeded', attempts: 4 });
    expect(progress.steps.find((s) => s.id === 'P7')?.status).toBe('succeeded');
    // The decision typed into the Web UI is the one recorded in the audit log (P7).
    expect(fake.calls.filter((c) => c.name === 'recordAudit').map((c) => c.input)).toEqual([
      expect.objectContaining({
        actor: 'alice',
        details: expect.objectContaining({ step: 'OOB8.6', reason: 'checked in the Web UI' }),
      }),
    ]);
  });
});
