/**
 * Identity and rights of the operator routes (spec P7, issue 11 section 1). Every operator route
 * declares the right it needs in its options — `config: { right: 'view' | 'manage' | 'administrator' }`
 * — and `installAuthorization` refuses to register one that does not. For each request it
 *
 * 1. authenticates the bearer token to a principal (401 `UNAUTHORIZED` otherwise),
 * 2. checks the right against the target's collection: the collection of the route's `:uuid`
 *    device, else the `:collection` parameter, else a `collection` field of the body, else the site
 *    (`*`), or — for routes declaring `scope: 'any'` (lists, reports) — any collection, the handler
 *    then showing only what the principal may view (`visibleCollections`),
 * 3. refuses with 403 `FORBIDDEN` naming the right missing and nothing else: an unknown device and a
 *    device in a collection the caller cannot view are refused alike, so a refusal reveals nothing,
 * 4. writes the audit entry, refusals included, before the answer leaves; its actor is the
 *    authenticated principal — never a header or a body field. Requests without a valid token are
 *    the exception (issue 12 §4): rate-limited per source, and audited only for the first refusal of a source in a
 *    window, and when it goes over the limit (`api.rate-limited`; api/limits.ts), so a flood cannot grow the log.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseDeviceUuid } from '../lib/device-uuid';
import { ALL_COLLECTIONS, RIGHT_TITLES, collectionsWith, holds, type Grant, type Right } from '../lib/rights';
import type { Store } from '../lib/store';
import { ApiError } from './errors';
import type { UnauthenticatedGate } from './limits';
import { bearerToken } from './tokens';

/** The authenticated caller of an operator route; `name` is the audit actor. */
export interface RequestPrincipal {
  id: string;
  name: string;
  grants: Grant[];
}

/** The audit entry an operator request writes before its answer leaves. */
export interface AuditContext {
  actor: string;
  action: string;
  target: string;
  /** The error code answered, if any. */
  code?: string;
  /** Further facts a handler adds (never a secret). */
  details?: Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The right the route needs (spec P7). Required on every operator route. */
    right?: Right;
    /**
     * `any`: a list or report over what the caller may see; the handler filters by `visibleCollections`.
     * `site`: the whole site (`*`) whatever the request names (principals, tokens).
     */
    scope?: 'any' | 'site';
  }
  interface FastifyRequest {
    principal?: RequestPrincipal;
    audit?: AuditContext;
  }
}

/** Refuses with 403, naming the right only. */
export function forbidden(principal: RequestPrincipal | undefined, right: Right, where: string): ApiError {
  return new ApiError(
    403,
    'FORBIDDEN',
    `${principal?.name ?? 'the caller'} does not hold the right "${RIGHT_TITLES[right]}" ${where}`,
  );
}

/** Throws 403 unless the request's principal holds `right` on `collection` (null: a device in no collection). */
export function assertRight(request: FastifyRequest, right: Right, collection: string | null, where: string): void {
  if (!request.principal || !holds(request.principal.grants, right, collection))
    throw forbidden(request.principal, right, where);
}

/** The collections whose devices the caller may see with `right` (`'all'`: every one, and devices in none). */
export function visibleCollections(request: FastifyRequest, right: Right = 'view'): 'all' | string[] {
  return request.principal ? collectionsWith(request.principal.grants, right) : [];
}

/** The request's principal; operator handlers run only after authentication, so it is there. */
export function principalOf(request: FastifyRequest): RequestPrincipal {
  if (!request.principal)
    throw new ApiError(401, 'UNAUTHORIZED', 'a valid API token is required (Authorization: Bearer)');
  return request.principal;
}

/**
 * Installs authentication, authorization and auditing on the operator scope `app` (mounted under
 * /api/v1). Must run before the route modules register their routes.
 */
