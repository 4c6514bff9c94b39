import { AMT, CIM } from '@device-management-toolkit/wsman-messages';
import { provisioningChain, sha256, testKeyPool } from '../../unit/emulator/support/pki';
import { AmtClient, exchange, waitFor } from './support/client';
import { testFleet } from './support/fleet';
import { invoke } from './support/wsman';

/** Issue 3, 8: the admin API (test oracle, fault injection) and every fault kind. */
describe('admin API and fault injection', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  const amt = new AMT.Messages();
  const cim = new CIM.Messages();
  const password = 'F4ult!pass';

  let chain: ReturnType<typeof provisioningChain>;

  beforeAll(async () => {
    chain = provisioningChain(await testKeyPool(), { cn: 'oobsp.corp.example.test' });
    fleet = await testFleet([
      { state: 'post', adminPassword: password },
      { state: 'post', adminPassword: password },
      { helloEnabled: false, customHashes: [{ algorithm: 'sha256', hash: sha256(chain.root.der) }] },
    ]);
  });
  afterAll(() => fleet.cleanup());
  afterEach(() => fleet.clearFaults());

  const client = (i = 0) => {
    const d = fleet.devices[i]!;
    return new AmtClient({ host: d.address, port: d.httpPort, username: 'admin', password, style: 'go' });
  };
  const admin = (path: string, init?: RequestInit) =>
    fetch(`${fleet.admin!.url}${path}`, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });

  it('lists devices and reads any NVRAM, on its own port only', async () => {
    const list = (await (await admin('/devices')).json()) as {
      uuid: string;
      address: string;
      provisioningState: number;
    }[];
    expect(list.map((d) => d.uuid)).toEqual(fleet.devices.map((d) => d.uuid));
    const nvram = (await (await admin(`/devices/${fleet.devices[0]!.uuid}/nvram`)).json()) as { realm: string };
    expect(nvram.realm).toBe(fleet.devices[0]!.nvram().realm);
    expect((await admin('/devices/00000000-0000-0000-0000-000000000000/nvram')).status).toBe(404);
    // The device port does not serve the admin API.
    const d = fleet.devices[0]!;
    expect(
      (await exchange({ host: d.address, port: d.httpPort }, 'GET /devices HTTP/1.1\r\nHost: x\r\n\r\n')).status,
    ).toBe(404);
    expect(new URL(fleet.admin!.url).hostname).toBe('127.0.0.1');
  });

  it('validates fault input', async () => {
    const res = await admin('/faults', { method: 'POST', body: JSON.stringify({ kind: 'meteor' }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('INVALID_FAULT');
  });

  it('http500 and busy, per device and counted', async () => {
    const created = await admin('/faults', {
      method: 'POST',
      body: JSON.stringify({ kind: 'http500', target: fleet.devices[0]!.uuid, times: 1 }),
    });
    expect(created.status).toBe(200);
    const c = client();
    await c.post(amt.GeneralSettings.Get()).catch(() => undefined);
    // The authenticated request consumed the fault.
    expect((await c.post(amt.GeneralSettings.Get())).status).toBe(200);
    fleet.inject({ kind: 'http500', times: 1 }, fleet.devices[0]!.uuid);
    expect((await client(1).post(amt.GeneralSettings.Get())).status).toBe(200);
    expect((await c.post(amt.GeneralSettings.Get())).status).toBe(500);

    fleet.inject({ kind: 'busy', match: 'Get', times: 1 });
    const busy = await c.post(amt.GeneralSettings.Get());
    expect(busy.status).toBe(400);
    expect(busy.xml.Envelope.Body.Fault.Code.Subcode.Value).toBe('e:QuotaLimit');
  });

  it('delay answers late, drop closes without an answer', async () => {
    const c = client();
    await c.post(amt.GeneralSettings.Get());
    fleet.inject({ kind: 'delay', ms: 200, times: 1 });
    expect((await c.post(amt.GeneralSettings.Get())).status).toBe(200);
    expect(fleet.faults()).toEqual([]);
    fleet.inject({ kind: 'drop', times: 1 });
    await expect(c.post(amt.GeneralSettings.Get())).rejects.toThrow(/closed without a complete response/);
  });

  it('lostWrite answers success but the NVRAM keeps the old value', async () => {
    const c = client();
    const gs = (await c.post(amt.GeneralSettings.Get())).xml.Envelope.Body.AMT_GeneralSettings;
    fleet.inject({ kind: 'lostWrite', match: 'Put', times: 1 });
    const put = await c.post(amt.GeneralSettings.Put({ ...gs, HostName: 'lost' }));
    expect(put.status).toBe(200);
    expect(put.xml.Envelope.Body.AMT_GeneralSettings.HostName).toBe('lost');
    expect(fleet.devices[0]!.nvram().general.hostName).toBe(gs.HostName ?? '');
  });

  it('rebootDuringCommit drops the answer, reboots the device and forgets its nonces', async () => {
    const c = client(1);
    const tls = (await c.post(amt.TLSSettingData.Get({ name: 'InstanceID', value: 'Intel(r) AMT LMS TLS Settings' })))
      .xml.Envelope.Body.AMT_TLSSettingData;
    expect(tls.Enabled).toBe('false');
    fleet.inject({ kind: 'rebootDuringCommit', rebootMs: 300, applied: true });
    await expect(c.post(amt.SetupAndConfigurationService.CommitChanges())).rejects.toThrow();
    // After the reboot the device answers again; the reboot invalidated the nonce (fresh 401, then 200).
    const d = fleet.devices[1]!;
    await waitFor(
      async () =>
        (
          await exchange(
            { host: d.address, port: d.httpPort },
            'POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
          ).catch(() => null)
        )?.status === 401,
      10_000,
      'device back after reboot',
    );
    expect((await client(1).post(amt.GeneralSettings.Get())).status).toBe(200);
    expect(fleet.faults()).toHaveLength(1);
  });

  it('rebootDuringCommit during remote configuration: commit lost (applied false) or kept (applied true)', async () => {
    const d = fleet.devices[2]!;
    const c = new AmtClient({
      host: d.address,
      port: d.tlsPort,
      tls: { key: chain.leaf.keyPem, cert: chain.chainPem },
      username: 'admin',
      password: 'admin',
      style: 'mesh',
    });
    expect((await c.post(amt.GeneralSettings.Get())).status).toBe(200);
    expect(d.nvram().provisioning.state).toBe(1);
    const reachable = () =>
      waitFor(
        async () =>
          (
            await exchange(
              { host: d.address, port: d.httpPort },
              'POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
            ).catch(() => null)
          )?.status === 401,
        10_000,
        'device back after reboot',
      );
    fleet.inject({ kind: 'rebootDuringCommit', applied: false, rebootMs: 200, times: 1 }, d.uuid);
    await expect(c.post(amt.SetupAndConfigurationService.CommitChanges())).rejects.toThrow();
    await reachable();
    expect(d.nvram().provisioning.state).toBe(1);
    fleet.inject({ kind: 'rebootDuringCommit', applied: true, rebootMs: 200, times: 1 }, d.uuid);
    await expect(c.post(amt.SetupAndConfigurationService.CommitChanges())).rejects.toThrow();
    await reachable();
    expect(d.nvram().provisioning).toMatchObject({ state: 2, controlMode: 2 });
  });

  it('runs the host-side (MEI) operations: OTP and local unprovision', async () => {
    const uuid = fleet.devices[1]!.uuid;
    const otp = await admin(`/devices/${uuid}/mei/otp`, {
      method: 'POST',
      body: JSON.stringify({ otp: 'Abcdefgh12' }),
    });
    expect(otp.status).toBe(400);
    expect(((await otp.json()) as { code: string }).code).toBe('AGENT_NOT_UNPROVISIONED');
    const unprov = await admin(`/devices/${uuid}/mei/unprovision`, { method: 'POST', body: '{}' });
    // ACM cannot be unprovisioned locally.
    expect(await unprov.json()).toEqual({ ok: false });
  });

  it('shows the host and its power transitions, runs host-side actions, and injects a refused power-on', async () => {
    const d = fleet.devices[1]!;
    const uuid = d.uuid;
    expect((await admin(`/devices/${uuid}/host/power-button`, { method: 'POST', body: '{}' })).status).toBe(200);
    expect((await admin(`/devices/${uuid}/host/explode`, { method: 'POST', body: '{}' })).status).toBe(400);
    const wake = await admin(`/devices/${uuid}/host/wake`, { method: 'POST', body: '{}' });
    expect([wake.status, ((await wake.json()) as { code: string }).code]).toEqual([400, 'INVALID_HOST_ACTION']);
    expect((await admin(`/devices/${uuid}/host/power-button`, { method: 'POST', body: '{}' })).status).toBe(200);

    // "ON in S0, S3, S4-5", so the ME answers with the host off.
    const scheme = { InstanceID: 'Intel(r) AMT Power Scheme 7' };
    expect((await client(1).post(invoke('AMT_SystemPowerScheme', 'SetPowerScheme', '', scheme))).status).toBe(200);
    const fault = { kind: 'powerRefused', target: uuid, times: 1 };
    expect((await admin('/faults', { method: 'POST', body: JSON.stringify(fault) })).status).toBe(200);
    const power = async (value: number) =>
      (await client(1).post(cim.PowerManagementService.RequestPowerStateChange(value as 2 | 8))).status;
    expect([await power(8), await power(2), await power(2)]).toEqual([200, 200, 200]);
    const host = (await (await admin(`/devices/${uuid}/host`)).json()) as {
      state: string;
      meAwake: boolean;
      transitions: { source: string; request: string; to: string; returnValue: number | null }[];
    };
    expect(host.transitions.map((t) => [t.source, t.request, t.to, t.returnValue])).toEqual([
      ['host', 'power-button', 'S5', null],
      ['host', 'power-button', 'S0', null],
      ['wsman', 'RequestPowerStateChange(8)', 'S5', 0],
      ['wsman', 'RequestPowerStateChange(2)', 'S5', 2],
      ['wsman', 'RequestPowerStateChange(2)', 'S0', 0],
    ]);
    expect(host).toMatchObject({ state: 'S0', meAwake: true });
    const list = (await (await admin('/devices')).json()) as { redirectionPort: number }[];
    expect(list[1]!.redirectionPort).toBe(d.redirection.port);
  });
});
