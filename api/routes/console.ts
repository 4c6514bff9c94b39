import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ScheduleAlreadyRunning, type ScheduleSpec } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { POWER_ACTIONS, type PowerAction, type RedirectionBroker } from '../../lib/console';
import { deviceUuidSchema, type DeviceUuid } from '../../lib/device-uuid';
import {
  consoleScheduleId,
  onceAt,
  scheduleDiscovery,
  schedulePowerAction,
  startCollectionPower,
  startDevicePower,
  startDiscovery,
} from '../../runtime/console-schedules';
import { describeSchedule } from '../../runtime/schedules';
import { principalOf } from '../authorize';
import { ApiError, parseBody } from '../errors';
import type { ApiServerDeps } from '../server';

/**
 * Console operations (spec OPS1–OPS3) over HTTP. Rights (P7): discovery and power need "View
 * management controllers" (`view`) — on the collection, or on `*` for an address range — now or
 * on a schedule; redirection sessions "Manage management controllers" (`manage`). Sessions are byte streams: `POST /devices/:uuid/sol` is full duplex (the request
 * body is what the operator types, the response body the host's serial console, both
 * `application/octet-stream`, for as long as the session lasts); `POST /devices/:uuid/ider`
 * uploads the image as the request body (kept read-only in a private temporary file for the
 * session) and answers with one JSON line when the device has the drive, and one when the session
 * ends. Closing the connection ends the session.
 */

const actions = POWER_ACTIONS as [PowerAction, ...PowerAction[]];
const powerBody = z.strictObject({ action: z.enum([...actions, 'read']) });
const collectionPowerBody = z.strictObject({
  action: z.enum(actions),
  concurrency: z.number().int().min(1).max(64).optional(),
  retries: z.number().int().min(0).max(20).optional(),
  retryDelaySeconds: z.number().int().min(0).max(86_400).optional(),
});
const discoveryBody = z.union([
  z.strictObject({
    collection: z.string().min(1).max(128),
    concurrency: z.number().int().min(1).max(64).optional(),
    probeTimeoutMs: z.number().int().min(100).max(60_000).optional(),
  }),
  z.strictObject({
    first: z.string().min(7).max(15),
    last: z.string().min(7).max(15),
    concurrency: z.number().int().min(1).max(64).optional(),
    probeTimeoutMs: z.number().int().min(100).max(60_000).optional(),
  }),
]);
/**
 * When a console schedule fires (OPS1, OPS2): once `at` a time (a maintenance window's start),
 * `every` interval, or on a `cron` expression (UTC); exactly one. `name` makes the id
 * (`<prefix>-power-<name>-<collection>`, runtime/console-schedules.ts); default a random one.
 */
const scheduleFields = {
  at: z.iso.datetime({ offset: true }).optional(),
  every: z
    .string()
    .regex(/^[1-9]\d{0,4} ?(minutes?|hours?|days?|m|h|d)$/, 'a duration such as "1 day" or "30 minutes"')
    .optional(),
  cron: z
    .string()
    .regex(/^\S+( \S+){4}$/, 'a cron expression of five fields, e.g. "0 2 * * *"')
    .max(100)
    .optional(),
  name: z
    .string()
    .regex(/^[a-z0-9]{1,32}$/, '1–32 of a-z, 0-9')
    .optional(),
};
const oneWhen = (body: { at?: string; every?: string; cron?: string }) =>
  [body.at, body.every, body.cron].filter((w) => w !== undefined).length === 1;
const whenMessage = { message: 'give exactly one of at, every and cron', path: ['at'] };
const powerScheduleBody = collectionPowerBody.extend(scheduleFields).refine(oneWhen, whenMessage);
const discoveryScheduleBody = z.union([
  discoveryBody.options[0].extend(scheduleFields).refine(oneWhen, whenMessage),
  discoveryBody.options[1].extend(scheduleFields).refine(oneWhen, whenMessage),
]);

/** The Temporal schedule spec of a request's `at`, `every` or `cron`; a time gone by is refused. */
function specOf(body: { at?: string; every?: string; cron?: string }): { spec: ScheduleSpec; once: boolean } {
  if (body.every) return { spec: { intervals: [{ every: body.every as Duration }] }, once: false };
  if (body.cron) return { spec: { cronExpressions: [body.cron] }, once: false };
  const at = new Date(body.at!);
  if (at.getTime() <= Date.now())
    throw new ApiError(400, 'INVALID_REQUEST', `invalid schedule: at ${body.at} is not in the future`, [
      { field: 'at', message: 'must be in the future' },
    ]);
  return { spec: onceAt(at), once: true };
}

