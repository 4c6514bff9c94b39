/**
 * amtflow's Temporal Schedules (issue 11 §4): list them, pause or resume one (what the Web UI's
 * Pause does), trigger one now, and bring them in line with the collections and the configuration
 * (`sync`, e.g. after a collection's automatic provisioning changed). Viewing needs `view` on any
 * collection; changing a schedule is an administrator's (it is site configuration).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ScheduleNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { schedulesSchema } from '../../lib/config/schema';
import { describeSchedule, describeSchedules, ensureSchedules } from '../../runtime/schedules';
import { principalOf } from '../authorize';
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
  const administrator = { config: { right: 'administrator' as const } };

  /** The schedule of the route, if it is one of this site's. */
  async function handleOf(request: ScheduleRequest) {
    const { scheduleId } = request.params;
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

  app.get('/schedules', { config: { right: 'view', scope: 'any' } }, async () =>
    describeSchedules(deps.client, options),
  );

  app.post('/schedules/:scheduleId/pause', administrator, async (request: ScheduleRequest) => {
    const { reason } = parseBody(noteBody, request.body, 'pause request');
    await (await handleOf(request)).pause(`paused by ${principalOf(request).name}${reason ? `: ${reason}` : ''}`);
    return describeSchedule(deps.client, request.params.scheduleId);
  });

  app.post('/schedules/:scheduleId/unpause', administrator, async (request: ScheduleRequest) => {
    const { reason } = parseBody(noteBody, request.body, 'unpause request');
    await (await handleOf(request)).unpause(`resumed by ${principalOf(request).name}${reason ? `: ${reason}` : ''}`);
    return describeSchedule(deps.client, request.params.scheduleId);
  });

  app.post('/schedules/:scheduleId/trigger', administrator, async (request: ScheduleRequest, reply) => {
    parseBody(z.strictObject({}), request.body, 'trigger request');
    await (await handleOf(request)).trigger();
    return reply.code(202).send({ triggered: request.params.scheduleId });
  });

  app.post('/schedules/sync', administrator, async (request) => {
    parseBody(z.strictObject({}), request.body, 'sync request');
    return ensureSchedules(deps.client, deps.store, deps.schedules ?? schedulesSchema.parse({}), options);
  });
}
