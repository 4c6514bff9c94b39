import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_BUNDLE } from '../../../workers/workflow-bundle';
import { testDataConverter } from '../../support/temporal';

/**
 * Determinism: the committed histories of every flow replay against today's workflow code. A
 * change that would break runs in flight fails here. Refresh the fixtures deliberately with
 * `AMTFLOW_WRITE_FIXTURES=1 npm test -- tests/integration/workflows/lifecycle-flows`.
 */
const FIXTURES = path.resolve(__dirname, '../../fixtures/histories');
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));

describe('replay of committed histories', () => {
  it('has a fixture for every lifecycle flow', () => {
    expect(fixtures).toEqual(
      expect.arrayContaining([
        'provision-out-of-band.json',
        'provision-in-band.json',
        'provision-aborted.json',
        'update.json',
        'remove-partial.json',
        'remove-full.json',
        'rename.json',
        'renew-certificate.json',
        'rotate-password.json',
        'collection-action.json',
        // A device parked for an operator: its run told the action, which went on without it.
        'collection-action-waiting.json',
        'provision-told-action-waiting.json',
        'forget-stolen.json',
        // Runs recorded before a patch (workflows/names.ts PATCHES): runs in flight at an upgrade.
        'update-before-i7-upd4.json',
        'provision-in-band-before-i5.json',
        'renew-certificate-before-endpoint.json',
        'rotate-password-before-endpoint.json',
        'remove-full-before-i5.json',
        'remove-partial-before-i5.json',
        // The provisioning run a rename continued as, recorded before REN1's check.
        'provision-continued-from-rename.json',
        // Every flow recorded before its steps ran as local activities (PATCHES.localSteps).
        ...[
          'provision-out-of-band',
          'provision-in-band',
          'provision-aborted',
          'provision-aborted-after-commit-read',
          'provision-told-action-waiting',
          'update',
          'remove-partial',
          'remove-full',
          'rename',
          'renew-certificate',
          'rotate-password',
          'collection-action',
          'collection-action-waiting',
          'forget-stolen',
          'forget-scrapped',
        ].map((flow) => `${flow}-before-local-steps.json`),
        // A run in flight at that upgrade: parked at OOB8.2 under the code before the patch (steps as
        // activities), retried and completed under today's (patch marker, then local activities). Only
        // it catches the patch decided once per run instead of per attempt. Not re-recorded by the
        // suite: a worker on aa59afb^'s test bundle ran it until OOB8.2 failed 5 times and parked, then
        // was stopped; a worker on 15f3f7e's test bundle took the `retry` update and finished the run.
        'provision-parked-before-local-steps-continued.json',
      ]),
    );
  });

  it.each(fixtures)('%s replays without non-determinism', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')));
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: WORKFLOW_BUNDLE }, dataConverter: testDataConverter },
      history,
      file,
    );
  });
});
