import { randomBytes } from 'node:crypto';
import { answerPacket, SENSE, type ImageReader } from '../../../lib/amt/redirection/atapi';
import { firmwareMessageLength, lengthPrefixed, readLengthPrefixed } from '../../../lib/amt/redirection/messages';

/** The pure halves of the redirection client: message framing and the read-only drive's answers. */
describe('redirection framing', () => {
  it('frames firmware messages by type and length field, and refuses what no firmware sends', () => {
    const reply = Buffer.from([0x11, 0, 0, 0, 1, 0, 11, 8, 0x57, 1, 0, 0, 2, 0xaa, 0xbb]);
    expect(firmwareMessageLength(reply)).toBe(15);
    expect(firmwareMessageLength(reply.subarray(0, 12))).toBeNull();
    expect(firmwareMessageLength(reply.subarray(0, 14))).toBeNull();
    const data = Buffer.concat([Buffer.from([0x2a, 0, 0, 0, 1, 0, 0, 0, 3, 0]), Buffer.from('abc')]);
    expect(firmwareMessageLength(data)).toBe(13);
    expect(firmwareMessageLength(Buffer.from([0x14, 0, 0, 0, 0, 0xff, 0xff, 0, 0]))).toBe(-1);
    expect(firmwareMessageLength(Buffer.from([0x99]))).toBe(-1);
    expect(firmwareMessageLength(Buffer.from([0x29, 0, 0, 0]))).toBeNull();
  });

  it('writes and reads the length-prefixed fields of authentication', () => {
    const fields = ['admin', '', 'Digest:ABC', '/RedirectionService'];
    expect(readLengthPrefixed(lengthPrefixed(fields), 4)).toEqual(fields);
    expect(readLengthPrefixed(Buffer.from([5, 0x61]), 1)).toBeNull();
    expect(() => lengthPrefixed(['x'.repeat(256)])).toThrow(RangeError);
  });
});

describe('read-only IDE-R drive answers', () => {
  const image = randomBytes(10 * 2048);
  const reader: ImageReader = {
    size: image.length,
    read: async (offset, length) => {
      const out = Buffer.alloc(length);
      image.copy(out, 0, offset, Math.min(image.length, offset + length));
      return out;
    },
  };
  const cdb = (...bytes: number[]) => {
    const packet = Buffer.alloc(12);
    Buffer.from(bytes).copy(packet);
    return packet;
  };

  it('reads sectors with READ(10), READ(12) and READ(6) and refuses reads past the end', async () => {
    expect(await answerPacket(cdb(0x28, 0, 0, 0, 0, 2, 0, 0, 3), 'cdrom', reader, null)).toEqual({
      data: image.subarray(2 * 2048, 5 * 2048),
    });
    expect(await answerPacket(cdb(0xa8, 0, 0, 0, 0, 9, 0, 0, 0, 1), 'cdrom', reader, null)).toEqual({
      data: image.subarray(9 * 2048),
    });
    expect(await answerPacket(cdb(0x08, 0, 0, 1, 1), 'cdrom', reader, null)).toEqual({
      data: image.subarray(2048, 2 * 2048),
    });
    expect(await answerPacket(cdb(0x28, 0, 0, 0, 0, 9, 0, 0, 2), 'cdrom', reader, null)).toEqual({
      sense: SENSE.LBA_OUT_OF_RANGE,
    });
  });

  it('reports capacity per block size, write protection, unknown commands and the last sense', async () => {
    expect(await answerPacket(cdb(0x25), 'cdrom', reader, null)).toEqual({
      data: Buffer.from([0, 0, 0, 9, 0, 0, 0x08, 0]),
    });
    expect(await answerPacket(cdb(0x25), 'floppy', reader, null)).toEqual({
      data: Buffer.from([0, 0, 0, 39, 0, 0, 0x02, 0]),
    });
    expect(await answerPacket(cdb(0x2a, 0, 0, 0, 0, 0, 0, 0, 1), 'cdrom', reader, null)).toEqual({
      sense: SENSE.WRITE_PROTECTED,
    });
    expect(await answerPacket(cdb(0xff), 'cdrom', reader, null)).toEqual({ sense: SENSE.INVALID_COMMAND });
    expect(await answerPacket(cdb(0x43, 0, 0, 0, 0, 0, 0, 0, 20), 'floppy', reader, null)).toEqual({
      sense: SENSE.INVALID_COMMAND,
    });
    const sense = await answerPacket(cdb(0x03, 0, 0, 0, 18), 'cdrom', reader, SENSE.LBA_OUT_OF_RANGE);
    expect('data' in sense && [...sense.data.subarray(0, 14)]).toEqual([
      0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0,
    ]);
  });

  it('answers INQUIRY as a removable CD/DVD device, truncated to the allocation length', async () => {
    const answer = await answerPacket(cdb(0x12, 0, 0, 0, 8), 'cdrom', reader, null);
    expect(answer).toEqual({ data: Buffer.from([0x05, 0x80, 0, 0x21, 31, 0, 0, 0]) });
    const mode = await answerPacket(cdb(0x5a, 0, 0, 0, 0, 0, 0, 0, 8), 'cdrom', reader, null);
    expect('data' in mode && [mode.data[2], mode.data[3]]).toEqual([0x05, 0x80]);
  });
});
