import { EmulatorError } from '../errors';
import type { AtapiOutcome, DriveChannel, IderDevice } from '../host/drive';
import type { Host } from '../host/host';
import { INTEL_IANA, MSG, shortMessage } from './messages';

/**
 * IDE redirection, firmware side (console reference §2): the console opens the channel (0x40 →
 * 0x41), enables the registers with a start mode (0x48 → 0x49), and from then on answers every
 * ATAPI packet command the host's drive issues (0x50) with data (0x54, the last one flagged 0x02
 * and carrying the output registers) or a status (0x51). The firmware numbers its IDE-R messages
 * from 0 with the open reply — MeshCommander aborts otherwise.
 */

/** Largest data chunk the firmware accepts per 0x54 (MeshCommander rejects more than 8192). */
const READ_CHUNK = 8192;
/** IDE-R feature sub-commands and register-state bits (amtterm RedirectionConstants.h). */
const FEATURE = { GET_SUPPORTED: 1, GET_STATE: 2, SET_STATE: 3 } as const;
const ENABLE = 0x01;
const START_MODE_MASK = 0x18;
const START_ON_REBOOT = 0x08;
/** Drive select register: floppy is device 0, the CD-ROM device 1 (bit 4). */
const DRIVE_SELECT: Readonly<Record<IderDevice, number>> = { floppy: 0xa0, cdrom: 0xb0 };
const ATA_PACKET = 0xa0;
/** Attribute bit of the final message of a command. */
const COMPLETED = 0x02;
/** ATA status register error bit. */
const STATUS_ERR = 0x01;
/** How long the host waits for the console to complete a command before giving up on the drive. */
const COMMAND_TIMEOUT_MS = 30_000;

interface Pending {
  chunks: Buffer[];
  resolve: (outcome: AtapiOutcome) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class IderChannel implements DriveChannel {
  private seq = 0;
  private enabled = false;
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: Host,
    private readonly firmwareVersion: [number, number],
    private readonly write: (bytes: Buffer) => void,
  ) {}

  /** Open IDE-R (0x40) → 0x41, 30 bytes: protocol 1.0, firmware version, chunk sizes, IANA, no OEM data. */
  start(): void {
    const reply = Buffer.alloc(30);
    reply[0] = MSG.START_IDER_REPLY;
    reply.writeUInt32LE(this.next(), 4);
    reply[8] = 1;
    reply[10] = this.firmwareVersion[0];
    reply[11] = this.firmwareVersion[1];
    reply.writeUInt16LE(READ_CHUNK, 16);
    reply.writeUInt16LE(READ_CHUNK, 18);
    reply.writeUInt32LE(INTEL_IANA, 25);
    this.write(reply);
  }

  /** A console message while IDE-R runs; false when the type does not belong to IDE-R. */
  handle(message: Buffer): boolean {
    switch (message[0]) {
      case MSG.IDER_FEATURES:
        this.features(message);
        return true;
      case MSG.IDER_KEEP_ALIVE_PING:
        this.write(shortMessage(MSG.IDER_KEEP_ALIVE_PONG, this.next()));
        return true;
      case MSG.IDER_HEARTBEAT:
      case MSG.IDER_KEEP_ALIVE_PONG:
      case MSG.IDER_RESET_OCCURRED_RESPONSE:
        return true;
      case MSG.IDER_DATA_TO_HOST:
        this.data(message);
        return true;
      case MSG.IDER_COMMAND_END_RESPONSE:
        this.status(message);
        return true;
      case MSG.IDER_GET_DATA_FROM_HOST:
        // A write: the emulated host never issues one, so there is nothing to take data for.
        return true;
      case MSG.END_IDER:
        this.stop();
        this.write(shortMessage(MSG.END_IDER_REPLY, this.next()));
        return true;
      default:
        return false;
    }
  }

