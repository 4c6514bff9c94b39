import http from 'node:http';
import net from 'node:net';
import { AMT, IPS } from '@device-management-toolkit/wsman-messages';
import { createHash } from 'node:crypto';
import { otpHash, runAgent, type AgentReport } from '../../../emulator/agent/agent';
import { EmulatorError } from '../../../emulator/errors';
import { decodeHello, type Hello } from '../../../emulator/hello/message';
import { helloSchedule } from '../../../emulator/hello/schedule';
import { provisioningChain, sha256, testKeyPool } from '../../unit/emulator/support/pki';
import { waitFor } from '../../../scripts/lib/process';
import { AmtClient } from './support/client';
import { testFleet } from './support/fleet';
import { get } from './support/wsman';

/** Issue 3, 6 and 7: the OOB1 hello schedule under a time scale, and the in-band agent (IB1–IB3). */
describe('hello schedule and in-band agent', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  let listener: net.Server;
  const hellos: Array<Hello & { from: string }> = [];
  let chain: ReturnType<typeof provisioningChain>;
  const fromDevice = (i: number) => hellos.filter((h) => h.uuid === fleet.devices[i]!.uuid);

  beforeAll(async () => {
    chain = provisioningChain(await testKeyPool(), { cn: 'oobsp.corp.example.test' });
    listener = net.createServer((s) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => {
        const h = decodeHello(Buffer.concat(parts));
        if (h) hellos.push({ ...h, from: s.remoteAddress ?? '' });
      });
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const hello = `127.0.0.1:${(listener.address() as net.AddressInfo).port}`;
    const root = [{ algorithm: 'sha256' as const, hash: sha256(chain.root.der) }];
    fleet = await testFleet(
      [
        { hello, mebxPassword: 'Chang3d!Mebx' },
        { hello },
        { hello, remoteConfig: false, customHashes: root },
        { hello, remoteConfig: false, heci: false },
        { hello, state: 'post' },
      ],
      // A day of the schedule in four seconds.
      { helloTimeScale: 21_600 },
    );
  });
  afterAll(async () => {
    await fleet.cleanup();
    await new Promise((r) => listener.close(r));
  });

  it('sends the whole OOB1 schedule, then the window closes', async () => {
    const expected = helloSchedule().length;
    expect(expected).toBe(5 + 12 + 23);
    await waitFor(
      'window closed',
      async () => !fleet.devices[0]!.helloRunning && fromDevice(0).length >= expected,
      30_000,
      20,
    );
    const retries = fromDevice(0)
      .map((h) => h.retryCount)
      .sort((a, b) => a - b);
    expect(retries).toEqual(Array.from({ length: expected }, (_, i) => i));
    expect(fromDevice(0)[0]!.credentialsChanged).toBe(true);
    // The provisioning server connects back to where the hello came from: the device's own address.
    expect(new Set(fromDevice(0).map((h) => h.from))).toEqual(new Set([fleet.devices[0]!.address]));
    // Devices that are not in setup mode say nothing.
    expect(fromDevice(2)).toEqual([]);
    expect(fromDevice(4)).toEqual([]);
  });

  it('stops saying hello once provisioned', async () => {
    const d = fleet.devices[1]!;
    await waitFor('hellos from device 1', async () => fromDevice(1).length >= 2, 10_000, 20);
    const account = d.localSystemAccount();
    const local = new AmtClient({ host: d.address, port: d.httpPort, ...account, style: 'rps' });
    const realm = (await local.post(new AMT.Messages().GeneralSettings.Get())).xml.Envelope.Body.AMT_GeneralSettings
      .DigestRealm;
    const setup = await local.post(
      new IPS.Messages().HostBasedSetupService.Setup(
        2,
        createHash('md5').update(`admin:${realm}:Ccm!Pass1`).digest('hex'),
      ),
    );
    expect(setup.xml.Envelope.Body.Setup_OUTPUT.ReturnValue).toBe('0');
    expect(d.helloRunning).toBe(false);
  });

  it('plays the agent: OTP into firmware, report, hellos; the provisioning server must present the OTP', async () => {
    const d = fleet.devices[2]!;
    const reports: AgentReport[] = [];
    const report = await runAgent(d, {
      reporter: async (r) => void reports.push(r),
      rootThumbprint: sha256(chain.root.der),
    });
    const nvram = d.nvram();
    expect(reports).toEqual([report]);
    expect(report).toEqual({
      uuid: d.uuid,
      otpHash: otpHash(nvram.provisioning.otp!),
      amtVersion: '11.8.50',
      sku: '16392',
      wiredIpAddress: d.address,
    });
    expect(nvram.provisioning).toMatchObject({ remoteConfigEnabled: true });
    expect(nvram.general.amtNetworkEnabled).toBe(1);
    await waitFor('hello after START_CONFIGURATION', async () => fromDevice(2).length > 0, 10_000, 20);

    // OOB8 with the OTP check: commit is refused until the server presents the OTP.
    const c = new AmtClient({
      host: d.address,
      port: d.tlsPort,
      tls: { key: chain.leaf.keyPem, cert: chain.chainPem },
      username: 'admin',
      password: 'admin',
      style: 'mesh',
    });
    const amt = new AMT.Messages();
    expect(
      (await c.post(amt.SetupAndConfigurationService.CommitChanges())).xml.Envelope.Body.CommitChanges_OUTPUT
        .ReturnValue,
    ).toBe('16');
    const sc = (await c.post(get('AMT_SetupAndConfigurationService'))).xml.Envelope.Body
      .AMT_SetupAndConfigurationService;
    const otp = Buffer.from(nvram.provisioning.otp!, 'ascii').toString('base64');
    expect(sc.ProvisioningServerOTP).toBe(otp);
    expect((await c.post(amt.SetupAndConfigurationService.Put({ ...sc, ProvisioningServerOTP: otp }))).status).toBe(
      200,
    );
    expect(
      (await c.post(amt.SetupAndConfigurationService.CommitChanges())).xml.Envelope.Body.CommitChanges_OUTPUT
        .ReturnValue,
    ).toBe('0');
    expect(d.nvram().provisioning.state).toBe(2);
  });

  it('refuses without HECI or when provisioned, and reports over HTTP through the admin API', async () => {
    await expect(runAgent(fleet.devices[3]!, { reporter: async () => undefined })).rejects.toMatchObject({
      code: 'AGENT_NO_HECI',
    });
    await expect(runAgent(fleet.devices[4]!, { reporter: async () => undefined })).rejects.toBeInstanceOf(
      EmulatorError,
    );
    await expect(
      runAgent(fleet.devices[0]!, { reporter: async () => undefined, rootThumbprint: 'ab'.repeat(32) }),
    ).rejects.toMatchObject({ code: 'AGENT_ROOT_HASH_MISSING' });

    const received: unknown[] = [];
    const api = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    try {
      const reportUrl = `http://127.0.0.1:${(api.address() as net.AddressInfo).port}/agent-reports`;
      const res = await fetch(`${fleet.admin!.url}/devices/${fleet.devices[0]!.uuid}/agent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reportUrl }),
      });
      expect(res.status).toBe(200);
      expect(received).toEqual([await res.json()]);
    } finally {
      await new Promise((r) => api.close(r));
    }
  });
});
