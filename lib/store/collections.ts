import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import { parseInput, StoreError } from './errors';
import { text } from './fields';
import type { Schema } from './schema';
import type { CollectionsTable } from './tables/core';
import { inTransaction } from './transaction';

export interface Collection {
  name: string;
  /** Devices of this collection provision by themselves when their hello arrives (DEP3). */
  automaticProvisioning: boolean;
  settingsProfile: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const collectionSchema = z
  .strictObject({
    name: text(1, 128),
    automaticProvisioning: z.boolean().default(false),
    settingsProfile: z.string().min(1).nullable().default(null),
  })
  .refine((c) => !c.automaticProvisioning || c.settingsProfile !== null, {
    path: ['settingsProfile'],
    message: 'a collection with automatic provisioning needs an AMT settings profile',
  });
export type CollectionInput = z.input<typeof collectionSchema>;

function toCollection(row: Selectable<CollectionsTable>): Collection {
  return {
    name: row.name,
    automaticProvisioning: row.automatic_provisioning,
    settingsProfile: row.settings_profile,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Collections: groups of devices sharing a settings profile and the automatic-provisioning flag. */
export function collectionRepository(db: Kysely<Schema>) {
  async function get(name: string): Promise<Collection | undefined> {
    const row = await db.selectFrom('collections').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toCollection(row);
  }

  /** Creates the collection or replaces its settings. */
  async function save(input: CollectionInput): Promise<Collection> {
    const c = parseInput(collectionSchema, input, 'collection');
    return inTransaction(db, async (trx) => {
      if (c.settingsProfile !== null) {
        const profile = await trx
          .selectFrom('settings_profiles')
          .select('name')
          .where('name', '=', c.settingsProfile)
          .executeTakeFirst();
        if (!profile) {
          throw new StoreError('PROFILE_NOT_FOUND', `no AMT settings profile named "${c.settingsProfile}"`);
        }
      }
      const values = { automatic_provisioning: c.automaticProvisioning, settings_profile: c.settingsProfile };
      const row = await trx
        .insertInto('collections')
        .values({ name: c.name, ...values })
        .onConflict((oc) => oc.column('name').doUpdateSet({ ...values, updated_at: sql<Date>`now()` }))
        .returningAll()
        .executeTakeFirstOrThrow();
      return toCollection(row);
    });
  }

  async function require(name: string): Promise<Collection> {
    const collection = await get(name);
    if (!collection) throw new StoreError('COLLECTION_NOT_FOUND', `no collection named "${name}"`);
    return collection;
  }

  return {
    get,
    require,
    save,

    async list(): Promise<Collection[]> {
      return (await db.selectFrom('collections').selectAll().orderBy('name').execute()).map(toCollection);
    },

    /**
     * Deletes an empty collection and the roles held on it; COLLECTION_NOT_EMPTY while devices are
     * in it (move or forget them first), COLLECTION_NOT_FOUND if there is none.
     */
    async delete(name: string): Promise<void> {
      await inTransaction(db, async (trx) => {
        const devices = await trx
          .selectFrom('devices')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('collection', '=', name)
          .executeTakeFirstOrThrow();
        if (Number(devices.n) > 0)
          throw new StoreError('COLLECTION_NOT_EMPTY', `collection "${name}" still holds ${devices.n} device(s)`);
        const deleted = await trx.deleteFrom('collections').where('name', '=', name).executeTakeFirst();
        if (Number(deleted.numDeletedRows) === 0)
          throw new StoreError('COLLECTION_NOT_FOUND', `no collection named "${name}"`);
        await trx.deleteFrom('principal_roles').where('collection', '=', name).execute();
      });
    },

    /** Turns automatic provisioning of the whole collection on or off (DEP3). */
    async setAutomaticProvisioning(name: string, enabled: boolean): Promise<Collection> {
      const collection = await require(name);
      return save({ name, automaticProvisioning: enabled, settingsProfile: collection.settingsProfile });
    },
  };
}

export type CollectionRepository = ReturnType<typeof collectionRepository>;
