/**
 * Principals, their roles per collection and their API tokens (spec P7): administrator routes on
 * the whole site. A token's value is answered once, when it is issued; lists show ids and labels.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ROLES } from '../../lib/rights';
import { parseBody } from '../errors';
import { doc } from '../openapi';
import type { ApiServerDeps } from '../server';

const principalBody = z.strictObject({
  name: z.string(),
  kind: z.enum(['user', 'service']).default('user'),
  grants: z.array(z.strictObject({ collection: z.string(), role: z.enum(ROLES) })).default([]),
});
const grantBody = z.strictObject({ collection: z.string(), role: z.enum(ROLES) });
const tokenBody = z.strictObject({ label: z.string().max(128).default('') });

type NamedRequest = FastifyRequest<{ Params: { name: string } }>;

export async function principalsRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  const admin = (summary: string, body?: z.ZodType) => ({
    config: { right: 'administrator' as const, scope: 'site' as const },
    schema: doc('principals', summary, { body }),
  });
  const target = (request: FastifyRequest, name: string) => {
    if (request.audit) request.audit.target = `principal:${name}`;
  };

  app.get('/principals', admin('Principals and their roles'), async () => ({
    principals: await deps.store.principals.list(),
  }));
  app.post('/principals', admin('Create a principal', principalBody), async (request, reply) => {
    const body = parseBody(principalBody, request.body, 'principal');
    target(request, body.name);
    await deps.store.principals.create({ name: body.name, kind: body.kind });
    for (const grant of body.grants) await deps.store.principals.grant(body.name, grant);
    return reply.code(201).send(await deps.store.principals.require(body.name));
  });
  app.get(
    '/principals/:name',
    admin('One principal and its tokens (ids, never values)'),
    async (request: NamedRequest) => {
      target(request, request.params.name);
      const principal = await deps.store.principals.require(request.params.name);
      return { ...principal, tokens: await deps.store.principals.tokens(principal.name) };
    },
  );
  app.put(
    '/principals/:name/roles',
    admin('Give a role on a collection or *', grantBody),
    async (request: NamedRequest) => {
      target(request, request.params.name);
      return deps.store.principals.grant(request.params.name, parseBody(grantBody, request.body, 'role'));
    },
  );
  app.delete(
    '/principals/:name/roles/:scope',
    admin('Take a role away'),
    async (request: FastifyRequest<{ Params: { name: string; scope: string } }>) => {
      target(request, request.params.name);
      return deps.store.principals.ungrant(request.params.name, request.params.scope);
    },
  );
  app.post(
    '/principals/:name/disable',
    admin('Disable a principal: its tokens stop working'),
    async (request: NamedRequest) => {
      target(request, request.params.name);
      return deps.store.principals.disable(request.params.name);
    },
  );
  app.post(
    '/principals/:name/tokens',
    admin('Issue a token (its value is answered once)', tokenBody),
    async (request: NamedRequest, reply) => {
      target(request, request.params.name);
      const { label } = parseBody(tokenBody, request.body, 'token request');
      const issued = await deps.store.principals.issueToken(request.params.name, label);
      if (request.audit) request.audit.details = { tokenId: issued.id };
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...issued, principal: request.params.name, label });
    },
  );
  app.get('/tokens', admin('Every token (ids and labels)'), async () => ({
    tokens: await deps.store.principals.tokens(),
  }));
  app.delete('/tokens/:id', admin('Revoke one token'), async (request: FastifyRequest<{ Params: { id: string } }>) => {
    if (request.audit) request.audit.target = `token:${request.params.id}`;
    return deps.store.principals.revokeToken(request.params.id);
  });
}
