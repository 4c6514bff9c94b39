import { sql } from 'kysely';
import { profileSecretName, type StoreError } from '../../../lib/store';
import { backends } from '../../support/databases';
import { SAMPLE_SECRETS, sampleProfile } from '../../unit/store/sample-profile';
import { useStore } from './store-fixture';

describe.each(backends)('AMT settings profiles on $name', (backend) => {
  const f = useStore(backend);

  it('stores the settings as jsonb and each secret sealed apart', async () => {
    const saved = await f.store.profiles.save('desktops', sampleProfile());
    expect(saved).toMatchObject({ name: 'desktops', revision: 1 });
    expect(saved.settings.wireless.map((w) => w.name)).toEqual(['corpPsk', 'corp1x']);
    expect(saved.secretNames).toEqual(
      [
        profileSecretName.digestUser('auditor'),
        profileSecretName.mebx(),
        profileSecretName.wiredIeee8021x(),
        profileSecretName.wirelessIeee8021x('corp1x'),
        profileSecretName.wirelessPassphrase('corpPsk'),
      ].sort(),
    );
    expect(await f.store.profiles.revealSecret('desktops', profileSecretName.wirelessPassphrase('corpPsk'))).toBe(
      SAMPLE_SECRETS.passphrase,
    );
    expect(await f.store.profiles.revealSecret('desktops', profileSecretName.mebx())).toBe(SAMPLE_SECRETS.mebxPassword);

    const raw = await sql<{ row: string }>`select row(p.*)::text as row from settings_profiles p
                                            union all select row(s.*)::text from profile_secrets s`.execute(
      f.database.db,
    );
    const everything = raw.rows.map((r) => r.row).join('\n');
    for (const secret of Object.values(SAMPLE_SECRETS)) expect(everything).not.toContain(secret);
    expect(await f.store.profiles.require('desktops')).toEqual(saved);
  });

  it('replaces a profile whole and bumps its revision', async () => {
    await f.store.profiles.save('desktops', sampleProfile());
    const replaced = await f.store.profiles.save('desktops', { ping: false, mebx: { policy: 'random' } });
    expect(replaced).toMatchObject({ revision: 2, secretNames: [] });
    expect(replaced.settings).toMatchObject({ ping: false, wireless: [], mebx: { policy: 'random' } });
    await expect(f.store.profiles.revealSecret('desktops', profileSecretName.mebx())).rejects.toMatchObject({
      code: 'PROFILE_SECRET_NOT_FOUND',
    });
    expect(await f.store.profiles.list()).toEqual(['desktops']);
  });

  it('refuses an invalid profile with a typed error naming the field, and stores nothing', async () => {
    const input = sampleProfile();
    input.wireless![0]!.priority = 256;
    const err = (await f.store.profiles.save('desktops', input).catch((e: unknown) => e)) as StoreError;
    expect(err).toMatchObject({ code: 'INVALID_PROFILE', issues: [{ field: 'wireless.0.priority' }] });
    expect(err.message).toMatch(/^invalid AMT settings profile "desktops": wireless\.0\.priority: /);
    expect(await f.store.profiles.get('desktops')).toBeUndefined();
    await expect(f.store.profiles.save('../etc', {})).rejects.toMatchObject({ code: 'INVALID_PROFILE' });
    await expect(f.store.profiles.require('laptops')).rejects.toMatchObject({ code: 'PROFILE_NOT_FOUND' });
  });

  it('binds each secret to its profile, revision and name', async () => {
    await f.store.profiles.save('desktops', sampleProfile());
    await f.store.profiles.save('laptops', sampleProfile());
    // A ciphertext moved to another profile does not open there.
    await sql`update profile_secrets set sealed = (select sealed from profile_secrets
              where profile = 'desktops' and name = 'mebx') where profile = 'laptops' and name = 'mebx'`.execute(
      f.database.db,
    );
    await expect(f.store.profiles.revealSecret('laptops', 'mebx')).rejects.toMatchObject({ code: 'SECRET_TAMPERED' });
  });
});
