/**
 * amtflow's Temporal Schedules (issue 11 §4): list them, pause or resume one (what the Web UI's
 * Pause does), trigger one now, and bring them in line with the collections and the configuration
 * (`sync`, e.g. after a collection's automatic provisioning changed).
 *
 * Rights follow what a schedule starts (spec P7): a collection's automatic-provisioning sweep is a
 * lifecycle action on that collection, so pausing, resuming or triggering it needs **Manage** there;
 * certificate renewal and password rotation act on every collection, so they need Manage on `*`.
 * The list shows the sweeps of the collections the caller may view, and the site-wide schedules;
 * `sync` rewrites schedules from the configuration, an administrator's. A refusal names the right
 * only, and comes before any lookup, so it says nothing about whether the schedule exists.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ScheduleNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { schedulesSchema } from '../../lib/config/schema';
import { ALL_COLLECTIONS } from '../../lib/rights';
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
  /** The collection a schedule acts on: a sweep's own, else every collection. */
  const scopeOf = (scheduleId: string) =>
    scheduleId.startsWith(sweepPrefix) ? scheduleId.slice(sweepPrefix.length) : ALL_COLLECTIONS;
  // The hook checks the caller manages some collection; the handler checks the schedule's.
  const manage = { config: { right: 'manage' as const, scope: 'any' as const } };

  /** The schedule of the route, if it is one of this site's and the caller may manage it. */
  async function handleOf(request: ScheduleRequest) {
    const { scheduleId } = request.params;
    if (request.audit) request.audit.target = scheduleId;
    const scope = scopeOf(scheduleId);
    assertRight(
      request,
      'manage',
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

  app.post('/schedules/:scheduleId/pause', manage, async (request: ScheduleRequest) => {
    const handle = await handleOf(request);
    const { reason } = parseBody(noteBody, request.body, 'pause request');
    await handle.pause(`paused by ${principalOf(request).name}${reason ? `: ${reason}` : ''}`);
    return describeSchedule(deps.client, request.params.scheduleId);
  });

  app.post('/schedules/:scheduleId/unpause', manage, async (request: ScheduleRequest) => {
    const handle = await handleOf(request);
    const { reason } = parseBody(noteBody, request.body, 'unpause request');
    await handle.unpause(`resumed by ${principalOf(request).name}${reason ? `: ${reason}` : ''}`);
    return describeSchedule(deps.client, request.params.scheduleId);
  });

  app.post('/schedules/:scheduleId/trigger', manage, async (request: ScheduleRequest, reply) => {
    const handle = await handleOf(request);
    parseBody(z.strictObject({}), request.body, 'trigger request');
    await handle.trigger();
    return reply.code(202).send({ triggered: request.params.scheduleId });
  });

  app.post('/schedules/sync', { config: { right: 'administrator' } }, async (request) => {
    parseBody(z.strictObject({}), request.body, 'sync request');
    return ensureSchedules(deps.client, deps.store, deps.schedules ?? schedulesSchema.parse({}), options);
  });
}
