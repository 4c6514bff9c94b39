/**
 * The SCSI/ATAPI answers of a read-only virtual drive backed by an image (console reference §2.3;
 * MMC/SPC command layouts): what an IDE-R console sends back for each packet command the host's
 * drive issues. Pure logic over a block reader, so it is unit-testable without a device.
 */

export type DriveKind = 'cdrom' | 'floppy';

export interface Sense {
  key: number;
  asc: number;
  ascq: number;
}

export type AtapiAnswer = { data: Buffer } | { sense: Sense };

export interface ImageReader {
  /** Size of the image in bytes. */
  readonly size: number;
  /** Reads `length` bytes at `offset` (zero-filled past the end of the image). */
  read(offset: number, length: number): Promise<Buffer>;
}

export const BLOCK_SIZE: Readonly<Record<DriveKind, number>> = { cdrom: 2048, floppy: 512 };

/** Sense triples (SPC-4 / MMC): the ones consoles answer with (MeshCommander, amtider). */
export const SENSE = {
  INVALID_COMMAND: { key: 0x05, asc: 0x20, ascq: 0x00 },
  LBA_OUT_OF_RANGE: { key: 0x05, asc: 0x21, ascq: 0x00 },
  INVALID_FIELD: { key: 0x05, asc: 0x24, ascq: 0x00 },
  WRITE_PROTECTED: { key: 0x07, asc: 0x27, ascq: 0x00 },
  NO_MEDIUM: { key: 0x02, asc: 0x3a, ascq: 0x00 },
} as const;

const OP = {
  TEST_UNIT_READY: 0x00,
  REQUEST_SENSE: 0x03,
  READ_6: 0x08,
  WRITE_6: 0x0a,
  INQUIRY: 0x12,
  MODE_SENSE_6: 0x1a,
  START_STOP_UNIT: 0x1b,
  PREVENT_ALLOW: 0x1e,
  READ_FORMAT_CAPACITIES: 0x23,
  READ_CAPACITY: 0x25,
  READ_10: 0x28,
  WRITE_10: 0x2a,
  VERIFY_10: 0x2f,
  READ_TOC: 0x43,
  GET_CONFIGURATION: 0x46,
  GET_EVENT_STATUS: 0x4a,
  READ_DISC_INFORMATION: 0x51,
  MODE_SENSE_10: 0x5a,
  READ_12: 0xa8,
  WRITE_12: 0xaa,
} as const;

/** MMC profile of a CD-ROM (GET CONFIGURATION). */
const PROFILE_CD_ROM = 0x0008;

/** Answers one packet command; `lastSense` is what REQUEST SENSE reports (the previous failure). */
export async function answerPacket(
  cdb: Buffer,
  kind: DriveKind,
  image: ImageReader,
  lastSense: Sense | null,
): Promise<AtapiAnswer> {
  const blockSize = BLOCK_SIZE[kind];
  const blocks = Math.ceil(image.size / blockSize);
  switch (cdb[0]) {
    case OP.TEST_UNIT_READY:
    case OP.START_STOP_UNIT:
    case OP.PREVENT_ALLOW:
    case OP.VERIFY_10:
      return { data: Buffer.alloc(0) };
    case OP.REQUEST_SENSE:
      return { data: allocation(requestSense(lastSense), cdb[4]!) };
    case OP.INQUIRY:
      return { data: allocation(inquiry(kind), cdb.readUInt16BE(3)) };
    case OP.READ_CAPACITY: {
      const data = Buffer.alloc(8);
      data.writeUInt32BE(blocks - 1, 0);
      data.writeUInt32BE(blockSize, 4);
      return { data };
    }
    case OP.READ_FORMAT_CAPACITIES: {
      const data = Buffer.alloc(12);
      data[3] = 8;
      data.writeUInt32BE(blocks, 4);
      data[8] = 0x02; // formatted medium
      data.writeUIntBE(blockSize, 9, 3);
      return { data: allocation(data, cdb.readUInt16BE(7)) };
    }
    case OP.READ_6:
      return read(image, blockSize, blocks, cdb.readUIntBE(1, 3) & 0x1fffff, cdb[4] || 256);
    case OP.READ_10:
      return read(image, blockSize, blocks, cdb.readUInt32BE(2), cdb.readUInt16BE(7));
    case OP.READ_12:
      return read(image, blockSize, blocks, cdb.readUInt32BE(2), cdb.readUInt32BE(6));
    case OP.MODE_SENSE_6:
      return { data: allocation(modeSense(kind, 4), cdb[4]!) };
    case OP.MODE_SENSE_10:
      return { data: allocation(modeSense(kind, 8), cdb.readUInt16BE(7)) };
    case OP.WRITE_6:
    case OP.WRITE_10:
    case OP.WRITE_12:
      return { sense: SENSE.WRITE_PROTECTED };
    default:
      return kind === 'cdrom' ? cdOnly(cdb, blocks) : { sense: SENSE.INVALID_COMMAND };
  }
}

