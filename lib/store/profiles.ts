import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import type { SecretBox } from '../crypto/secret-box';
import { parseInput, StoreError } from './errors';
import {
  amtSettingsInputSchema,
  amtSettingsSchema,
  profileSecretName,
  type AmtSettings,
  type AmtSettingsInput,
} from './profile-settings';
import type { Schema } from './schema';
import { inTransaction } from './transaction';

export interface SettingsProfile {
  name: string;
  /** Bumped on every save; results record which revision a device received. */
  revision: number;
  settings: AmtSettings;
  /** Names of the sealed secrets (see `profileSecretName`), for `revealSecret`. */
  secretNames: string[];
  createdAt: Date;
  updatedAt: Date;
}

const profileNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, 'must be 1–64 letters, digits, spaces, dots, dashes or underscores');

type ParsedInput = z.output<typeof amtSettingsInputSchema>;

/**
 * Takes every secret out of validated input: the settings that remain are stored as jsonb, the
 * secrets are sealed one per row under the names stage two asks for. The remainder is parsed with
 * the stored schema, which refuses any secret slot that is not empty.
 */
export function splitProfileSecrets(input: ParsedInput): { settings: AmtSettings; secrets: Map<string, string> } {
  const secrets = new Map<string, string>();
  // Every slot holds a string once the input schema passed; the stored schema below checks the rest.
  const pull = <T extends Record<K, unknown>, K extends string>(holder: T, key: K, secretName: string) => {
    const { [key]: value, ...rest } = holder;
    secrets.set(secretName, value as string);
    return rest;
  };
  const withoutEapPassword = <T extends object>(config: T, secretName: string) =>
    'password' in config ? pull(config, 'password', secretName) : config;
  const remainder = {
    ...input,
    userAccounts: input.userAccounts.map((account) =>
      account.type === 'digest' ? pull(account, 'password', profileSecretName.digestUser(account.username)) : account,
    ),
    wireless: input.wireless.map((profile) =>
      'passphrase' in profile
        ? pull(profile, 'passphrase', profileSecretName.wirelessPassphrase(profile.name))
        : {
            ...profile,
            ieee8021x: withoutEapPassword(profile.ieee8021x, profileSecretName.wirelessIeee8021x(profile.name)),
          },
    ),
    wiredIeee8021x:
      input.wiredIeee8021x && withoutEapPassword(input.wiredIeee8021x, profileSecretName.wiredIeee8021x()),
    mebx: input.mebx.policy === 'set' ? pull(input.mebx, 'password', profileSecretName.mebx()) : input.mebx,
  };
  return { settings: amtSettingsSchema.parse(remainder), secrets };
}

export const profileSecretAssociatedData = (profile: string, revision: number, name: string) =>
  `profile-secret:${profile}:${revision}:${name}`;

/** AMT settings profiles and their sealed secrets. */
export function profileRepository(db: Kysely<Schema>, box: SecretBox) {
  async function load(trx: Kysely<Schema>, name: string): Promise<SettingsProfile | undefined> {
    const row = await trx.selectFrom('settings_profiles').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) return undefined;
    const secretRows = await trx
      .selectFrom('profile_secrets')
      .select('name')
      .where('profile', '=', name)
      .orderBy('name')
      .execute();
    return {
      name: row.name,
      revision: row.revision,
      settings: parseInput(amtSettingsSchema, row.settings, `stored settings of profile "${name}"`, 'INVALID_PROFILE'),
      secretNames: secretRows.map((s) => s.name),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  const get = (name: string) => inTransaction(db, (trx) => load(trx, name));

  return {
    /**
     * Creates the profile or replaces it whole: settings and secrets are validated together, and a
     * replaced profile keeps no secret of its previous revision.
     */
    async save(name: string, input: AmtSettingsInput): Promise<SettingsProfile> {
      const profile = parseInput(profileNameSchema, name, 'profile name', 'INVALID_PROFILE');
      const parsed = parseInput(amtSettingsInputSchema, input, `AMT settings profile "${profile}"`, 'INVALID_PROFILE');
      const { settings, secrets } = splitProfileSecrets(parsed);
      return inTransaction(db, async (trx) => {
        const { revision } = await trx
          .insertInto('settings_profiles')
          .values({ name: profile, settings })
          .onConflict((oc) =>
            oc.column('name').doUpdateSet({
              settings,
              revision: sql<number>`settings_profiles.revision + 1`,
              updated_at: sql<Date>`now()`,
            }),
          )
          .returning('revision')
          .executeTakeFirstOrThrow();
        await trx.deleteFrom('profile_secrets').where('profile', '=', profile).execute();
        if (secrets.size > 0) {
          await trx
            .insertInto('profile_secrets')
            .values(
              [...secrets].map(([secretName, value]) => ({
                profile,
                name: secretName,
                sealed: box.seal(value, profileSecretAssociatedData(profile, revision, secretName)),
              })),
            )
            .execute();
        }
        return (await load(trx, profile)) as SettingsProfile;
      });
    },

    get,

    async require(name: string): Promise<SettingsProfile> {
      const profile = await get(name);
      if (!profile) throw new StoreError('PROFILE_NOT_FOUND', `no AMT settings profile named "${name}"`);
      return profile;
    },

    async list(): Promise<string[]> {
      const rows = await db.selectFrom('settings_profiles').select('name').orderBy('name').execute();
      return rows.map((r) => r.name);
    },

    /** Deletes a profile no collection uses; PROFILE_IN_USE names the collections that do. */
    async delete(name: string): Promise<void> {
      await inTransaction(db, async (trx) => {
        const users = await trx.selectFrom('collections').select('name').where('settings_profile', '=', name).execute();
        if (users.length > 0)
          throw new StoreError(
            'PROFILE_IN_USE',
            `profile "${name}" is the settings profile of ${users.map((u) => `"${u.name}"`).join(', ')}`,
          );
        const deleted = await trx.deleteFrom('settings_profiles').where('name', '=', name).executeTakeFirst();
        if (Number(deleted.numDeletedRows) === 0)
          throw new StoreError('PROFILE_NOT_FOUND', `no AMT settings profile named "${name}"`);
      });
    },

    /**
     * UPD1: the provisioned devices whose collection uses the profile — after a change of the
     * profile, these hold settings of an older revision until an update runs.
     */
    async provisionedDevicesUsing(name: string): Promise<string[]> {
      const rows = await db
        .selectFrom('devices')
        .innerJoin('collections', 'collections.name', 'devices.collection')
        .select('devices.uuid')
        .where('collections.settings_profile', '=', name)
        .where('devices.provisioning_state', '=', 'provisioned')
        .orderBy('devices.uuid')
        .execute();
      return rows.map((r) => r.uuid);
    },

    /** Opens one secret of the profile, e.g. `profileSecretName.wirelessPassphrase('corp')`, for the activity that applies it. */
    async revealSecret(profile: string, secretName: string): Promise<string> {
      const row = await db
        .selectFrom('profile_secrets')
        .innerJoin('settings_profiles', 'settings_profiles.name', 'profile_secrets.profile')
        .select(['profile_secrets.sealed', 'settings_profiles.revision'])
        .where('profile_secrets.profile', '=', profile)
        .where('profile_secrets.name', '=', secretName)
        .executeTakeFirst();
      if (!row) {
        throw new StoreError('PROFILE_SECRET_NOT_FOUND', `profile "${profile}" has no secret named "${secretName}"`);
      }
      return box.openText(row.sealed, profileSecretAssociatedData(profile, row.revision, secretName));
    },
  };
}

export type ProfileRepository = ReturnType<typeof profileRepository>;
