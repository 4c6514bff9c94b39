import { open, type FileHandle } from 'node:fs/promises';
import type { AmtError } from '../errors';
import { answerPacket, BLOCK_SIZE, SENSE, type DriveKind, type ImageReader, type Sense } from './atapi';
import type { RedirectionChannel } from './channel';
import { AmtRedirectionError } from './errors';
import { expectType, openRedirection, type RedirectionOptions } from './handshake';
import { REDIRECTION, headed } from './messages';

/** When the host sees the drive: at once, at its next boot, or once it is idle (console reference §2.2). */
export type IderStartMode = 'now' | 'on-reboot' | 'graceful';

export interface IderOptions extends RedirectionOptions {
  /** Path of the image to serve, read-only. Its size must be a non-zero multiple of 512 bytes. */
  image: string;
  /** The drive the image appears as; default `cdrom` (2048-byte blocks), `floppy` has 512. */
  device?: DriveKind;
  /** Default `now`. */
  startMode?: IderStartMode;
  /** Interval of the console's heartbeats (0x4B), ms; default 5000. */
  keepAliveMs?: number;
}

export interface IderStats {
  /** Packet commands answered. */
  commands: number;
  /** Read commands served, in order: first block and block count. */
  reads: { lba: number; blocks: number }[];
  bytesSent: number;
}

/** Register-state value of the features message: enable, plus the start mode (amtterm constants). */
const START_MODE: Readonly<Record<IderStartMode, number>> = { now: 0x18, 'on-reboot': 0x08, graceful: 0x10 };
const ENABLE = 0x01;
const SET_REGISTER_STATE = 3;
/** Largest data chunk per 0x54 unless the firmware asks for less (MeshCommander's limit). */
const MAX_CHUNK = 8192;
const ATA_PACKET = 0xa0;
const FINAL = 0x02;
const READ_OPCODES = new Set([0x08, 0x28, 0xa8]);

/**
 * An IDE-redirection session serving one image read-only to the device (console reference §2):
 * open (0x40 → 0x41), enable with a start mode (0x48 → 0x49), then answer every packet command the
 * host's drive issues — data as 0x54 messages no larger than the firmware's read chunk, the last
 * flagged final with the output registers, or a status (0x51) with sense data. Writes are refused
 * as write-protected. `outcome` resolves with why the session ended (null when `close()` ended it).
 */
export class IderSession {
  readonly stats: IderStats = { commands: 0, reads: [], bytesSent: 0 };
  readonly outcome: Promise<AmtError | null>;
  private seq = 2;
  private lastSense: Sense | null = null;
  private work: Promise<void> = Promise.resolve();

  private constructor(
    private readonly channel: RedirectionChannel,
    private readonly image: ImageFile,
    private readonly device: DriveKind,
    private readonly chunk: number,
    keepAliveMs: number,
  ) {
    channel.heartbeat(keepAliveMs, () => headed(REDIRECTION.IDER_HEARTBEAT, this.next()));
    this.outcome = channel.outcome();
    channel.onClose(() => void image.close());
    channel.listen((message) => this.receive(message));
  }

  /**
   * Checks the image, connects, authenticates, opens IDE-R and enables the drive. Rejects with
   * `IDER_IMAGE_INVALID` before any connection for a bad image, else with the typed errors of the
   * handshake or `IDER_START_FAILED`; nothing stays open on failure.
   */
  static async open(options: IderOptions): Promise<IderSession> {
    const device = options.device ?? 'cdrom';
    const image = await ImageFile.open(options.image);
    let channel: RedirectionChannel | undefined;
    try {
      channel = await openRedirection(options, 'ider');
      // Open: rx timeout 30 s, tx timeout 0, heartbeat 20 s, protocol version 1 (MeshCommander's values).
      const start = headed(REDIRECTION.START_IDER, 0, 18);
      start.writeUInt16LE(30_000, 8);
      start.writeUInt16LE(20_000, 12);
      start.writeUInt32LE(1, 14);
      channel.send(start);
      const reply = await channel.next();
      expectType(channel, reply, REDIRECTION.START_IDER_REPLY);
      if (reply[1] !== 0) throw startFailed(channel, `IDE-R open refused (status ${reply[1]})`);
      const advertised = reply.readUInt16LE(16);
      const chunk = advertised > 0 ? Math.min(advertised, MAX_CHUNK) : MAX_CHUNK;
      const features = headed(REDIRECTION.IDER_FEATURES, 1, 13);
      features[8] = SET_REGISTER_STATE;
      features.writeUInt32LE(ENABLE | START_MODE[options.startMode ?? 'now'], 9);
      channel.send(features);
      const enabled = await channel.next();
      expectType(channel, enabled, REDIRECTION.IDER_FEATURES_REPLY);
      if (enabled[8] !== SET_REGISTER_STATE || enabled.readUInt32LE(9) !== 1)
        throw startFailed(channel, 'the device did not enable the IDE-R registers');
      return new IderSession(channel, image, device, chunk, options.keepAliveMs ?? 5_000);
    } catch (err) {
      channel?.close();
      await image.close();
      throw err;
    }
  }

  /** Ends IDE-R (0x42, its reply waited for up to 5 s), then the session (0x12), and closes the connection. */
  async close(): Promise<void> {
    await this.channel.end(headed(REDIRECTION.END_IDER, this.next()), REDIRECTION.END_IDER_REPLY);
    await this.outcome;
  }

