import net from 'node:net';
import type { Logger } from 'pino';
import { effectiveDnsSuffix, inSetupMode, type Nvram } from '../device/nvram';
import { HELLO_PKI_VERSION, encodeHello } from './message';
import { helloSchedule } from './schedule';

export const HELLO_PORT = 9971;
const CONNECT_TIMEOUT_MS = 5000;

export interface HelloSenderOptions {
  nvram: () => Nvram;
  /** Schedule divisor: 3600 runs an hour of the schedule in a second. */
  timeScale: number;
  log: Logger;
  /** Called after each attempt (sent or failed), for tests and the admin API. */
  onAttempt?: (attempt: HelloAttempt) => void;
}

export interface HelloAttempt {
  retryCount: number;
  target: string;
  delivered: boolean;
}

/** The provisioning server: the configured `host:port`, else `ProvisionServer.<suffix>:9971` (P6). */
export function helloTarget(nvram: Nvram): { host: string; port: number } {
  const configured = nvram.provisioning.helloTarget;
  if (configured) {
    const colon = configured.lastIndexOf(':');
    return { host: configured.slice(0, colon), port: Number(configured.slice(colon + 1)) };
  }
  return { host: `ProvisionServer.${effectiveDnsSuffix(nvram)}`, port: HELLO_PORT };
}

/**
 * Sends hellos on the OOB1 schedule while the device is in setup mode; stops when it leaves setup
 * mode (provisioned, remote configuration disabled) or when the window closes. The schedule is
 * runtime state: a power cycle starts a new window, as on firmware that resumes hellos at boot.
 */
export class HelloSender {
  private timer: NodeJS.Timeout | null = null;
  private offsets: number[] = [];
  private index = 0;
  private startedAt = 0;
  private sockets = new Set<net.Socket>();

  constructor(private readonly options: HelloSenderOptions) {}

  get running(): boolean {
    return this.timer !== null;
  }

  /** Starts a new window if the device is in setup mode and hellos are enabled. */
  start(): void {
    const nvram = this.options.nvram();
    if (this.running || !inSetupMode(nvram) || !nvram.provisioning.helloEnabled) return;
    this.offsets = helloSchedule();
    this.index = 0;
    this.startedAt = Date.now();
    this.arm();
  }

  /** ExtendProvisioningPeriod: `hours` more hourly hellos after the current last one. */
  extend(hours: number): void {
    const last = this.offsets[this.offsets.length - 1] ?? 0;
    for (let h = 1; h <= hours; h++) this.offsets.push(last + h * 3600);
    if (!this.running) this.arm();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private arm(): void {
    const offset = this.offsets[this.index];
    if (offset === undefined) {
      this.options.log.info({ uuid: this.options.nvram().uuid }, 'hello window closed');
      this.timer = null;
      return;
    }
    const due = this.startedAt + (offset * 1000) / this.options.timeScale;
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - Date.now()));
    this.timer.unref();
  }

  private fire(): void {
    const nvram = this.options.nvram();
    if (!inSetupMode(nvram) || !nvram.provisioning.helloEnabled) {
      this.timer = null;
      return;
    }
    const retryCount = this.index;
    this.index += 1;
    this.send(nvram, retryCount);
    this.arm();
  }

  private send(nvram: Nvram, retryCount: number): void {
    const { host, port } = helloTarget(nvram);
    const target = `${host}:${port}`;
    const bytes = encodeHello({
      credentialsChanged: nvram.mebx.changed,
      version: HELLO_PKI_VERSION,
      retryCount,
      uuid: nvram.uuid,
      hashes: nvram.hashes.filter((h) => h.enabled),
    });
    // From the device's own address, as a real NIC would: the provisioning server connects back to
    // the hello's source address.
    const socket = net.connect({ host, port, localAddress: nvram.address });
    this.sockets.add(socket);
    let delivered = false;
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy());
    socket.on('connect', () => {
      // AMT connects, sends, closes (reference §6.3).
      socket.end(bytes, () => {
        delivered = true;
      });
    });
    socket.on('error', (err) =>
      this.options.log.debug({ uuid: nvram.uuid, target, err: err.message }, 'hello not delivered'),
    );
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.options.onAttempt?.({ retryCount, target, delivered });
    });
  }
}
