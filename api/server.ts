import { isIP } from 'node:net';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type pino from 'pino';
import { z } from 'zod';
import { deviceUuidSchema } from '../lib/device-uuid';
import type { Store } from '../lib/store';
import { provisionAutomatically } from './automatic-provisioning';
import { installAuthorization } from './authorize';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { registerOpenApi } from './openapi';
import { devicesRoutes } from './routes/devices';
import { collectionsRoutes } from './routes/collections';
import { inventoryRoutes, type BreakGlassLimit } from './routes/inventory';
import { principalsRoutes } from './routes/principals';
import { reportsRoutes } from './routes/reports';
import { ApiError, parseBody, toApiError } from './errors';
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
  /** Break-glass reveals per principal and window (default 3 an hour). */
  breakGlassLimit?: BreakGlassLimit;
  /** The front door's metrics; built here when not given (the front door shares them with the hello service). */
  metrics?: ApiMetrics;
}

/** Exactly what the in-band agent sends (emulator/agent/agent.ts `AgentReport`, spec IB2/IB3). */
const agentReport = z.strictObject({
  uuid: deviceUuidSchema,
  otpHash: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256 hash in hex')
    .transform((h) => h.toLowerCase()),
  amtVersion: z.string().regex(/^\d{1,3}(\.\d{1,5}){0,3}$/, 'must be a version such as 11.8.50'),
  sku: z.string().regex(/^[0-9A-Za-z.-]{1,32}$/, 'must be the AMT SKU'),
  wiredIpAddress: z.string().refine((ip) => isIP(ip) !== 0, 'must be an IPv4 or IPv6 address'),
});

const bearer = (request: FastifyRequest): string | undefined => bearerToken(request.headers.authorization);

/**
 * amtflow's HTTP API (docs/api.md): health, the CRL, the in-band agent's report (IB2–IB4) and the
 * operator routes (api/routes/, authorized per collection by api/authorize.ts), which the `amtflow` CLI
 * calls. Errors are JSON `{ code, message }` with stable codes. Nothing logged carries a body, a token or a URL with one.
 */
export async function buildApiServer(given: ApiServerDeps): Promise<FastifyInstance> {
  const deps = { ...given, metrics: given.metrics ?? createApiMetrics(given.store) };
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  await registerOpenApi(app);

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
    deps.metrics.requestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    deps.logger.debug({ method: request.method, route: request.routeOptions.url, status: reply.statusCode }, 'API');
  });

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
  app.get('/crl', async (_request, reply) => reply.type('application/pkix-crl').send((await deps.crl()).der));
  app.get('/crl.pem', async (_request, reply) => reply.type('application/x-pem-file').send((await deps.crl()).pem));

  // IB2–IB4. Agents that cannot send headers (the emulator's httpReporter) put the token in the path.
  const agentReportHandler = async (request: FastifyRequest<{ Params: { token?: string } }>, reply: FastifyReply) => {
    if (!tokenMatches(request.params.token ?? bearer(request), deps.tokens.agent))
      throw new ApiError(401, 'UNAUTHORIZED', 'a valid agent token is required');
    const report = parseBody(agentReport, request.body, 'agent report');
    await deps.store.transaction(async (store) => {
      await store.otp.record(report.uuid, {
        algorithm: 'sha256',
        hash: report.otpHash,
        reportedAmtVersion: report.amtVersion,
        wiredIp: report.wiredIpAddress,
      });
      await store.contacts.recordAgentReport(report.uuid, { host: report.wiredIpAddress });
    });
    const provisioning = await provisionAutomatically(deps, report.uuid, 'in-band', 'agent');
    deps.logger.info({ uuid: report.uuid, amtVersion: report.amtVersion, ...provisioning }, 'agent report recorded');
    return reply.code(202).send({ accepted: true, provisioning });
  };
  app.post('/api/v1/agent/reports', agentReportHandler);
  app.post('/api/v1/agent/:token/reports', agentReportHandler);

  // Operator routes: one module per topic (api/routes/), each route declaring its right (api/authorize.ts).
  await app.register(
    async (operator) => {
      installAuthorization(operator, deps);
      await devicesRoutes(operator, deps);
      await inventoryRoutes(operator, deps);
      await collectionsRoutes(operator, deps);
      await principalsRoutes(operator, deps);
      await reportsRoutes(operator, deps);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
