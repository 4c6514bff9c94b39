import { sql } from 'kysely';
import { migrate, readMigrations } from '../../../lib/store/migrate';
import { auditRepository } from '../../../lib/store/audit';
import { backends } from '../../support/databases';

describe.each(backends)('site database on $name', (backend) => {
  it('applies every numbered migration once, and a second run applies nothing', async () => {
    const database = await backend.open({ migrate: false });
    try {
      const all = readMigrations().map((m) => m.version);
      expect(await migrate(database)).toEqual(all);
      expect(await migrate(database)).toEqual([]);
      const rows = await sql<{ version: number }>`select version from schema_migrations order by version`.execute(
        database.db,
      );
      expect(rows.rows.map((r) => r.version)).toEqual(all);
    } finally {
      await database.close();
    }
  });

  it('keeps the audit log append-only', async () => {
    const database = await backend.open();
    try {
      const audit = auditRepository(database.db);
      const entry = await audit.append({
        actor: 'alice',
        action: 'device.provision',
        target: 'uuid-1',
        outcome: 'success',
      });
      expect(entry.id).toBeDefined();
      expect(await audit.forTarget('uuid-1')).toHaveLength(1);
      await expect(sql`update audit_log set actor = 'mallory'`.execute(database.db)).rejects.toThrow(/append-only/);
      await expect(sql`delete from audit_log`.execute(database.db)).rejects.toThrow(/append-only/);
      expect((await audit.forTarget('uuid-1'))[0]?.actor).toBe('alice');
    } finally {
      await database.close();
    }
  });
});
