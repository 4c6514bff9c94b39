import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { type DeviceProfileInput } from './device/profile';
import { EmulatorError } from './errors';
import { expandFleetFile, startFleet } from './fleet/fleet';

/**
 * `npm run emulator -- --devices N …` starts a fleet and keeps it running until Ctrl-C;
 * `npm run emulator -- agent …` plays the in-band agent (IB1–IB3) for one device of a running
 * fleet through its admin API.
 */
const int = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}`);
  return n;
};

interface StartOptions {
  devices: number;
  firstIp: string;
  amtVersion?: string;
  state?: 'pre' | 'post';
  adminPassword?: string;
  dnsSuffix?: string;
  hello?: string;
  latencyMs?: number;
  stateDir: string;
  fleetFile?: string;
  ephemeralPorts: boolean;
  adminPort: number;
  helloTimeScale: number;
  keyPoolSize: number;
  keyPoolDir?: string;
  logLevel: string;
}

async function start(opts: StartOptions): Promise<void> {
  const log = pino({ level: opts.logLevel });
  const overrides: DeviceProfileInput = {
    ...(opts.amtVersion && { amtVersion: opts.amtVersion }),
    ...(opts.state && { state: opts.state }),
    ...(opts.adminPassword && { adminPassword: opts.adminPassword }),
    ...(opts.dnsSuffix && { dnsSuffix: opts.dnsSuffix }),
    ...(opts.hello && { hello: opts.hello }),
    ...(opts.latencyMs !== undefined && { latencyMs: opts.latencyMs }),
  };
  const fromFile = opts.fleetFile ? expandFleetFile(JSON.parse(await readFile(opts.fleetFile, 'utf8'))) : [];
  const devices = [
    ...fromFile.map((p) => ({ ...p, ...overrides })),
    ...Array.from({ length: opts.devices }, () => ({ ...overrides })),
  ];
  if (devices.length === 0) throw new EmulatorError('INVALID_PROFILE', 'no devices: give --devices N or --fleet-file');
  const fleet = await startFleet({
    devices,
    stateDir: path.resolve(opts.stateDir),
    keyPool: { dir: path.resolve(opts.keyPoolDir ?? path.join(opts.stateDir, 'keypool')), size: opts.keyPoolSize },
    ephemeralPorts: opts.ephemeralPorts,
    firstIp: opts.firstIp,
    helloTimeScale: opts.helloTimeScale,
    admin: { port: opts.adminPort },
    logger: log,
  });
  const first = fleet.devices[0]!;
  const last = fleet.devices[fleet.devices.length - 1]!;
  console.log(
    `${fleet.devices.length} AMT devices: ${first.address}:${first.httpPort}/${first.tlsPort} … ${last.address}:${last.httpPort}/${last.tlsPort}`,
  );
  console.log(`admin API: ${fleet.admin?.url} (GET /devices, /devices/<uuid>/nvram, POST /faults)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await fleet.stop();
}

async function agent(opts: {
  adminUrl: string;
  device: string;
  reportUrl?: string;
  rootThumbprint?: string;
}): Promise<void> {
  const response = await fetch(`${opts.adminUrl.replace(/\/$/, '')}/devices/${opts.device}/agent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reportUrl: opts.reportUrl, rootThumbprint: opts.rootThumbprint }),
  });
  const body = (await response.json()) as { code?: string; message?: string };
  if (!response.ok) throw new EmulatorError('AGENT_REPORT_FAILED', `${body.code}: ${body.message}`);
  console.log(JSON.stringify(body, null, 2));
}

const program = new Command('emulator').description('Intel AMT firmware emulator for amtflow');

program
  .command('start', { isDefault: true })
  .description('start a fleet of emulated AMT devices')
  .option('--devices <n>', 'number of devices', int('--devices', 0, 10_000), 0)
  .option('--first-ip <ip>', 'address of the first device', '127.20.0.1')
  .option('--amt-version <v>', 'AMT version (3.2.1 … 19.x)')
  .option('--state <state>', 'pre (unprovisioned) or post (provisioned)')
  .option('--admin-password <p>', 'admin password of devices started in state post')
  .option('--dns-suffix <suffix>', 'DNS suffix (DHCP option 15)')
  .option('--hello <host:port>', 'provisioning server for hellos (default ProvisionServer.<suffix>:9971)')
  .option('--latency-ms <ms>', 'added latency per answer', int('--latency-ms', 0, 60_000))
  .option('--state-dir <dir>', 'NVRAM and key pool directory', '.state/emulator')
  .option('--fleet-file <file>', 'JSON fleet file: {"devices":[{"count":N, ...profile}]}')
  .option('--ephemeral-ports', 'ephemeral ports instead of 16992/16993', false)
  .option('--admin-port <port>', 'admin API port on 127.0.0.1', int('--admin-port', 0, 65535), 16990)
  .option('--hello-time-scale <k>', 'run the hello schedule k times faster', int('--hello-time-scale', 1, 1_000_000), 1)
  .option('--key-pool-size <n>', 'pre-generated RSA keys', int('--key-pool-size', 1, 4096), 16)
  .option('--key-pool-dir <dir>', 'key pool directory (default <state-dir>/keypool)')
  .option('--log-level <level>', 'pino log level', 'info')
  .action((opts: StartOptions) => start(opts));

program
  .command('agent')
  .description('play the in-band agent (IB1–IB3) for one device of a running fleet')
  .requiredOption('--admin-url <url>', 'admin API URL of the running fleet')
  .requiredOption('--device <uuid>', 'device UUID')
  .option('--report-url <url>', "amtflow's API endpoint for the report")
  .option('--root-thumbprint <hex>', 'provisioning CA root thumbprint to check (IB1)')
  .action(agent);

program.parseAsync().catch((err: unknown) => {
  const code = err instanceof EmulatorError ? err.code : 'ERROR';
  console.error(`${code}: ${(err as Error).message}`);
  process.exit(1);
});
