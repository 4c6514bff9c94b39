import type { Store } from '../lib/store';
import type { CollectionActionActivities } from './contract';

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
    recordActionResults: ({ actionId, results }) => store.collectionActions.record(actionId, results),
  };
}