  private receive(message: Buffer): void {
    switch (message[0]) {
      case REDIRECTION.IDER_COMMAND_WRITTEN:
        // One IDE channel: commands are answered in order, one at a time.
        this.work = this.work.then(() => this.command(message)).catch((err: unknown) => this.abort(err));
        return;
      case REDIRECTION.IDER_PING:
        this.channel.send(headed(REDIRECTION.IDER_PONG, this.next()));
        return;
      case REDIRECTION.IDER_RESET_OCCURRED:
        this.lastSense = null;
        this.channel.send(headed(REDIRECTION.IDER_RESET_RESPONSE, this.next()));
        return;
      case REDIRECTION.IDER_PONG:
      case REDIRECTION.IDER_HEARTBEAT:
      case REDIRECTION.IDER_FEATURES_REPLY:
        return;
      case REDIRECTION.IDER_ERROR_OCCURRED:
        return this.abort(new Error('the device reported an IDE-R error'));
      default:
        return this.abort(new Error(`message 0x${message[0]!.toString(16)} in an IDE-R session`));
    }
  }

  /** 0x50: [9] bit 0 DMA, [14] drive select (bit 4 = CD-ROM), [15] ATA command, [16..27] the packet. */
  private async command(message: Buffer): Promise<void> {
    const dma = (message[9]! & 0x01) !== 0;
    const drive = message[14]!;
    const target: DriveKind = (drive & 0x10) !== 0 ? 'cdrom' : 'floppy';
    const cdb = message.subarray(16, 28);
    let answer;
    if (message[15] !== ATA_PACKET) answer = { sense: SENSE.INVALID_COMMAND };
    else if (target !== this.device) answer = { sense: SENSE.NO_MEDIUM };
    else answer = await answerPacket(cdb, target, this.image, this.lastSense);
    this.stats.commands += 1;
    if (cdb[0] === 0x03) this.lastSense = null;
    if ('sense' in answer) {
      this.lastSense = answer.sense;
      return this.channel.send(this.status(drive, answer.sense));
    }
    if (READ_OPCODES.has(cdb[0]!) && answer.data.length > 0) {
      const blocks = answer.data.length / BLOCK_SIZE[target];
      this.stats.reads.push({ lba: cdb[0] === 0x08 ? cdb.readUIntBE(1, 3) & 0x1fffff : cdb.readUInt32BE(2), blocks });
    }
    if (answer.data.length === 0) return this.channel.send(this.status(drive, null));
    for (let at = 0; at < answer.data.length; at += this.chunk) {
      const part = answer.data.subarray(at, at + this.chunk);
      this.channel.send(this.data(drive, dma, part, at + part.length >= answer.data.length));
      this.stats.bytesSent += part.length;
    }
  }

  /** 0x54: input registers {mask, 0, 0x02, 0, count lo, hi, drive, 0x58}; the final one carries the output registers. */
  private data(drive: number, dma: boolean, part: Buffer, final: boolean): Buffer {
    const head = headed(REDIRECTION.IDER_DATA_TO_HOST, this.next(), 34);
    head[3] = final ? FINAL : 0;
    head.writeUInt16LE(part.length, 9);
    Buffer.from([dma ? 0xb4 : 0xb5, 0, 0x02, 0, part.length & 0xff, part.length >> 8, drive, 0x58]).copy(head, 12);
    if (final) Buffer.from([0x85, 0, 0x03, 0, 0, 0, drive, 0x50]).copy(head, 20);
    return Buffer.concat([head, part]);
  }

  /** 0x51: good {0xC5 … status 0x50}, or check condition {0x87, sense << 4 … status 0x51} with the sense. */
  private status(drive: number, sense: Sense | null): Buffer {
    const message = headed(REDIRECTION.IDER_COMMAND_END, this.next(), 31);
    message[3] = FINAL;
    const registers = sense
      ? [0x87, sense.key << 4, 0x03, 0, 0, 0, drive, 0x51]
      : [0xc5, 0, 0x03, 0, 0, 0, drive, 0x50];
    Buffer.from(registers).copy(message, 20);
    if (sense) Buffer.from([sense.key, sense.asc, sense.ascq]).copy(message, 28);
    return message;
  }

  private abort(err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.channel.abort(
      new AmtRedirectionError('REDIRECTION_PROTOCOL_ERROR', `${this.channel.target}: ${reason}`, 'unknown', {
        cause: err,
      }),
    );
  }

  private next(): number {
    const seq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    return seq;
  }
}

function startFailed(channel: RedirectionChannel, what: string): AmtRedirectionError {
  return new AmtRedirectionError('IDER_START_FAILED', `${channel.target}: ${what}`);
}

/** The image, opened read-only once; reads past its end come back zero-filled. */
class ImageFile implements ImageReader {
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<ImageFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw new AmtRedirectionError(
        'IDER_IMAGE_INVALID',
        `IDE-R image ${path} cannot be opened for reading`,
        'not-delivered',
        {
          cause: err,
        },
      );
    }
    const { size, isFile } = await handle.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
    if (!isFile || size === 0 || size % 512 !== 0) {
      await handle.close();
      throw new AmtRedirectionError(
        'IDER_IMAGE_INVALID',
        `IDE-R image ${path} must be a file whose size is a non-zero multiple of 512 bytes (it has ${size})`,
        'not-delivered',
      );
    }
    return new ImageFile(handle, size);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    await this.handle.read(buffer, 0, Math.max(0, Math.min(length, this.size - offset)), offset);
    return buffer;
  }

  close(): Promise<void> {
    this.closing ??= this.handle.close().catch(() => undefined);
    return this.closing;
  }
}
