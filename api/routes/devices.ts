/**
 * A device's lifecycle from the operator's side: import (OOB2), provision (OOB/IB), update (UPD),
 * remove (DEP), rename or move (REN), the progress of its run, and the operator's decision for a run
 * that waits. Lifecycle commands go through runtime/lifecycle-client.ts, as from the CLI.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { deviceUuidSchema, type DeviceUuid } from '../../lib/device-uuid';
import { operatorCommands } from '../../runtime/lifecycle-client';
import { assertRight, principalOf } from '../authorize';
import { parseBody } from '../errors';
import type { ApiServerDeps } from '../server';

const mode = z.enum(['out-of-band', 'in-band']);
const dnsName = z.string().min(1).max(253);

export const importComputer = z.strictObject({
  uuid: z.string(),
  hostName: z.string(),
  domain: z.string(),
  collection: z.string().optional(),
  windowsComputerDn: z.string().optional(),
});
const provisionBody = z.strictObject({ mode: mode.default('out-of-band') });
const removeBody = z.strictObject({ mode: z.enum(['partial', 'full']) });
const renameBody = z.strictObject({ hostName: dnsName, domain: dnsName, mode: mode.default('out-of-band') });
const renameCompleteBody = z.strictObject({ hostName: dnsName, domain: dnsName });
const decisionBody = z.strictObject({
  action: z.enum(['retry', 'skip', 'abort']),
  step: z.string().min(1).max(32).optional(),
  reason: z.string().max(1024).optional(),
});

type DeviceRequest = FastifyRequest<{ Params: { uuid: string } }>;

/** The device of the route, canonical (the authorizing hook has checked it parses). */
export function uuidOf(request: DeviceRequest): DeviceUuid {
  return parseBody(deviceUuidSchema, request.params.uuid, 'device UUID');
}

export async function devicesRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  const commands = operatorCommands(deps.client, { taskQueue: deps.taskQueue });
  /** Lifecycle operations need an imported device; saying so here beats a run that fails its first step. */
  const knownDevice = async (request: DeviceRequest) => (await deps.store.devices.require(uuidOf(request))).uuid;
  const actor = (request: FastifyRequest) => principalOf(request).name;
  const manage = { config: { right: 'manage' as const } };

  app.post('/devices', manage, async (request, reply) => {
    const computer = parseBody(importComputer, request.body, 'computer to import');
    // The audit names the device even when the import is refused.
    const uuid = deviceUuidSchema.safeParse(computer.uuid);
    if (uuid.success) {
      if (request.audit) request.audit.target = uuid.data;
      // A device already known in a collection the caller cannot manage is refused like any other.
      const existing = await deps.store.devices.get(uuid.data);
      if (existing) assertRight(request, 'manage', existing.collection, 'for this device');
    }
    const { device, created } = await deps.store.devices.importComputer(computer);
    return reply.code(created ? 201 : 200).send(device);
  });
  app.post('/devices/:uuid/provision', manage, async (request: DeviceRequest, reply) => {
    const body = parseBody(provisionBody, request.body, 'provision request');
    const workflowId = await commands.provision(await knownDevice(request), body.mode, actor(request));
    return reply.code(202).send({ workflowId });
  });
  app.post('/devices/:uuid/update', manage, async (request: DeviceRequest, reply) => {
    parseBody(z.strictObject({}), request.body, 'update request');
    return reply.code(202).send({ workflowId: await commands.update(await knownDevice(request), actor(request)) });
  });
  app.post('/devices/:uuid/remove', manage, async (request: DeviceRequest, reply) => {
    const body = parseBody(removeBody, request.body, 'remove request');
    const workflowId = await commands.remove(await knownDevice(request), body.mode, actor(request));
    return reply.code(202).send({ workflowId });
  });
  app.post('/devices/:uuid/rename', manage, async (request: DeviceRequest, reply) => {
    const body = parseBody(renameBody, request.body, 'rename request');
    const workflowId = await commands.rename(await knownDevice(request), body, actor(request));
    return reply.code(202).send({ workflowId });
  });
  app.post('/devices/:uuid/rename-complete', manage, async (request: DeviceRequest, reply) => {
    const body = parseBody(renameCompleteBody, request.body, 'rename-complete request');
    await commands.renameComplete(uuidOf(request), body, actor(request));
    return reply.code(202).send({ signalled: true });
  });
  app.get('/devices/:uuid/progress', { config: { right: 'view' } }, async (request: DeviceRequest) =>
    commands.progress(uuidOf(request)),
  );
  app.post('/devices/:uuid/decision', manage, async (request: DeviceRequest) => {
    const { action, ...extra } = parseBody(decisionBody, request.body, 'decision');
    return commands.decide(uuidOf(request), action, actor(request), extra);
  });
}
