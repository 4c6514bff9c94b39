/**
 * Collections and AMT settings profiles: create, read, update, delete (issue 11 §2). Validation
 * errors name the field. Changing a profile answers which provisioned devices now hold an older
 * revision and need an update (UPD1).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { visibleCollections } from '../authorize';
import { parseBody } from '../errors';
import { doc } from '../openapi';
import type { ApiServerDeps } from '../server';

const collectionBody = z.strictObject({
  automaticProvisioning: z.boolean().default(false),
  settingsProfile: z.string().min(1).nullable().default(null),
});

type CollectionRequest = FastifyRequest<{ Params: { collection: string } }>;
type ProfileRequest = FastifyRequest<{ Params: { name: string } }>;

export async function collectionsRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  app.get(
    '/collections',
    { config: { right: 'view', scope: 'any' }, schema: doc('collections', 'Collections the caller may view') },
    async (request) => {
      const visible = visibleCollections(request);
      const all = await deps.store.collections.list();
      return { collections: visible === 'all' ? all : all.filter((c) => visible.includes(c.name)) };
    },
  );
  app.get(
    '/collections/:collection',
    { config: { right: 'view' }, schema: doc('collections', 'One collection') },
    async (request: CollectionRequest) => {
      const collection = await deps.store.collections.require(request.params.collection);
      const { total } = await deps.store.devices.search({ collections: [collection.name], limit: 1 });
      return { ...collection, devices: total };
    },
  );
  app.put(
    '/collections/:collection',
    {
      config: { right: 'administrator' },
      schema: doc('collections', 'Create or change a collection', { body: collectionBody }),
    },
    async (request: CollectionRequest, reply) => {
      const body = parseBody(collectionBody, request.body, 'collection');
      const existed = await deps.store.collections.get(request.params.collection);
      const saved = await deps.store.collections.save({ name: request.params.collection, ...body });
      return reply.code(existed ? 200 : 201).send(saved);
    },
  );
  app.delete(
    '/collections/:collection',
    { config: { right: 'administrator' }, schema: doc('collections', 'Delete an empty collection') },
    async (request: CollectionRequest, reply) => {
      await deps.store.collections.delete(request.params.collection);
      return reply.code(204).send();
    },
  );

  // Profiles are shared by collections: anyone who views a collection may read them (never a
  // secret: only the names of the sealed ones); changing them is the site administrator's.
  app.get(
    '/profiles',
    { config: { right: 'view', scope: 'any' }, schema: doc('profiles', 'AMT settings profiles') },
    async () => ({
      profiles: await deps.store.profiles.list(),
    }),
  );
  app.get(
    '/profiles/:name',
    {
      config: { right: 'view', scope: 'any' },
      schema: doc('profiles', 'One profile (names of its secrets, never values)'),
    },
    async (request: ProfileRequest) => deps.store.profiles.require(request.params.name),
  );
  app.put(
    '/profiles/:name',
    {
      config: { right: 'administrator' },
      schema: doc('profiles', 'Create or replace a profile; answers the devices needing an update (UPD1)'),
    },
    async (request: ProfileRequest, reply) => {
      if (request.audit) request.audit.target = `profile:${request.params.name}`;
      const existed = await deps.store.profiles.get(request.params.name);
      const profile = await deps.store.profiles.save(request.params.name, (request.body ?? {}) as never);
      // UPD1: provisioned devices of collections with this profile hold an older revision now.
      const needsUpdate = existed ? await deps.store.profiles.provisionedDevicesUsing(profile.name) : [];
      if (request.audit) request.audit.details = { revision: profile.revision, needsUpdate: needsUpdate.length };
      return reply.code(existed ? 200 : 201).send({ profile, needsUpdate });
    },
  );
  app.delete(
    '/profiles/:name',
    { config: { right: 'administrator' }, schema: doc('profiles', 'Delete a profile no collection uses') },
    async (request: ProfileRequest, reply) => {
      if (request.audit) request.audit.target = `profile:${request.params.name}`;
      await deps.store.profiles.delete(request.params.name);
      return reply.code(204).send();
    },
  );
}
