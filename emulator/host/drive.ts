import { EmulatorError } from '../errors';

/**
 * The host's view of IDE redirection: two ATAPI devices behind the firmware (floppy at drive
 * select 0xA0, CD-ROM at 0xB0, protocol reference §2.2) whose medium is whatever the console
 * serves. The host issues SCSI packet commands, the firmware relays each one to the console
 * (IDE-R "command written") and the console's answer comes back as data or status. Every read is
 * recorded so tests can compare what the host saw with the image the console served.
 */

export type IderDevice = 'cdrom' | 'floppy';

export const BLOCK_SIZE: Readonly<Record<IderDevice, number>> = { cdrom: 2048, floppy: 512 };

export interface Sense {
  key: number;
  asc: number;
  ascq: number;
}

/** The console's answer to one packet command: the data it sent and, on a check condition, the sense. */
export interface AtapiOutcome {
  data: Buffer;
  sense: Sense | null;
}

/** The IDE-R session that carries the drive's commands to the console. */
export interface DriveChannel {
  execute(device: IderDevice, cdb: Buffer, byteCount: number): Promise<AtapiOutcome>;
}

export interface DriveRead {
  at: string;
  device: IderDevice;
  lba: number;
  blocks: number;
  data: Buffer;
}

export interface DriveFailure {
  at: string;
  device: IderDevice;
  /** SCSI operation code of the failed command. */
  opcode: number;
  /** The sense the console reported, or null when it answered with less data than asked for. */
  sense: Sense | null;
}

/** What one READ(10) asks for at most: 16 CD sectors keep the ATAPI byte count within 16 bits. */
const MAX_BLOCKS_PER_COMMAND = 16;
const TEST_UNIT_READY = 0x00;
const READ_CAPACITY = 0x25;
const READ_10 = 0x28;

export class VirtualDrive {
  readonly reads: DriveRead[] = [];
  readonly failures: DriveFailure[] = [];
  private channel: DriveChannel | null = null;

  constructor(private readonly now: () => Date) {}

  /** True while an IDE-R session has the drive enabled. */
  get connected(): boolean {
    return this.channel !== null;
  }

  connect(channel: DriveChannel): void {
    this.channel = channel;
  }

  disconnect(channel: DriveChannel): void {
    if (this.channel === channel) this.channel = null;
  }

  async testUnitReady(device: IderDevice): Promise<void> {
    await this.command(device, cdb(TEST_UNIT_READY), 0);
  }

  /** READ CAPACITY: the last block address and the block size, as the console reports them. */
  async readCapacity(device: IderDevice): Promise<{ lastLba: number; blockSize: number }> {
    const data = await this.command(device, cdb(READ_CAPACITY), 8);
    return { lastLba: data.readUInt32BE(0), blockSize: data.readUInt32BE(4) };
  }

  /** Reads `blocks` blocks from `lba` with READ(10) commands, recording each one. */
  async read(device: IderDevice, lba: number, blocks: number): Promise<Buffer> {
    if (!Number.isInteger(lba) || lba < 0 || !Number.isInteger(blocks) || blocks < 1 || lba + blocks > 0xffffffff)
      throw new RangeError(`invalid block range ${lba}+${blocks}`);
    const size = BLOCK_SIZE[device];
    const parts: Buffer[] = [];
    for (let done = 0; done < blocks;) {
      const count = Math.min(MAX_BLOCKS_PER_COMMAND, blocks - done);
      const packet = cdb(READ_10);
      packet.writeUInt32BE(lba + done, 2);
      packet.writeUInt16BE(count, 7);
      const data = await this.command(device, packet, count * size);
      this.reads.push({ at: this.now().toISOString(), device, lba: lba + done, blocks: count, data });
      parts.push(data);
      done += count;
    }
    return Buffer.concat(parts);
  }

  /**
   * What a BIOS does when the drive appears: TEST UNIT READY, READ CAPACITY, then (CD) the ISO 9660
   * primary volume descriptor and the El Torito boot record (LBA 16 and 17). Failures are recorded,
   * not thrown: a BIOS moves on to the next boot device.
   */
  async probe(device: IderDevice = 'cdrom'): Promise<void> {
    try {
      await this.testUnitReady(device);
      const { lastLba } = await this.readCapacity(device);
      const first = device === 'cdrom' ? 16 : 0;
      if (lastLba >= first) await this.read(device, first, Math.min(2, lastLba - first + 1));
    } catch (err) {
      if (!(err instanceof EmulatorError)) throw err;
    }
  }

  private async command(device: IderDevice, packet: Buffer, byteCount: number): Promise<Buffer> {
    const channel = this.channel;
    if (!channel) throw new EmulatorError('DRIVE_NOT_CONNECTED', 'no IDE-R session has the drive enabled');
    const outcome = await channel.execute(device, packet, byteCount);
    const short = outcome.sense === null && outcome.data.length < byteCount;
    if (outcome.sense || short) {
      this.failures.push({ at: this.now().toISOString(), device, opcode: packet[0]!, sense: outcome.sense });
      const why = outcome.sense
        ? `sense ${hex(outcome.sense.key)}/${hex(outcome.sense.asc)}/${hex(outcome.sense.ascq)}`
        : `${outcome.data.length} of ${byteCount} bytes`;
      throw new EmulatorError('DRIVE_CHECK_CONDITION', `${device} command 0x${hex(packet[0]!)} failed: ${why}`);
    }
    return outcome.data.subarray(0, byteCount);
  }
}

function cdb(opcode: number): Buffer {
  const packet = Buffer.alloc(12);
  packet[0] = opcode;
  return packet;
}

const hex = (n: number) => n.toString(16).padStart(2, '0');
