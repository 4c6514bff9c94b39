import { sql } from 'kysely';
import { isStrongAmtPassword } from '../../../lib/crypto/passwords';
import { openDatabase, type Database } from '../../../lib/store/database';
import { createStore, StoreError, type CredentialRef } from '../../../lib/store';
import { backends } from '../../support/databases';
import { DEVICE, importDevices, OTHER_DEVICE, useStore } from './store-fixture';

const ACCOUNTS = [
  { name: 'factory', username: 'admin', password: 'P@ssw0rd' },
  { name: 'site-default', username: 'admin', password: 'Site#Default1' },
];

const ref = (version: number, kind: CredentialRef['kind'] = 'amt_admin'): CredentialRef => ({
  device: DEVICE,
  kind,
  version,
});

describe.each(backends)('write-ahead credential store on $name', (backend) => {
  const f = useStore(backend);
  const credentials = () => f.store.credentials;

  beforeEach(async () => {
    await importDevices(f.store, DEVICE, OTHER_DEVICE);
  });

  /** A second connection, as another process would have: it sees only what is committed. */
  async function withObserver<T>(fn: (observer: Database) => Promise<T>): Promise<T> {
    if (!f.database.url) return fn(f.database);
    const observer = await openDatabase({ url: f.database.url, migrate: false });
    try {
      return await fn(observer);
    } finally {
      await observer.close();
    }
  }

  it('commits a pending password before the device call, and promotes it after', async () => {
    const staged = await credentials().stagePending(DEVICE, 'amt_admin', 'wf-1/OOB8.4');
    expect(staged).toMatchObject({ version: 1, status: 'pending', username: 'admin', created: true });

    // The "device call": by now the value is committed, visible to any other connection.
    const value = await credentials().reveal(staged);
    expect(isStrongAmtPassword(value)).toBe(true);
    await withObserver(async (observer) => {
      const seen = await createStore(observer, f.box).credentials.list(DEVICE, 'amt_admin');
      expect(seen.map((c) => [c.version, c.status])).toEqual([[1, 'pending']]);
      expect(await createStore(observer, f.box).credentials.reveal(staged)).toBe(value);
    });
    expect(await credentials().current(DEVICE, 'amt_admin')).toBeUndefined();

    const promoted = await credentials().promote(staged);
    expect(promoted).toMatchObject({ version: 1, status: 'current' });
    expect((await credentials().current(DEVICE, 'amt_admin'))?.version).toBe(1);
  });

  it('retires the previous current in the same transaction as the promotion', async () => {
    await credentials().promote(await credentials().stagePending(DEVICE, 'amt_admin', 'wf-1/OOB8.4'));
    const second = await credentials().stagePending(DEVICE, 'amt_admin', 'wf-2/OOB8.4');
    await credentials().promote(second);
    const rows = await credentials().list(DEVICE, 'amt_admin');
    expect(rows.map((c) => [c.version, c.status])).toEqual([
      [2, 'current'],
      [1, 'retired'],
    ]);
    // One status change timestamp for both: they happened in one transaction.
    expect(rows[0]?.statusChangedAt).toEqual(rows[1]?.statusChangedAt);
  });

  it('keeps a pending password across a restart between the device call and the promotion', async () => {
    await credentials().promote(await credentials().stagePending(DEVICE, 'amt_admin', 'wf-1/OOB8.4'));
    const staged = await credentials().stagePending(DEVICE, 'amt_admin', 'wf-2/OOB8.4');
    const sent = await credentials().reveal(staged);
    // The worker dies here. A new process, with only the database and the key, finds the value.
    await withObserver(async (observer) => {
      const after = createStore(observer, f.box).credentials;
      const candidates = await after.digestCandidates(DEVICE, []);
      expect(candidates.map((c) => c.origin)).toEqual(['current', 'pending']);
      expect(await after.reveal(candidates[1]!.ref)).toBe(sent);
    });
  });

  it('returns the same pending version for the same idempotency key', async () => {
    const first = await credentials().stagePending(DEVICE, 'mebx', 'wf-1/OOB8.5');
    const again = await credentials().stagePending(DEVICE, 'mebx', 'wf-1/OOB8.5');
    expect(again).toMatchObject({ version: first.version, created: false });
    expect(await credentials().reveal(again)).toBe(await credentials().reveal(first));
    expect(await credentials().list(DEVICE, 'mebx')).toHaveLength(1);

    // Also after the promotion: the retried activity sees the version is already current.
    await credentials().promote(first);
    expect(await credentials().stagePending(DEVICE, 'mebx', 'wf-1/OOB8.5')).toMatchObject({
      version: 1,
      status: 'current',
      created: false,
    });
  });

  it('accepts a given value, and refuses the same key with another value, device or kind', async () => {
    const configured = 'Mb9$tYw3nQe5uJ@c';
    const staged = await credentials().stagePending(DEVICE, 'mebx', 'wf-1/OOB8.5', { value: configured });
    expect(await credentials().reveal(staged)).toBe(configured);
    expect(await credentials().stagePending(DEVICE, 'mebx', 'wf-1/OOB8.5', { value: configured })).toMatchObject({
      created: false,
    });

    const other = 'Other#Value77x';
    const conflicts = [
      () => credentials().stagePending(DEVICE, 'mebx', 'wf-1/OOB8.5', { value: other }),
      () => credentials().stagePending(DEVICE, 'amt_admin', 'wf-1/OOB8.5'),
      () => credentials().stagePending(OTHER_DEVICE, 'mebx', 'wf-1/OOB8.5'),
    ];
    for (const attempt of conflicts) {
      const err = (await attempt().catch((e: unknown) => e)) as StoreError;
      expect(err).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
      expect(err.message).not.toContain(other);
      expect(err.message).not.toContain(configured);
    }
  });

  // AMT's strong-password rule: `_` is alphanumeric and space is no symbol, so `Location_1` and
  // `Abcdefg1 x` lack the symbol firmware requires; non-ASCII is refused outright.
  it.each(['weakpassword', 'Location_1', 'Abcdefg1 x', 'Şifre123x!'])(
    'refuses the given admin password %j without repeating it',
    async (value) => {
      const err = await credentials()
        .stagePending(DEVICE, 'amt_admin', 'wf-1/OOB8.4', { value })
        .catch((e: unknown) => e as StoreError);
      expect(err).toMatchObject({ code: 'INVALID_INPUT' });
      expect((err as StoreError).message).not.toContain(value);
      expect(await credentials().list(DEVICE)).toEqual([]);
    },
  );

  it('does not lose or duplicate a version when stages and promotions race', async () => {
    const first = await credentials().stagePending(DEVICE, 'amt_admin', 'wf-1/OOB8.4');
    const raced = await Promise.all([
      credentials().promote(first),
      credentials().stagePending(DEVICE, 'amt_admin', 'wf-2/a'),
      credentials().stagePending(DEVICE, 'amt_admin', 'wf-2/b'),
      credentials().stagePending(DEVICE, 'amt_admin', 'wf-2/a'),
      credentials().promote(first),
      ...Array.from({ length: 12 }, (_, i) => credentials().stagePending(DEVICE, 'amt_admin', `wf-3/${i}`)),
    ]);
    const [, a, b, aAgain] = raced;
    expect(aAgain?.version).toBe(a?.version);
    const rows = await credentials().list(DEVICE, 'amt_admin');
    expect(rows.map((c) => c.version).sort((x, y) => x - y)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(rows.filter((c) => c.status === 'current').map((c) => c.version)).toEqual([1]);

    // Two promotions race: whichever order they run in, the newer ends current and nothing is lost.
    const [older, newer] = [a!.version, b!.version].sort((x, y) => x - y) as [number, number];
    await Promise.allSettled([credentials().promote(ref(older)), credentials().promote(ref(newer))]);
    const after = await credentials().list(DEVICE, 'amt_admin');
    expect(after).toHaveLength(15);
    expect(after.filter((c) => c.status === 'current').map((c) => c.version)).toEqual([newer]);
    expect(
      after
        .filter((c) => c.status === 'retired')
        .map((c) => c.version)
        .sort((x, y) => x - y),
    ).toEqual(Array.from({ length: newer - 1 }, (_, i) => i + 1));
    expect(after.filter((c) => c.status === 'pending').every((c) => c.version > newer)).toBe(true);
  });

  it('lists Digest candidates: current, pending, retired (newest first), the MEBx password, then provisioning accounts', async () => {
    const stage = (key: string) => credentials().stagePending(DEVICE, 'amt_admin', key);
    for (const key of ['k1', 'k2', 'k3']) await credentials().promote(await stage(key));
    const refused = await stage('k4');
    await credentials().discard(refused);
    await stage('k5');
    await stage('k6');
    await credentials().promote(await credentials().stagePending(DEVICE, 'mebx', 'k7'));
    await credentials().stagePending(OTHER_DEVICE, 'amt_admin', 'k8');

    const candidates = await credentials().digestCandidates(DEVICE.toUpperCase(), ACCOUNTS);
    expect(candidates.map((c) => [c.origin, 'account' in c.ref ? c.ref.account : c.ref.version])).toEqual([
      ['current', 3],
      ['pending', 6],
      ['pending', 5],
      ['retired', 2],
      ['retired', 1],
      ['mebx', 1],
      ['provisioning_account', 'factory'],
      ['provisioning_account', 'site-default'],
    ]);
    expect(candidates.every((c) => c.username === 'admin')).toBe(true);
    // Candidates are references only: nothing in them is a password.
    const revealed = await Promise.all(candidates.map((c) => credentials().reveal(c.ref, ACCOUNTS)));
    for (const value of revealed) expect(JSON.stringify(candidates)).not.toContain(value);
    expect(revealed.slice(-2)).toEqual(['P@ssw0rd', 'Site#Default1']);
    expect(new Set(revealed).size).toBe(revealed.length);

    const capped = await credentials().digestCandidates(DEVICE, [], { retiredLimit: 1 });
    expect(capped.map((c) => c.origin)).toEqual(['current', 'pending', 'pending', 'retired', 'mebx']);
    await expect(credentials().reveal({ account: 'nobody' }, ACCOUNTS)).rejects.toMatchObject({
      code: 'PROVISIONING_ACCOUNT_NOT_FOUND',
    });
  });

  it('promotes and discards only pending versions, and repeats both harmlessly', async () => {
    const v1 = await credentials().stagePending(DEVICE, 'directory_account', 'wf-1/I3');
    const v2 = await credentials().stagePending(DEVICE, 'directory_account', 'wf-1/I3b');
    await credentials().promote(v2);
    expect(await credentials().promote(v2)).toMatchObject({ status: 'current' });
    // v1 was older than the promoted v2: retired, still a fallback, no longer promotable.
    await expect(credentials().promote(v1)).rejects.toMatchObject({ code: 'CREDENTIAL_NOT_PENDING' });
    await expect(credentials().discard(v2)).rejects.toMatchObject({ code: 'CREDENTIAL_NOT_PENDING' });
    const v3 = await credentials().stagePending(DEVICE, 'directory_account', 'wf-2/I3');
    await credentials().discard(v3);
    expect(await credentials().discard(v3)).toMatchObject({ status: 'discarded' });
    await expect(credentials().promote(v3)).rejects.toMatchObject({ code: 'CREDENTIAL_NOT_PENDING' });
    await expect(credentials().promote({ ...v3, version: 99 })).rejects.toMatchObject({ code: 'CREDENTIAL_NOT_FOUND' });
    await expect(credentials().stagePending(OTHER_DEVICE.replace(/^1/, '2'), 'mebx', 'x')).rejects.toMatchObject({
      code: 'DEVICE_NOT_FOUND',
    });
  });

  it('keeps its invariants in the database itself', async () => {
    const staged = await credentials().stagePending(DEVICE, 'amt_admin', 'wf-1/OOB8.4');
    await credentials().promote(staged);
    const db = f.database.db;
    await expect(sql`delete from credentials`.execute(db)).rejects.toThrow(/never deleted/);
    await expect(sql`update credentials set sealed = 'x'`.execute(db)).rejects.toThrow(/immutable/);
    await expect(sql`update credentials set status = 'pending'`.execute(db)).rejects.toThrow(/cannot change/);
    await expect(
      sql`insert into credentials (device, kind, version, status, sealed, idempotency_key)
          values (${DEVICE}, 'amt_admin', 2, 'current', 'x', 'manual')`.execute(db),
    ).rejects.toThrow(/credentials_one_current_idx/);
  });

  it('binds each sealed value to its device, kind and version', async () => {
    const staged = await credentials().stagePending(DEVICE, 'amt_admin', 'wf-1/OOB8.4');
    // A ciphertext copied into another device's row does not open there.
    await sql`insert into credentials (device, kind, version, status, sealed, idempotency_key)
              select ${OTHER_DEVICE}, kind, version, status, sealed, 'copied' from credentials`.execute(f.database.db);
    await expect(credentials().reveal({ ...staged, device: OTHER_DEVICE })).rejects.toMatchObject({
      code: 'SECRET_TAMPERED',
    });
  });
});
