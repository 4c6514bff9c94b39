import type { ApplicationFailure, WorkflowFailedError, WorkflowHandle } from '@temporalio/client';
import { sql } from 'kysely';
import type { Client } from 'ldapts';
import { childDn } from '../../../lib/directory/dn';
import { operatorDecisionUpdate, progressQuery } from '../../../workflows/messages';
import { parkedAt } from '../../support/progress';
import { adminClient, TEST_DC, uniqueTag } from '../../support/directory';
import { reportOtpHash, startLifecycleEnv, type E2eDevice, type LifecycleEnv } from '../../support/lifecycle-env';

/**
 * Rows of the abort matrix (docs/architecture.md, "Trust and the abort matrix") that
 * tests/integration/lifecycle/trust.test.ts does not cover: a provisioning run parked at each step
 * below, then aborted, leaves exactly the state its row states.
 */
describe('abort matrix of a provisioning run', () => {
  let env: LifecycleEnv;
  let ldap: Client;
  const decoys: string[] = [];
  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        { hostName: 'amt-abort-p2', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-oob4', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-oob6', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-ib5', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-i3', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-i4', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-oob10', amtVersion: '11.8.50' },
      ],
      { firstIp: '127.31.19.1' },
    );
    ldap = await adminClient();
  });
  afterAll(async () => {
    for (const dn of decoys) await ldap?.del(dn).catch(() => undefined);
    await ldap?.unbind();
    await env?.stop();
  });

  const byName = (hostName: string): E2eDevice => env.devices.find((d) => d.hostName === hostName)!;
  const abort = async (handle: WorkflowHandle) => {
    await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', operator: 'carol' }] });
    const failure = await handle.result().catch((e: unknown) => e);
    expect(((failure as WorkflowFailedError).cause as ApplicationFailure).type).toBe('OPERATOR_ABORTED');
  };
  const account = (fqdn: string) => env.deps.withDirectory((directory) => directory.findAmtAccount(fqdn));

  /** Rows "validation" and "OOB4, OOB6, IB5": nothing was done; the firmware stays in setup. */
  async function expectRecordsAsBefore(device: E2eDevice, handle: WorkflowHandle) {
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual([]);
    expect(await account(device.fqdn)).toBeUndefined();
    expect(await env.deps.store.directoryObjects.get(device.uuid)).toBeUndefined();
    expect(await env.deps.store.credentials.current(device.uuid, 'amt_admin')).toBeUndefined();
    expect(await env.deps.store.credentials.current(device.uuid, 'mebx')).toBeUndefined();
    expect((await env.deps.store.devices.require(device.uuid)).discoveryStatus).not.toBe('provisioned');
    const nvram = env.fleet.device(device.uuid).nvram();
    expect(nvram.provisioning.state).not.toBe(2);
    expect(nvram.admin.isDefault).toBe(true);
    expect(nvram.certs).toEqual([]);
    // Nothing to undo: no undo step ran.
    const steps = (await handle.query(progressQuery)).steps;
    expect(steps.filter((s) => s.stage === 'compensate')).toEqual([]);
  }

  it('validation: P2 failing retryably (the device does not answer), then aborted, changed nothing', async () => {
    const device = byName('amt-abort-p2');
    const firmware = env.fleet.device(device.uuid);
    firmware.reboot(600_000);
    try {
      const handle = await env.provision(device.uuid);
      await parkedAt(handle, 'P2');
      await abort(handle);
      await expectRecordsAsBefore(device, handle);
      expect((await env.deps.store.devices.require(device.uuid)).provisioningState).not.toBe('provisioned');
    } finally {
      firmware.reboot(0);
    }
  });

  it('OOB4: the TLS port does not answer, then aborted, changed nothing', async () => {
    const device = byName('amt-abort-oob4');
    const firmware = env.fleet.device(device.uuid);
    // P2 probes the HTTP port; the contact names a TLS port where nothing listens.
    await env.deps.store.contacts.recordOperatorEntry(device.uuid, {
      host: firmware.address,
      httpPort: firmware.httpPort,
      tlsPort: 1,
    });
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'OOB4');
    await abort(handle);
    await expectRecordsAsBefore(device, handle);
    expect(firmware.nvram().provisioning.state).toBe(0);
  });

  it('OOB6: the login fails, then aborted, changed nothing', async () => {
    const device = byName('amt-abort-oob6');
    // Digest's first request (a Get of AMT_GeneralSettings) fails every time.
    const fault = env.fleet.inject({ kind: 'http500', match: 'Get' }, device.uuid);
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'OOB6');
    await abort(handle);
    env.fleet.clearFaults(fault.id);
    await expectRecordsAsBefore(device, handle);
  });

  it('IB5 (in band): presenting the OTP fails, then aborted, changed nothing', async () => {
    const device = byName('amt-abort-ib5');
    await reportOtpHash(env, device.uuid);
    // IB5 reads the OTP (a Get) and presents it back (a Put): the Put fails every time.
    const fault = env.fleet.inject({ kind: 'http500', match: 'Put' }, device.uuid);
    const handle = await env.provision(device.uuid, 'in-band');
    await parkedAt(handle, 'IB5');
    await abort(handle);
    env.fleet.clearFaults(fault.id);
    await expectRecordsAsBefore(device, handle);
  });

  it('I3 (after the commit): aborted, the firmware stays provisioned; nothing was published and what held the name is untouched', async () => {
    const device = byName('amt-abort-i3');
    // An object that is not the device's AMT account holds the DN I3 would publish at: ACCOUNT_CONFLICT.
    const tag = uniqueTag();
    const container = `${env.deps.config.directory!.amtContainer},${TEST_DC.domainDn}`;
    const squatter = childDn('CN', device.hostName, container);
    await ldap.add(squatter, { objectClass: 'computer', sAMAccountName: `SQUAT-${tag}$` });
    decoys.push(squatter);
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'I3', 'ACCOUNT_CONFLICT');
    await abort(handle);

    expect(env.fleet.device(device.uuid).nvram().provisioning.state).toBe(2);
    const own = await env.deps.ca.certificateForRequest(`${handle.workflowId}/${(await handle.describe()).runId}/I2`);
    expect((await env.deps.ca.currentCertificates(device.uuid, ['amt-web-server'])).map((c) => c.serial)).toEqual([
      own?.serial,
    ]);
    expect(await env.deps.store.credentials.current(device.uuid, 'amt_admin')).toBeDefined();
    expect(await account(device.fqdn)).toBeUndefined();
    expect(await env.deps.store.credentials.current(device.uuid, 'directory_account')).toBeUndefined();
    const { searchEntries } = await ldap.search(squatter, { scope: 'base', attributes: ['sAMAccountName'] });
    expect(searchEntries[0]?.sAMAccountName).toBe(`SQUAT-${tag}$`);
    expect(await env.deps.store.devices.require(device.uuid)).toMatchObject({
      provisioningState: 'failed',
      discoveryStatus: 'provisioned',
      provisioningStage: 'stage-one',
    });
    expect((await handle.query(progressQuery)).steps.find((s) => s.id === 'OOB8.6.keep')?.status).toBe('succeeded');
  });

  it('I4 (after the commit): aborted, the firmware stays provisioned and the directory holds the account I3 published, with the key the database holds', async () => {
    const device = byName('amt-abort-i4');
    // Another object holds the device's SPN: I4 refuses with SPN_CONFLICT after I1 and I3 ran.
    const tag = uniqueTag();
    const decoy = childDn('CN', `decoy-${tag}`, `CN=Computers,${TEST_DC.domainDn}`);
    await ldap.add(decoy, {
      objectClass: 'computer',
      sAMAccountName: `DECOY-${tag}$`,
      servicePrincipalName: `HTTP/${device.fqdn.toUpperCase()}:16993`,
    });
    decoys.push(decoy);
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'I4', 'SPN_CONFLICT');
    await abort(handle);

    // The firmware holds this run's certificate and admin password, which the CA and the database hold as current.
    const nvram = env.fleet.device(device.uuid).nvram();
    expect(nvram.provisioning.state).toBe(2);
    const own = await env.deps.ca.certificateForRequest(`${handle.workflowId}/${(await handle.describe()).runId}/I2`);
    expect((await env.deps.ca.currentCertificates(device.uuid, ['amt-web-server'])).map((c) => c.serial)).toEqual([
      own?.serial,
    ]);
    expect(await env.deps.store.credentials.current(device.uuid, 'amt_admin')).toBeDefined();
    expect(nvram.admin.isDefault).toBe(false);
    // What I3 did stays: the account published, under the key version the site database recorded
    // with the password it holds as current; I4 wrote no SPN.
    const published = await account(device.fqdn);
    expect(published).toBeDefined();
    expect(await env.deps.store.directoryObjects.get(device.uuid)).toMatchObject({
      status: 'published',
      keyVersion: published!.keyVersionNumber,
    });
    expect(await env.deps.store.credentials.current(device.uuid, 'directory_account')).toBeDefined();
    expect(published!.spns).toEqual([]);
    expect(await env.deps.store.devices.require(device.uuid)).toMatchObject({
      provisioningState: 'failed',
      discoveryStatus: 'provisioned',
      provisioningStage: 'stage-one',
    });
    const steps = (await handle.query(progressQuery)).steps;
    expect(steps.find((s) => s.id === 'OOB8.6.keep')?.status).toBe('succeeded');
    expect(steps.filter((s) => s.status === 'compensated')).toEqual([]);
  });

  it('OOB10: the site database refuses the result, then aborted: the device stays provisioned, with its certificate, account and SPNs, recorded by OOB8.6.keep', async () => {
    const device = byName('amt-abort-oob10');
    const db = env.deps.database.db;
    // The database refuses this device's result of a finished run — OOB10's one write — and
    // takes the aborted one OOB8.6.keep records.
    await sql`create function refuse_oob10() returns trigger language plpgsql as $$
      begin
        if new.outcome = 'succeeded' and new.device = ${sql.lit(device.uuid)}::uuid then
          raise exception 'the site database refuses the result (test)';
        end if;
        return new;
      end $$`.execute(db);
    await sql`create trigger refuse_oob10 before insert on provisioning_results
      for each row execute function refuse_oob10()`.execute(db);
    try {
      const handle = await env.provision(device.uuid);
      await parkedAt(handle, 'OOB10');
      await abort(handle);

      const nvram = env.fleet.device(device.uuid).nvram();
      expect(nvram.provisioning.state).toBe(2);
      expect(nvram.admin.isDefault).toBe(false);
      const own = await env.deps.ca.certificateForRequest(`${handle.workflowId}/${(await handle.describe()).runId}/I2`);
      expect((await env.deps.ca.currentCertificates(device.uuid, ['amt-web-server'])).map((c) => c.serial)).toEqual([
        own?.serial,
      ]);
      const published = await account(device.fqdn);
      expect(published?.spns.sort()).toEqual([`HTTP/${device.fqdn}:16992`, `HTTP/${device.fqdn}:16993`].sort());
      expect(await env.deps.store.directoryObjects.get(device.uuid)).toMatchObject({
        status: 'published',
        keyVersion: published!.keyVersionNumber,
      });
      expect(await env.deps.store.credentials.current(device.uuid, 'amt_admin')).toBeDefined();
      expect(await env.deps.store.devices.require(device.uuid)).toMatchObject({
        provisioningState: 'failed',
        discoveryStatus: 'provisioned',
      });
      const results = await env.deps.store.results.forDevice(device.uuid);
      expect(results.map((r) => r.outcome)).toEqual(['aborted']);
      const steps = (await handle.query(progressQuery)).steps;
      expect(steps.find((s) => s.id === 'OOB8.6.keep')?.status).toBe('succeeded');
      expect(steps.filter((s) => s.status === 'compensated')).toEqual([]);
    } finally {
      await sql`drop trigger if exists refuse_oob10 on provisioning_results`.execute(db);
      await sql`drop function if exists refuse_oob10()`.execute(db);
    }
  });
});