export function installAuthorization(
  app: FastifyInstance,
  deps: { store: Store; unauthenticated: UnauthenticatedGate },
): void {
  app.addHook('onRoute', (route) => {
    const right = route.config?.right;
    if (!right) throw new Error(`operator route ${String(route.method)} ${route.url} declares no right (config.right)`);
    // The document says what each route needs.
    const where =
      route.config?.scope === 'any' ? 'on some collection (answers what it covers)' : "on the target's collection";
    route.schema = {
      ...(route.schema ?? {}),
      security: [{ bearer: [] }],
      description: `Needs the right "${RIGHT_TITLES[right]}" ${route.config?.scope === 'site' ? 'on *' : where}.`,
    } as typeof route.schema;
  });

  app.addHook('onRequest', async (request, reply) => {
    // Issue 12 §4: a source over the limit is refused (unaudited) before its token costs a lookup;
    // refusals are rate-limited per source and not each audited (api/limits.ts).
    await deps.unauthenticated.admit(request, reply);
    const route = request.routeOptions.url ?? '';
    const uuid = (request.params as { uuid?: string }).uuid;
    request.audit = {
      actor: 'anonymous',
      action: `api.${request.method.toLowerCase()} ${route.replace('/api/v1', '')}`,
      target:
        uuid ??
        (request.params as { collection?: string }).collection ??
        route.replace('/api/v1/', '').split('/')[0] ??
        'api',
    };
    const principal = await deps.store.principals.authenticate(bearerToken(request.headers.authorization));
    if (!principal) {
      const entry = request.audit;
      request.audit = undefined;
      if ((await deps.unauthenticated.refuse(request, reply)).audit) request.audit = entry;
      throw new ApiError(401, 'UNAUTHORIZED', 'a valid API token is required (Authorization: Bearer <token>)');
    }
    request.principal = { id: principal.id, name: principal.name, grants: principal.grants };
    request.audit.actor = principal.name;
  });

  // After the body is parsed (a `collection` field may name the target), before any handler runs.
  app.addHook('preValidation', async (request) => {
    const { right, scope } = request.routeOptions.config;
    if (!right) throw new ApiError(500, 'INTERNAL', 'route declares no right');
    if (scope === 'site') {
      assertRight(request, right, ALL_COLLECTIONS, 'for the whole site');
      return;
    }
    const params = request.params as { uuid?: string; collection?: string };
    if (params.uuid !== undefined) {
      let uuid: string;
      try {
        uuid = parseDeviceUuid(params.uuid);
      } catch (err) {
        throw new ApiError(400, 'INVALID_REQUEST', `invalid device UUID: ${(err as Error).message}`);
      }
      if (request.audit) request.audit.target = uuid;
      const device = await deps.store.devices.get(uuid);
      // An unknown device is refused like a foreign one unless the caller could see it if it existed.
      assertRight(request, right, device ? device.collection : ALL_COLLECTIONS, 'for this device');
      return;
    }
    if (params.collection !== undefined) {
      assertRight(request, right, params.collection, `on collection "${params.collection}"`);
      return;
    }
    const body = request.body as { collection?: unknown } | undefined;
    if (body && typeof body === 'object' && typeof body.collection === 'string') {
      assertRight(request, right, body.collection, `on collection "${body.collection}"`);
      return;
    }
    if (scope === 'any') {
      const visible = visibleCollections(request, right);
      if (visible !== 'all' && visible.length === 0) throw forbidden(request.principal, right, 'on any collection');
      return;
    }
    assertRight(request, right, ALL_COLLECTIONS, 'for the whole site');
  });

  // P7: every operator request, refused ones included, is in the audit log before its answer leaves.
  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.audit) return payload;
    const { code, details, ...entry } = request.audit;
    const status = reply.statusCode;
    await deps.store.audit.append({
      ...entry,
      outcome: status === 401 || status === 403 ? 'denied' : status < 400 ? 'success' : 'failure',
      details: { status, ...(code ? { code } : {}), ...details },
    });
    return payload;
  });
}
