import { decodeHello, encodeHello } from '../../../emulator/hello/message';
import { helloSchedule } from '../../../emulator/hello/schedule';

describe('hello message (reference §6.3)', () => {
  const uuid = '12345678-9abc-def0-1122-334455667788';
  const sha256 = 'ab'.repeat(32);
  const sha1 = 'cd'.repeat(20);

  it('lays out the bytes little-endian with the SMBIOS UUID and typed hashes', () => {
    const bytes = encodeHello({
      credentialsChanged: true,
      version: 3,
      retryCount: 258,
      uuid,
      hashes: [
        { algorithm: 'sha256', hash: sha256 },
        { algorithm: 'sha1', hash: sha1 },
      ],
    });
    expect(bytes.subarray(0, 8).toString('hex')).toBe('0100' + '0300' + '02010000');
    expect(bytes.subarray(8, 24).toString('hex')).toBe('78563412bc9af0de1122334455667788');
    expect(bytes[24]).toBe(2);
    expect(bytes.subarray(25, 27).toString('hex')).toBe('0220');
    expect(bytes.subarray(27, 59).toString('hex')).toBe(sha256);
    expect(bytes.subarray(59, 61).toString('hex')).toBe('0114');
    expect(bytes).toHaveLength(25 + 34 + 22);
    expect(decodeHello(bytes)).toEqual({
      credentialsChanged: true,
      version: 3,
      retryCount: 258,
      uuid,
      hashes: [
        { algorithm: 'sha256', hash: sha256 },
        { algorithm: 'sha1', hash: sha1 },
      ],
    });
  });

  it('caps the hashes at 23 and rejects malformed hellos', () => {
    const many = Array.from({ length: 30 }, () => ({ algorithm: 'sha1' as const, hash: sha1 }));
    expect(encodeHello({ credentialsChanged: false, version: 3, retryCount: 0, uuid, hashes: many })[24]).toBe(23);
    expect(decodeHello(Buffer.alloc(24))).toBeNull();
    const truncated = encodeHello({
      credentialsChanged: false,
      version: 3,
      retryCount: 0,
      uuid,
      hashes: [{ algorithm: 'sha1', hash: sha1 }],
    });
    expect(decodeHello(truncated.subarray(0, truncated.length - 1))).toBeNull();
  });
});

describe('OOB1 schedule', () => {
  it('is once a minute for 5 minutes, every 5 minutes to the hour, then hourly for 23 hours', () => {
    const s = helloSchedule();
    expect(s.slice(0, 5)).toEqual([0, 60, 120, 180, 240]);
    expect(s.slice(5, 17)).toEqual([300, 600, 900, 1200, 1500, 1800, 2100, 2400, 2700, 3000, 3300, 3600]);
    expect(s.slice(17)).toEqual(Array.from({ length: 23 }, (_, i) => (i + 2) * 3600));
  });
});
