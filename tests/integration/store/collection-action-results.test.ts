import { sql } from 'kysely';
import { collectionActionActivities } from '../../../activities/collection-actions';
import { parseDeviceUuid } from '../../../lib/device-uuid';
import { ACTION_RESULT_STATUSES } from '../../../lib/store/vocabulary';
import { backends } from '../../support/databases';
import { DEVICE as DEVICE_TEXT, OTHER_DEVICE as OTHER_TEXT, importDevices, useStore } from './store-fixture';

const DEVICE = parseDeviceUuid(DEVICE_TEXT);
const OTHER_DEVICE = parseDeviceUuid(OTHER_TEXT);

/**
 * A collection action's per-device results on both backends (issue 11 §3): a device whose run
 * waits for an operator is stored as `waiting` (migration 0012), counted as such, found by the
 * status filter, and later overwritten by its final status; a status outside the vocabulary is
 * refused by the database itself, not only by the repository.
 */
describe.each(backends)('collection action results on $name', (backend) => {
  const f = useStore(backend);
  const ACTION = 'collection-action-provision-test';

  beforeEach(async () => {
    await sql`truncate collection_action_results`.execute(f.database.db);
    await importDevices(f.store, DEVICE, OTHER_DEVICE);
  });

  it('stores a device waiting for an operator, counts it, filters on it, then takes its final status', async () => {
    const actions = f.store.collectionActions;
    await actions.record(ACTION, [
      {
        device: DEVICE,
        status: 'waiting',
        workflowId: `amt-device-${DEVICE}`,
        errorCode: 'AMT_UNREACHABLE',
        errorMessage: 'OOB8.6 commit and enter post-provisioning: the device did not answer',
      },
      { device: OTHER_DEVICE, status: 'succeeded', workflowId: `amt-device-${OTHER_DEVICE}` },
    ]);
    expect(await actions.counts(ACTION)).toEqual({
      started: 0,
      busy: 0,
      refused: 0,
      succeeded: 1,
      failed: 0,
      waiting: 1,
    });
    expect(await actions.results(ACTION, { status: 'waiting' })).toEqual([
      {
        device: DEVICE,
        status: 'waiting',
        workflowId: `amt-device-${DEVICE}`,
        errorCode: 'AMT_UNREACHABLE',
        errorMessage: 'OOB8.6 commit and enter post-provisioning: the device did not answer',
      },
    ]);

    // The run was decided and ended while the action still ran: the row takes the final status.
    await actions.record(ACTION, [{ device: DEVICE, status: 'succeeded', workflowId: `amt-device-${DEVICE}` }]);
    expect(await actions.counts(ACTION)).toMatchObject({ succeeded: 2, waiting: 0 });
  });

  it('refuses, in the database, a status outside the vocabulary', async () => {
    expect(ACTION_RESULT_STATUSES).toContain('waiting');
    await expect(
      sql`insert into collection_action_results (action_id, device, status) values (${ACTION}, ${DEVICE}, 'parked')`.execute(
        f.database.db,
      ),
    ).rejects.toThrow(/collection_action_results_status_check/);
  });

  it('records a result whose step error is longer than a row takes, clipped', async () => {
    const long = `OOB8.6 commit and enter post-provisioning: ${'fault '.repeat(1000)}`;
    await collectionActionActivities(f.store).recordActionResults({
      actionId: ACTION,
      results: [{ device: DEVICE, status: 'waiting', errorCode: 'X'.repeat(300), errorMessage: long }],
    });
    const [row] = await f.store.collectionActions.results(ACTION);
    expect(row?.errorCode).toBe('X'.repeat(100));
    expect(row?.errorMessage).toHaveLength(2000);
    expect(row?.errorMessage).toBe(`${long.slice(0, 1999)}…`);
  });
});
