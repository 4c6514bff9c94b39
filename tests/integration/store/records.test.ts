import { createHash } from 'node:crypto';
import type { StoreError } from '../../../lib/store';
import { backends } from '../../support/databases';
import { DEVICE, importDevices, OTHER_DEVICE, useStore } from './store-fixture';

const sha256 = (otp: string) => createHash('sha256').update(otp).digest('hex');

describe.each(backends)('directory objects, OTP hashes and results on $name', (backend) => {
  const f = useStore(backend);

  beforeEach(async () => {
    await importDevices(f.store, DEVICE, OTHER_DEVICE);
  });

  it('records the AMT account, pending before the directory write, then published', async () => {
    const account = {
      dn: 'CN=pc1,OU=AMT Devices,DC=corp,DC=example,DC=test',
      spns: ['HTTP/pc1.corp.example.test:16992', 'HTTP/pc1.corp.example.test:16993'],
      windowsComputerDn: 'CN=PC1,OU=Computers,DC=corp,DC=example,DC=test',
      keyVersion: null,
      status: 'pending' as const,
    };
    expect(await f.store.directoryObjects.save(DEVICE, account)).toMatchObject({
      status: 'pending',
      spns: account.spns,
    });
    await f.store.directoryObjects.save(DEVICE, { ...account, keyVersion: 2, status: 'published' });
    expect(
      await f.store.directoryObjects.save(DEVICE, { ...account, keyVersion: 2, status: 'published' }),
    ).toMatchObject({ keyVersion: 2, status: 'published' });
    expect(await f.store.directoryObjects.get(DEVICE.toUpperCase())).toMatchObject({ device: DEVICE, keyVersion: 2 });
    expect(await f.store.directoryObjects.get(OTHER_DEVICE)).toBeUndefined();
    await expect(f.store.directoryObjects.save(DEVICE, { ...account, spns: ['not an spn'] })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      issues: [{ field: 'spns.0' }],
    });
    await expect(f.store.directoryObjects.save('00000000-0000-0000-0000-000000000000', account)).rejects.toMatchObject({
      code: 'DEVICE_NOT_FOUND',
    });
  });

  it('keeps only the OTP hash and consumes it on a match (IB2, IB5)', async () => {
    const otp = 'one-time 734019';
    const report = await f.store.otp.record(DEVICE, {
      algorithm: 'sha256',
      hash: sha256('an older one'),
      reportedAmtVersion: '8.1.40',
    });
    expect(report.consumedAt).toBeNull();
    await f.store.otp.record(DEVICE, {
      algorithm: 'sha256',
      hash: sha256(otp).toUpperCase(),
      reportedAmtVersion: '8.1.40',
      wiredIp: '10.1.2.3',
    });
    expect(await f.store.otp.latest(DEVICE)).toMatchObject({ hash: sha256(otp), wiredIp: '10.1.2.3' });

    // A forged report does not burn the genuine one; only the newest report counts.
    expect(await f.store.otp.verifyAndConsume(DEVICE, sha256('forged'), 'wf-1/IB5')).toEqual({
      matched: false,
      reason: 'mismatch',
    });
    expect(await f.store.otp.verifyAndConsume(DEVICE, sha256('an older one'), 'wf-1/IB5')).toMatchObject({
      matched: false,
    });
    expect(await f.store.otp.verifyAndConsume(DEVICE, sha256(otp), 'wf-1/IB5')).toEqual({ matched: true });
    // The retried activity gets the same answer; another run cannot use the hash again.
    expect(await f.store.otp.verifyAndConsume(DEVICE, sha256(otp), 'wf-1/IB5')).toEqual({ matched: true });
    expect(await f.store.otp.verifyAndConsume(DEVICE, sha256(otp), 'wf-2/IB5')).toEqual({
      matched: false,
      reason: 'no_report',
    });
    expect(await f.store.otp.latest(DEVICE)).toBeUndefined();
    await expect(f.store.otp.verifyAndConsume(OTHER_DEVICE, sha256(otp), 'wf-1/IB5')).rejects.toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
    });
    expect(await f.store.otp.verifyAndConsume(OTHER_DEVICE, sha256(otp), 'wf-3/IB5')).toEqual({
      matched: false,
      reason: 'no_report',
    });
    const bad = (await f.store.otp
      .record(DEVICE, { algorithm: 'sha384', hash: sha256(otp), wiredIp: '10.1.2' })
      .catch((e: unknown) => e)) as StoreError;
    expect(bad.issues.map((i) => i.field).sort()).toEqual(['hash', 'wiredIp']);
  });

  it('records a result once per idempotency key (OOB10)', async () => {
    const result = {
      device: DEVICE,
      operation: 'provision' as const,
      workflowId: `provision-${DEVICE}`,
      outcome: 'succeeded' as const,
      stageReached: 'OOB10',
      summary: 'provisioned out of band; admin password v1, MEBx password v1',
      details: { mode: 'out_of_band', profileRevision: 3 },
      startedAt: new Date('2026-01-01T10:00:00Z'),
    };
    const first = await f.store.results.record(result, `provision-${DEVICE}/OOB10`);
    expect(first.created).toBe(true);
    const again = await f.store.results.record(result, `provision-${DEVICE}/OOB10`);
    expect(again).toEqual({ result: first.result, created: false });
    expect(first.result).toMatchObject({ ...result, startedAt: result.startedAt });

    await f.store.results.record({ ...result, operation: 'update', summary: 'settings re-applied' }, 'upd-1/UPD1');
    expect((await f.store.results.forDevice(DEVICE)).map((r) => r.operation)).toEqual(['update', 'provision']);
    await expect(
      f.store.results.record({ ...result, device: OTHER_DEVICE }, `provision-${DEVICE}/OOB10`),
    ).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    await expect(f.store.results.record({ ...result, outcome: 'partial' as never }, 'x/y')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      issues: [{ field: 'outcome' }],
    });
  });

  it('appends operator actions to the audit log', async () => {
    await f.store.audit.append({ actor: 'alice', action: 'device.import', target: DEVICE, outcome: 'success' });
    expect((await f.store.audit.forTarget(DEVICE)).map((e) => e.action)).toEqual(['device.import']);
  });

  it('counts and appends under a limit as one step, however many callers race (break-glass)', async () => {
    const entry = { actor: 'bob', action: 'api.post /devices/:uuid/break-glass', target: DEVICE, outcome: 'success' };
    const since = new Date(Date.now() - 60_000);
    // On PostgreSQL each call takes its own pooled connection: the lock is what keeps them in line.
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        f.store.audit.appendWithinLimit(entry as typeof entry & { outcome: 'success' }, { count: 3, since }),
      ),
    );
    // Callers take the lock in whatever order the pool serves them: which caller got which count is not
    // fixed, only that each count below the limit was handed out exactly once.
    expect(answers.filter((a) => a.record).map((a) => a.used).sort()).toEqual([0, 1, 2]);
    expect(answers.filter((a) => !a.record).map((a) => a.used)).toEqual([3, 3, 3, 3, 3]);
    expect(await f.store.audit.forTarget(DEVICE)).toHaveLength(3);
    // Another principal's reveals are counted apart.
    expect(
      (await f.store.audit.appendWithinLimit({ ...entry, actor: 'carol' } as never, { count: 3, since })).used,
    ).toBe(0);
  });
});
