/**
 * The API's limits against slow and hostile clients (issue 12 §4; config `api`, lib/config/schema.ts):
 *
 * - Fastify's `connectionTimeout` (idle sockets), `keepAliveTimeout` and `bodyLimit`, and Node's
 *   `headersTimeout` (slow headers), set where the server is built;
 * - a body deadline: a request whose body has not arrived whole `bodyTimeoutMs` after its headers is
 *   answered 408 `REQUEST_TIMEOUT`. Node's `requestTimeout` would do the same for every request,
 *   but it also cuts the console's SOL and IDE-R byte streams, which last as long as their session
 *   (routes declaring `config.stream`); those are exempt from the body deadline and the idle timeout;
 * - requests without a valid credential, counted per source address by @fastify/rate-limit: beyond
 *   `unauthenticated.max` in `unauthenticated.windowMs` they are answered 429 `RATE_LIMITED`.
 *
 * Auditing of failed authentication is bounded: on the operator routes the first refusal from a
 * source in a window is audited (as before, the route's action with outcome `denied`), and the
 * moment that source goes over the limit (`api.rate-limited`, on the agent's route too); every other
 * refusal in the window writes nothing, so a flood of bad tokens cannot grow the audit log. The metrics count every refusal
 * (`amtflow_api_request_duration_seconds{status="401"|"429"}`).
 */
import { PassThrough } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiLimitsConfig } from '../lib/config';
import type { Store } from '../lib/store';
import { ApiError } from './errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's body is a byte stream for as long as a session lasts (console SOL, IDE-R). */
    stream?: boolean;
  }
}

/** Fastify's options for these limits: what `Fastify({...})` takes. */
export function serverLimits(limits: ApiLimitsConfig) {
  return {
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    bodyLimit: limits.bodyLimitBytes,
    // Node enforces headersTimeout only when it sweeps its connections, every 30 s by default: a
    // slow-header client would keep its socket up to 30 s past the limit. Sweep at least once a
    // second, or at the limit when that is shorter.
    http: { connectionsCheckingInterval: Math.min(limits.headersTimeoutMs, 1000) },
  };
}

/**
 * Installs the body deadline and the stream exemptions on `app`; sets Node's headers timeout once
 * the server exists. Call before routes are registered.
 */
export function installBodyDeadline(app: FastifyInstance, limits: ApiLimitsConfig): void {
  // Node refuses a headersTimeout above requestTimeout unless the latter is 0, which Fastify sets.
  app.server.headersTimeout = limits.headersTimeoutMs;

  app.addHook('preHandler', async (request) => {
    // A console session may be silent for minutes: its broker bounds it, not the idle timeout. Only
    // once the request is authorized (onRequest) — until then the idle timeout holds like anywhere.
    if (request.routeOptions.config.stream) request.raw.socket.setTimeout(0);
  });

  app.addHook('preParsing', async (request, reply, payload) => {
    if (request.routeOptions.config.stream) return payload;
    // The body Fastify reads is a pass-through of the socket's, cut with 408 at the deadline: the
    // socket stays open for the answer.
    const body = new PassThrough();
    const timer = setTimeout(() => {
      payload.unpipe(body);
      body.destroy(
        new ApiError(
          408,
          'REQUEST_TIMEOUT',
          `the request body did not arrive within ${limits.bodyTimeoutMs} ms (api.bodyTimeoutMs)`,
        ),
      );
    }, limits.bodyTimeoutMs);
    const done = () => clearTimeout(timer);
    payload.once('end', done);
    payload.once('error', done);
    reply.raw.once('close', done);
    payload.pipe(body);
    return body;
  });
}

/**
 * The source-address gate of requests without a valid credential:
 * - `admit`, before any credential is looked up: throws 429 `RATE_LIMITED` when the source is
 *   already over the limit, so a flood of bad tokens costs no database lookup once it is refused
 *   (a valid token from that source waits out the window too, as with any per-source lockout);
 * - `refuse`, just before a route answers 401: counts the refusal, throws 429 when it takes the
 *   source over the limit, and returns whether this refusal is the one to audit (the source's first
 *   in the window).
 */
export interface UnauthenticatedGate {
  admit(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  refuse(request: FastifyRequest, reply: FastifyReply): Promise<{ audit: boolean }>;
}

export async function unauthenticatedGate(
  app: FastifyInstance,
  limits: ApiLimitsConfig,
  store: Store,
): Promise<UnauthenticatedGate> {
  await app.register(rateLimit, { global: false });
  const { max, windowMs } = limits.unauthenticated;
  // The library's own key: the source address, an IPv6 source by its /64 (one host holds a whole
  // /64, so counting each address apart would give it 2^64 budgets). `ban: 1` is read, never
  // enforced: `isBanned` says the source is more than one refusal over, so `isExceeded && !isBanned`
  // is the one refusal that took it over — known from a single atomic increment, however many
  // refusals race.
  const check = app.createRateLimit({ max, timeWindow: windowMs, ipv6Subnet: 64, ban: 1 });
  const tooMany = (reply: FastifyReply, ttlInSeconds: number) => {
    void reply.header('retry-after', String(ttlInSeconds));
    return new ApiError(
      429,
      'RATE_LIMITED',
      `too many requests without a valid credential from this address; try again in ${ttlInSeconds} s`,
    );
  };
  return {
    async admit(request, reply) {
      const seen = await check(request, { increment: false });
      if (!seen.isAllowed && seen.isExceeded) throw tooMany(reply, seen.ttlInSeconds);
    },
    async refuse(request, reply) {
      const counted = await check(request);
      if (counted.isAllowed) return { audit: true };
      if (!counted.isExceeded) return { audit: counted.remaining === max - 1 };
      if (!counted.isBanned) {
        await store.audit.append({
          actor: 'anonymous',
          action: 'api.rate-limited',
          target: `source:${request.ip}`,
          outcome: 'denied',
          details: { route: request.routeOptions.url ?? null, max, windowMs },
        });
      }
      throw tooMany(reply, counted.ttlInSeconds);
    },
  };
}
