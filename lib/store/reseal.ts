import { sql, type Kysely } from 'kysely';
import type { SecretBox } from '../crypto/secret-box';
import { certificateKeyAssociatedData } from './certificates';
import { credentialAssociatedData } from './credentials';
import { profileSecretAssociatedData } from './profiles';
import type { Schema } from './schema';
import { inTransaction } from './transaction';

export interface StoreResealCounts {
  credentials: number;
  profileSecrets: number;
  certificateKeys: number;
}

/**
 * Key rotation, step two, for the site database: every credential, profile secret and certificate
 * private key sealed under an older key is opened and sealed again, same plaintext and same
 * associated data, under the current key — in one transaction, so a crash leaves all of them or
 * none moved (and a second run finds only what is left). Values already under the current key are
 * not touched. The transaction declares itself a reseal, the one change the credentials guard
 * allows to `sealed` (migration 0005).
 */
export function resealStore(db: Kysely<Schema>, box: SecretBox): Promise<StoreResealCounts> {
  return inTransaction(db, async (trx) => {
    await sql`select set_config('amtflow.reseal', 'on', true)`.execute(trx);
    let credentials = 0;
    const rows = await trx.selectFrom('credentials').select(['id', 'device', 'kind', 'version', 'sealed']).execute();
    for (const row of rows) {
      const sealed = box.reseal(row.sealed, credentialAssociatedData(row));
      if (sealed === undefined) continue;
      await trx.updateTable('credentials').set({ sealed }).where('id', '=', row.id).execute();
      credentials++;
    }
    let profileSecrets = 0;
    const secrets = await trx
      .selectFrom('profile_secrets')
      .innerJoin('settings_profiles', 'settings_profiles.name', 'profile_secrets.profile')
      .select([
        'profile_secrets.profile',
        'profile_secrets.name',
        'profile_secrets.sealed',
        'settings_profiles.revision',
      ])
      .execute();
    for (const row of secrets) {
      const sealed = box.reseal(row.sealed, profileSecretAssociatedData(row.profile, row.revision, row.name));
      if (sealed === undefined) continue;
      await trx
        .updateTable('profile_secrets')
        .set({ sealed })
        .where('profile', '=', row.profile)
        .where('name', '=', row.name)
        .execute();
      profileSecrets++;
    }
    let certificateKeys = 0;
    for (const row of await trx.selectFrom('certificate_private_keys').select(['serial', 'sealed_key']).execute()) {
      const sealed = box.reseal(row.sealed_key, certificateKeyAssociatedData(row.serial));
      if (sealed === undefined) continue;
      await trx
        .updateTable('certificate_private_keys')
        .set({ sealed_key: sealed })
        .where('serial', '=', row.serial)
        .execute();
      certificateKeys++;
    }
    return { credentials, profileSecrets, certificateKeys };
  });
}
