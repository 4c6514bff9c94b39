import pg from 'pg';
import { sql } from 'kysely';
import { waitFor } from '../../../scripts/lib/process';
import { backends, POSTGRES_ADMIN_URL, type TestDatabase } from '../../support/databases';

/**
 * PostgreSQL terminating amtflow's connections (a restart, a failover, an administrator) while a
 * transaction holds one between two statements: the transaction fails with an error, the process
 * lives on, and the next query gets a fresh connection. Found by the chaos suite (issue 16), where
 * the worker died of the unhandled 'error' event of the checked-out client.
 */
describe('a PostgreSQL connection cut in the middle of a transaction', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await backends.find((b) => b.name === 'postgres')!.open();
  });
  afterAll(async () => database?.close());

  /** The other backends of this database, terminated first when asked. */
  async function others(terminate: boolean): Promise<number> {
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      const name = new URL(database.url!).pathname.slice(1);
      const { rowCount } = await admin.query(
        `select ${terminate ? 'pg_terminate_backend(pid)' : 'pid'} from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
        [name],
      );
      return rowCount ?? 0;
    } finally {
      await admin.end();
    }
  }

  it('fails the transaction, not the process, and the next query works', async () => {
    const transaction = database.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      expect(await others(true)).toBeGreaterThan(0);
      await waitFor('the terminated backend to be gone', async () => (await others(false)) === 0, 10_000, 20);
      await sql`select 2`.execute(trx);
    });
    // The statement fails on the dead connection, and so does the rollback that follows.
    await expect(transaction).rejects.toThrow(/terminated|not queryable/);
    const { rows } = await sql<{ answer: number }>`select 42 as answer`.execute(database.db);
    expect(rows).toEqual([{ answer: 42 }]);
  });
});
