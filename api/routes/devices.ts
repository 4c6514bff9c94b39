/**
 * A device's lifecycle from the operator's side: import (OOB2), provision (OOB/IB), update (UPD),
 * remove (DEP), rename or move (REN), the progress of its run, and the operator's decision for a run
 * that waits. Lifecycle commands go through runtime/lifecycle-client.ts, as from the CLI.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { deviceUuidSchema, type DeviceUuid } from '../../lib/device-uuid';
import { forgetRequestSchema } from '../../lib/store';
import { operatorCommands } from '../../runtime/lifecycle-client';
import { assertRight, principalOf } from '../authorize';
import { parseBody } from '../errors';
import { doc } from '../openapi';
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
const wiredBody = z.strictObject({ apply: z.boolean(), reason: z.string().max(1024).optional() });
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
  const started = (operation: string) => deps.metrics?.runsStarted.inc({ operation });

  const manage = (summary: string, body?: z.ZodType) => ({
    config: { right: 'manage' as const },
    schema: doc('devices', summary, { body }),
  });

  app.post(
    '/devices',
    manage('Import a computer for out-of-band management (OOB2)', importComputer),
    async (request, reply) => {
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
    },
  );
  app.post(
    '/devices/:uuid/provision',
    manage('Provision the device (OOB/IB)', provisionBody),
    async (request: DeviceRequest, reply) => {
      const body = parseBody(provisionBody, request.body, 'provision request');
      const workflowId = await commands.provision(await knownDevice(request), body.mode, actor(request));
      started('provision');
      return reply.code(202).send({ workflowId });
    },
  );
  app.post(
    '/devices/:uuid/update',
    manage('Update the management controller (UPD1–UPD4)'),
    async (request: DeviceRequest, reply) => {
      parseBody(z.strictObject({}), request.body, 'update request');
      const workflowId = await commands.update(await knownDevice(request), actor(request));
      started('update');
      return reply.code(202).send({ workflowId });
    },
  );
  app.post(
    '/devices/:uuid/remove',
    manage('Remove provisioning information (DEP1–DEP3)', removeBody),
    async (request: DeviceRequest, reply) => {
      const body = parseBody(removeBody, request.body, 'remove request');
      const workflowId = await commands.remove(await knownDevice(request), body.mode, actor(request));
      started('remove');
      return reply.code(202).send({ workflowId });
    },
  );
  app.post(
    '/devices/:uuid/rename',
    manage('Rename or move to another domain (REN1–REN3)', renameBody),
    async (request: DeviceRequest, reply) => {
      const body = parseBody(renameBody, request.body, 'rename request');
      const workflowId = await commands.rename(await knownDevice(request), body, actor(request));
      started('rename_or_move');
      return reply.code(202).send({ workflowId });
    },
  );
  /** An operator's word to the device's run, as a signal: 202 once Temporal has it. */
  const signalRoute = <B>(
    path: string,
    summary: string,
    body: z.ZodType<B>,
    what: string,
    send: (uuid: DeviceUuid, body: B, operator: string) => Promise<void>,
  ) =>
    app.post(path, manage(summary, body), async (request: DeviceRequest, reply) => {
      await send(uuidOf(request), parseBody(body, request.body, what), actor(request));
      return reply.code(202).send({ signalled: true });
    });
  signalRoute(
    '/devices/:uuid/rename-complete',
    'The rename or move has taken place (REN2)',
    renameCompleteBody,
    'rename-complete request',
    commands.renameComplete,
  );
  signalRoute(
    '/devices/:uuid/wired-8021x',
    'Apply or skip the 802.1X wired settings an update warned about (UPD4)',
    wiredBody,
    'wired 802.1X decision',
    commands.wiredIeee8021x,
  );
  app.post(
    '/devices/:uuid/forget',
    {
      // Administrator, not Manage: forgetting destroys the device's sealed AMT and MEBx passwords for
      // good — a device that is in fact still working can then only be recovered at its MEBx.
      config: { right: 'administrator' as const },
      schema: doc(
        'devices',
        'Forget a device that is gone (scrapped, stolen, lost, board replaced): certificates revoked, directory object and SPNs deleted, the device and its secrets removed — the firmware untouched',
        { body: forgetRequestSchema },
      ),
    },
    async (request: DeviceRequest, reply) => {
      const body = parseBody(forgetRequestSchema, request.body, 'forget request');
      if (request.audit) request.audit.details = { ...body };
      const workflowId = await commands.forget(await knownDevice(request), body.reason, body.note, actor(request));
      started('forget');
      return reply.code(202).send({ workflowId });
    },
  );
  const view = {
    config: { right: 'view' as const },
    schema: doc('devices', "Every step of the device's current or last run"),
  };
  app.get('/devices/:uuid/progress', view, async (request: DeviceRequest) => commands.progress(uuidOf(request)));
  app.post(
    '/devices/:uuid/decision',
    manage('Decide a run waiting for an operator', decisionBody),
    async (request: DeviceRequest) => {
      const { action, ...extra } = parseBody(decisionBody, request.body, 'decision');
      return commands.decide(uuidOf(request), action, actor(request), extra);
    },
  );
}
