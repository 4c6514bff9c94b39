import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { forgottenRepository } from '../../../lib/store/forgotten';
import { backends } from '../../support/databases';
import { useStore } from './store-fixture';

/**
 * Forgetting a device in the site database (issue 11 §2) on both backends: everything of the device
 * and its secrets goes in one transaction, the forgotten record and the certificate records stay, a
 * retry under the same key changes nothing, and credentials stay undeletable outside a forget.
 */
describe.each(backends)('forgetting a device on $name', (backend) => {
  const f = useStore(backend);

  async function deviceWithRecords() {
    const uuid = randomUUID();
    await f.store.devices.importComputer({ uuid, hostName: `pc-${uuid.slice(0, 8)}`, domain: 'corp.example.test' });
    const admin = await f.store.credentials.stagePending(uuid, 'amt_admin', `test/${uuid}/admin`, {
      value: 'F0rget!me-2026',
    });
    await f.store.credentials.promote(admin);
    await f.store.contacts.recordHello(uuid, {
      host: '192.0.2.44',
      httpPort: 16992,
      tlsPort: 16993,
      rootHashes: [],
      adminCredentialsSet: true,
    });
    await f.store.directoryObjects.save(uuid, {
      dn: `CN=pc,OU=AMT,DC=corp,DC=example,DC=test`,
      spns: [],
      windowsComputerDn: null,
      keyVersion: 2,
      status: 'deleted',
    });
    return uuid;
  }
  const forget = (device: string, key: string) =>
    f.store.forgotten.forget({
      device,
      reason: 'scrapped',
      by: 'alice',
      workflowId: `amt-device-${device}`,
      idempotencyKey: key,
    });
  const count = async (table: string, device: string) =>
    Number(
      (
        await sql<{ n: string }>`select count(*) as n from ${sql.table(table)} where device = ${device}`.execute(
          f.database.db,
        )
      ).rows[0]?.n,
    );

  it('removes the device and its secrets in one transaction and keeps the record of it', async () => {
    const uuid = await deviceWithRecords();
    const other = await deviceWithRecords();
    const { forgotten, counts } = await forget(uuid, `amt-device-${uuid}/run/DEP2.forget`);
    expect(forgotten).toMatchObject({ device: uuid, reason: 'scrapped', forgottenBy: 'alice', collection: null });
    expect(counts).toMatchObject({ credentials: 1, contacts: 1, directoryObjects: 1 });
    expect(await f.store.devices.get(uuid)).toBeUndefined();
    for (const table of ['credentials', 'device_contacts', 'directory_objects'])
      expect(await count(table, uuid)).toBe(0);
    // The other device keeps everything.
    expect(await count('credentials', other)).toBe(1);
    expect(await f.store.contacts.get(other)).toBeDefined();

    // A retry after the commit finds the row; it removes nothing more and writes nothing twice.
    const retry = await forget(uuid, `amt-device-${uuid}/run/DEP2.forget`);
    expect(retry.counts).toBeUndefined();
    expect(await f.store.forgotten.forDevice(uuid)).toHaveLength(1);
    // A new forget of a device amtflow no longer knows is refused, typed.
    await expect(forget(uuid, `amt-device-${uuid}/run2/DEP2.forget`)).rejects.toMatchObject({
      code: 'DEVICE_NOT_FOUND',
    });
  });

  it('keeps credentials undeletable outside the transaction that forgets their device', async () => {
    const uuid = await deviceWithRecords();
    const other = await deviceWithRecords();
    await expect(sql`delete from credentials where device = ${uuid}`.execute(f.database.db)).rejects.toThrow(
      /never deleted/,
    );
    // The forget of one device opens no door to another's credentials.
    await expect(
      f.database.db.transaction().execute(async (trx) => {
        await forgottenRepository(trx).forget({
          device: uuid,
          reason: 'stolen',
          by: 'alice',
          workflowId: 'w',
          idempotencyKey: `k/${uuid}`,
        });
        await sql`delete from credentials where device = ${other}`.execute(trx);
      }),
    ).rejects.toThrow(/never deleted/);
    // All or nothing: the refused delete rolled the forget back.
    expect(await f.store.devices.get(uuid)).toBeDefined();
    expect(await f.store.forgotten.forDevice(uuid)).toEqual([]);
  });
});
