/**
 * amtflow's Temporal Schedules (issue 11 §4): list them, pause or resume one (what the Web UI's
 * Pause does), trigger one now, and bring them in line with the collections and the configuration
 * (`sync`, e.g. after a collection's automatic provisioning changed).
 *
 * Rights follow what a schedule starts (spec P7): a collection's automatic-provisioning sweep is a
 * lifecycle action on that collection, so pausing, resuming or triggering it needs **Manage** there;
 * certificate renewal and password rotation act on every collection, so they need Manage on `*`.
 * An operator's console schedule (a discovery sweep or a power action, created by the console
 * routes) needs what creating it needed — **View** on its collection, on `*` for an address range —
 * and is deleted by its id; the others follow the configuration and are not deleted here.
 * The list shows the sweeps of the collections the caller may view, and the site-wide schedules;
 * `sync` rewrites schedules from the configuration, an administrator's. A refusal names the right
 * only, and comes before any lookup, so it says nothing about whether the schedule exists.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ScheduleNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { schedulesSchema } from '../../lib/config/schema';
import { ALL_COLLECTIONS, type Right } from '../../lib/rights';
import { consoleScheduleScope } from '../../runtime/console-schedules';
import { describeSchedule, describeSchedules, ensureSchedules, scheduleIds } from '../../runtime/schedules';
import { assertRight, principalOf, visibleCollections } from '../authorize';
import { ApiError, parseBody } from '../errors';
import type { ApiServerDeps } from '../server';

const noteBody = z.strictObject({ reason: z.string().min(1).max(512).optional() });

type ScheduleRequest = FastifyRequest<{ Params: { scheduleId: string } }>;

export async function schedulesRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  const options = {
    ...(deps.taskQueue ? { taskQueue: deps.taskQueue } : {}),
    ...(deps.scheduleIdPrefix ? { idPrefix: deps.scheduleIdPrefix } : {}),
  };
  const prefix = `${deps.scheduleIdPrefix ?? 'amtflow'}-`;
  const sweepPrefix = scheduleIds(deps.scheduleIdPrefix).automaticProvisioning('');
  /** The collection a schedule acts on: a sweep's or a console schedule's own, else every collection. */
  const scopeOf = (scheduleId: string) =>
    scheduleId.startsWith(sweepPrefix)
      ? scheduleId.slice(sweepPrefix.length)
      : (consoleScheduleScope(scheduleId, deps.scheduleIdPrefix)?.collection ?? ALL_COLLECTIONS);
  /** The right a schedule needs: what creating it needed — View for console work (P7), else Manage. */
  const rightOf = (scheduleId: string): Right =>
    consoleScheduleScope(scheduleId, deps.scheduleIdPrefix) ? 'view' : 'manage';
  // The hook checks the caller views some collection; the handler checks the schedule's right and scope.
  const operate = { config: { right: 'view' as const, scope: 'any' as const } };

  /** The schedule of the route, if it is one of this site's and the caller holds its right on its scope. */
  async function handleOf(request: ScheduleRequest) {
    const { scheduleId } = request.params;
    if (request.audit) request.audit.target = scheduleId;
    const scope = scopeOf(scheduleId);
    assertRight(
      request,
      rightOf(scheduleId),
      scope,
      scope === ALL_COLLECTIONS ? 'for the whole site' : `on collection "${scope}"`,
    );
    if (!scheduleId.startsWith(prefix)) throw new ApiError(404, 'NOT_FOUND', `no amtflow schedule ${scheduleId}`);
    const handle = deps.client.schedule.getHandle(scheduleId);
    try {
      await handle.describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError)
        throw new ApiError(404, 'NOT_FOUND', `no amtflow schedule ${scheduleId}`);
      throw err;
    }
    return handle;
  }

  app.get('/schedules', { config: { right: 'view', scope: 'any' } }, async (request) => {
    const visible = visibleCollections(request);
    const schedules = await describeSchedules(deps.client, options);
    if (visible === 'all') return schedules;
    return schedules.filter((s) => {
      const scope = scopeOf(s.scheduleId);
      return scope === ALL_COLLECTIONS || visible.includes(scope);
    });
  });

  app.post('/schedules/:scheduleId/pause', operate, async (request: ScheduleRequest) => {
    const handle = await handleOf(request);
    const { reason } = parseBody(noteBody, request.body, 'pause request');
    await handle.pause(`paused by ${principalOf(request).name}${reason ? `: ${reason}` : ''}`);
    return describeSchedule(deps.client, request.params.scheduleId);
  });

  app.post('/schedules/:scheduleId/unpause', operate, async (request: ScheduleRequest) => {
    const handle = await handleOf(request);
    const { reason } = parseBody(noteBody, request.body, 'unpause request');
    await handle.unpause(`resumed by ${principalOf(request).name}${reason ? `: ${reason}` : ''}`);
    return describeSchedule(deps.client, request.params.scheduleId);
  });

  app.post('/schedules/:scheduleId/trigger', operate, async (request: ScheduleRequest, reply) => {
    const handle = await handleOf(request);
    parseBody(z.strictObject({}), request.body, 'trigger request');
    await handle.trigger();
    return reply.code(202).send({ triggered: request.params.scheduleId });
  });

  // An operator's console schedule (OPS1, OPS2) goes when they say; the others follow the configuration.
  app.delete('/schedules/:scheduleId', operate, async (request: ScheduleRequest) => {
    const handle = await handleOf(request);
    if (!consoleScheduleScope(request.params.scheduleId, deps.scheduleIdPrefix))
      throw new ApiError(
        409,
        'SCHEDULE_FROM_CONFIGURATION',
        `${request.params.scheduleId} follows the configuration and the collections: pause it, or change them and sync`,
      );
    await handle.delete();
    return { deleted: request.params.scheduleId };
  });

  app.post('/schedules/sync', { config: { right: 'administrator' } }, async (request) => {
    parseBody(z.strictObject({}), request.body, 'sync request');
    return ensureSchedules(deps.client, deps.store, deps.schedules ?? schedulesSchema.parse({}), options);
  });
}
