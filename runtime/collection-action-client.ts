/**
 * Collection actions as a Temporal client sees them (issue 11 §3): start one, follow its progress,
 * read its per-device results. The API and the CLI both come through here.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { ThrottleConfig } from '../lib/config';
import type { ActionResult, Store, TargetSelector } from '../lib/store';
import type { ActionResultStatus } from '../lib/store/vocabulary';
import type { RemovalMode } from '../activities/contract';
import { collectionAction, type CollectionActionResult } from '../workflows/collection-action';
import {
  collectionActionProgressQuery,
  type CollectionActionKind,
  type CollectionActionProgress,
} from '../workflows/collection-action-messages';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../workflows/names';

export interface StartCollectionAction {
  kind: CollectionActionKind;
  selector: TargetSelector;
  removalMode?: RemovalMode;
  throttle: ThrottleConfig;
  requestedBy: string;
}

/** Every collection action's workflow id starts so: the Web UI lists them with `WorkflowId STARTS_WITH`. */
export const COLLECTION_ACTION_ID_PREFIX = 'collection-action-';

export function collectionActions(client: Client, options: { taskQueue?: string } = {}) {
  const handle = (actionId: string) => client.workflow.getHandle<typeof collectionAction>(actionId);
  return {
    /** Starts the action; resolves with its id (its workflow id) at once. */
    async start(request: StartCollectionAction): Promise<string> {
      const actionId = `${COLLECTION_ACTION_ID_PREFIX}${request.kind}-${randomUUID()}`;
      await client.workflow.start(collectionAction, {
        workflowId: actionId,
        taskQueue: options.taskQueue ?? TASK_QUEUES.lifecycle,
        args: [
          {
            kind: request.kind,
            selector: request.selector,
            ...(request.removalMode ? { removalMode: request.removalMode } : {}),
            throttle: {
              maxConcurrent: request.throttle.maxConcurrent,
              batchDelay: request.throttle.batchDelay as Duration,
            },
            requestedBy: request.requestedBy,
          },
        ],
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.operation, value: `collection-${request.kind}` },
          ...(request.selector.collection
            ? [{ key: SEARCH_ATTRIBUTES.collection, value: request.selector.collection }]
            : []),
        ],
        staticSummary: `${request.kind} for ${request.selector.collection ? `collection ${request.selector.collection}` : 'selected devices'}`,
      });
      return actionId;
    },
    /** The latest run's progress (it follows continue-as-new). */
    progress: (actionId: string): Promise<CollectionActionProgress> =>
      handle(actionId).query(collectionActionProgressQuery),
    /** Resolves when the action has handled every device. */
    result: (actionId: string): Promise<CollectionActionResult> => handle(actionId).result(),
  };
}

/** Per-device results of an action, from the site database. */
export async function collectionActionResults(
  store: Pick<Store, 'collectionActions'>,
  actionId: string,
  options: { status?: ActionResultStatus; after?: string; limit?: number } = {},
): Promise<{ counts: Record<ActionResultStatus, number>; results: ActionResult[] }> {
  return {
    counts: await store.collectionActions.counts(actionId),
    results: await store.collectionActions.results(actionId, options),
  };
}

export type CollectionActions = ReturnType<typeof collectionActions>;
