import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import type pino from 'pino';
import { apiLimitsSchema, type ApiLimitsConfig, type SchedulesConfig } from '../lib/config';
import type { ProvisioningCertificate } from '../lib/pki';
import { installBodyDeadline, serverLimits, unauthenticatedGate, type UnauthenticatedGate } from './limits';
import { provisioningChainsRoutes } from './routes/provisioning-chains';
import type { Store } from '../lib/store';
import { installAuthorization } from './authorize';
import { consoleRoutes } from './routes/console';
import { collectionActionsRoutes } from './routes/collection-actions';
import { devicesRoutes } from './routes/devices';
import { schedulesRoutes } from './routes/schedules';
import type { RedirectionBroker } from '../lib/console';
import { toApiError } from './errors';
import { agentRoutes } from './routes/agent';
import { deviceTrustRoutes } from './routes/device-trust';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { registerOpenApi } from './openapi';
import { collectionsRoutes } from './routes/collections';
import { inventoryRoutes, type BreakGlassLimit } from './routes/inventory';
import { principalsRoutes } from './routes/principals';
import { reportsRoutes } from './routes/reports';

export interface ApiServerDeps {
  store: Store;
  client: Client;
  /** The CA's current CRL (`CertificateAuthority.crl`). */
  crl(): Promise<{ der: Buffer; pem: string }>;
  logger: pino.Logger;
  /** Task queue of the lifecycle workers; tests pass their own. */
  taskQueue?: string;
  /** The redirection session broker (OPS3); without it the session routes answer 503. */
  sessions?: RedirectionBroker;
  /** Proxies whose X-Forwarded-For names the client (Fastify `trustProxy`); none by default. */
  trustedProxies?: string[];
  /** Schedules and collection-action throttling (config `schedules`); without it, the schema's defaults. */
  schedules?: SchedulesConfig;
  /** First part of the schedule ids (default `amtflow`); tests pass their own. */
  scheduleIdPrefix?: string;
  /** Break-glass reveals per principal and window (default 3 an hour). */
  breakGlassLimit?: BreakGlassLimit;
  /** The front door's metrics; built here when not given (the front door shares them with the hello service). */
  metrics?: ApiMetrics;
  /** Timeouts, body limits and the rate of unauthenticated requests (config `api`); the schema's defaults when absent. */
  limits?: ApiLimitsConfig;
  /** The provisioning chains (lib/pki); without it the provisioning-chain routes answer 500. */
  provisioning?: Pick<ProvisioningCertificate, 'addChain' | 'summaries'>;
}

/** What the route modules get: the server's dependencies with the gate every credential check uses. */
export type ApiRouteDeps = ApiServerDeps & { metrics: ApiMetrics; unauthenticated: UnauthenticatedGate };

/**
 * amtflow's HTTP API (docs/api.md): health, the CRL, the in-band agent's report (IB2–IB4) and the
 * operator routes (api/routes/, authorized per collection by api/authorize.ts), which the `amtflow` CLI
 * calls. Errors are JSON `{ code, message }` with stable codes. Nothing logged carries a body, a token or a URL with one.
 */
export async function buildApiServer(given: ApiServerDeps): Promise<FastifyInstance> {
  const limits = given.limits ?? apiLimitsSchema.parse({});
  const app = Fastify({ logger: false, ...serverLimits(limits), trustProxy: given.trustedProxies ?? false });
  installBodyDeadline(app, limits);
  const deps: ApiRouteDeps = {
    ...given,
    metrics: given.metrics ?? createApiMetrics(given.store),
    unauthenticated: await unauthenticatedGate(app, limits, given.store),
  };
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

  await app.register((agent) => agentRoutes(agent, deps), { prefix: '/api/v1' });

  // Operator routes: one module per topic (api/routes/), each route declaring its right (api/authorize.ts).
  await app.register(
    async (operator) => {
      installAuthorization(operator, deps);
      await devicesRoutes(operator, deps);
      await consoleRoutes(operator, deps);
      await deviceTrustRoutes(operator, deps);
      await collectionActionsRoutes(operator, deps);
      await schedulesRoutes(operator, deps);
      await inventoryRoutes(operator, deps);
      await collectionsRoutes(operator, deps);
      await principalsRoutes(operator, deps);
      await reportsRoutes(operator, deps);
      await provisioningChainsRoutes(operator, deps);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
