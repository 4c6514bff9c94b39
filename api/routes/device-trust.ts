import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { deviceUuidSchema } from '../../lib/device-uuid';
import { ApiError, parseBody } from '../errors';
import type { ApiServerDeps } from '../server';

type DeviceRequest = FastifyRequest<{ Params: { uuid: string } }>;

/**
 * Operator routes of issue 9 (trust the device, not the packet), under `/api/v1`, each needing
 * Manage management controllers (P7): a computer's agent credential issued (shown once) and
 * revoked; the "client installed" state (IB7) cleared, so the device's hellos count again; and the
 * DUPLICATE_UUID conflicts cleared once the operator has told the computers apart.
 */
export async function deviceTrustRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  const manage = { config: { right: 'manage' as const } };
  const device = async (request: DeviceRequest) => {
    const uuid = parseBody(deviceUuidSchema, request.params.uuid, 'device UUID');
    if (request.audit) request.audit.target = uuid;
    return (await deps.store.devices.require(uuid)).uuid;
  };
  const actor = (request: FastifyRequest) => request.audit?.actor ?? 'api';

  app.post('/devices/:uuid/agent-credential', manage, async (request: DeviceRequest, reply) => {
    parseBody(z.strictObject({}), request.body, 'agent credential request');
    const token = await deps.store.contacts.issueAgentCredential(await device(request), actor(request));
    return reply.code(201).send({ token });
  });
  app.delete('/devices/:uuid/agent-credential', manage, async (request: DeviceRequest) => {
    if (!(await deps.store.contacts.revokeAgentCredential(await device(request)))) {
      throw new ApiError(404, 'NOT_FOUND', 'the device has no agent credential in force');
    }
    return { revoked: true };
  });
  app.post('/devices/:uuid/client-installed/clear', manage, async (request: DeviceRequest) => ({
    cleared: await deps.store.contacts.clearAgentReport(await device(request)),
  }));
  app.post('/devices/:uuid/identity-conflicts/clear', manage, async (request: DeviceRequest) => ({
    cleared: await deps.store.contacts.clearConflicts(await device(request), actor(request)),
  }));
}
