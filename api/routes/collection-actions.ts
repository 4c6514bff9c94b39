/**
 * Collection actions (issue 11 §3): provision, update, remove, automatic provisioning on or off,
 * certificate renewal or password rotation for a whole collection or a filtered set, throttled
 * (at most `maxConcurrent` devices at a time, `batchDelay` between batches). One durable workflow
 * per action (workflows/collection-action.ts); its progress from the workflow, its per-device
 * results from the site database.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { throttleSchema } from '../../lib/config/schema';
import { deviceUuidSchema } from '../../lib/device-uuid';
import { ALL_COLLECTIONS } from '../../lib/rights';
import { PROVISIONING_STATES, ACTION_RESULT_STATUSES } from '../../lib/store/vocabulary';
import { COLLECTION_ACTION_ID_PREFIX, collectionActions } from '../../runtime/collection-action-client';
import { COLLECTION_ACTION_KINDS, type CollectionActionProgress } from '../../workflows/collection-action-messages';
import { assertRight, principalOf } from '../authorize';
import { ApiError, parseBody } from '../errors';
import type { ApiServerDeps } from '../server';

/**
 * `collection` and/or `filter`: a collection names its devices (and is what the caller's right is
 * checked against); without one, `filter.deviceUuids` names devices anywhere, which needs the right
 * for the whole site.
 */
export const collectionActionBody = z
  .strictObject({
    kind: z.enum(COLLECTION_ACTION_KINDS),
    collection: z.string().min(1).max(128).optional(),
    filter: z
      .strictObject({
        provisioningStates: z.array(z.enum(PROVISIONING_STATES)).min(1).optional(),
        deviceUuids: z.array(deviceUuidSchema).min(1).max(10_000).optional(),
      })
      .optional(),
    removalMode: z.enum(['partial', 'full']).optional(),
    maxConcurrent: throttleSchema.shape.maxConcurrent.unwrap().optional(),
    batchDelay: throttleSchema.shape.batchDelay.unwrap().optional(),
  })
  .refine((b) => b.collection !== undefined || b.filter?.deviceUuids !== undefined, {
    message: 'name a collection or filter.deviceUuids',
    path: ['collection'],
  })
  .refine((b) => (b.kind === 'remove') === (b.removalMode !== undefined), {
    message: 'removalMode (partial or full) goes with kind "remove", and only with it',
    path: ['removalMode'],
  });

const resultsQuery = z.strictObject({
  status: z.enum(ACTION_RESULT_STATUSES).optional(),
  after: deviceUuidSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

type ActionRequest = FastifyRequest<{ Params: { actionId: string } }>;

export async function collectionActionsRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  const actions = collectionActions(deps.client, { taskQueue: deps.taskQueue });
  const defaults = deps.schedules?.throttle ?? throttleSchema.parse({});

  /** The action's progress, once the caller is known to hold `view` on the action's collection. */
  async function visibleProgress(request: ActionRequest): Promise<CollectionActionProgress> {
    const { actionId } = request.params;
    if (!actionId.startsWith(COLLECTION_ACTION_ID_PREFIX)) {
      throw new ApiError(404, 'NOT_FOUND', `no collection action ${actionId}`);
    }
    let progress: CollectionActionProgress;
    try {
      progress = await actions.progress(actionId);
    } catch {
      // Unknown and foreign actions are answered alike.
      assertRight(request, 'view', ALL_COLLECTIONS, 'for this collection action');
      throw new ApiError(404, 'NOT_FOUND', `no collection action ${actionId}`);
    }
    assertRight(request, 'view', progress.collection ?? ALL_COLLECTIONS, 'for this collection action');
    return progress;
  }

  // The body's `collection` (or, without one, the site) is what the hook checks `manage` against.
  app.post('/collection-actions', { config: { right: 'manage' } }, async (request, reply) => {
    const body = parseBody(collectionActionBody, request.body, 'collection action');
    const actionId = await actions.start({
      kind: body.kind,
      selector: {
        kind: 'devices',
        ...(body.collection ? { collection: body.collection } : {}),
        ...(body.filter?.provisioningStates ? { provisioningStates: body.filter.provisioningStates } : {}),
        ...(body.filter?.deviceUuids ? { deviceUuids: body.filter.deviceUuids } : {}),
      },
      ...(body.removalMode ? { removalMode: body.removalMode } : {}),
      throttle: {
        maxConcurrent: body.maxConcurrent ?? defaults.maxConcurrent,
        batchDelay: body.batchDelay ?? defaults.batchDelay,
      },
      requestedBy: principalOf(request).name,
    });
    if (request.audit) request.audit.details = { actionId, kind: body.kind };
    return reply.code(202).send({ actionId });
  });

  app.get(
    '/collection-actions/:actionId',
    { config: { right: 'view', scope: 'any' } },
    async (request: ActionRequest) => visibleProgress(request),
  );

  app.get(
    '/collection-actions/:actionId/results',
    { config: { right: 'view', scope: 'any' } },
    async (request: ActionRequest) => {
      await visibleProgress(request);
      const query = parseBody(resultsQuery, request.query, 'results query');
      const { actionId } = request.params;
      return {
        counts: await deps.store.collectionActions.counts(actionId),
        results: await deps.store.collectionActions.results(actionId, query),
      };
    },
  );
}