/** MMC commands only a CD-ROM answers. */
function cdOnly(cdb: Buffer, blocks: number): AtapiAnswer {
  switch (cdb[0]) {
    case OP.READ_TOC:
      return { data: allocation(toc(blocks), cdb.readUInt16BE(7)) };
    case OP.GET_CONFIGURATION: {
      const data = Buffer.alloc(8);
      data.writeUInt32BE(4, 0);
      data.writeUInt16BE(PROFILE_CD_ROM, 6);
      return { data: allocation(data, cdb.readUInt16BE(7)) };
    }
    case OP.GET_EVENT_STATUS: {
      // Media class, no event, medium present.
      const data = Buffer.from([0x00, 0x06, 0x04, 0x10, 0x00, 0x02, 0x00, 0x00]);
      return { data: allocation(data, cdb.readUInt16BE(7)) };
    }
    case OP.READ_DISC_INFORMATION: {
      const data = Buffer.alloc(34);
      data.writeUInt16BE(32, 0);
      data[2] = 0x0e; // complete disc, last session complete
      data[3] = data[4] = data[5] = data[6] = 1;
      return { data: allocation(data, cdb.readUInt16BE(7)) };
    }
    default:
      return { sense: SENSE.INVALID_COMMAND };
  }
}

async function read(
  image: ImageReader,
  blockSize: number,
  blocks: number,
  lba: number,
  count: number,
): Promise<AtapiAnswer> {
  if (count === 0) return { data: Buffer.alloc(0) };
  if (lba + count > blocks) return { sense: SENSE.LBA_OUT_OF_RANGE };
  return { data: await image.read(lba * blockSize, count * blockSize) };
}

/** A response truncated to the allocation length the host gave. */
function allocation(data: Buffer, length: number): Buffer {
  return data.subarray(0, Math.min(data.length, length));
}

function requestSense(sense: Sense | null): Buffer {
  const data = Buffer.alloc(18);
  data[0] = 0x70;
  data[2] = sense?.key ?? 0;
  data[7] = 10;
  data[12] = sense?.asc ?? 0;
  data[13] = sense?.ascq ?? 0;
  return data;
}

function inquiry(kind: DriveKind): Buffer {
  const data = Buffer.alloc(36, 0x20);
  data[0] = kind === 'cdrom' ? 0x05 : 0x00; // CD/DVD device, or direct access
  data[1] = 0x80; // removable medium
  data[2] = 0x00;
  data[3] = 0x21; // ATAPI, response data format 1
  data[4] = 31;
  data[5] = data[6] = data[7] = 0;
  data.write('amtflow', 8, 'latin1');
  data.write(kind === 'cdrom' ? 'Virtual CD-ROM' : 'Virtual Floppy', 16, 'latin1');
  data.write('1.00', 32, 'latin1');
  return data;
}

/** Mode parameter header only: medium type (CD-ROM 0x05 / floppy 0x00) and write protect set. */
function modeSense(kind: DriveKind, headerLength: 4 | 8): Buffer {
  const data = Buffer.alloc(headerLength);
  const medium = kind === 'cdrom' ? 0x05 : 0x00;
  if (headerLength === 4) {
    data[0] = 3;
    data[1] = medium;
    data[2] = 0x80;
  } else {
    data.writeUInt16BE(6, 0);
    data[2] = medium;
    data[3] = 0x80;
  }
  return data;
}

/** READ TOC format 0: one data track starting at LBA 0, then the lead-out. */
function toc(blocks: number): Buffer {
  const data = Buffer.alloc(20);
  data.writeUInt16BE(18, 0);
  data[2] = 1;
  data[3] = 1;
  data[5] = 0x14; // ADR 1, data track
  data[6] = 1;
  data[13] = 0x14;
  data[14] = 0xaa; // lead-out
  data.writeUInt32BE(blocks, 16);
  return data;
}
