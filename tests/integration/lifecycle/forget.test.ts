import { sql } from 'kysely';
import { startLifecycle } from '../../../runtime/lifecycle-client';
import type { ForgetResult } from '../../../workflows/forget-device';
import { deviceWorkflowId } from '../../../workflows/names';
import { listenApi, principalWith } from '../api/support';
import { startLifecycleEnv, TEST_COLLECTION, type LifecycleEnv } from '../../support/lifecycle-env';
import { uniqueQueue } from '../../support/temporal';

/**
 * Issue 11 §2, forgetting a device that is gone, through the API against the real stack: a provisioned
 * emulated device is forgotten as stolen — its certificates revoked as key compromise and on the CRL,
 * its directory object and SPNs deleted, the device, its sealed credentials and contact removed, the
 * audit and the forgotten record kept — while its firmware is left exactly as it was. A device with a
 * run in flight is refused with OPERATION_IN_FLIGHT and keeps everything.
 */
describe('forget a device that is gone', () => {
  let env: LifecycleEnv;
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        { hostName: 'amt-stolen', amtVersion: '11.8.50' },
        { hostName: 'amt-busy', amtVersion: '15.0.23' },
      ],
      { firstIp: '127.31.13.1' },
    );
    const api = await listenApi(env.deps, env.env.client, { taskQueue: env.taskQueue });
    base = `${api.origin}/api/v1`;
    close = api.close;
  });
  afterAll(async () => {
    await close?.();
    await env?.stop();
  });

  const post = async (headers: Record<string, string>, url: string, body: unknown) => {
    const response = await fetch(base + url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read any field
    return { status: response.status, json: (await response.json()) as any };
  };
  const rowsOf = async (table: string, uuid: string) =>
    Number(
      (
        await sql<{ n: string }>`select count(*) as n from ${sql.table(table)} where device = ${uuid}`.execute(
          env.deps.database.db,
        )
      ).rows[0]?.n,
    );

  it('revokes, deletes the directory object, removes the device and its secrets, and leaves the firmware alone', async () => {
    const device = env.devices[0]!;
    await (await env.provision(device.uuid)).result();
    const firmwareBefore = JSON.stringify(env.fleet.device(device.uuid).nvram());
    const issued = await env.deps.ca.currentCertificates(device.uuid);
    expect(issued.length).toBeGreaterThan(0);
    expect(await env.deps.withDirectory((d) => d.findAmtAccount(device.fqdn))).toBeDefined();
    expect(await rowsOf('credentials', device.uuid)).toBeGreaterThan(0);

    // Administrator on the device's collection: forgetting destroys its sealed passwords for good.
    const manager = await principalWith(env.deps.store, 'forget-manager', [
      { collection: TEST_COLLECTION, role: 'administrator' },
    ]);
    const badReason = await post(manager, `/devices/${device.uuid}/forget`, { reason: 'misplaced' });
    expect(badReason.status).toBe(400);
    expect(badReason.json).toMatchObject({ code: 'INVALID_REQUEST', issues: [{ field: 'reason' }] });
    const viewer = await principalWith(env.deps.store, 'forget-viewer', [
      { collection: TEST_COLLECTION, role: 'view' },
    ]);
    expect((await post(viewer, `/devices/${device.uuid}/forget`, { reason: 'stolen' })).status).toBe(403);
    const managing = await principalWith(env.deps.store, 'forget-managing', [
      { collection: TEST_COLLECTION, role: 'manage' },
    ]);
    expect((await post(managing, `/devices/${device.uuid}/forget`, { reason: 'stolen' })).status).toBe(403);

    const answer = await post(manager, `/devices/${device.uuid}/forget`, {
      reason: 'stolen',
      note: 'police report 77',
    });
    expect(answer.status).toBe(202);
    expect(answer.json.workflowId).toBe(deviceWorkflowId(device.uuid));
    const result = (await env.env.client.workflow.getHandle(answer.json.workflowId).result()) as ForgetResult;
    expect(result.revoked.sort()).toEqual(issued.map((c) => c.serial).sort());
    expect(result.directoryObjectDeleted).toBe(true);

    // The CA: every certificate revoked as key compromise (the thief holds the key), on the CRL.
    const records = (await env.deps.store.certificates.forDevice(device.uuid)).filter((r) =>
      result.revoked.includes(r.serial),
    );
    expect(records.map((r) => [r.status, r.revocationReason])).toEqual(
      result.revoked.map(() => ['revoked', 'keyCompromise']),
    );
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual([]);
    expect(await env.deps.ca.revokedSerials()).toEqual(expect.arrayContaining(result.revoked));
    // The directory: no AMT account, so no SPN and no Kerberos key for the device.
    expect(await env.deps.withDirectory((d) => d.findAmtAccount(device.fqdn))).toBeUndefined();
    // The site database: the device and every secret and trust record of it gone.
    expect(await env.deps.store.devices.get(device.uuid)).toBeUndefined();
    for (const table of ['credentials', 'device_contacts', 'directory_objects', 'provisioning_results'])
      expect([table, await rowsOf(table, device.uuid)]).toEqual([table, 0]);
    expect(await env.deps.store.forgotten.forDevice(device.uuid)).toEqual([
      expect.objectContaining({
        fqdn: device.fqdn,
        collection: TEST_COLLECTION,
        reason: 'stolen',
        note: 'police report 77',
        forgottenBy: 'forget-manager',
      }),
    ]);
    const audit = await env.deps.store.audit.forTarget(device.uuid);
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actor: 'forget-manager',
          action: 'api.post /devices/:uuid/forget',
          outcome: 'success',
          details: expect.objectContaining({ reason: 'stolen', note: 'police report 77' }),
        }),
        expect.objectContaining({
          actor: 'forget-manager',
          action: 'device.forget',
          outcome: 'success',
          details: expect.objectContaining({ removed: expect.objectContaining({ credentials: expect.any(Number) }) }),
        }),
      ]),
    );
    // Nothing reached the device: its firmware still holds what provisioning left.
    expect(JSON.stringify(env.fleet.device(device.uuid).nvram())).toBe(firmwareBefore);

    // A device that turns up again is a new import; its hellos are discarded until then.
    const { created } = await env.deps.store.devices.importComputer({
      uuid: device.uuid,
      hostName: device.hostName,
      domain: 'corp.example.test',
      collection: TEST_COLLECTION,
    });
    expect(created).toBe(true);
  });

  it('is refused while a run is in flight, and forgets nothing', async () => {
    const device = env.devices[1]!;
    // A run on a queue no worker polls stays in flight for as long as the test needs.
    const inFlight = await startLifecycle(
      env.env.client,
      'provision',
      { deviceUuid: device.uuid, mode: 'out-of-band', requestedBy: 'test' },
      { taskQueue: uniqueQueue('forget-busy') },
    );
    try {
      const admin = await principalWith(env.deps.store, 'forget-admin', [{ collection: '*', role: 'administrator' }]);
      const answer = await post(admin, `/devices/${device.uuid}/forget`, { reason: 'scrapped' });
      expect(answer.status).toBe(409);
      expect(answer.json).toMatchObject({ code: 'OPERATION_IN_FLIGHT', message: expect.stringContaining('provision') });
      expect(await env.deps.store.devices.get(device.uuid)).toBeDefined();
      expect(await env.deps.store.contacts.get(device.uuid)).toBeDefined();
      expect(await env.deps.store.forgotten.forDevice(device.uuid)).toEqual([]);
      expect(await env.deps.store.audit.forTarget(device.uuid)).toEqual([
        expect.objectContaining({
          actor: 'forget-admin',
          action: 'api.post /devices/:uuid/forget',
          outcome: 'failure',
          details: expect.objectContaining({ code: 'OPERATION_IN_FLIGHT' }),
        }),
      ]);
    } finally {
      await inFlight.terminate('test over');
    }
  });

  it('keeps credentials undeletable outside a forget', async () => {
    const device = env.devices[1]!;
    await env.deps.store.credentials.stagePending(device.uuid, 'amt_admin', `test/${device.uuid}/guard`, {
      value: 'Gu4rd!pw-2026',
    });
    await expect(
      sql`delete from credentials where device = ${device.uuid}`.execute(env.deps.database.db),
    ).rejects.toThrow(/never deleted/);
    // Declaring a forget of the device is not enough without its forgotten record.
    await expect(
      env.deps.database.db.transaction().execute(async (trx) => {
        await sql`select set_config('amtflow.forget', ${device.uuid}, true)`.execute(trx);
        await sql`delete from credentials where device = ${device.uuid}`.execute(trx);
      }),
    ).rejects.toThrow(/never deleted/);
  });
});
