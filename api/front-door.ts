/**
 * amtflow's front door, in pieces a process composes: the codec server (for the Web UI), and the
 * HTTP API with the hello listener over the site database and a Temporal client. `api/main.ts` runs
 * them as their own process (production, PostgreSQL); `scripts/start.ts` composes the same pieces
 * into the embedded default. Each piece resolves once it listens, with what stops it.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type pino from 'pino';
import type { AmtflowConfig, SchedulesConfig } from '../lib/config';
import { startHelloListener } from '../lib/hello/listener';
import type { RedirectionBroker } from '../lib/console';
import type { CertificateAuthority } from '../lib/pki';
import type { Store } from '../lib/store';
import { EncryptionCodec, deriveCodecKey } from '../runtime/payload-codec';
import { ensureSchedules } from '../runtime/schedules';
import { buildCodecServer } from './codec-server';
import { createHelloService } from './hello-service';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { buildApiServer } from './server';
import { codecServerToken } from './tokens';

/** The first start's administrator token, under `<stateDir>/keys/` (the CLI reads it there by default). */
export const ADMINISTRATOR_TOKEN_FILE = 'api-operator.token';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * The codec server on `listeners.codecPort`, for the browser origins in `listeners.webUiOrigins`.
 * `endpoint` carries the token in its path: what the dev Web UI's codec setting takes.
 */
export async function startCodecServer(
  config: Pick<AmtflowConfig, 'listeners'>,
  derivationKey: Buffer,
): Promise<Stoppable & { endpoint: string }> {
  const { codecPort, webUiOrigins } = config.listeners;
  const host = config.listeners.codecHost ?? config.listeners.host;
  const token = codecServerToken(derivationKey);
  const server = await buildCodecServer({
    codec: new EncryptionCodec(deriveCodecKey(derivationKey)),
    token,
    allowedOrigins: webUiOrigins,
  });
  await server.listen({ host, port: codecPort });
  return { endpoint: `http://${host}:${codecPort}/${token}`, stop: () => server.close() };
}

export interface FrontDoorDeps {
  /** With `schedules`, the front door creates or brings up to date amtflow's Temporal Schedules at start. */
  config: Pick<AmtflowConfig, 'listeners' | 'stateDir'> & Partial<Pick<AmtflowConfig, 'schedules' | 'api'>>;
  store: Store;
  ca: Pick<CertificateAuthority, 'crl' | 'provisioning'>;
  client: Client;
  logger: pino.Logger;
  /** The redirection session broker (OPS3): SOL and IDE-R sessions live in the front door. */
  sessions?: RedirectionBroker;
}

/**
 * The HTTP API (`listeners.apiPort`) and the hello listener (`listeners.helloPort`, spec P5). The
 * API tokens go to files beside the key-encryption key, never to the log.
 */
export async function startFrontDoor(deps: FrontDoorDeps): Promise<Stoppable> {
  const { apiPort, helloPort } = deps.config.listeners;
  // The hello listener faces the devices' network; the API faces operators (issue 11 §7).
  const host = deps.config.listeners.apiHost ?? deps.config.listeners.host;
  const helloHost = deps.config.listeners.helloHost ?? deps.config.listeners.host;
  const metrics = createApiMetrics(deps.store);
  const api = await buildApiServer({
    metrics,
    store: deps.store,
    client: deps.client,
    crl: () => deps.ca.crl(),
    provisioning: deps.ca.provisioning,
    logger: deps.logger.child({ component: 'api' }),
    ...(deps.sessions ? { sessions: deps.sessions } : {}),
    ...(deps.config.schedules ? { schedules: deps.config.schedules } : {}),
    ...(deps.config.api ? { limits: deps.config.api } : {}),
    ...(deps.config.listeners.trustedProxies.length ? { trustedProxies: deps.config.listeners.trustedProxies } : {}),
  });
  // The token files exist before the API answers: whoever waits for it can use them at once.
  const tokenFiles = await writeTokenFiles(deps.config, deps.store, deps.logger);
  await api.listen({ host, port: apiPort });
  deps.logger.info({ url: `http://${host}:${apiPort}`, tokens: tokenFiles }, 'API listening');
  if (deps.config.schedules) await syncSchedules(deps, deps.config.schedules);
  const hellos = createHelloService({
    store: deps.store,
    client: deps.client,
    logger: deps.logger.child({ component: 'hello' }),
  });
  try {
    const hello = await startHelloListener({ host: helloHost, port: helloPort, ...countedHellos(metrics, hellos) });
    deps.logger.info({ address: `${helloHost}:${helloPort}` }, 'hello listener ready');
    return {
      async stop() {
        await closeServer(hello);
        hellos.close();
        await api.close();
      },
    };
  } catch (err) {
    await api.close();
    throw err;
  }
}

/**
 * On the first start (no principal yet) the token of the `administrator` principal, in a file beside the key-encryption key (mode 0600) — never in the log. The
 * administrator's token is stored only hashed, so its file is the one copy: later starts leave it
 * as it is (the administrator issues further tokens with `amtflow principals token`).
 */
async function writeTokenFiles(
  config: Pick<AmtflowConfig, 'stateDir'>,
  store: Store,
  logger: pino.Logger,
): Promise<Record<string, string>> {
  const dir = path.join(config.stateDir, 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { administrator: path.join(dir, ADMINISTRATOR_TOKEN_FILE) };
  // Earlier versions wrote a site-wide agent token here; it opens nothing now (each agent has its
  // computer's own credential), so a file holding it only misleads.
  rmSync(path.join(dir, 'api-agent.token'), { force: true });
  const first = await store.principals.bootstrapAdministrator();
  if (first) {
    writeFileSync(files.administrator, `${first.token}\n`, { mode: 0o600 });
    logger.info(
      { principal: first.principal, tokenFile: files.administrator },
      'first start: created the administrator principal; its API token is in the file named here',
    );
  }
  return files;
}

/**
 * Issue 11 §4: the schedules, created at start and idempotent, so every front door may do it. A
 * Temporal that refuses is logged, not fatal: the API and the hello listener still serve, and the
 * next start (or `POST /api/v1/schedules/sync`) tries again.
 */
async function syncSchedules(deps: FrontDoorDeps, config: SchedulesConfig): Promise<void> {
  try {
    deps.logger.info(await ensureSchedules(deps.client, deps.store, config), 'schedules in place');
  } catch (err) {
    deps.logger.error({ err }, 'schedules could not be brought up to date');
  }
}

/** The hello handlers, counting each hello received and each rejected (`amtflow_hellos_total`). */
function countedHellos(metrics: ApiMetrics, handlers: ReturnType<typeof createHelloService>) {
  return {
    onHello: (...args: Parameters<typeof handlers.onHello>) => {
      metrics.hellos.inc({ outcome: 'received' });
      return handlers.onHello(...args);
    },
    onRejected: (...args: Parameters<typeof handlers.onRejected>) => {
      metrics.hellos.inc({ outcome: 'rejected' });
      handlers.onRejected(...args);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
