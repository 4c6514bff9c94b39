import http from 'node:http';
import net from 'node:net';
import { discoverAll, type DiscoveryResult, type DiscoveryTarget } from '../../../lib/amt';
import { testFleet } from '../emulator/support/fleet';
import { adminSession, configureTls } from './support';

/**
 * Issue 13 (OPS1): the unauthenticated probe over a mixed loopback "network" — AMT in setup mode,
 * provisioned with and without TLS, legacy firmware, a host switched off with and without the ME,
 * a web server that is not AMT, an address where nothing listens, and one that accepts
 * connections and never answers, which must time out without holding up the others.
 */
describe('discovery without credentials', () => {
  const password = 'D1scover!y';
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  const servers: net.Server[] = [];
  const accepted: net.Socket[] = [];
  let subnet: string;

  beforeAll(async () => {
    fleet = await testFleet([
      { state: 'pre' },
      { state: 'post', adminPassword: password },
      { state: 'post', adminPassword: password, amtVersion: '15.0.23', build: '1706' },
      { state: 'post', adminPassword: password, amtVersion: '5.2.70', build: '1011' },
      { state: 'post', adminPassword: password },
      { state: 'post', adminPassword: password },
    ]);
    subnet = fleet.devices[0]!.address.replace(/\.\d+$/, '');
    await configureTls(fleet.devices[2]!, password, { acceptNonSecureConnections: true });
    // Host off under the factory package ("ON in S0"): the ME is off too.
    await adminSession(fleet.devices[4]!, password).power('wsman').request('off');
    // Host off under "ON in S0, S3, S4-5": AMT still answers.
    const kept = adminSession(fleet.devices[5]!, password);
    await kept.wsman.features.setPowerScheme('Intel(r) AMT Power Scheme 7');
    await kept.power('wsman').request('off');
  });
  afterAll(async () => {
    accepted.forEach((socket) => socket.destroy());
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await fleet.cleanup();
  });

  async function listen(server: net.Server, host: string): Promise<number> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return (server.address() as net.AddressInfo).port;
  }

  it('classifies every address, and a hung one times out without holding up the others', async () => {
    const web = http.createServer((_req, res) => {
      res.writeHead(404, { Server: 'nginx/1.22.1', 'Content-Type': 'text/html' });
      res.end('<html>not here</html>');
    });
    const hung = () =>
      net.createServer((socket) => {
        socket.on('error', () => undefined);
        socket.pause();
        accepted.push(socket);
      });
    const webHost = `${subnet}.200`;
    const hungHost = `${subnet}.201`;
    const web80 = await listen(web, webHost);
    const hungPorts = [await listen(hung(), hungHost), await listen(hung(), hungHost)];
    const device = (i: number): DiscoveryTarget => ({
      host: fleet.devices[i]!.address,
      httpPort: fleet.devices[i]!.httpPort,
      tlsPort: fleet.devices[i]!.tlsPort,
    });
    const targets: DiscoveryTarget[] = [
      { host: hungHost, httpPort: hungPorts[0], tlsPort: hungPorts[1] },
      ...fleet.devices.map((_d, i) => device(i)),
      { host: webHost, httpPort: web80, tlsPort: web80 },
      { host: `${subnet}.202`, httpPort: web80, tlsPort: web80 },
    ];
    const order: string[] = [];
    const results = await discoverAll(targets, {
      timeoutMs: 3_000,
      concurrency: targets.length,
      onResult: (r) => order.push(r.host),
    });
    const summary = (r: DiscoveryResult) => [r.classification, r.amtVersion, r.provisioning];
    expect(results.map(summary)).toEqual([
      ['no-answer', undefined, undefined],
      ['amt', '11.8.50.3425', 'unprovisioned'],
      ['amt', '11.8.50.3425', 'unknown'],
      ['amt', '15.0.23.1706', 'provisioned'],
      ['amt', '5.2.70.1011', 'unknown'],
      ['no-answer', undefined, undefined],
      ['amt', '11.8.50.3425', 'unknown'],
      ['not-amt', undefined, undefined],
      ['no-answer', undefined, undefined],
    ]);
    expect(results[0]).toMatchObject({
      http: { answered: false, reason: 'timeout' },
      tls: { answered: false, reason: 'timeout' },
    });
    // Every other address was classified before the hung one's probes gave up.
    expect(order.at(-1)).toBe(hungHost);
    // What the evidence was: Identify answered unauthenticated, the setup-mode certificate, the CA-issued one.
    expect(results[1]!.http).toMatchObject({
      answered: true,
      status: 200,
      identify: { vendor: 'Intel(r)', version: 'AMT 11.8' },
    });
    // Setup mode: TLS spoken, the anonymous client dropped before any HTTP.
    expect(results[1]!.tls).toMatchObject({ answered: true, status: null });
    expect(results[2]!.tls).toMatchObject({ answered: false });
    expect(results[3]!.tls).toMatchObject({ answered: true, status: 200, certificate: { selfSigned: false } });
    expect(results[5]!.http).toMatchObject({ answered: false });
    expect(results[8]!.http).toMatchObject({ answered: false, reason: 'refused' });
  });

  it('refuses a concurrency that cannot work', async () => {
    await expect(discoverAll([], { timeoutMs: 1_000, concurrency: 0 })).rejects.toThrow(TypeError);
  });
});