  stop(): void {
    this.enabled = false;
    this.host.drive.disconnect(this);
    this.host.armProbeOnBoot(false);
    this.fail(new EmulatorError('DRIVE_NOT_CONNECTED', 'the IDE-R session ended'));
  }

  /** One packet command from the host's drive; commands are serialised as on one IDE channel. */
  execute(device: IderDevice, cdb: Buffer, byteCount: number): Promise<AtapiOutcome> {
    const run = () => this.send(device, cdb, byteCount);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private send(device: IderDevice, cdb: Buffer, byteCount: number): Promise<AtapiOutcome> {
    if (!this.enabled) return Promise.reject(new EmulatorError('DRIVE_NOT_CONNECTED', 'IDE-R is not enabled'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.fail(
            new EmulatorError('DRIVE_NOT_CONNECTED', `no answer to an IDE-R command within ${COMMAND_TIMEOUT_MS} ms`),
          ),
        COMMAND_TIMEOUT_MS,
      );
      timer.unref();
      this.pending = { chunks: [], resolve, reject, timer };
      const message = Buffer.alloc(28);
      message[0] = MSG.IDER_COMMAND_WRITTEN;
      message.writeUInt32LE(this.next(), 4);
      message.writeUInt16LE(Math.min(byteCount, 0xffff), 12);
      message[14] = DRIVE_SELECT[device];
      message[15] = ATA_PACKET;
      cdb.copy(message, 16, 0, 12);
      this.write(message);
    });
  }

  /** 0x48 → 0x49 (13 bytes: sub-command at 8, LE32 value at 9). */
  private features(message: Buffer): void {
    const sub = message[8]!;
    let value = 0;
    if (sub === FEATURE.GET_SUPPORTED) value = ENABLE;
    else if (sub === FEATURE.GET_STATE) value = this.enabled ? 0x03 : 0;
    else if (sub === FEATURE.SET_STATE) {
      this.setState(message.readUInt32LE(9));
      value = 1;
    }
    const reply = Buffer.alloc(13);
    reply[0] = MSG.IDER_FEATURES_REPLY;
    reply.writeUInt32LE(this.next(), 4);
    reply[8] = sub;
    reply.writeUInt32LE(value, 9);
    this.write(reply);
  }

  /** Enable with a start mode: now (0x18) and graceful (0x10) attach the drive at once, on-reboot (0x08) at the next boot. */
  private setState(state: number): void {
    this.enabled = (state & ENABLE) !== 0;
    if (!this.enabled) {
      this.host.drive.disconnect(this);
      this.host.armProbeOnBoot(false);
      return;
    }
    this.host.drive.connect(this);
    const onReboot = (state & START_MODE_MASK) === START_ON_REBOOT;
    this.host.armProbeOnBoot(onReboot);
    // The BIOS (or the running OS) notices the new drive once the console has its reply.
    if (!onReboot && this.host.state === 'S0') setImmediate(() => void this.host.drive.probe());
  }

  private data(message: Buffer): void {
    const pending = this.pending;
    if (!pending) return;
    const length = message.readUInt16LE(9);
    pending.chunks.push(Buffer.from(message.subarray(34, 34 + length)));
    if ((message[3]! & COMPLETED) !== 0) this.complete(message);
  }

  private status(message: Buffer): void {
    if (this.pending) this.complete(message);
  }

  /** Output registers at 20–27 (status last), sense key / ASC / ASCQ at 28–30 (0x51 and final 0x54). */
  private complete(message: Buffer): void {
    const pending = this.pending!;
    this.pending = null;
    clearTimeout(pending.timer);
    const error = (message[27]! & STATUS_ERR) !== 0 || message[28]! !== 0;
    pending.resolve({
      data: Buffer.concat(pending.chunks),
      sense: error ? { key: message[28]!, asc: message[29]!, ascq: message[30]! } : null,
    });
  }

  private fail(err: Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    clearTimeout(pending.timer);
    pending.reject(err);
  }

  private next(): number {
    const seq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    return seq;
  }
}