const sessionQuery = z.strictObject({
  timeLimitSeconds: z.coerce.number().int().min(1).max(86_400).optional(),
});
/** A schedule's name when the operator gives none. */
const randomName = () => randomBytes(4).toString('hex');
/** Largest image an operator may upload for IDE-R: a DVD. */
const MAX_IMAGE_BYTES = 8 * 1024 ** 3;

type DeviceRequest = FastifyRequest<{ Params: { uuid: string }; Querystring: Record<string, string> }>;

/** Who acts: the authenticated principal (P7). */
const actorOf = (request: FastifyRequest): string => principalOf(request).name;

export async function consoleRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  const queue = deps.taskQueue ? { taskQueue: deps.taskQueue } : {};
  const uuidOf = async (request: DeviceRequest): Promise<DeviceUuid> => {
    const uuid = parseBody(deviceUuidSchema, request.params.uuid, 'device UUID');
    if (request.audit) request.audit.target = uuid;
    return (await deps.store.devices.require(uuid)).uuid;
  };
  const broker = (): RedirectionBroker => {
    if (!deps.sessions) throw new ApiError(503, 'INTERNAL', 'redirection sessions are not configured here');
    return deps.sessions;
  };
  // Session bodies are streams, taken as they come (never buffered, never JSON).
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.post('/devices/:uuid/power', { config: { right: 'view' } }, async (request: DeviceRequest) => {
    const { action } = parseBody(powerBody, request.body, 'power request');
    const handle = await startDevicePower(
      deps.client,
      { deviceUuid: await uuidOf(request), action, requestedBy: actorOf(request) },
      queue,
    );
    return handle.result();
  });

  app.post(
    '/collections/:collection/power',
    { config: { right: 'view' } },
    async (request: FastifyRequest<{ Params: { collection: string } }>, reply: FastifyReply) => {
      const body = parseBody(collectionPowerBody, request.body, 'collection power request');
      await deps.store.collections.require(request.params.collection);
      const handle = await startCollectionPower(
        deps.client,
        {
          collection: request.params.collection,
          action: body.action,
          requestedBy: actorOf(request),
          ...(body.concurrency ? { concurrency: body.concurrency } : {}),
          ...(body.retries !== undefined ? { retries: body.retries } : {}),
          ...(body.retryDelaySeconds !== undefined ? { retryDelay: `${body.retryDelaySeconds} seconds` } : {}),
        },
        queue,
      );
      return reply.code(202).send({ workflowId: handle.workflowId });
    },
  );

  app.post('/discovery', { config: { right: 'view' } }, async (request, reply) => {
    const body = parseBody(discoveryBody, request.body, 'discovery request');
    const { concurrency, probeTimeoutMs, ...scope } = body;
    const handle = await startDiscovery(
      deps.client,
      {
        scope,
        requestedBy: actorOf(request),
        ...(concurrency ? { concurrency } : {}),
        ...(probeTimeoutMs ? { probeTimeoutMs } : {}),
      },
      queue,
    );
    return reply.code(202).send({ workflowId: handle.workflowId });
  });

  /** Creates a console schedule; its id taken already is a 409, not a replacement. */
  async function createSchedule(
    reply: FastifyReply,
    scheduleId: string,
    create: () => Promise<unknown>,
  ): Promise<FastifyReply> {
    try {
      await create();
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning)
        throw new ApiError(409, 'SCHEDULE_EXISTS', `schedule ${scheduleId} exists already: delete it first`);
      // The Temporal client turns the server's "Invalid schedule spec" into a TypeError: a cron
      // expression of five fields that still means nothing (`a b c d e`) is the caller's mistake.
      if (err instanceof TypeError) {
        throw new ApiError(400, 'INVALID_REQUEST', `invalid schedule: ${err.message}`, [
          { field: 'cron', message: err.message },
        ]);
      }
      throw err;
    }
    return reply.code(201).send(await describeSchedule(deps.client, scheduleId));
  }

  app.post(
    '/collections/:collection/power/schedules',
    { config: { right: 'view' } },
    async (request: FastifyRequest<{ Params: { collection: string } }>, reply: FastifyReply) => {
      const body = parseBody(powerScheduleBody, request.body, 'power schedule');
      const { collection } = request.params;
      await deps.store.collections.require(collection);
      const { spec, once } = specOf(body);
      const scheduleId = consoleScheduleId('power', body.name ?? randomName(), collection, deps.scheduleIdPrefix);
      if (request.audit) request.audit.target = scheduleId;
      return createSchedule(reply, scheduleId, () =>
        schedulePowerAction(
          deps.client,
          scheduleId,
          spec,
          {
            collection,
            action: body.action,
            requestedBy: `schedule:${scheduleId}`,
            ...(body.concurrency ? { concurrency: body.concurrency } : {}),
            ...(body.retries !== undefined ? { retries: body.retries } : {}),
            ...(body.retryDelaySeconds !== undefined ? { retryDelay: `${body.retryDelaySeconds} seconds` } : {}),
          },
          { ...queue, once, note: `power ${body.action} of collection ${collection}, by ${actorOf(request)}` },
        ),
      );
    },
  );

  app.post('/discovery/schedules', { config: { right: 'view' } }, async (request, reply) => {
    const body = parseBody(discoveryScheduleBody, request.body, 'discovery schedule');
    const { concurrency, probeTimeoutMs, at, every, cron, name, ...scope } = body;
    if ('collection' in scope) await deps.store.collections.require(scope.collection);
    const { spec, once } = specOf({ at, every, cron });
    const collection = 'collection' in scope ? scope.collection : null;
    const scheduleId = consoleScheduleId('discovery', name ?? randomName(), collection, deps.scheduleIdPrefix);
    if (request.audit) request.audit.target = scheduleId;
    const what = 'collection' in scope ? `collection ${scope.collection}` : `${scope.first}–${scope.last}`;
    return createSchedule(reply, scheduleId, () =>
      scheduleDiscovery(
        deps.client,
        scheduleId,
        spec,
        {
          scope,
          requestedBy: `schedule:${scheduleId}`,
          ...(concurrency ? { concurrency } : {}),
          ...(probeTimeoutMs ? { probeTimeoutMs } : {}),
        },
        { ...queue, once, note: `discovery of ${what}, by ${actorOf(request)}` },
      ),
    );
  });

  app.post(
    '/devices/:uuid/sol',
    { config: { right: 'manage', stream: true } },
    async (request: DeviceRequest, reply) => {
      const deviceUuid = await uuidOf(request);
      const { timeLimitSeconds } = parseBody(sessionQuery, request.query, 'session options');
      const input = request.body as Readable | undefined;
      const brokered = await broker().openSol({
        deviceUuid,
        actor: actorOf(request),
        ...(timeLimitSeconds ? { timeLimitMs: timeLimitSeconds * 1000 } : {}),
      });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Amtflow-Session': brokered.record.id });
      res.flushHeaders();
      brokered.session.on('data', (chunk: Buffer) => res.write(chunk));
      input?.on('data', (chunk: Buffer) => brokered.session.write(chunk));
      input?.on('end', () => void brokered.close());
      res.on('close', () => void brokered.close());
      const outcome = await brokered.ended;
      res.end();
      deps.logger.info({ device: deviceUuid, session: brokered.record.id, outcome }, 'SOL session ended');
    },
  );

  app.post(
    '/devices/:uuid/ider',
    { config: { right: 'manage', stream: true } },
    async (request: DeviceRequest, reply) => {
      const deviceUuid = await uuidOf(request);
      const { timeLimitSeconds } = parseBody(sessionQuery, request.query, 'session options');
      const size = Number(request.headers['content-length']);
      if (!Number.isInteger(size) || size <= 0 || size % 512 !== 0 || size > MAX_IMAGE_BYTES)
        throw new ApiError(
          400,
          'INVALID_REQUEST',
          'the image must be the body, a non-zero multiple of 512 bytes, at most 8 GiB',
        );
      const dir = await mkdtemp(path.join(os.tmpdir(), 'amtflow-ider-'));
      const image = path.join(dir, 'image');
      try {
        const file = await open(image, 'wx', 0o400);
        await pipeline(request.body as Readable, file.createWriteStream());
        const brokered = await broker().openIder({
          deviceUuid,
          actor: actorOf(request),
          image,
          ...(timeLimitSeconds ? { timeLimitMs: timeLimitSeconds * 1000 } : {}),
        });
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'X-Amtflow-Session': brokered.record.id });
        res.write(`${JSON.stringify({ session: brokered.record.id, state: 'serving', bytes: size })}\n`);
        res.on('close', () => void brokered.close());
        const outcome = await brokered.ended;
        res.end(`${JSON.stringify({ state: 'ended', outcome, reads: brokered.session.stats.reads.length })}\n`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
}
