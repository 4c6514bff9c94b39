import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { AMT_HTTP_PORT, AMT_TLS_PORT, Device } from '../device/device';
import { createNvram } from '../device/nvram';
import { deviceProfileSchema, type DeviceProfileInput } from '../device/profile';
import { loadNvram } from '../device/store';
import { EmulatorError } from '../errors';
import type { HelloAttempt } from '../hello/sender';
import { KeyPool, type KeyPoolOptions } from '../keys/pool';
import { startAdminApi, type AdminApi } from './admin';
import { FaultRegistry, parseFault, seededRandom, type ActiveFault, type FaultInput } from './faults';

export interface FleetOptions {
  devices: DeviceProfileInput[];
  /** NVRAM files go to `<stateDir>/devices/`; the default key pool to `<stateDir>/keypool/`. */
  stateDir: string;
  /** A shared pool (tests) or where to keep one. */
  keyPool?: KeyPool | KeyPoolOptions;
  /** Ephemeral ports instead of 16992/16993 (each device still has its own address). */
  ephemeralPorts?: boolean;
  /** Address of the first device without an explicit one; the next get consecutive addresses. */
  firstIp?: string;
  /** Hello schedule divisor (3600 = an hour per second). */
  helloTimeScale?: number;
  /** Admin API; `false` for none. Default: 127.0.0.1, ephemeral port. */
  admin?: { host?: string; port?: number } | false;
  logger?: Logger;
  /** Seed of the generator that decides faults injected with a `probability` (default: unseeded). */
  faultSeed?: number;
}

export interface Fleet {
  readonly devices: Device[];
  device(uuid: string): Device;
  /** `http://127.0.0.1:<port>` of the admin API, or null. */
  readonly admin: { url: string } | null;
  /** Emits `hello` (uuid, HelloAttempt) after every hello attempt. */
  readonly events: EventEmitter;
  inject(fault: FaultInput, target?: string): ActiveFault;
  faults(): ActiveFault[];
  clearFaults(id?: string): void;
  stop(): Promise<void>;
}

/** Fleet files: `{ "devices": [ { "count": 10, ...profile }, … ] }`. */
export const fleetFileSchema = z
  .object({
    devices: z
      .array(deviceProfileSchema.partial().extend({ count: z.number().int().min(1).max(10_000).default(1) }))
      .min(1),
  })
  .strict();

export function expandFleetFile(input: unknown): DeviceProfileInput[] {
  const parsed = fleetFileSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EmulatorError('INVALID_PROFILE', `${issue?.path.join('.') || 'fleet'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data.devices.flatMap(({ count, ...profile }) => Array.from({ length: count }, () => ({ ...profile })));
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Consecutive loopback addresses, skipping .0 and .255 in the last octet. */
export function* loopbackAddresses(first: string): Generator<string> {
  let n = ipToInt(first);
  for (;;) {
    const last = n & 255;
    if (last !== 0 && last !== 255) {
      const ip = intToIp(n);
      if (!ip.startsWith('127.')) throw new EmulatorError('INVALID_PROFILE', 'ran out of 127/8 addresses');
      yield ip;
    }
    n += 1;
  }
}

/** Stable UUID for a device known only by its address, so a restart finds its NVRAM again. */
export function uuidForAddress(address: string): string {
  const h = createHash('sha1').update(`amtflow-emulator:${address}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const START_BATCH = 32;

/**
 * Starts (or restores) a fleet. A device whose NVRAM exists under `stateDir` is restored exactly
 * and its profile ignored; otherwise its NVRAM is created from the profile.
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const log = options.logger ?? pino({ level: process.env.EMULATOR_LOG_LEVEL ?? 'warn' });
  await mkdir(options.stateDir, { recursive: true });
  const keyPool =
    options.keyPool instanceof KeyPool
      ? options.keyPool
      : await KeyPool.open(options.keyPool ?? { dir: path.join(options.stateDir, 'keypool') });
  const faultRegistry = new FaultRegistry(
    options.faultSeed === undefined ? Math.random : seededRandom(options.faultSeed),
  );
  const events = new EventEmitter();
  const addresses = loopbackAddresses(options.firstIp ?? '127.20.0.1');
  const profiles = options.devices.map((input, i) => {
    const parsed = deviceProfileSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new EmulatorError('INVALID_PROFILE', `devices[${i}].${issue?.path.join('.')}: ${issue?.message}`);
    }
    const address = parsed.data.address ?? addresses.next().value!;
    return { ...parsed.data, address, uuid: (parsed.data.uuid ?? uuidForAddress(address)).toLowerCase() };
  });
  const seen = new Set<string>();
  for (const p of profiles) {
    if (seen.has(p.uuid) || seen.has(p.address))
      throw new EmulatorError('INVALID_PROFILE', `duplicate device ${p.uuid} / ${p.address}`);
    seen.add(p.uuid).add(p.address);
  }

  const devices: Device[] = [];
  const stopAll = () => Promise.all(devices.map((d) => d.stop()));
  try {
    for (let i = 0; i < profiles.length; i += START_BATCH) {
      const batch = await Promise.all(
        profiles.slice(i, i + START_BATCH).map(async (profile) => {
          const key = keyPool.draw();
          const nvram =
            (await loadNvram(options.stateDir, profile.uuid)) ??
            createNvram(profile, { keyPem: key.privateKeyPem, certPem: key.certPem });
          return Device.start({
            nvram,
            stateDir: options.stateDir,
            keyPool,
            faults: faultRegistry,
            log,
            latencyMs: profile.latencyMs,
            wiredNetwork8021x: profile.wiredNetwork8021x,
            secureRenegotiation: profile.secureRenegotiation,
            ports: options.ephemeralPorts ? { http: 0, tls: 0 } : { http: AMT_HTTP_PORT, tls: AMT_TLS_PORT },
            helloTimeScale: options.helloTimeScale ?? 1,
            onHello: (uuid, attempt: HelloAttempt) => events.emit('hello', uuid, attempt),
          });
        }),
      );
      devices.push(...batch);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  const byUuid = new Map(devices.map((d) => [d.uuid, d]));
  const device = (uuid: string) => {
    const d = byUuid.get(uuid.toLowerCase());
    if (!d) throw new EmulatorError('UNKNOWN_DEVICE', `no device ${uuid}`);
    return d;
  };
  const fleet: Fleet = {
    devices,
    device,
    admin: null,
    events,
    inject(fault, target) {
      const parsed = parseFault(target === undefined ? fault : { ...fault, target });
      if (parsed.target !== undefined) device(parsed.target);
      return faultRegistry.add(parsed);
    },
    faults: () => faultRegistry.list(),
    clearFaults(id) {
      if (id === undefined) faultRegistry.clear();
      else faultRegistry.remove(id);
    },
    async stop() {
      await adminApi?.close();
      await stopAll();
    },
  };
  let adminApi: AdminApi | null = null;
  if (options.admin !== false) {
    try {
      adminApi = await startAdminApi(fleet, options.admin ?? {});
    } catch (err) {
      await stopAll();
      throw err;
    }
    (fleet as { admin: { url: string } | null }).admin = { url: adminApi.url };
  }
  log.info({ devices: devices.length, admin: fleet.admin?.url }, 'emulator fleet started');
  return fleet;
}
