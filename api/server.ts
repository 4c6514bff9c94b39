import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type pino from 'pino';
import { z } from 'zod';
import { deviceUuidSchema } from '../lib/device-uuid';
import type { Store } from '../lib/store';
import { operatorCommands } from '../runtime/lifecycle-client';
import { ApiError, parseBody, toApiError } from './errors';
import { agentRoutes } from './routes/agent';
import { deviceTrustRoutes } from './routes/device-trust';
import { bearerToken, tokenMatches, type ApiTokens } from './tokens';

export interface ApiServerDeps {
  store: Store;
  client: Client;
  /** The CA's current CRL (`CertificateAuthority.crl`). */
  crl(): Promise<{ der: Buffer; pem: string }>;
  tokens: ApiTokens;
  logger: pino.Logger;
  /** Task queue of the lifecycle workers; tests pass their own. */
  taskQueue?: string;
  /** Proxies whose X-Forwarded-For names the client (Fastify `trustProxy`); none by default. */
  trustedProxies?: string[];
}

const mode = z.enum(['out-of-band', 'in-band']);
const dnsName = z.string().min(1).max(253);

const importComputer = z.strictObject({
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
  operator: z.string().min(1).max(128),
  step: z.string().min(1).max(32).optional(),
  reason: z.string().max(1024).optional(),
});
const operatorHeader = z.string().min(1).max(128).default('api');

const bearer = (request: FastifyRequest): string | undefined => bearerToken(request.headers.authorization);

type DeviceRequest = FastifyRequest<{ Params: { uuid: string } }>;

/** Set by the operator routes for the audit entry written before the answer leaves. */
interface AuditContext {
  actor: string;
  action: string;
  target: string;
  /** The error code answered, if any. */
  code?: string;
}
declare module 'fastify' {
  interface FastifyRequest {
    audit?: AuditContext;
  }
}

/**
 * amtflow's HTTP API (docs/api.md): health, the CRL, the in-band agent's report (IB2–IB4) and the
 * operator routes, which call the same commands as the CLI (runtime/lifecycle-client.ts). Errors are JSON
 * `{ code, message }` with stable codes. Nothing logged carries a body, a token or a URL with one.
 */
export async function buildApiServer(deps: ApiServerDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, trustProxy: deps.trustedProxies ?? false });
  const commands = operatorCommands(deps.client, { taskQueue: deps.taskQueue });

  app.setErrorHandler((err, request, reply) => {
    const answer = toApiError(err);
    if (request.audit) request.audit.code = answer.code;
    if (answer.status >= 500) deps.logger.error({ err, route: request.routeOptions.url }, 'API request failed');
    const body = { code: answer.code, message: answer.message, ...(answer.issues ? { issues: answer.issues } : {}) };
    return reply.code(answer.status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.routeOptions.url ?? ''}` }),
  );
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: the agent's URL may carry its token.
    deps.logger.debug({ method: request.method, route: request.routeOptions.url, status: reply.statusCode }, 'API');
  });

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/crl', async (_request, reply) => reply.type('application/pkix-crl').send((await deps.crl()).der));
  app.get('/crl.pem', async (_request, reply) => reply.type('application/x-pem-file').send((await deps.crl()).pem));

  await app.register((agent) => agentRoutes(agent, deps), { prefix: '/api/v1' });

  await app.register(
    async (operator) => {
      operator.addHook('onRequest', async (request) => {
        const actor = operatorHeader.safeParse(request.headers['x-amtflow-operator']);
        const uuid = (request.params as { uuid?: string }).uuid;
        const route = request.routeOptions.url ?? '';
        request.audit = {
          actor: actor.success ? actor.data : 'api',
          action: `api.${request.method.toLowerCase()} ${route.replace('/api/v1', '')}`,
          target: uuid ?? 'devices',
        };
        if (!tokenMatches(bearer(request), deps.tokens.operator))
          throw new ApiError(401, 'UNAUTHORIZED', 'a valid operator token is required (Authorization: Bearer)');
      });
      // P7: every operator request, refused ones included, is in the audit log before its answer leaves.
      operator.addHook('onSend', async (request, reply, payload) => {
        if (!request.audit) return payload;
        const { code, ...entry } = request.audit;
        const status = reply.statusCode;
        await deps.store.audit.append({
          ...entry,
          outcome: status === 401 ? 'denied' : status < 400 ? 'success' : 'failure',
          details: { status, ...(code ? { code } : {}) },
        });
        return payload;
      });

      const uuidOf = (request: DeviceRequest) => {
        const uuid = parseBody(deviceUuidSchema, request.params.uuid, 'device UUID');
        if (request.audit) request.audit.target = uuid;
        return uuid;
      };
      /** Lifecycle operations need an imported device; saying so here beats a run that fails its first step. */
      const knownDevice = async (request: DeviceRequest) => (await deps.store.devices.require(uuidOf(request))).uuid;
      const actor = (request: FastifyRequest) => request.audit?.actor ?? 'api';

      operator.post('/devices', async (request, reply) => {
        const computer = parseBody(importComputer, request.body, 'computer to import');
        // The audit names the device even when the import is refused.
        const uuid = deviceUuidSchema.safeParse(computer.uuid);
        if (request.audit && uuid.success) request.audit.target = uuid.data;
        const { device, created } = await deps.store.devices.importComputer(computer);
        return reply.code(created ? 201 : 200).send(device);
      });
      operator.post('/devices/:uuid/provision', async (request: DeviceRequest, reply) => {
        const body = parseBody(provisionBody, request.body, 'provision request');
        const workflowId = await commands.provision(await knownDevice(request), body.mode, actor(request));
        return reply.code(202).send({ workflowId });
      });
      operator.post('/devices/:uuid/update', async (request: DeviceRequest, reply) => {
        parseBody(z.strictObject({}), request.body, 'update request');
        return reply.code(202).send({ workflowId: await commands.update(await knownDevice(request), actor(request)) });
      });
      operator.post('/devices/:uuid/remove', async (request: DeviceRequest, reply) => {
        const body = parseBody(removeBody, request.body, 'remove request');
        const workflowId = await commands.remove(await knownDevice(request), body.mode, actor(request));
        return reply.code(202).send({ workflowId });
      });
      operator.post('/devices/:uuid/rename', async (request: DeviceRequest, reply) => {
        const body = parseBody(renameBody, request.body, 'rename request');
        const workflowId = await commands.rename(await knownDevice(request), body, actor(request));
        return reply.code(202).send({ workflowId });
      });
      operator.post('/devices/:uuid/rename-complete', async (request: DeviceRequest, reply) => {
        const body = parseBody(renameCompleteBody, request.body, 'rename-complete request');
        await commands.renameComplete(uuidOf(request), body, actor(request));
        return reply.code(202).send({ signalled: true });
      });
      operator.get('/devices/:uuid/progress', async (request: DeviceRequest) => commands.progress(uuidOf(request)));
      await deviceTrustRoutes(operator, deps);
      operator.post('/devices/:uuid/decision', async (request: DeviceRequest) => {
        const { action, operator: name, ...extra } = parseBody(decisionBody, request.body, 'decision');
        if (request.audit) request.audit.actor = name;
        return commands.decide(uuidOf(request), action, name, extra);
      });
    },
    { prefix: '/api/v1' },
  );
  return app;
}
