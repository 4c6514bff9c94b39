import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { SecretBox } from '../../../lib/crypto/secret-box';
import { createStore } from '../../../lib/store';
import { certificateKeyAssociatedData, certificatesRepository } from '../../../lib/store/certificates';
import { resealStore } from '../../../lib/store/reseal';
import { backends } from '../../support/databases';
import { SAMPLE_SECRETS, sampleProfile } from '../../unit/store/sample-profile';
import { DEVICE, importDevices, useStore } from './store-fixture';

const keyIdOf = (sealed: string) => sealed.split('.')[1];

/** Issue 12 §5: key rotation moves every sealed column onto the new key without changing a value. */
describe.each(backends)('resealing the site database on $name', (backend) => {
  const fixture = useStore(backend);

  it('moves every credential, profile secret and certificate key onto the newest key, values unchanged', async () => {
    const { database } = fixture;
    const oldKey = randomBytes(32);
    const oldBox = new SecretBox(oldKey);
    const store = createStore(database, oldBox);
    await importDevices(store, DEVICE);
    const admin = await store.credentials.stagePending(DEVICE, 'amt_admin', 'wf/OOB8.4');
    await store.credentials.promote(admin);
    const mebx = await store.credentials.stagePending(DEVICE, 'mebx', 'wf/OOB8.5');
    const adminValue = await store.credentials.reveal(admin);
    const mebxValue = await store.credentials.reveal(mebx);
    await store.profiles.save('desktops', sampleProfile());
    const serial = randomBytes(8).toString('hex');
    await certificatesRepository(database.db).recordIssue(
      {
        serial,
        requestId: `req-${serial}`,
        requestFingerprint: 'f'.repeat(64),
        template: 'amt-web-server',
        deviceUuid: DEVICE,
        dnsName: 'pc1.corp.example.test',
        subject: 'CN=pc1.corp.example.test',
        issuerSha256: 'a'.repeat(64),
        keySource: 'amtflow',
        certificatePem: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 86_400_000),
      },
      oldBox.seal('PRIVATE KEY PEM', certificateKeyAssociatedData(serial)),
    );

    const newKey = randomBytes(32);
    const rotated = new SecretBox(newKey, [oldKey]);
    expect(await resealStore(database.db, rotated)).toEqual({ credentials: 2, profileSecrets: 5, certificateKeys: 1 });
    expect(await resealStore(database.db, rotated)).toEqual({ credentials: 0, profileSecrets: 0, certificateKeys: 0 });

    const sealedValues = [
      ...(await database.db.selectFrom('credentials').select('sealed').execute()).map((r) => r.sealed),
      ...(await database.db.selectFrom('profile_secrets').select('sealed').execute()).map((r) => r.sealed),
      ...(await database.db.selectFrom('certificate_private_keys').select('sealed_key').execute()).map(
        (r) => r.sealed_key,
      ),
    ];
    expect(new Set(sealedValues.map(keyIdOf))).toEqual(new Set([rotated.currentKeyId]));

    // The new key alone opens everything: nothing is left that needs the old one.
    const newOnly = createStore(database, new SecretBox(newKey));
    expect(await newOnly.credentials.reveal(admin)).toBe(adminValue);
    expect(await newOnly.credentials.reveal(mebx)).toBe(mebxValue);
    expect(await newOnly.profiles.revealSecret('desktops', 'mebx')).toBe(SAMPLE_SECRETS.mebxPassword);
    const sealedKey = await certificatesRepository(database.db).sealedKey(serial);
    expect(new SecretBox(newKey).openText(sealedKey!, certificateKeyAssociatedData(serial))).toBe('PRIVATE KEY PEM');
  });

  it('still refuses any other change of a sealed credential', async () => {
    const { store, database } = fixture;
    await importDevices(store, DEVICE);
    await store.credentials.stagePending(DEVICE, 'amt_admin', 'wf/OOB8.4');
    await expect(
      sql`update credentials set sealed = 'v1.x.y.z.w' where device = ${DEVICE}`.execute(database.db),
    ).rejects.toThrow(/immutable except for its status/);
  });
});
