import { randomUUID } from 'node:crypto';
import { contactRepository } from '../../../lib/store/contacts';
import { backends } from '../../support/databases';

describe.each(backends)('device contacts on $name', (backend) => {
  it('keeps the last hello (address, root hashes, count) and lets an agent report change only the address', async () => {
    const database = await backend.open();
    try {
      const uuid = randomUUID();
      await database.db
        .insertInto('devices')
        .values({ uuid, host_name: 'amt-0001', domain: 'corp.example.test' })
        .execute();
      const contacts = contactRepository(database.db);
      expect(await contacts.get(uuid)).toBeUndefined();

      const hashes = [{ algorithm: 'sha256' as const, hex: 'ab'.repeat(32) }];
      await contacts.recordHello(uuid, { host: '127.20.0.1', rootHashes: hashes, adminCredentialsSet: false });
      await contacts.recordHello(uuid, { host: '127.20.0.2', rootHashes: hashes, adminCredentialsSet: false });
      expect(await contacts.get(uuid)).toMatchObject({
        host: '127.20.0.2',
        httpPort: 16992,
        tlsPort: 16993,
        source: 'hello',
        rootHashes: hashes,
        hellos: 2,
      });

      await contacts.recordAgentReport(uuid, { host: '127.20.0.3', tlsPort: 26993 });
      expect(await contacts.get(uuid)).toMatchObject({
        host: '127.20.0.3',
        tlsPort: 26993,
        source: 'agent',
        rootHashes: hashes,
        hellos: 2,
      });
    } finally {
      await database.close();
    }
  });

  it('refuses a contact for a device that was never imported', async () => {
    const database = await backend.open();
    try {
      await expect(contactRepository(database.db).recordHello(randomUUID(), { host: '127.0.0.9' })).rejects.toThrow();
    } finally {
      await database.close();
    }
  });
});
