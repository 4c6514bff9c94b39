import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { SecretBox } from '../../../lib/crypto/secret-box';
import { createStore, type Store } from '../../../lib/store';
import type { TestBackend, TestDatabase } from '../../support/databases';

export interface StoreFixture {
  database: TestDatabase;
  box: SecretBox;
  store: Store;
}

/**
 * One migrated database of `backend` per test file (a PGlite takes seconds to start), emptied
 * before each test, with a new key and store. TRUNCATE is what makes emptying possible: the
 * credential and audit guards refuse DELETE, as they should. CASCADE also empties tables of other
 * areas that reference devices.
 */
export function useStore(backend: TestBackend): StoreFixture {
  const fixture = {} as StoreFixture;
  beforeAll(async () => {
    fixture.database = await backend.open();
  });
  beforeEach(async () => {
    await sql`truncate settings_profiles, profile_secrets, collections, devices, credentials, directory_objects,
              otp_hashes, provisioning_results, audit_log restart identity cascade`.execute(fixture.database.db);
    fixture.box = new SecretBox(randomBytes(32));
    fixture.store = createStore(fixture.database, fixture.box);
  });
  afterAll(async () => {
    await fixture.database?.close();
  });
  return fixture;
}

export const DEVICE = '8c6e0d4a-3f1b-4b8e-9a51-2f0c7d9e6b13';
export const OTHER_DEVICE = '1f2e3d4c-5b6a-4789-8a9b-0c1d2e3f4a5b';

export async function importDevices(store: Store, ...uuids: string[]): Promise<void> {
  for (const [i, uuid] of uuids.entries()) {
    await store.devices.importComputer({ uuid, hostName: `pc${i + 1}`, domain: 'corp.example.test' });
  }
}
