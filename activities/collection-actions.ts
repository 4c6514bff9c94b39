import type { ActionResult, Store } from '../lib/store';
import { ACTION_RESULT_LIMITS } from '../lib/store/vocabulary';
import type { CollectionActionActivities } from './contract';

function clipError(result: ActionResult): ActionResult {
  const { errorCode, errorMessage } = result;
  const max = ACTION_RESULT_LIMITS.errorMessage;
  return {
    ...result,
    ...(errorCode ? { errorCode: errorCode.slice(0, ACTION_RESULT_LIMITS.errorCode) } : {}),
    ...(errorMessage && errorMessage.length > max ? { errorMessage: `${errorMessage.slice(0, max - 1)}…` } : {}),
  };
}

/** Collection actions: the site database's view of which devices an action covers, and their outcomes. */
export function collectionActionActivities(store: Pick<Store, 'collectionActions'>): CollectionActionActivities {
  return {
    async countActionTargets({ selector, now }) {
      let total = 0;
      let after: string | undefined;
      for (;;) {
        const page = await store.collectionActions.targets(selector, { after, limit: 1000, now: new Date(now) });
        total += page.length;
        if (page.length < 1000) return { total };
        after = page.at(-1);
      }
    },
    async listActionTargets({ selector, now, after, limit }) {
      return { devices: await store.collectionActions.targets(selector, { after, limit, now: new Date(now) }) };
    },
    // A step's error can be longer than a result row takes: it is clipped, never the reason the row is refused.
    recordActionResults: ({ actionId, results }) => store.collectionActions.record(actionId, results.map(clipError)),
  };
}
